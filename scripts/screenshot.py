"""Take a screenshot of a page as a demo user: python scripts/screenshot.py USER URL OUT.png [WIDTH]
Design notes: docs/architecture/scripts.md."""

import os
import sys
import urllib.parse

PASSWORD = "Demo@2026"
# Chromium on Linux takes its UI language (date and file pickers: 年/月/日, 选择文件) from the
# environment, not from --lang; it needs Debian's chromium-l10n for the zh-CN strings.
CHINESE_BROWSER_ENV = {"LANG": "C.UTF-8", "LANGUAGE": "zh_CN"}


def main():
    from playwright.sync_api import sync_playwright  # only this script needs a browser, not the importers

    username, url, out = sys.argv[1:4]
    width = int(sys.argv[4]) if len(sys.argv) > 4 else 1280
    parsed = urllib.parse.urlparse(url)
    base = f"{parsed.scheme}://{parsed.netloc}"
    args = ["--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--disable-dev-shm-usage", "--lang=zh-CN"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=args,
                                             env={**os.environ, **CHINESE_BROWSER_ENV})
        page = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN").new_page()
        if username != "-":
            page.goto(f"{base}/accounts/login/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", PASSWORD)
            with page.expect_navigation():
                page.click("button[type=submit], input[type=submit]")
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=out, full_page=True)
        browser.close()


if __name__ == "__main__":
    main()
