"""Take a screenshot of a page as a demo user: python scripts/screenshot.py USER URL OUT.png [WIDTH]
Design notes: docs/architecture/scripts.md."""

import sys
import urllib.parse

from menu_screenshots import launch_chinese_chromium

PASSWORD = "Demo@2026"


def main():
    from playwright.sync_api import sync_playwright  # only this script needs a browser, not the importers

    username, url, out = sys.argv[1:4]
    width = int(sys.argv[4]) if len(sys.argv) > 4 else 1280
    parsed = urllib.parse.urlparse(url)
    base = f"{parsed.scheme}://{parsed.netloc}"
    with sync_playwright() as playwright:
        browser = launch_chinese_chromium(playwright)
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
