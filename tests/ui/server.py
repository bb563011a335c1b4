"""One real `ragqa ui` server per test process, shared by the UI and reliability tests.

The server is started through the CLI (``python -m qa ui --port N``) on a free loopback port,
over a temporary copy of the seeds and a temporary index (RAGQA_SOURCES / RAGQA_INDEX_DIR), so
the repository's ``seeds/`` and ``.index/`` are never touched. The first caller starts it; it
is stopped when the test session ends.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
START_TIMEOUT = 600.0
"""Seconds the server may take to build its index and load the model (CPU shared with other jobs)."""


@dataclass
class UIServer:
    """A running server: its URL, where its sources and index live, and its log."""

    url: str
    port: int
    root: Path
    sources: Path
    index_dir: Path
    log: Path
    process: subprocess.Popen

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def alive(self) -> bool:
        """The process runs and answers HTTP."""
        if self.process.poll() is not None:
            return False
        try:
            return httpx.get(self.url + "/", timeout=10).status_code == 200
        except httpx.HTTPError:
            return False


_lock = threading.Lock()
_server: UIServer | None = None




def start_server(env: dict[str, str] | None = None, timeout: float = START_TIMEOUT) -> UIServer:
    """Start a `ragqa ui` server of its own (``env``: extra variables, e.g. ``RAGQA_UI_QUEUE``); stop it with
    :func:`stop`. Used by the load benchmark; tests share :func:`get_server`'s."""
    return _start(env, timeout)


def stop(server: UIServer) -> None:
    """Stop a server from :func:`start_server` and remove its files."""
    _stop(server)


def _start(extra_env: dict[str, str] | None = None, timeout: float = START_TIMEOUT) -> UIServer:
    root = Path(tempfile.mkdtemp(prefix="ragqa-ui-"))
    sources = root / "sources"
    shutil.copytree(SEEDS, sources)
    index_dir = root / "index"
    port = free_port()
    env = dict(os.environ, RAGQA_SOURCES=str(sources), RAGQA_INDEX_DIR=str(index_dir),
               GRADIO_TEMP_DIR=str(root / "gradio"), PYTHONUNBUFFERED="1", **(extra_env or {}))
    log = root / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "qa", "ui", "--port", str(port)], cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = UIServer(f"http://127.0.0.1:{port}", port, root, sources, index_dir, log, process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ragqa ui exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(server.url + "/gradio_api/info", timeout=5).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(1.0)
    _stop(server)
    raise RuntimeError(f"ragqa ui did not start within {timeout:.0f}s:\n{server.log_tail()}")


def _stop(server: UIServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=30)
    shutil.rmtree(server.root, ignore_errors=True)


def get_server() -> UIServer:
    """The shared server, started on first use."""
    global _server
    with _lock:
        if _server is None:
            _server = _start()
            atexit.register(stop_server)
        return _server


def stop_server() -> None:
    """Stop the shared server (idempotent)."""
    global _server
    with _lock:
        if _server is not None:
            _stop(_server)
            _server = None


def call_api(url: str, api_name: str, data: list, timeout: float = 300.0) -> tuple[str, object]:
    """Call a named endpoint over Gradio's plain HTTP API: ("complete", outputs) or ("error", message).

    Used where a test must send exactly what a hostile client would (gradio_client would clean it up).
    """
    r = httpx.post(f"{url}/gradio_api/call/{api_name}", json={"data": data}, timeout=30)
    r.raise_for_status()
    event_id = r.json()["event_id"]
    event = None
    with httpx.stream("GET", f"{url}/gradio_api/call/{api_name}/{event_id}", timeout=timeout) as resp:
        for line in resp.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                payload = line.split(":", 1)[1].strip()
                try:
                    return event, json.loads(payload)
                except json.JSONDecodeError:
                    return event, payload
    raise RuntimeError(f"no result from {api_name}")


def raw_upload(url: str, filename: bytes, data: bytes) -> httpx.Response:
    """POST one file to Gradio's upload route with exactly this (possibly hostile) file name."""
    boundary = "ragqatestboundary7d9f"
    body = (f"--{boundary}\r\n".encode() + b'Content-Disposition: form-data; name="files"; filename="' + filename
            + b'"\r\nContent-Type: application/octet-stream\r\n\r\n' + data + f"\r\n--{boundary}--\r\n".encode())
    return httpx.post(f"{url}/gradio_api/upload", content=body, timeout=120,
                      headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})


