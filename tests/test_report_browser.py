"""A real browser opens the published pages from file:// (headless Chromium, DevTools protocol).

For index.html and every latest.html: no console error, no uncaught exception, no failed resource
load, no JavaScript dialog (an escaped ``<script>alert(1)</script>`` must stay text), every image
displayed (naturalWidth > 0), no code visible; a screenshot of each page is kept in the test's
temporary folder. A real report (sales_performance on the test sample) gets the same checks, and
the top of its page is saved as docs/img/sales_performance.png, the screenshot the README and the
docs show, so it is never stale. Skipped only when Chromium is not installed
(``apt-get install chromium``; ``.ci/run`` installs it).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from report_support import XSS, executed_reports

ROOT = Path(__file__).resolve().parents[1]
DOCS_SCREENSHOT = ROOT / "docs" / "img" / "sales_performance.png"  # shown by README.md and docs/
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed "
                                "(apt-get install chromium) - the browser test cannot run")

PAGE_STATE = """(() => {
  const imgs = [...document.images];
  const code = document.querySelectorAll(
    '.jp-InputPrompt, .jp-OutputPrompt, .jp-CodeMirrorEditor, .jp-InputArea-editor, pre code');
  return JSON.stringify({
    title: document.title,
    ready: document.readyState,
    images: imgs.length,
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 60)),
    code: [...code].filter(e => e.offsetParent !== null).length,
    datatables: document.querySelectorAll('table.dataTable').length,
    loading: document.body.innerText.includes('Loading ITables'),
    text: document.body.innerText,
  });
})()"""


class Browser:
    """Just enough of the DevTools protocol: navigate, evaluate, screenshot, collect errors."""

    def __init__(self, profile: Path):
        import websocket  # websocket-client, a dependency of jupyter_server

        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", "--no-default-browser-check", f"--user-data-dir={profile}",
             "--remote-debugging-port=0", "--window-size=1200,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.is_file() or len(port_file.read_text().split()) < 2:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                pytest.fail("Chromium did not start its DevTools endpoint")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
            targets = json.load(resp)
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30,
                                              suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params):
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)
            if msg.get("method") == "Page.javascriptDialogOpening":  # never block on a dialog
                self.next_id += 1
                self.ws.send(json.dumps({"id": self.next_id, "params": {"accept": True},
                                         "method": "Page.handleJavaScriptDialog"}))

    def open(self, url: str) -> dict:
        self.events.clear()
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + 30
        state = {}
        while time.monotonic() < deadline:
            result = self.call("Runtime.evaluate", expression=PAGE_STATE, returnByValue=True)
            loaded = any(e.get("method") == "Page.loadEventFired" for e in self.events)
            if loaded and "value" in result.get("result", {}):
                state = json.loads(result["result"]["value"])
                if state["ready"] == "complete" and not state["loading"]:
                    break
            time.sleep(0.2)
        time.sleep(0.3)  # let late module scripts report errors
        self.call("Runtime.evaluate", expression="1")
        return state

    def errors(self) -> list[str]:
        found = []
        for ev in self.events:
            method, p = ev.get("method"), ev.get("params", {})
            if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                found.append("console: " + " ".join(str(a.get("value", a.get("description")))
                                                     for a in p.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                found.append("exception: " + json.dumps(p.get("exceptionDetails", {}))[:300])
            elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                found.append("log: " + p["entry"].get("text", "") + " " + p["entry"].get("url", ""))
            elif method == "Page.javascriptDialogOpening":
                found.append("dialog: " + p.get("message", ""))
        return found

    def screenshot(self, path: Path, whole_page: bool = True) -> None:
        data = self.call("Page.captureScreenshot", format="png",
                         captureBeyondViewport=whole_page)["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self):
        if getattr(self, "ws", None):
            self.ws.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def ex(tmp_path_factory):
    return executed_reports(tmp_path_factory)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


def published_pages(reports: Path) -> list[Path]:
    return [reports / "index.html", *sorted(reports.glob("*/latest.html"))]


def test_published_pages_work_in_a_browser(ex, browser, tmp_path):
    pages = published_pages(ex.reports)
    assert len(pages) == 2  # the index and ok (broken never succeeded)
    for page in pages:
        state = browser.open(page.as_uri())
        shot = tmp_path / f"{page.parent.name}-{page.stem}.png"
        browser.screenshot(shot)
        shutil.copy(shot, "/tmp/rt/") if __import__("os").environ.get("KEEP_SHOTS") else None
        assert shot.stat().st_size > 5000
        assert browser.errors() == [], page
        assert state["broken"] == [], page
        assert state["code"] == 0, page
        if page.name == "latest.html":
            assert state["images"] >= 1
            assert state["datatables"] == 1  # the interactive table works offline
            assert XSS in state["text"]  # shown as text (this run shows personal data)
            assert "present.show_table" not in state["text"] and "import " not in state["text"]
            assert state["title"] == "Fixture report"
        else:
            assert "Fixture report" in state["text"] and "failed" in state["text"]


def test_the_browser_check_sees_errors(browser, tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<html><body><img src="missing.png"><pre><code>x = 1</code></pre>'
                    '<script>console.error("boom"); alert("xss");</script></body></html>')
    state = browser.open(page.as_uri())
    errors = browser.errors()
    assert any("boom" in e for e in errors) and any(e.startswith("dialog: xss") for e in errors)
    assert any("missing.png" in e for e in errors)
    assert state["broken"] and state["code"] == 1


def test_history_links_resolve(ex, browser):
    browser.open((ex.reports / "index.html").as_uri())
    hrefs = json.loads(browser.call(
        "Runtime.evaluate", returnByValue=True,
        expression="JSON.stringify([...document.links].map(a => a.href))")["result"]["value"])
    assert hrefs
    for href in hrefs:
        assert href.startswith("file://")
        assert Path(href[len("file://"):]).is_file(), href


def test_a_real_report_works_in_a_browser_and_gives_the_docs_screenshot(browser, tmp_path):
    from crmlib.report.runner import run_reports

    (result,) = run_reports(["sales_performance"], notebooks_dir=ROOT / "notebooks",
                            reports_dir=tmp_path / "reports", progress=False, timeout=300)
    assert result.status == "ok", result.error
    page = tmp_path / "reports" / "sales_performance" / "latest.html"
    state = browser.open(page.as_uri())
    assert browser.errors() == []
    assert state["broken"] == [] and state["images"] >= 1 and state["code"] == 0
    assert state["title"].startswith("Sales performance")
    shot = tmp_path / "sales_performance.png"
    browser.screenshot(shot, whole_page=False)  # the top of the page: header, findings, figures
    assert shot.stat().st_size > 20000
    # only a checked page replaces the committed screenshot
    DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, DOCS_SCREENSHOT)


@pytest.fixture(scope="module")
def listed(tmp_path_factory):
    """Two runs of a report that publishes a list (the second compares with the first)."""
    from report_support import copy_notebooks

    from crmlib.report.runner import run_reports

    root = tmp_path_factory.mktemp("listed")
    common = {"notebooks_dir": copy_notebooks(root / "notebooks", ("listed",)),
              "reports_dir": root / "reports", "progress": False, "timeout": 120}
    run_reports(["listed"], **common)
    run_reports(["listed"], parameters={"shift": "3", "loss": "120"}, **common)
    return root / "reports"


def test_a_list_link_downloads_the_list(listed, browser, tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    state = browser.open((listed / "listed" / "latest.html").as_uri())
    assert browser.errors() == [] and state["code"] == 0
    assert "Lists to download" in state["text"] and "Since the last run" in state["text"]
    browser.call("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(downloads))
    href = json.loads(browser.call("Runtime.evaluate", returnByValue=True, expression=(
        "(() => { const a = document.querySelector('a.crmlib-list'); a.click(); "
        "return JSON.stringify(a.href); })()"))["result"]["value"])
    assert href.startswith("file://") and href.endswith("/targets.csv")
    deadline = time.monotonic() + 20
    while not list(downloads.glob("*.csv")) and time.monotonic() < deadline:
        time.sleep(0.2)
    (got,) = list(downloads.glob("*.csv"))
    text = got.read_bytes().decode("utf-8-sig")
    assert text.splitlines()[0] == "customer_id,segment,score,note"
    assert len(text.splitlines()) == 31 and text.splitlines()[1].startswith("4,")  # shifted ids: 4..33
    assert "example.com" not in text


def test_index_shows_trend_charts(listed, browser, tmp_path):
    browser.open((listed / "index.html").as_uri())
    assert browser.errors() == []
    charts = json.loads(browser.call("Runtime.evaluate", returnByValue=True, expression=(
        "JSON.stringify([...document.querySelectorAll('svg.trend')].map(s => "
        "[s.getBoundingClientRect().width, s.querySelectorAll('circle').length]))"))["result"]["value"])
    assert charts and all(w > 50 and n == 2 for w, n in charts)
    text = browser.call("Runtime.evaluate", returnByValue=True,
                        expression="document.body.innerText")["result"]["value"]
    assert "Revenue growth" in text and "\u22127.0%" in text and "revenue_growth" not in text
    browser.screenshot(tmp_path / "index.png")
