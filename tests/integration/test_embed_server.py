"""The server embedder against a real embeddings server: Infinity serving the packaged all-MiniLM-L6-v2.

The test starts ``deploy/bin/embed-server`` (the deployment's own command: ``infinity_emb v2`` from its own
venv, ``.venv-embed/``, made by ``RAGQA_DEV=1 scripts/setup``, as its pins conflict with ``.venv``'s) on
127.0.0.1 and a free port, serving the packaged model folder offline under the name ``all-MiniLM-L6-v2`` with
the OpenAI routes under ``/v1``. Checked: its vectors of the seeds' real chunks and the dev questions equal the
in-process fp32 model's (cosine >= 0.999), also for a text beyond the 256-token window; an index built through
it has the same chunks as the default one and retrieves the same passages for every dev question as an index
built in process with the same model; questions are embedded by the index's embedder; a change of embedder
rebuilds in full; no server gives a one-line error naming the URL. The server is stopped after.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, dev_questions
from tests.servers import free_port, serving

pytestmark = [pytest.mark.slow, pytest.mark.integration]

#: The Infinity CLI (its folder goes first on the server's PATH); RAGQA_INFINITY names another one.
INFINITY = Path(os.environ.get("RAGQA_INFINITY") or ROOT / ".venv-embed" / "bin" / "infinity_emb")
SERVED = "all-MiniLM-L6-v2"
EMBEDDER = f"openai:{SERVED}"
#: Seconds Infinity may take to import torch, load the model and answer /v1/models.
START_TIMEOUT = 180
#: Vectors of the same model over HTTP and in process (the issue's bar).
MIN_COSINE = 0.999


@pytest.fixture(scope="module")
def infinity(tmp_path_factory):
    """``deploy/bin/embed-server`` (Infinity serving the packaged MiniLM folder) on loopback and a free port;
    yields its base URL, stops it after."""
    if not INFINITY.exists():
        pytest.skip(f"{INFINITY} not found: RAGQA_DEV=1 scripts/setup installs Infinity into .venv-embed/")
    port = free_port()
    log = tmp_path_factory.mktemp("infinity") / "server.log"
    env = {
        **os.environ,
        "PATH": f"{INFINITY.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "EMBED_HOST": "127.0.0.1",
        "EMBED_PORT": str(port),
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "DO_NOT_TRACK": "1",
        "INFINITY_ANONYMOUS_USAGE_STATS": "0",
    }
    env.pop("VIRTUAL_ENV", None)
    with serving([str(ROOT / "deploy" / "bin" / "embed-server")], f"http://127.0.0.1:{port}/v1", log, "infinity_emb",
                 START_TIMEOUT, ready=lambda ids: ids == [SERVED], env=env) as base_url:
        yield base_url


@pytest.fixture
def server_env(infinity, monkeypatch):
    """The environment that points the ``openai`` embedder at the test's Infinity."""
    monkeypatch.setenv("RAGQA_EMBED_BASE_URL", infinity)
    for var in (
        "RAGQA_EMBED_API_KEY",
        "OPENAI_API_KEY",
        "RAGQA_EMBED_TOKENIZER",
        "RAGQA_EMBED_MAX_TOKENS",
        "RAGQA_EMBED_RETRIES",
        "RAGQA_EMBED_TIMEOUT",
        "RAGQA_EMBED_CONCURRENCY",
    ):
        monkeypatch.delenv(var, raising=False)
    return infinity


@pytest.fixture(scope="module")
def server_index(tmp_path_factory, seeds_copy, infinity):
    """Index settings of the seeds built through the server (module-wide; built on first use)."""
    import index

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAGQA_EMBED_BASE_URL", infinity)
        settings = index.IndexSettings(
            sources=[str(seeds_copy)], index_dir=str(tmp_path_factory.mktemp("srv-index")), embedder=EMBEDDER
        )
        report = index.build(settings=settings)
        assert report.full and report.embedded == report.chunks > 0
    return settings


@pytest.fixture(scope="module")
def fp32_index(tmp_path_factory, seeds_copy):
    """The same seeds embedded in process by the same model (fp32 sentence-transformers)."""
    import index

    settings = index.IndexSettings(
        sources=[str(seeds_copy)], index_dir=str(tmp_path_factory.mktemp("fp32-index")), embedder="minilm"
    )
    index.build(settings=settings)
    return settings


def _spans(idx) -> list[tuple[str, int, int]]:
    return [(Path(c.source).name, c.start, c.end) for c in idx.chunks]