_browser: tuple | None = None


def get_browser():
    """Debian's chromium driven by Playwright, headless, with background networking off (one per process)."""
    global _browser
    with _lock:
        if _browser is None:
            from playwright.sync_api import sync_playwright

            manager = sync_playwright()
            playwright = manager.start()
            try:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
            except Exception:
                manager.__exit__(None, None, None)
                raise
            _browser = (manager, browser)
        return _browser[1]


def stop_browser() -> None:
    """Close the shared browser (idempotent)."""
    global _browser
    with _lock:
        if _browser is not None:
            manager, browser = _browser
            _browser = None
            browser.close()
            manager.__exit__(None, None, None)


WATCH_ANSWER_JS = """
() => {
  // Records, in the page's own clock, when the next answer's stages become visible in #chat: the click on Ask,
  // the passages being read (details.ragqa-evidence "Reading …"), the model's first streamed text, the verified
  // answer. Times are epoch milliseconds (performance.timeOrigin + performance.now()), so they compare with the
  // server's time.time() on the same machine. `states` lists each distinct state seen, in order.
  const now = () => performance.timeOrigin + performance.now();
  const chat = document.querySelector("#chat");
  const before = chat.querySelectorAll(".ragqa-answer, .ragqa-error").length;
  const rec = window.ragqaWatch = {clicked: null, evidence: null, evidenceText: null, token: null, tokenText: null,
                                   answer: null, states: []};
  const shown = (el) => !!el && el.getClientRects().length > 0;
  const modelText = (el) => {
    const copy = el.cloneNode(true);
    copy.querySelectorAll("details.ragqa-evidence, .ragqa-wait, .ragqa-cursor").forEach((n) => n.remove());
    return copy.textContent.trim();
  };
  const check = () => {
    if (rec.clicked === null) return;
    const t = now();
    const done = chat.querySelectorAll(".ragqa-answer, .ragqa-error");
    const streams = chat.querySelectorAll(".ragqa-streaming");
    const streaming = streams.length ? streams[streams.length - 1] : null;
    let state = "none";
    if (done.length > before) {
      state = "answer";
      if (rec.answer === null) rec.answer = t;
    } else if (streaming) {
      const ev = streaming.querySelector("details.ragqa-evidence");
      const text = modelText(streaming);
      if (shown(ev) && rec.evidence === null) { rec.evidence = t; rec.evidenceText = ev.textContent.trim(); }
      if (text && rec.token === null) { rec.token = t; rec.tokenText = text; }
      state = (ev ? "evidence" : "searching") + (text ? "+text" : "");
    }
    if (rec.states[rec.states.length - 1] !== state) rec.states.push(state);
  };
  document.addEventListener("click", (e) => {
    if (rec.clicked === null && e.target.closest && e.target.closest("#send")) { rec.clicked = now(); check(); }
  }, true);
  new MutationObserver(check).observe(chat, {subtree: true, childList: true, characterData: true, attributes: true});
}
"""
"""Install with ``page.evaluate(WATCH_ANSWER_JS)`` before pressing Ask; read ``window.ragqaWatch`` after the answer."""

TIMINGS_LINE = r"retrieval ([\d.]+) s · first token ([\d.]+) s · total ([\d.]+) s"
"""The timings line rendered under each answer (``ui.render._timings``)."""


def choose_scope(page, *names: str) -> None:
    """Pick sources in the "Answer from" dropdown (its choices arrive just after the page loads)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for name in names:
        option = page.get_by_role("option", name=name)
        for _ in range(20):
            page.locator("#scope input").click()
            try:
                option.wait_for(timeout=3_000)
                break
            except PlaywrightTimeout:
                page.keyboard.press("Escape")
        option.click()
    page.keyboard.press("Escape")
