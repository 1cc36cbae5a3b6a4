"""The curl examples of README.md and docs/ run as written against the demo county on a live server:
each shell block that calls the local server is run line by line (its `X='……'` placeholders filled as
its comments say, its `manage.py` lines run, `http://127.0.0.1:8000` the live server's address) and
each curl must answer the status written after it (`# → 201`)."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import shlex
import subprocess
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from api.credentials import create_device_token
from config.demo import load_demo

from .conftest import photo_bytes

ROOT = Path(__file__).resolve().parent.parent
LOCAL = "http://127.0.0.1:8000"
ASSIGNMENT = re.compile(r"^([A-Z][A-Z0-9_]*)='[^']*……[^']*'")
STATUS = re.compile(r"^#\s*→\s*(\d{3})")


def _check_docs():
    spec = importlib.util.spec_from_file_location("check_docs", ROOT / "scripts" / "check_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def example_blocks() -> list[tuple[str, str, dict[str, str]]]:
    """(document, shell block, the data files the document gives) of every block that calls the local server."""
    docs = _check_docs()
    found = []
    for document in docs.documents(ROOT):
        text = document.read_text(encoding="utf-8")
        for block in docs.SHELL_FENCE.findall(text):
            if re.search(r"^curl .*" + re.escape(LOCAL), docs._joined_lines(block), re.M):
                found.append((str(document.relative_to(ROOT)), docs._joined_lines(block), docs._data_files(text)))
    return found


class Runner:
    """Runs one block: the values of its placeholders, its commands' output, the last curl's body."""

    def __init__(self, base_url: str, work: Path):
        self.base_url, self.work = base_url, work
        self.values: dict[str, str] = {}
        self.last_output = ""
        self.last_body = b""

    def api(self, path: str):
        request = urllib.request.Request(self.base_url + path, headers={"Authorization": f"Token {self.values['T']}"})
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 — the live test server
            return json.load(response)

    # How each placeholder is filled: as the comment beside it in the docs says.
    def fill(self, name: str) -> str:
        if name == "T":  # a token wanggezhang creates at /api/tokens/
            _, key = create_device_token(by=get_user_model().objects.get(username="wanggezhang"), name="文档示例")
            return key
        if name == "R":
            found = self.api("/api/v1/regions/?reportable=true&q=%E7%AC%AC1%E7%BD%91%E6%A0%BC")["results"]
            [grid] = [region for region in found if region["name"] == "第1网格"]
            return str(grid["id"])
        if name == "C":
            [category] = [category for category in self.api("/api/v1/categories/") if category["code"] == "WS01"]
            return str(category["id"])
        if name == "E":
            [task] = [task for task in self.api("/api/v1/tasks/")["results"] if task["title"] == "河道边垃圾堆放"]
            return str(task["id"])
        if name == "K":  # the key open311_client --create printed
            return re.search(r"o311_\S+", self.last_output)[0]
        if name == "ID":  # the service_request_id the POST answered
            return json.loads(self.last_body)[0]["service_request_id"]
        raise AssertionError(f"文档示例中的 {name}='……' 没有填写方法")

    def manage(self, line: str) -> None:
        words = shlex.split(line.split(" #", 1)[0])[2:]  # after "python manage.py"
        out = io.StringIO()
        call_command(*words, stdout=out, stderr=out)
        self.last_output = out.getvalue()

    def curl(self, line: str) -> int:
        command = line.replace(LOCAL, self.base_url) + " -s -S -o .body -w '%{http_code}'"
        env = {**os.environ, **self.values}
        done = subprocess.run(["bash", "-c", command], cwd=self.work, env=env, capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 0, f"{line}\n{done.stderr}"
        self.last_body = (self.work / ".body").read_bytes()
        return int(done.stdout)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_every_curl_example_in_the_docs_answers_its_documented_status_on_the_demo(live_server, tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    load_demo()
    blocks = example_blocks()
    assert blocks, "no curl example found"
    (tmp_path / "现场.jpg").write_bytes(photo_bytes())
    ran = 0
    for document, block, files in blocks:
        for name, content in files.items():
            (tmp_path / name).write_text(content, encoding="utf-8")
        runner = Runner(live_server.url, tmp_path)
        lines = [line.strip() for line in block.splitlines()]
        cwd = os.getcwd()
        os.chdir(tmp_path)
        try:
            for index, line in enumerate(lines):
                if match := ASSIGNMENT.match(line):
                    runner.values[match[1]] = runner.fill(match[1])
                elif line.startswith("python manage.py "):
                    runner.manage(line)
                elif line.startswith("curl "):
                    expected = next((STATUS.match(after) for after in lines[index + 1:index + 2] if STATUS.match(after)),
                                    None)
                    assert expected, f"{document}: 示例后没有注明状态码（# → 200）：{line}"
                    status = runner.curl(line)
                    assert status == int(expected[1]), (
                        f"{document}: {line}\n应为 {expected[1]}，实际 {status}：{runner.last_body[:300].decode(errors='replace')}")
                    ran += 1
        finally:
            os.chdir(cwd)
    assert ran >= 9