def test_vectors_equal_the_in_process_model(seed_index, server_env):
    import index
    from index.embed import get_embedder
    from index.embed_openai import OpenAIEmbedder

    texts = [c.text for c in index.load(seed_index).chunks] + [r["question"] for r in dev_questions()]
    server = get_embedder(EMBEDDER)
    assert isinstance(server, OpenAIEmbedder) and (server.dim, server.max_tokens) == (384, 256)
    got = server.encode(texts)
    cosine = (got * get_embedder("minilm").encode(texts)).sum(axis=1)
    int8 = (got * get_embedder("minilm-onnx-int8").encode(texts)).sum(axis=1)
    print(
        f"\n{len(texts)} texts: cosine with in-process fp32 min {cosine.min():.6f} mean {cosine.mean():.6f}; "
        f"with the int8 default min {int8.min():.6f} mean {int8.mean():.6f}"
    )
    assert cosine.min() >= MIN_COSINE
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_long_text_is_embedded_as_in_process(server_env):
    """A text beyond the 256-token window: cut client-side where sentence-transformers truncates."""
    from index.embed import get_embedder

    text = " ".join(f"Reservoir {i} held {i * 3} million litres of water in March." for i in range(80))
    server, local = get_embedder(EMBEDDER), get_embedder("minilm")
    assert server.count_tokens([text])[0] > 600
    assert float(server.encode([text])[0] @ local.encode([text])[0]) >= MIN_COSINE


def test_index_through_the_server_retrieves_as_in_process(server_index, fp32_index, seed_index, server_env):
    import index
    from index.embed import get_embedder
    from qa.config import RetrievalSettings
    from qa.retrieve import retrieve

    srv, fp32, default = index.load(server_index), index.load(fp32_index), index.load(seed_index)
    assert srv.manifest.embedder == f"{EMBEDDER}:384:256" and srv.manifest.dim == 384
    assert server_env not in json.dumps(srv.manifest.__dict__)  # the URL is no part of the index
    assert _spans(srv) == _spans(fp32) == _spans(default)  # the same tokenizer sizes the same chunks
    server, local = get_embedder(EMBEDDER), get_embedder("minilm")
    for row in dev_questions():
        got = retrieve(srv, server, row["question"], 5, RetrievalSettings())
        want = retrieve(fp32, local, row["question"], 5, RetrievalSettings())
        assert [(Path(p.source).name, p.start, p.end) for p in got] == [(Path(p.source).name, p.start, p.end) for p in want], row[
            "id"
        ]
        if row.get("sources"):
            assert {Path(p.source).stem for p in got} & set(row["sources"]), row["id"]


def test_questions_are_embedded_by_the_index_embedder(server_index, server_env):
    import index
    import qa
    from index.embed_openai import OpenAIEmbedder

    configured = index.IndexSettings(sources=server_index.sources, index_dir=server_index.index_dir, embedder="minilm-onnx-int8")
    pipe = qa.Pipeline(qa.Config(index=configured))
    assert isinstance(pipe.embedder, OpenAIEmbedder) and pipe.embedder.name == EMBEDDER
    top = pipe.retrieve("Who founded the search engine Sogou?", 3)
    assert "Wang Xiaochuan" in top[0].text


def test_a_change_of_embedder_rebuilds_in_full(server_env, seeds_copy, tmp_path):
    import index

    settings = index.IndexSettings(sources=[str(seeds_copy)], index_dir=str(tmp_path / "idx"), embedder=EMBEDDER)
    first = index.build(settings=settings)
    assert first.full and first.embedded == first.chunks
    assert index.build(settings=settings).embedded == 0  # nothing changed: nothing sent to the server
    settings.embedder = "minilm-onnx-int8"
    to_local = index.build(settings=settings)
    assert to_local.full and to_local.embedded == first.chunks
    assert index.load(settings).manifest.embedder == "minilm-onnx-int8:384:256"
    settings.embedder = EMBEDDER
    back = index.build(settings=settings)
    assert back.full and back.embedded == first.chunks


def test_no_server_is_a_clear_error(server_index, monkeypatch):
    import qa
    from index.embed_openai import EmbedServerError

    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    monkeypatch.setenv("RAGQA_EMBED_BASE_URL", url)
    monkeypatch.setenv("RAGQA_EMBED_RETRIES", "1")
    pipe = qa.Pipeline(qa.Config(index=server_index))
    with pytest.raises(EmbedServerError) as info:
        pipe.retrieve("Who founded the search engine Sogou?")
    message = str(info.value)
    assert message.startswith(f"the embedding server at {url} is not reachable")
    assert "after 2 attempt(s)" in message and "RAGQA_EMBED_BASE_URL" in message and "\n" not in message
