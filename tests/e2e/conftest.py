"""Browser journeys: Debian's Chromium driven by Playwright (sync API) against pytest-django's live server.

Each journey is one test marked `e2e` and `django_db(transaction=True, serialized_rollback=True)`: the
live server runs in a thread of the test process and only sees committed rows. Every person in a
journey gets a browser context of their own (their own cookies, as on their own device) and signs in
through the login form. Full-page screenshots of every step go to
`$E2E_ARTIFACTS/<journey>/NN-step.png` (default `var/e2e-artifacts/`).

Playwright's sync API keeps an asyncio loop running in the test thread, so Django's async-safety
check would refuse the ORM calls the test itself makes; DJANGO_ALLOW_ASYNC_UNSAFE is set for the
duration of a journey only (the live server's own thread is unaffected). The browser is started and
stopped per test, so that no loop outlives a journey and leaks into other tests of the worker.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from PIL import Image

CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
PASSWORD = "Test@2026pw"  # what tests/conftest.py's personas are given
DEFAULT_TIMEOUT_MS = 15_000
DESKTOP = {"viewport": {"width": 1366, "height": 900}}
PHONE = {"viewport": {"width": 412, "height": 915}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def artifacts_root() -> Path:
    configured = os.environ.get("E2E_ARTIFACTS")
    return Path(configured) if configured else Path(settings.BASE_DIR) / "var" / "e2e-artifacts"


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"浏览器测试需要 Debian 的 Chromium（{CHROMIUM} 不存在；apt-get install chromium）")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _files_in_tmp(media_in_tmp):
    """Every journey keeps its uploads in its own folder."""


@pytest.fixture
def _playwright(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture
def browser(_playwright):
    args = ["--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--disable-dev-shm-usage", "--lang=zh-CN"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    # Chromium on Linux takes its UI language from the environment (date and file pickers in Chinese
    # with Debian's chromium-l10n), not from --lang: LANGUAGE picks Chinese, and LANG stays a UTF-8
    # locale that the machine has (without zh_CN.UTF-8 installed it fell back to ASCII, and a file
    # named 太平镇整改台账.csv could not be chosen).
    env = {**os.environ, "LANG": "C.UTF-8", "LANGUAGE": "zh_CN"}
    browser = _playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args, env=env)
    yield browser
    browser.close()


@dataclass
class Journey:
    """One browser journey: people who sign in, and numbered full-page screenshots of each step."""

    name: str
    browser: object
    base_url: str
    folder: Path
    contexts: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)  # uncaught script errors: a journey fails on any
    console_errors: list = field(default_factory=list)  # console errors (CSP reports, failed loads): logged
    count: int = 0

    def url(self, path: str) -> str:
        return self.base_url + path

    def open(self, *, phone: bool = False):
        """A fresh browser context (nobody signed in) and a page in it."""
        context = self.browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **(PHONE if phone else DESKTOP))
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.page_errors.append(f"{page.url}: {error}"))
        page.on("console", lambda message: message.type == "error" and self.console_errors.append(
            f"{page.url}: {message.text}"))
        return page

    def sign_in(self, username: str, *, start: str, phone: bool = False, password: str = PASSWORD):
        """Open `start` (a page the user has bookmarked), get sent to the login form, sign in there and
        land back on `start`. (Not the home page: its layout is not what these journeys test.)"""
        from playwright.sync_api import expect

        page = self.open(phone=phone)
        page.goto(self.url(start))
        expect(page).to_have_url(re.compile(r"/accounts/login/"))  # anonymous: sent to the login form
        page.locator("input[name=username]").fill(username)
        page.locator("input[name=password]").fill(password)
        self.shot(page, f"login-{username}")
        page.locator("form button[type=submit], form input[type=submit]").first.click()
        expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
        return page

    def shot(self, page, step: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{_slug(step)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def close(self):
        for context in self.contexts:
            context.close()


def _slug(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z_-]+", "-", text).strip("-") or "step"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.e2e_failed = report.failed
    return report


@pytest.fixture
def journey(request, browser, live_server):
    """A Journey named after the test (test_ prefix dropped); its screenshot folder emptied first.
    When the journey fails, every page still open is saved as `failure-N.png` beside the steps; the
    browsers' console errors, if any, go to `console-errors.txt`."""
    name = request.node.name.removeprefix("test_")
    folder = artifacts_root() / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    trip = Journey(name=name, browser=browser, base_url=live_server.url, folder=folder)
    yield trip
    if trip.console_errors:
        (folder / "console-errors.txt").write_text("\n".join(trip.console_errors) + "\n", encoding="utf-8")
    if getattr(request.node, "e2e_failed", False):
        pages = [page for context in trip.contexts for page in context.pages]
        for number, page in enumerate(pages, 1):
            try:
                page.screenshot(path=str(folder / f"failure-{number}.png"), full_page=True)
            except Exception:  # a crashed page must not hide the test's own error
                pass
    trip.close()


def exif_jpeg(*, latitude: float, longitude: float, taken=None, size=(800, 600), colour=(70, 130, 60)) -> bytes:
    """A small JPEG as a phone writes it: EXIF capture time (China time) and GPS position."""
    taken = timezone.localtime(taken or timezone.now())
    image = Image.new("RGB", size, colour)
    # Something to look at in the thumbnail: a darker band, as a shed roof across a field.
    image.paste((120, 90, 60), (0, size[1] // 3, size[0], size[1] // 2))
    exif = Image.Exif()
    exif.get_ifd(0x8769)[36867] = taken.strftime("%Y:%m:%d %H:%M:%S")  # DateTimeOriginal

    def dms(value: float) -> tuple[float, float, float]:
        degrees = int(value)
        minutes_full = (value - degrees) * 60
        minutes = int(minutes_full)
        return (float(degrees), float(minutes), round((minutes_full - minutes) * 60, 4))

    exif.get_ifd(0x8825).update({
        1: "N" if latitude >= 0 else "S", 2: dms(abs(latitude)),
        3: "E" if longitude >= 0 else "W", 4: dms(abs(longitude)),
    })
    exif[0x010F] = "Huawei"  # Make
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=85)
    return buffer.getvalue()
