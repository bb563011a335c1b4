"""The login in front of the served UI: the real app with ``auth=`` on a loopback port, and `ragqa ui`'s refusal
to listen beyond this machine without credentials.

Gradio 6.31's behaviour, which these tests pin: without a login, ``GET /`` answers 200 with a page that holds
only the login form (its config says ``auth_required`` and carries no components); ``/config``, the API info,
``/gradio_api/call/*``, ``/gradio_api/queue/join`` and served files answer 401; ``gradio_client.Client(url)``
raises ``AuthenticationError`` and a wrong password ``ValueError`` ("Could not login").
"""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from tests.ui.server import ROOT, free_port

USER, PASSWORD = "ann", "secret"
QUESTION = "Who founded the search engine Sogou?"


@pytest.fixture(scope="module")
def auth_url(pipeline, seed_index):
    """The real app over the seeds (real models) on a free loopback port, behind a login for ann."""
    from ui.app import launch

    port = free_port()
    app = launch(host="127.0.0.1", port=port, pipeline=pipeline, index_settings=seed_index, block=False,
                 auth=[(USER, PASSWORD)])
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        app.close()


def _logged_in(url: str, password: str = PASSWORD) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60)
    r = client.post("/login", data={"username": USER, "password": password})
    if r.status_code != 200:
        client.close()
        raise PermissionError(f"login refused: {r.status_code} {r.text}")
    return client


@pytest.mark.slow
@pytest.mark.integration
def test_nothing_is_served_without_a_login(auth_url):
    page = httpx.get(auth_url + "/", timeout=60)
    assert page.status_code == 200 and '"auth_required":true' in page.text.replace(" ", "")  # the login form only
    for shown in ("export-md", "Download conversation", "Ask a question about your documents", "add-sources"):
        assert shown not in page.text, shown
    for path in ("/config", "/gradio_api/info", "/gradio_api/openapi.json"):
        assert httpx.get(auth_url + path, timeout=60).status_code == 401, path
    call = httpx.post(auth_url + "/gradio_api/call/chat", json={"data": [QUESTION, []]}, timeout=60)
    assert call.status_code in (401, 403), (call.status_code, call.text)
    join = httpx.post(auth_url + "/gradio_api/queue/join",
                      json={"data": [QUESTION, [], []], "fn_index": 0, "session_hash": "x1"}, timeout=60)
    assert join.status_code in (401, 403), (join.status_code, join.text)


@pytest.mark.slow
@pytest.mark.integration
def test_clients_without_the_right_password_are_refused(auth_url):
    from gradio_client import Client
    from gradio_client.exceptions import AuthenticationError

    with pytest.raises(AuthenticationError):
        Client(auth_url, verbose=False)
    for wrong in ((USER, "wrong"), ("bob", PASSWORD), (USER, "")):
        with pytest.raises(ValueError, match="Could not login"):
            Client(auth_url, auth=wrong, verbose=False)
    with pytest.raises(PermissionError):
        _logged_in(auth_url, password="Secret")


@pytest.mark.slow
@pytest.mark.integration
def test_signed_in_client_gets_answers_and_its_export(auth_url):
    from gradio_client import Client

    client = Client(auth_url, auth=(USER, PASSWORD), verbose=False, download_files=False)
    text = client.predict(QUESTION, api_name="/chat")
    assert "Wang Xiaochuan" in text and "Sources:" in text and "003_" in text, text

    # the same session's conversation as a file; the file itself is only served to someone signed in
    exported = client.predict("markdown", api_name="/export")
    file_url = exported["url"] if isinstance(exported, dict) else exported
    assert file_url.startswith(auth_url), exported
    assert httpx.get(file_url, timeout=60).status_code == 401
    browser = _logged_in(auth_url)
    try:
        md = browser.get(file_url)
    finally:
        browser.close()
    assert md.status_code == 200 and f"## 1. {QUESTION}" in md.text and "Wang Xiaochuan" in md.text, md.text


@pytest.mark.parametrize("auth_env, message", [
    ({}, "--no-auth"),
    ({"RAGQA_UI_AUTH": "nopassword"}, "user:password"),
])
def test_cli_refuses_to_serve_beyond_loopback_without_a_login(tmp_path, auth_env, message):
    """`ragqa ui --host 0.0.0.0` without credentials exits 2 before it reads the index or loads the model."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGQA_")}
    sources = tmp_path / "sources"
    sources.mkdir()
    env.update(RAGQA_SOURCES=str(sources), RAGQA_INDEX_DIR=str(tmp_path / "index"),
               RAGQA_MODEL=str(tmp_path / "no-such-model.gguf"),  # loading a model would fail differently
               GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1", **auth_env)
    proc = subprocess.run([sys.executable, "-m", "qa", "ui", "--host", "0.0.0.0", "--port", str(free_port())],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "index").exists()  # refused before building or opening an index
    assert "Running on" not in proc.stdout
