"""Time the demo as its users click it, in-process with Django's test client: python scripts/demo_timings.py
[actions] [documents] [pages]. Design notes: docs/architecture/scripts.md."""

import datetime
import io
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from PIL import Image  # noqa: E402

from governance import embedded_worker  # noqa: E402
from grid.models import Region  # noqa: E402

ROLES = ["wanggeyuan", "wanggezhang", "zhidaoyuan", "cunganbu", "zongheban", "nongyeban", "duchazu", "zhendangwei",
         "jijian", "xunchaban", "lingdao", "xunchazu", "zhongxin", "zhujianju"]


def client(username: str) -> Client:
    browser = Client(HTTP_HOST="127.0.0.1")
    browser.force_login(get_user_model().objects.get(username=username))
    return browser


def timed(label: str, call):
    """One request: wall and CPU time of this thread (the worker thread's work is not counted), queries."""
    wall, cpu = time.perf_counter(), time.thread_time()
    with CaptureQueriesContext(connection) as queries:
        response = call()
    wall, cpu = (time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000
    print(f"{label:44s} {wall:8.0f} ms  CPU {cpu:6.0f} ms  {len(queries):3d} 条查询  {response.status_code}", flush=True)
    return response


def photo(name: str):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG")
    buffer.seek(0)
    buffer.name = name
    return buffer


def actions():
    """One event from report to rating, through the demo's roles (adds an event to the database)."""
    member = client("wanggeyuan")
    form = member.get("/grid/events/new/").content.decode()
    region = re.search(r'<option value="(\d+)" selected', form.split('name="region"')[1]).group(1)
    category = re.findall(r'<option value="(\d+)"', form.split('name="category"')[1].split("</select>")[0])[0]
    report = {"idempotency_key": os.urandom(8).hex(), "region": region, "category": category, "title": "计时用事件",
              "description": "测量事件办理耗时", "occurred_at": datetime.datetime.now().strftime("%Y-%m-%dT%H:%M"),
              "urgency": "normal", "source": "patrol", "files": photo("report.jpg")}
    response = timed("上报事件（网格员）", lambda: member.post("/grid/events/new/", report))
    url = response["Location"]
    leader, instructor, office, department = (client(name) for name in ("wanggezhang", "zhidaoyuan", "zongheban", "nongyeban"))
    timed("事件详情（网格长）", lambda: leader.get(url))
    timed("上报上一级：网格→村（网格长）", lambda: leader.post(url + "handle/", {"decision": "escalate", "reason": "需村里协调"}))
    timed("上报上一级：村→镇（指导员）", lambda: instructor.post(url + "handle/", {"decision": "escalate", "reason": "村里解决不了"}))
    page = timed("事件详情（镇综合办）", lambda: office.get(url)).content.decode()
    agriculture = re.findall(r'<option value="(\d+)"[^>]*>[^<]*农业农村办', page)[0]
    due = (datetime.date.today() + datetime.timedelta(days=5)).isoformat()
    timed("派单（镇综合办）", lambda: office.post(url + "handle/", {
        "decision": "dispatch", "department": agriculture, "opinion": "请尽快处理", "requirements": "拍照反馈", "due_on": due}))
    timed("部门办结（农业农村办）", lambda: department.post(url + "department/", {
        "decision": "resolve", "result": "已处理完毕", "files": photo("done.jpg")}))
    timed("核实满意（网格员）", lambda: member.post(url + "verify/", {"decision": "satisfied"}))
    timed("评价（网格员）", lambda: member.post(url + "rate/", {"rating": "5", "comment": "好"}))
    embedded_worker.wait_until_idle(60)


def documents():
    """The township's circulars as the office downloads them: the request, then the file (a job's end)."""
    office = client("zongheban")
    township = Region.objects.get(name="太平镇")
    today = datetime.date.today()
    month = (today.replace(day=1) - datetime.timedelta(days=1)).strftime("%Y-%m")
    quarter = f"{today.year}Q{(today.month - 1) // 3 + 1}"
    for label, fmt, query in (("月度通报 PDF", "pdf", f"kind=month&month={month}"),
                              ("月度通报 PDF（再一次）", "pdf", f"kind=month&month={month}"),
                              ("季度考评 PDF", "pdf", f"kind=quarter&quarter={quarter}"),
                              ("月度通报 DOCX", "docx", f"kind=month&month={month}"),
                              ("月度通报 XLSX", "xlsx", f"kind=month&month={month}")):
        start = time.perf_counter()
        url = f"/patrol/circulars/download/{fmt}/?township={township.pk}&{query}"
        response = timed(label, lambda url=url: office.get(url))
        if response.status_code == 302 and response["Location"].startswith("/jobs/"):
            embedded_worker.wait_until_idle(300)
            state = office.get(response["Location"] + "status/").json()
            print(f"{'':44s} 文件生成完毕 {(time.perf_counter() - start) * 1000:8.0f} ms（{state['status_label']}）", flush=True)


def pages():
    """Each role's home page and every page its menu links to."""
    for username in ROLES:
        browser = client(username)
        home = timed(f"{username} /", lambda browser=browser: browser.get("/"))
        for link in sorted(set(re.findall(r'href="(/[^"#?]*/)"', home.content.decode()))):
            if not re.search(r"logout|/admin/|/static/|/media/|/api/|/accounts/|export|download|/public/", link):
                timed(f"{username} {link}", lambda browser=browser, link=link: browser.get(link))


if __name__ == "__main__":
    for name in sys.argv[1:] or ["actions", "documents", "pages"]:
        {"actions": actions, "documents": documents, "pages": pages}[name]()
