"""Screenshot every menu page of demo roles and list text defects:
python scripts/menu_screenshots.py BASE_URL OUT_DIR [USERNAME ...]
Design notes: docs/architecture/scripts.md."""

from __future__ import annotations

import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

# Eight roles of the demo county, one login each (README's 演示账号), from the grid to the county.
ROLE_USERS = ("wanggeyuan", "wanggezhang", "cunganbu", "zongheban", "zhendangwei", "zhongxin", "zhujianju",
              "xunchaban", "xunchazu")
PASSWORD = "Demo@2026"

# Latin words a Chinese user reads as they are: file formats, product names, units.
ALLOWED_WORDS = frozenset({
    "PDF", "API", "XLSX", "DOCX", "CSV", "SVG", "PNG", "JPG", "JPEG", "BPMN", "Word", "Excel", "WPS",
    "GeoReport", "Open311", "REST", "URL", "HTTP", "HTTPS", "JSON", "Token", "Bearer", "ID", "GPS", "WGS",
    "SMS", "App", "APP", "KB", "MB", "GB", "ZIP", "Microsoft", "Google", "Authenticator", "FreeOTP",
})
# The demo's login names (config.demo.DEMO_USERS; a test keeps the two lists equal): data, not labels.
DEMO_LOGINS = frozenset({
    "admin", "system", "wanggeyuan", "wanggezhang", "zhidaoyuan", "cunganbu", "zongheban", "nongyeban", "duchazu",
    "zhendangwei", "jijian", "xunchaban", "lingdao", "xunchazu", "zhongxin", "zhujianju", "shuji",
})
LOGIN_NAME = re.compile(r"(?:xunchazu|cunganbu)[0-9]+")  # other groups' leaders, a second village cadre
# Values kept as recorded (the audit trail's before/after): evidence, shown on request only.
RECORDED_CLASSES = {"gv-audit__diff"}
TYPED = {"text", "search", "number", "email", "tel", "url", "date", "month", "week", "time", "datetime-local"}
NOT_SHOWN = {"script", "style", "template", "noscript", "head", "title"}
# Text to type or copy exactly as shown (a key, a token, a request header, a placeholder): not labels.
LITERAL = {"code"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
WORD = re.compile(r"(?<![A-Za-z0-9_./@-])[A-Za-z][A-Za-z0-9]{2,}(?![A-Za-z0-9_@])")
CODES = (
    ("下划线代码", re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?:\.[a-z_]+)?\b")),
    ("空白选项", re.compile(r"-{5,}")),
    ("季度代码", re.compile(r"\b\d{4}Q[1-4]\b")),
    ("多余的小数位", re.compile(r"(?<![\d.])\d[\d,]*\.00(?![\d])")),  # 60.00 分, 23000.00 元: 60, 23000
    ("英文必填提示", re.compile(r"This field is required", re.I)),
)
REQUIRED_ERROR = "该字段是必填项"
# Chromium on Linux takes its UI language (date and file pickers: 年/月/日, 选择文件) from the
# environment, not from --lang; it needs Debian's chromium-l10n for the zh-CN strings.
CHINESE_BROWSER_ENV = {"LANG": "C.UTF-8", "LANGUAGE": "zh_CN"}


def launch_chinese_chromium(playwright):
    """Debian's Chromium, headless, in Chinese: on Linux its UI language (date and file pickers: 年/月/日,
    选择文件) comes from LANGUAGE, not --lang, and needs Debian's chromium-l10n; LANG stays a UTF-8 locale
    the machine has, so that files with Chinese names can be chosen."""
    args = ["--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--disable-dev-shm-usage", "--lang=zh-CN"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    return playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=args,
                                      env={**os.environ, **CHINESE_BROWSER_ENV})


class VisibleText(HTMLParser):
    """The text a reader sees in <body>: no scripts, templates, icon ligatures or hidden elements."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.parts: list[str] = []
        self.tables: list[dict] = []
        self.errors = 0

    @property
    def hidden(self) -> bool:
        return any(hide for _, hide in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        hide = (tag in NOT_SHOWN or tag in LITERAL or "hidden" in attrs or "material-icons" in classes or RECORDED_CLASSES & set(classes)
                or attrs.get("aria-hidden") == "true" or "display:none" in (attrs.get("style") or "").replace(" ", ""))
        if not self.hidden and ("errorlist" in classes or "invalid-feedback" in classes):
            self.errors += 1
        if tag == "table" and not self.hidden:
            self.tables.append({"rows": 0, "in_body": False})
        elif tag == "tbody" and self.tables:
            self.tables[-1]["in_body"] = True
        elif tag == "tr" and self.tables and self.tables[-1]["in_body"]:
            self.tables[-1]["rows"] += 1
        if tag in ("input", "textarea") and attrs.get("type", "text") in TYPED and not self.hidden:
            self.parts += [attrs[name] for name in ("placeholder", "value") if attrs.get(name)]
        if tag in ("input",) and attrs.get("type") in ("submit", "button") and attrs.get("value") and not self.hidden:
            self.parts.append(attrs["value"])
        if tag not in VOID:
            self.stack.append((tag, hide))

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data):
        if not self.hidden and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> VisibleText:
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return parser


def page_problems(html: str) -> list[str]:
    """What a Chinese reader should not meet on a page opened without input."""
    page = visible_text(html)
    text = "\n".join(page.parts)
    problems = []
    words = sorted({word for word in WORD.findall(text)
                    if word not in ALLOWED_WORDS and word not in DEMO_LOGINS and not LOGIN_NAME.fullmatch(word)})
    if words:
        problems.append("英文单词：" + "、".join(words))
    for label, pattern in CODES:
        found = sorted(set(pattern.findall(text)))
        if found:
            problems.append(f"{label}：" + "、".join(found[:10]))
    if REQUIRED_ERROR in text or page.errors:
        problems.append("未提交就显示错误")
    return problems


def empty_tables(html: str) -> int:
    return sum(1 for table in visible_text(html).tables if table["in_body"] and table["rows"] == 0)


class MenuLinks(HTMLParser):
    """The navigation the user sees, the home page's 您可以做什么 tiles and 等待我处理 counters."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0  # inside <vf-page-menu-navigation> or the 等待我处理 card
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "vf-page-menu-navigation" or (tag == "section" and attrs.get("id") == "waiting"):
            self.depth += 1
        elif tag == "a" and attrs.get("href") and (self.depth or "gv-tile" in (attrs.get("class") or "").split()):
            self.hrefs.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag in ("vf-page-menu-navigation", "section") and self.depth:
            self.depth -= 1


def menu_links(html: str) -> list[str]:
    parser = MenuLinks()
    parser.feed(html)
    return [href for href in parser.hrefs if href.startswith("/") and not skipped(href)]


def skipped(href: str) -> bool:
    path = urlparse(href).path
    return (path.startswith(("/accounts/logout", "/admin/", "/system/admin/"))
            or path.rsplit(".", 1)[-1] in ("svg", "pdf", "xlsx", "docx", "csv", "png"))


def slug(url: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", url).strip("-") or "home"


def lines_of_pages(lines: list[str]) -> list[str]:
    return [line for line in lines if not line.startswith(" ")]


def walk(browser, base: str, username: str, out: Path) -> list[str]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit], input[type=submit]")
    folder = out / username
    folder.mkdir(parents=True, exist_ok=True)
    queue, seen, lines = ["/"], set(), []
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = page.goto(base + url)
        page.wait_for_load_state("networkidle")
        landed = page.url.removeprefix(base)
        if landed != url and landed in seen:
            continue  # an area's index that sends the user on to a page already taken
        seen.add(landed)
        number = len(lines_of_pages(lines)) + 1
        page.screenshot(path=str(folder / f"{number:02d}-{slug(url)}.png"), full_page=True)
        html = page.content()
        problems = page_problems(html)
        empty = empty_tables(html)
        if empty:
            problems.append(f"空表格：{empty} 个")
        if "gv-empty" in html:
            problems.append("有“暂无”提示")
        status = response.status if response else 0
        lines.append(f"{number:02d} {status} {landed}  {page.title()}")
        lines += [f"     - {problem}" for problem in problems]
        queue += [link for link in menu_links(html) if link not in seen]
    context.close()
    (folder / "report.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines


def main():
    from playwright.sync_api import sync_playwright  # only this script needs a browser, not the importers

    base, out = sys.argv[1].rstrip("/"), Path(sys.argv[2])
    users = sys.argv[3:] or ROLE_USERS
    with sync_playwright() as playwright:
        browser = launch_chinese_chromium(playwright)
        for username in users:
            lines = walk(browser, base, username, out)
            print(f"== {username}: {len(lines_of_pages(lines))} 页")
            print("\n".join(lines))
        browser.close()


if __name__ == "__main__":
    main()
