"""Benchmark of the rectification progress notice.

In a throwaway database:

1. one plan with 60 items (three focus categories, six sub-headings, meetings, rules, accountability,
   petitions, money — the builder of tests/rectification/test_notices.py): the seconds (median) to
   render it to PDF (build_notice + HTML + WeasyPrint) and to DOCX, beside the seconds WeasyPrint
   alone takes (`HTML(string=...).write_pdf()`) for the same HTML in the same run, and their ratio; the PDF's size,
   whether its fonts are embedded (pdffonts) and whether the text pdftotext extracts equals the
   source text (after normalising whitespace and dropping the page numbers; no Kangxi radicals);
2. a county with 100 plans and 6,000 items: the queries and milliseconds of the dashboard
   (rectification.views.DashboardView, as the county office) — skipped with a note when there is none.

Goals (printed as PASS/MISS, never failing the run): overhead over WeasyPrint < 30 %; PDF < 2 s and
< 3 MB; fonts embedded; text equal.

Run:
    .venv/bin/python tests/bench/bench_notice.py                  # SQLite file under var/bench/
    .venv/bin/python tests/bench/bench_notice.py --notice-only    # the notice alone (no 6,000-item county)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python tests/bench/bench_notice.py              # fresh database bench_notice_<pid>
    make bench                                                     # pytest runs this file (SQLite)

Figures are written to var/bench/bench_notice.json (one entry per database vendor).
"""

from __future__ import annotations

import argparse
import datetime
import html.parser
import logging
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

if __package__:  # imported by pytest as tests.bench.bench_notice
    from . import harness
else:  # run as a script: sys.path[0] is tests/bench
    import harness

NAME = "bench_notice"
NOTICE_ITEMS = 60
PLANS = 100
ITEMS_PER_PLAN = 60
TOWNSHIPS = 10
OVERHEAD_GOAL = 0.30
PDF_SECONDS_GOAL = 2.0
PDF_BYTES_GOAL = 3 * 1024 * 1024


def test_bench_notice():
    """`make bench` entry point: the benchmark runs in its own process (see harness.run_script)."""
    harness.run_script(__file__)


# --------------------------------------------------------------------------------------------------
# Text of the source HTML and of the PDF


