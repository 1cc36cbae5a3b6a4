"""Take a screenshot of a page as a demo user: python scripts/screenshot.py USER URL OUT.png [WIDTH]
Design notes: docs/architecture/scripts.md."""

import http.cookiejar
import http.server
import re
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import urllib.request
from pathlib import Path


def session_cookie(base: str, username: str, password: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token}).encode()
    request = urllib.request.Request(f"{base}/accounts/login/", data=data, headers={"Referer": f"{base}/accounts/login/"})
    opener.open(request)
    return next(cookie.value for cookie in jar if cookie.name == "sessionid")


def main():
    username, url, out = sys.argv[1:4]
    width = int(sys.argv[4]) if len(sys.argv) > 4 else 1280
    parsed = urllib.parse.urlparse(url)
    base = f"{parsed.scheme}://{parsed.netloc}"
    cookie = session_cookie(base, username, "Demo@2026") if username != "-" else ""
    with tempfile.TemporaryDirectory() as profile:
        # Cookies are per host, not per port: a page served on another port of the same host sets
        # the session cookie and then opens the target URL.
        setter = Path(profile) / "set.html"
        setter.write_text(
            f"<script>document.cookie='sessionid={cookie}; path=/';location.replace({url!r});</script>", encoding="utf-8"
        )

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(setter.read_bytes())

            def log_message(self, *args):
                pass

        server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        host = parsed.hostname
        setter_url = f"http://{host}:{server.server_port}/"
        subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
             f"--window-size={width},1400", "--virtual-time-budget=4000", "--hide-scrollbars",
             f"--screenshot={out}", setter_url],
            check=True, capture_output=True,
        )
        server.shutdown()


if __name__ == "__main__":
    main()
