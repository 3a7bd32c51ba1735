"""`make screenshots` drives headless Chromium over its DevTools protocol:
here against a page served on loopback, the capture is a small JPEG of the
requested size, taken once the awaited element is there."""

import http.server
import shutil
import sys
import threading
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parent.parent / "tools"
sys.path.insert(0, str(TOOLS))
import screenshots  # noqa: E402

PAGE = b"""<!doctype html><html><body style="margin:0;background:#fff">
<div id="late"></div>
<script>setTimeout(() => {
  document.getElementById("late").innerHTML = '<h1 class="ready">Ready</h1>';
  document.cookie.includes("session_id=s3cr3t") && document.body.classList.add("logged");
}, 300);</script></body></html>"""


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args):
        pass


@pytest.fixture
def site():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.skipif(not shutil.which("chromium"), reason="Chromium not installed")
def test_capture_waits_for_the_page_and_writes_a_small_jpeg(site, tmp_path):
    browser = screenshots.Browser(width=640, height=400)
    try:
        browser.set_cookie(site, "session_id", "s3cr3t")
        browser.open(f"{site}/page", "h1.ready", timeout=30)
        assert browser.evaluate("document.body.classList.contains('logged')")
        shot = browser.capture(tmp_path / "shots" / "page.jpg")
    finally:
        browser.close()
    data = shot.read_bytes()
    assert data[:3] == b"\xff\xd8\xff"  # JPEG
    # the frame size is in the SOF0 segment: height, then width
    sof = data.index(b"\xff\xc0")
    height = int.from_bytes(data[sof + 5:sof + 7], "big")
    width = int.from_bytes(data[sof + 7:sof + 9], "big")
    assert (width, height) == (640, 400)
    assert len(data) < 100_000


@pytest.mark.skipif(not shutil.which("chromium"), reason="Chromium not installed")
def test_a_page_that_never_shows_the_element_times_out(site):
    browser = screenshots.Browser(width=320, height=200)
    try:
        with pytest.raises(TimeoutError):
            browser.open(f"{site}/page", "h1.never", timeout=2)
    finally:
        browser.close()