class _BodyText(html.parser.HTMLParser):
    """The text a reader sees: the body without <style>, <script> and <title>."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script", "title", "head"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "script", "title", "head"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def source_text(page: str) -> str:
    parser = _BodyText()
    parser.feed(page)
    return "".join(parser.parts)


def normalise(text: str) -> str:
    text = re.sub(r"—\s*\d+\s*—", "", text)  # page numbers
    return re.sub(r"\s+", "", text)


def first_difference(a: str, b: str) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"at {i}: source …{a[max(0, i - 15):i + 15]}… pdf …{b[max(0, i - 15):i + 15]}…"
    return f"lengths {len(a)} / {len(b)}"


# --------------------------------------------------------------------------------------------------
# Data


def build_county() -> tuple:
    # Deferred: Django is set up by the benchmark harness before this runs
    from grid import services
    from grid.models import Role, Tier

    tier = {t.key: t for t in Tier.objects.all()}
    county = services.create_region(parent=None, name="基准县", tier=tier["county"], code="B")
    townships = []
    villages = []
    for t in range(1, TOWNSHIPS + 1):
        township = services.create_region(parent=county, name=f"第{t}镇", tier=tier["township"])
        townships.append(township)
        for v in range(1, PLANS // TOWNSHIPS):
            villages.append(services.create_region(parent=township, name=f"第{t}镇第{v}村", tier=tier["village"]))
    office, _ = services.ensure_user("bench_office", password="Bench@2026pw")
    services.create_post(user=office, role=Role.objects.get(key="county_office"), region=county)
    committee, _ = services.ensure_user("bench_committee", password="Bench@2026pw")
    services.create_post(user=committee, role=Role.objects.get(key="township_committee"), region=townships[0])
    return county, townships, villages, office, committee


def build_plans(organisations, user) -> None:
    """PLANS plans of ITEMS_PER_PLAN items each, bulk-created (statuses cycling, some overdue)."""
    # Deferred: Django is set up by the benchmark harness before this runs
    from rectification.models import RectificationItem, RectificationPlan

    statuses = ["done", "fully_done", "in_progress", "done", "ongoing", "done", "pending", "fully_done"]
    RectificationPlan.objects.bulk_create([
        RectificationPlan(organisation=org, title=f"{org.name}巡察整改方案", group_name="县委第二巡察组",
                          inspected_from=datetime.date(2025, 3, 1), inspected_to=datetime.date(2025, 4, 30),
                          feedback_on=datetime.date(2025, 6, 10), created_by=user)
        for org in organisations[:PLANS]
    ])
    plans = list(RectificationPlan.objects.filter(group_name="县委第二巡察组").order_by("id"))
    rows = []
    for plan in plans:
        for n in range(1, ITEMS_PER_PLAN + 1):
            status = statuses[(n - 1) % len(statuses)]
            rows.append(RectificationItem(
                plan=plan, number=n, category=f"第{(n - 1) // 20 + 1}类问题", subcategory=f"子类{(n - 1) // 5 + 1}",
                title=f"问题{n}", status=status, result="已整改。", deadline=datetime.date(2025, 12, 31),
                is_overdue=status in ("pending", "in_progress") and n % 3 == 0,
                closed_at=None if status in ("pending", "in_progress") else
                datetime.datetime(2025, 7 + n % 5, 1, 9, tzinfo=datetime.UTC),
            ))
    RectificationItem.objects.bulk_create(rows, batch_size=2000)


# --------------------------------------------------------------------------------------------------
# Measurements


def median_seconds(fn, runs: int) -> tuple[float, object]:
    times, result = [], None
    for i in range(runs + 1):
        began = time.perf_counter()
        result = fn()
        if i:  # the first call warms up (fonts, templates)
            times.append(time.perf_counter() - began)
    return statistics.median(times), result


def measure_notice(plan, runs: int) -> dict:
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    # Deferred: loading WeasyPrint costs a noticeable fraction of a second; only this measurement needs it
    from weasyprint import HTML

    from rectification import notices

    data = notices.build_notice(plan)
    page = notices.render_html(data)

    def ours_pdf():
        return notices.render_pdf(notices.build_notice(plan))

    def weasy_alone():
        return HTML(string=page).write_pdf()

    def ours_docx():
        return notices.render_docx(notices.build_notice(plan))

    pdf_s, pdf = median_seconds(ours_pdf, runs)
    weasy_s, _ = median_seconds(weasy_alone, runs)
    docx_s, docx = median_seconds(ours_docx, runs)
    figures = {
        "items": data["counts"]["problems"], "pdf_seconds": round(pdf_s, 3), "weasyprint_seconds": round(weasy_s, 3),
        "overhead": round(pdf_s / weasy_s - 1, 3), "ratio": round(pdf_s / weasy_s, 3), "docx_seconds": round(docx_s, 3), "pdf_bytes": len(pdf),
        "docx_bytes": len(docx),
    }
    if not shutil.which("pdftotext") or not shutil.which("pdffonts"):
        figures["poppler"] = "poppler-utils missing: fonts and text not checked"
        return figures
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "notice.pdf"
        path.write_bytes(pdf)
        fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
        text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout
        pages = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    figures["pages"] = int(re.search(r"Pages:\s+(\d+)", pages).group(1))
    figures["fonts"] = [" ".join(line.split()[:1] + line.split()[-5:-4]) for line in fonts]
    figures["fonts_embedded"] = bool(fonts) and all(line.split()[-5] == "yes" for line in fonts)
    source, extracted = normalise(source_text(page)), normalise(text)
    figures["text_equal"] = source == extracted
    figures["kangxi_radicals"] = len(re.findall("[\u2f00-\u2fdf\u2e80-\u2eff]", text))
    if not figures["text_equal"]:
        figures["text_difference"] = first_difference(source, extracted)
    return figures


def measure_dashboard(office, runs: int) -> dict | None:
    try:
        from rectification import views
    except ImportError:
        return None
    if not hasattr(views, "DashboardView"):
        return None
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.db import connection
    from django.test import Client, override_settings
    from django.urls import reverse

    client = Client()
    client.force_login(office)
    url = reverse("rectification:dashboard")

    def get():
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"dashboard answered {response.status_code}")
        return response

    # Counted with an execute wrapper: CaptureQueriesContext loses a request's queries (request_started
    # resets the connection's query log).
    executed: list[str] = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with override_settings(ALLOWED_HOSTS=["testserver"]):
        get()  # warm-up (sessions, templates)
        executed.clear()
        with connection.execute_wrapper(count):
            get()
        seconds, _ = median_seconds(get, runs)
    return {"url": url, "queries": len(executed), "ms": round(seconds * 1000, 1)}


# --------------------------------------------------------------------------------------------------


def run(runs: int, notice_only: bool = False) -> None:
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.core.management import call_command
    from django.db import connection

    from rectification.models import RectificationItem, RectificationPlan

    if __package__:
        from tests.rectification.test_notices import make_plan
    else:
        import sys

        sys.path.insert(0, str(harness.ROOT))
        from tests.rectification.test_notices import make_plan

    seconds = {}
    began = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    seconds["migrate"] = time.perf_counter() - began

    began = time.perf_counter()
    county, townships, villages, office, committee = build_county()
    notice_plan = make_plan(townships[0], committee, NOTICE_ITEMS)
    if not notice_only:
        build_plans(townships[1:] + villages, office)
    harness.analyze()
    seconds["data"] = time.perf_counter() - began
    print("measuring …", flush=True)

    notice = measure_notice(notice_plan, runs)
    dashboard = None if notice_only else measure_dashboard(office, runs)
    meta = {
        "vendor": connection.vendor,
        "database": harness.database_label(connection),
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "plans": RectificationPlan.objects.count(),
        "items": RectificationItem.objects.count(),
        "runs": runs,
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
    }

    print()
    print(f"bench_notice · {meta['database']} · median of {runs} runs · set-up: migrate {seconds['migrate']:.1f} s, "
          f"data {seconds['data']:.1f} s")
    print()
    print(f"notice of {notice['items']} items ({notice.get('pages', '?')} pages):")
    print(f"  PDF  (build + HTML + WeasyPrint) {notice['pdf_seconds']:.3f} s, {notice['pdf_bytes'] / 1024:.0f} KB")
    print(f"  WeasyPrint alone, same HTML      {notice['weasyprint_seconds']:.3f} s")
    print(f"  ratio to WeasyPrint alone        {notice['ratio']:.2f}x (goal <= {1 + OVERHEAD_GOAL:g}x)")
    print(f"  overhead                         {notice['overhead'] * 100:.1f} %")
    print(f"  DOCX                             {notice['docx_seconds']:.3f} s, {notice['docx_bytes'] / 1024:.0f} KB")
    if "fonts" in notice:
        print(f"  fonts: {', '.join(notice['fonts'])}")
    checks = [
        {"check": f"overhead {notice['overhead'] * 100:.1f} % < {OVERHEAD_GOAL * 100:.0f} %", "ok": notice["overhead"] < OVERHEAD_GOAL},
        {"check": f"PDF {notice['pdf_seconds']:.3f} s < {PDF_SECONDS_GOAL:g} s", "ok": notice["pdf_seconds"] < PDF_SECONDS_GOAL},
        {"check": f"PDF {notice['pdf_bytes'] / 1024 / 1024:.2f} MB < 3 MB", "ok": notice["pdf_bytes"] < PDF_BYTES_GOAL},
    ]
    if "fonts_embedded" in notice:
        checks.append({"check": "fonts embedded (pdffonts emb = yes)", "ok": notice["fonts_embedded"]})
        checks.append({"check": f"pdftotext text equals the source text (Kangxi radicals: {notice['kangxi_radicals']})"
                       + ("" if notice["text_equal"] else f" — differs {notice['text_difference']}"),
                       "ok": notice["text_equal"] and not notice["kangxi_radicals"]})
    else:
        print(f"  note: {notice['poppler']}")
    print()
    if dashboard is None:
        print("dashboard: skipped (--notice-only, or rectification/views.py has no DashboardView).")
    else:
        print(f"dashboard ({meta['plans']} plans, {meta['items']:,} items, county office): "
              f"{dashboard['queries']} queries, {dashboard['ms']:.1f} ms")
    print()
    print("goals:")
    for check in checks:
        print(f"  {'PASS' if check['ok'] else 'MISS'}  {check['check']}")
    harness.write_json(NAME, {**meta, "notice": notice, "dashboard": dashboard, "checks": checks})
    f = harness.figure
    figures = [
        f(f"{notice['items']} 项整改事项的通报 PDF / notice PDF", notice["pdf_seconds"], "s",
          baseline="WeasyPrint 单独渲染同一 HTML", baseline_value=notice["weasyprint_seconds"],
          goal=f"< {PDF_SECONDS_GOAL:g} s，≤ {1 + OVERHEAD_GOAL:g}×",
          met=notice["pdf_seconds"] < PDF_SECONDS_GOAL and notice["overhead"] <= OVERHEAD_GOAL,
          note=f"开销 {notice['overhead'] * 100:.1f}%，{notice.get('pages', '?')} 页，{notice['pdf_bytes'] / 1024:.0f} KB"),
        f("通报 PDF 字体嵌入 / fonts embedded", notice.get("fonts_embedded"), "", goal="是", met=notice.get("fonts_embedded"),
          note=", ".join(notice.get("fonts", [])) or notice.get("poppler", "")),
    ]
    if dashboard is not None:
        figures.append(f(f"整改看板（{meta['plans']} 个方案、{meta['items']:,} 个事项）/ rectification dashboard",
                         dashboard["ms"], "ms", note=f"{dashboard['queries']} 条查询，中位数"))
    harness.record(NAME, figures)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per measurement (median; default 3)")
    parser.add_argument("--notice-only", action="store_true", help="only the 60-problem notice, no county of plans")
    args = parser.parse_args(argv)
    harness.run_in_throwaway_database(NAME, lambda: run(args.runs, args.notice_only))


if __name__ == "__main__":
    main()
