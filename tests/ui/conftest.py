"""Fixtures for the UI tests: the shared real server, a fresh client session, and a headless chromium."""

from __future__ import annotations

import pytest

from tests.ui.server import CHROMIUM, UIServer, get_browser, get_server, stop_browser, stop_server


@pytest.fixture(scope="session")
def ui_server() -> UIServer:
    """The real `ragqa ui` server over a temporary copy of the seeds (started once, stopped at the end)."""
    yield get_server()
    stop_server()


@pytest.fixture
def ui_client(ui_server):
    """A new gradio_client session on the server (its own conversation)."""
    from gradio_client import Client

    return Client(ui_server.url, verbose=False, download_files=False)


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright, headless."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not installed (scripts/setup installs it with apt)")
    yield get_browser()
    stop_browser()
