#!/usr/bin/env python
"""Take the docs' screenshot of the sources features: docs/ui-sources.png.

Builds a small index in a temporary folder (a three-page PDF and a Markdown file), starts the UI
on a free loopback port with the real models, asks a question with "Answer from" set to the PDF,
opens the citation (page and section after the file name, the cited span in its context) and
saves a full-page screenshot. Needs Debian's chromium (``scripts/setup`` installs it).

    .venv/bin/python scripts/screenshot_sources.py [--out docs/ui-sources.png]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for key, value in (("GRADIO_ANALYTICS_ENABLED", "False"), ("HF_HUB_OFFLINE", "1"), ("HF_HUB_DISABLE_TELEMETRY", "1")):
    os.environ.setdefault(key, value)

QUESTION = "How much water did the Kestrel reservoir hold in March 2023?"
PDF_NAME = "water-report-2023.pdf"
PAGES = [
    ["Tarn Valley Water Board", "Annual report on the reservoirs of the Tarn valley, 2023.",
     "This report lists the water held by each reservoir and the work done on them."],
    ["Reservoir levels", "The Kestrel reservoir held 48 million litres of water in March 2023.",
     "The Osprey reservoir held 31 million litres in the same month.",
     "Both reservoirs were lower than in March 2022 after a dry winter."],
    ["Maintenance", "The spillway of the Osprey dam was repaired in June 2023.",
     "Levels are expected to recover by the spring of 2024."],
]
NOTES = """# Visiting the Kestrel reservoir

The Kestrel reservoir lies at the head of the Tarn valley and is fed by the river Arn.

## Walks

A footpath of 6 kilometres runs around the reservoir; it starts at the car park by the dam.
"""
TIMEOUT_MS = 600_000  # the model may share the CPU with other work


def build_sources(folder: Path) -> None:
    from tests.reliability.pdfs import pages_pdf

    folder.mkdir(parents=True)
    (folder / PDF_NAME).write_bytes(pages_pdf(PAGES))
    (folder / "kestrel-visitors.md").write_text(NOTES, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "ui-sources.png"), help="where to save the PNG")
    args = parser.parse_args(argv)

    import index
    from index import IndexSettings
    from tests.ui.server import CHROMIUM, CHROMIUM_FLAGS, free_port
    from ui.app import launch

    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is not installed (scripts/setup installs it)", file=sys.stderr)
        return 1
    root = Path(tempfile.mkdtemp(prefix="ragqa-screenshot-"))
    app = None
    try:
        sources = root / "sources"
        build_sources(sources)
        settings = IndexSettings(sources=[str(sources)], index_dir=str(root / "index"))
        print(index.build(settings=settings).summary(), flush=True)
        port = free_port()
        app = launch(port=port, index_settings=settings, block=False)

        from playwright.sync_api import sync_playwright

        from tests.ui.server import choose_scope

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
            page.goto(f"http://127.0.0.1:{port}")
            page.locator("#sources [data-testid=cell-0-0]").wait_for()
            choose_scope(page, PDF_NAME)
            page.locator("#question textarea").fill(QUESTION)
            page.locator("#send").click()
            answer = page.locator("#chat .ragqa-answer").first
            answer.wait_for(timeout=TIMEOUT_MS)
            source = answer.locator("details.ragqa-source").first
            if source.count() == 0:
                print("the answer has no citation:\n" + answer.inner_text(), file=sys.stderr)
                return 1
            source.locator(":scope > summary").click()
            source.locator(".ragqa-passage mark.ragqa-span").wait_for(state="visible")
            page.locator("body").click(position={"x": 5, "y": 5})  # no focus ring on the last click
            # the chat scrolled down as the answer grew: back to the question, so all of it shows
            page.evaluate("""() => { for (let e = document.querySelector('#chat .ragqa-question'); e; e = e.parentElement)
                                       if (e.scrollHeight > e.clientHeight) e.scrollTop = 0; }""")
            page.wait_for_timeout(500)
            summary = source.locator(":scope > summary").inner_text()
            out = Path(args.out)
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=True)
            browser.close()
        print(f"saved {out}\ncitation: {summary}")
        return 0
    finally:
        if app is not None:
            app.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
