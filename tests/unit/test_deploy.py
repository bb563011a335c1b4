"""deploy/: the compose file sets only settings that the code reads, with values that parse to what the tests run.

The deployment cannot be started here (no Docker, no network). Checked instead: every ``RAGQA_*`` variable
in deploy/compose.yaml is read by the code; with the compose environment the settings objects come out as
intended (the server embedder, the openai backend with its extra body, the Milvus store, a login the UI accepts
on 0.0.0.0); the servers' scripts serve the names, prefixes and ports the ragqa services point at; the
proxy balances over the UI replicas with sticky sessions; every variable the compose file requires is in
deploy/env.example.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def _env_example() -> dict[str, str]:
    pairs = [
        line.split("=", 1)
        for line in (DEPLOY / "env.example").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return {k: v for k, v in pairs}


def _resolve(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR:-default}`` / ``${VAR:?message}`` / ``${VAR}`` interpolation."""

    def one(m: re.Match) -> str:
        name, op, rest = m.group(1), m.group(2), m.group(3)
        if env.get(name):
            return env[name]
        if op == ":-":
            return rest
        raise KeyError(name)

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, str(value))


def _ragqa_env(compose: dict, service: str) -> dict[str, str]:
    env = _env_example()
    return {k: _resolve(v, env) for k, v in compose["services"][service]["environment"].items()}


def _code_text() -> str:
    files = [p for d in ("index", "qa", "ui") for p in (ROOT / d).rglob("*.py")]
    return "\n".join(p.read_text(encoding="utf-8") for p in files)


def test_every_ragqa_variable_is_one_the_code_reads(compose):
    code = _code_text()
    for service in ("index", "ui"):
        names = [k for k in _ragqa_env(compose, service) if k.startswith("RAGQA_")]
        assert len(names) >= 13
        for name in names:
            assert re.search(rf'["\']{name}["\']', code), f"{service}: {name} is read nowhere in index/, qa/, ui/"


def test_the_compose_environment_gives_the_intended_settings(compose, monkeypatch):
    import index
    from index.settings import EmbedServerSettings, parse_openai_embedder
    from qa.config import LLMSettings
    from ui.auth import credentials, login_for

    env = _ragqa_env(compose, "ui")
    assert env == {**_ragqa_env(compose, "index"), "RAGQA_UI_AUTH": _env_example()["RAGQA_UI_AUTH"]}
    for k in list(os.environ):
        if k.startswith("RAGQA_"):
            monkeypatch.delenv(k)
    for k, v in env.items():
        monkeypatch.setenv(k, v)

    settings = index.IndexSettings()
    assert (settings.sources, settings.index_dir, settings.store) == (["/data/sources"], "/data/index", "milvus")
    assert parse_openai_embedder(settings.embedder) == "all-MiniLM-L6-v2"
    server = EmbedServerSettings()
    assert server.base_url == "http://embed:7997/v1" and server.tokenizer == "minilm" and server.max_tokens == 0
    llm = LLMSettings()
    assert (llm.backend, llm.base_url, llm.model, llm.timeout) == (
        "openai",
        "http://llm:8000/v1",
        "qwen2.5-coder-1.5b-instruct",
        120.0,
    )
    assert llm.extra_body == {"repeat_penalty": 1.05}  # what the openai-backend test sends to llama.cpp's server
    assert llm.cache_dir == "/data/cache"
    assert os.environ["RAGQA_MILVUS_URI"] == "http://milvus:19530"
    pairs = credentials(dict(os.environ))
    assert pairs and login_for("0.0.0.0", pairs) == pairs


def test_servers_serve_what_ragqa_points_at(compose):
    env = _ragqa_env(compose, "ui")
    embed_url, llm_url = urlparse(env["RAGQA_EMBED_BASE_URL"]), urlparse(env["RAGQA_LLM_BASE_URL"])
    embed_script = (DEPLOY / "bin" / "embed-server").read_text()
    assert f"--served-model-name {env['RAGQA_EMBEDDER'].split(':', 1)[1]} " in embed_script
    assert f"--url-prefix {embed_url.path} " in embed_script and f"EMBED_PORT:-{embed_url.port}" in embed_script
    assert embed_url.hostname == "embed" and compose["services"]["embed"]["command"] == ["embed-server"]
    llm_script = (DEPLOY / "bin" / "llm-server").read_text()
    assert llm_url.hostname == "llm" and llm_url.path == "/v1" and f"LLM_PORT:-{llm_url.port}" in llm_script
    assert compose["services"]["llm"]["environment"]["LLM_ALIAS"] == env["RAGQA_MODEL"]
    assert "python -m llama_cpp.server" in llm_script and "packaged_gguf" in llm_script
    assert urlparse(env["RAGQA_MILVUS_URI"]).hostname in compose["services"]
    for script in ("embed-server", "llm-server"):
        assert os.access(DEPLOY / "bin" / script, os.X_OK)


def test_replicas_behind_a_sticky_proxy(compose):
    ui = compose["services"]["ui"]
    assert ui["command"] == ["ragqa", "ui", "--host", "0.0.0.0", "--port", "7860"]
    assert ui["depends_on"]["index"] == {"condition": "service_completed_successfully"}
    assert compose["services"]["index"]["command"][:2] == ["ragqa", "index"]
    caddy = (DEPLOY / "Caddyfile").read_text()
    assert "dynamic a ui 7860" in caddy and "lb_policy cookie" in caddy and "flush_interval -1" in caddy
    mounts = [v.rsplit(":", 1)[1] for v in ui["volumes"]]
    assert mounts == ["/data", "/data/sources"] == [v.rsplit(":", 1)[1] for v in compose["services"]["index"]["volumes"]]


def test_required_variables_are_in_env_example():
    text = (DEPLOY / "compose.yaml").read_text()
    required = set(re.findall(r"\$\{(\w+):\?", text))
    optional = set(re.findall(r"\$\{(\w+):-", text))
    example = _env_example()
    assert required <= set(example) and required
    assert {"UI_REPLICAS", "RAGQA_SOURCES_DIR", "MILVUS_VERSION"} <= optional <= set(example)
    assert Path(DEPLOY / "README.md").read_text().count("Not started here") == 1
