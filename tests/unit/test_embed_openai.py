"""The server embedder (``RAGQA_EMBEDDER=openai:<model>``) against a stub embeddings server on 127.0.0.1.

The stub computes a deterministic (unnormalised) vector per text and can be told to fail the next requests.
Checked: parsing the embedder name, the settings read from the environment, batching and order under
concurrent requests, normalisation, model discovery, the API key header, retries, one-line errors naming
the URL (also from the CLI), texts cut to the window, the manifest id, a full rebuild when the served
model changes, a build that stops (keeping the current index) when the server fails, and queries
embedded by the index's model.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

import index
from index.embed import get_embedder
from index.embed_openai import EmbedServerError, OpenAIEmbedder
from index.manifest import Manifest
from index.settings import DEFAULT_EMBED_BASE_URL, EmbedServerSettings, parse_openai_embedder
from tests.servers import free_port

DIM = 8
QUICK = {"retry-after-ms": "1"}  # the openai client's own header: retry at once


def vector(model: str, text: str) -> list[float]:
    seed = int.from_bytes(hashlib.sha256(f"{model}\0{text}".encode()).digest()[:8], "little")
    return (np.random.default_rng(seed).normal(size=DIM) * 3.0).tolist()  # deliberately not unit length


class EmbedStub:
    """An OpenAI-compatible embeddings server; ``fail`` holds ``(status, body)`` replies for the next requests."""

    def __init__(self, models=("stub-model",)):
        self.models = list(models)
        self.requests: list[tuple[str, str, dict, dict | None]] = []
        self.fail: list[tuple[int, dict]] = []
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, status: int, body: dict, headers: dict | None = None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                with stub.lock:
                    stub.requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    failure = stub.fail.pop(0) if stub.fail else None
                if failure:
                    return self._send(*failure, QUICK)
                if self.path.endswith("/models"):
                    return self._send(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in stub.models]})
                if body.get("model") not in stub.models:
                    return self._send(404, {"error": {"message": f"model {body.get('model')!r} not found"}})
                texts = body["input"]
                data = [
                    {"object": "embedding", "index": i, "embedding": vector(body["model"], t)}
                    for i, t in reversed(list(enumerate(texts)))
                ]  # out of order: the client sorts by index
                return self._send(200, {"object": "list", "data": data, "model": body["model"]})

            do_GET = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def embedding_requests(self) -> list[list[str]]:
        return [b["input"] for _, p, _, b in self.requests if p.endswith("/embeddings")]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub(monkeypatch):
    s = EmbedStub(models=("stub-model", "other-model"))
    monkeypatch.setenv("RAGQA_EMBED_BASE_URL", s.url)
    for var in (
        "RAGQA_EMBED_API_KEY",
        "OPENAI_API_KEY",
        "RAGQA_EMBED_API_KEY_ENV",
        "RAGQA_EMBED_TIMEOUT",
        "RAGQA_EMBED_RETRIES",
        "RAGQA_EMBED_CONCURRENCY",
        "RAGQA_EMBED_TOKENIZER",
        "RAGQA_EMBED_MAX_TOKENS",
    ):
        monkeypatch.delenv(var, raising=False)
    yield s
    s.close()




def unit(rows) -> np.ndarray:
    a = np.asarray(rows, dtype=np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


# -- names and settings ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, model",
    [
        ("openai", None),
        ("openai:all-MiniLM-L6-v2", "all-MiniLM-L6-v2"),
        ("openai:sentence-transformers/all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"),
        ("openai:nomic-embed-text:latest", "nomic-embed-text:latest"),  # Ollama's names hold a colon
        ("OpenAI: bge-small ", "bge-small"),
        ("minilm", False),
        ("minilm-onnx-int8", False),
        ("/models/openai-embedder", False),
        ("openai-like-folder", False),
    ],
)
def test_parse_openai_embedder(name, model):
    assert parse_openai_embedder(name) == model


def test_openai_with_an_empty_model_name_is_refused():
    with pytest.raises(ValueError, match="model name after 'openai:' is empty"):
        parse_openai_embedder("openai:")


def test_manifest_gives_back_the_embedder_name_with_colons():
    for name in ("openai:all-MiniLM-L6-v2", "openai:nomic-embed-text:latest"):
        assert Manifest(embedder=f"{name}:384:256", dim=384, chunk={}).embedder_name == name


def test_settings_defaults_and_environment(monkeypatch):
    for var in (
        "RAGQA_EMBED_BASE_URL",
        "RAGQA_EMBED_API_KEY_ENV",
        "RAGQA_EMBED_TIMEOUT",
        "RAGQA_EMBED_RETRIES",
        "RAGQA_EMBED_CONCURRENCY",
        "RAGQA_EMBED_TOKENIZER",
        "RAGQA_EMBED_MAX_TOKENS",
    ):
        monkeypatch.delenv(var, raising=False)
    s = EmbedServerSettings()
    assert (s.base_url, s.api_key_env, s.timeout, s.retries, s.concurrency, s.tokenizer, s.max_tokens) == (
        DEFAULT_EMBED_BASE_URL,
        "RAGQA_EMBED_API_KEY",
        60.0,
        3,
        4,
        "minilm",
        0,
    )
    env = {
        "RAGQA_EMBED_BASE_URL": "http://tei:80/v1",
        "RAGQA_EMBED_API_KEY_ENV": "MY_KEY",
        "RAGQA_EMBED_TIMEOUT": "5.5",
        "RAGQA_EMBED_RETRIES": "0",
        "RAGQA_EMBED_CONCURRENCY": "8",
        "RAGQA_EMBED_TOKENIZER": "/tok",
        "RAGQA_EMBED_MAX_TOKENS": "512",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    s = EmbedServerSettings()
    assert (s.base_url, s.api_key_env, s.timeout, s.retries, s.concurrency, s.tokenizer, s.max_tokens) == (
        "http://tei:80/v1",
        "MY_KEY",
        5.5,
        0,
        8,
        "/tok",
        512,
    )
    assert s == EmbedServerSettings() and hash(s) == hash(EmbedServerSettings())  # a cache key
    monkeypatch.setenv("RAGQA_EMBED_RETRIES", "three")
    with pytest.raises(ValueError, match="RAGQA_EMBED_RETRIES must be an integer"):
        EmbedServerSettings()


def test_index_settings_take_the_embedder_from_the_environment(monkeypatch):
    monkeypatch.setenv("RAGQA_EMBEDDER", "openai:all-MiniLM-L6-v2")
    assert index.IndexSettings().embedder == "openai:all-MiniLM-L6-v2"


# -- requests ------------------------------------------------------------------------------------
def test_batches_in_order_under_concurrency_and_normalises(stub):
    emb = OpenAIEmbedder("stub-model", EmbedServerSettings())
    texts = [f"text number {i}" for i in range(70)]
    vecs = emb.encode(texts, batch_size=32)
    assert vecs.dtype == np.float32 and vecs.shape == (70, DIM)
    np.testing.assert_allclose(vecs, unit([vector("stub-model", t) for t in texts]), rtol=1e-5, atol=1e-6)
    sent = stub.embedding_requests()
    assert sent[0] == ["dimension probe"]  # the dimension, asked once when the embedder is made
    assert sorted(len(b) for b in sent[1:]) == [6, 32, 32]
    assert sorted(t for b in sent[1:] for t in b) == sorted(texts)
    body = [b for _, p, _, b in stub.requests if p.endswith("/embeddings")][1]
    assert body["model"] == "stub-model" and body["encoding_format"] == "float"
    assert emb.encode([]).shape == (0, DIM)


def test_id_names_the_model_not_the_url(stub):
    emb = OpenAIEmbedder("stub-model", EmbedServerSettings())
    assert (emb.name, emb.dim, emb.max_tokens) == ("openai:stub-model", DIM, 256)  # MiniLM's window by default
    assert emb.id == f"openai:stub-model:{DIM}:256" and stub.url not in emb.id


def test_bare_openai_takes_the_servers_first_model(stub):
    emb = get_embedder("openai")
    assert emb.model == "stub-model" and emb.name == "openai:stub-model"
    assert [p for m, p, _, _ in stub.requests if m == "GET"] == ["/v1/models"]


def test_get_embedder_caches_per_settings(stub, monkeypatch):
    a = get_embedder("openai:stub-model")
    assert get_embedder("openai:stub-model") is a
    other = EmbedStub(models=("stub-model",))
    try:
        monkeypatch.setenv("RAGQA_EMBED_BASE_URL", other.url)
        b = get_embedder("openai:stub-model")
        assert b is not a and b.base_url == other.url and b.id == a.id
    finally:
        other.close()


def test_api_key_header_only_when_a_key_is_set(stub, monkeypatch):
    OpenAIEmbedder("stub-model", EmbedServerSettings())
    assert "authorization" not in stub.requests[-1][2]
    monkeypatch.setenv("RAGQA_EMBED_API_KEY", "sk-embed")
    OpenAIEmbedder("stub-model", EmbedServerSettings())
    assert stub.requests[-1][2]["authorization"] == "Bearer sk-embed"
    monkeypatch.setenv("RAGQA_EMBED_API_KEY_ENV", "TEI_KEY")
    monkeypatch.setenv("TEI_KEY", "sk-tei")
    OpenAIEmbedder("stub-model", EmbedServerSettings())
    assert stub.requests[-1][2]["authorization"] == "Bearer sk-tei"


def test_retries_5xx_and_429_then_succeeds(stub):
    emb = OpenAIEmbedder("stub-model", EmbedServerSettings())
    stub.fail = [(503, {"error": {"message": "busy"}}), (429, {"error": {"message": "slow down"}})]
    vec = emb.encode(["hello"])
    np.testing.assert_allclose(vec, unit([vector("stub-model", "hello")]), rtol=1e-5, atol=1e-6)
    assert len(stub.embedding_requests()) == 4  # probe + 2 failures + the answer


def test_gives_up_after_the_retries_with_the_url(stub, monkeypatch):
    monkeypatch.setenv("RAGQA_EMBED_RETRIES", "1")
    emb = OpenAIEmbedder("stub-model", EmbedServerSettings())
    stub.fail = [(500, {"error": {"message": "out of memory"}})] * 2
    with pytest.raises(EmbedServerError) as info:
        emb.encode(["hello"])
    assert f"the embedding server at {stub.url}/embeddings answered HTTP 500: out of memory" == str(info.value)


def test_unknown_model_is_a_clear_error(stub):
    with pytest.raises(EmbedServerError, match="answered HTTP 404: model 'nope' not found"):
        OpenAIEmbedder("nope", EmbedServerSettings())


def test_no_server_is_one_line_naming_the_url(monkeypatch):
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    monkeypatch.setenv("RAGQA_EMBED_BASE_URL", url)
    monkeypatch.setenv("RAGQA_EMBED_RETRIES", "1")
    with pytest.raises(EmbedServerError) as info:
        get_embedder("openai:all-MiniLM-L6-v2")
    message = str(info.value)
    assert message.startswith(f"the embedding server at {url} is not reachable (")
    assert "after 2 attempt(s); start it or set RAGQA_EMBED_BASE_URL" in message and "\n" not in message


def test_cli_index_without_server_is_one_line_error(tmp_path, monkeypatch, capsys):
    from qa.cli import main

    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("Otters live in rivers.", encoding="utf-8")
    url = f"http://127.0.0.1:{free_port()}/v1"
    for k, v in {
        "RAGQA_EMBEDDER": "openai:m",
        "RAGQA_EMBED_BASE_URL": url,
        "RAGQA_EMBED_RETRIES": "0",
        "RAGQA_SOURCES": str(src),
    }.items():
        monkeypatch.setenv(k, v)
    code = main(["--index-dir", str(tmp_path / "idx"), "index"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.startswith(f"ragqa: error: the embedding server at {url} is not reachable") and err.count("\n") == 1


def test_wrong_number_of_vectors_is_an_error(stub):
    emb = OpenAIEmbedder("stub-model", EmbedServerSettings())
    stub.fail = [(200, {"object": "list", "data": [{"index": 0, "embedding": [1.0] * DIM}]})]
    with pytest.raises(EmbedServerError, match="returned 1 vectors for 2 texts"):
        emb.encode(["a", "b"])
    stub.fail = [(200, {"object": "list", "data": [{"index": 0, "embedding": [1.0] * (DIM + 1)}]})]
    with pytest.raises(EmbedServerError, match="expected 8"):
        emb.encode(["a"])


def test_long_texts_are_cut_to_the_window_at_a_token_boundary(stub, monkeypatch):
    emb = OpenAIEmbedder("stub-model", EmbedServerSettings())
    long = " ".join(f"word{i}" for i in range(400))
    fitted = emb.fit([long, "short text", ""])
    assert long.startswith(fitted[0]) and emb.count_tokens([fitted[0]]) == [254]  # 256 less [CLS] and [SEP]
    assert fitted[1:] == ["short text", " "]
    emb.encode([long])
    assert stub.embedding_requests()[-1] == [fitted[0]]
    monkeypatch.setenv("RAGQA_EMBED_MAX_TOKENS", "64")
    small = OpenAIEmbedder("stub-model", EmbedServerSettings())
    assert small.max_tokens == 64 and small.count_tokens(small.fit([long])) == [62]
    assert small.id == f"openai:stub-model:{DIM}:64"


def test_tokenizer_must_exist(stub, monkeypatch, tmp_path):
    monkeypatch.setenv("RAGQA_EMBED_TOKENIZER", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="RAGQA_EMBED_TOKENIZER"):
        OpenAIEmbedder("stub-model", EmbedServerSettings())


# -- the index -----------------------------------------------------------------------------------
def _sources(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("Otters live in rivers. They eat fish and crabs.", encoding="utf-8")
    (src / "b.txt").write_text("The Kestrel reservoir held 48 million litres in March 2023.", encoding="utf-8")
    return src


def test_build_records_the_model_and_a_new_model_rebuilds_in_full(stub, tmp_path):
    src = _sources(tmp_path)
    settings = index.IndexSettings(sources=[str(src)], index_dir=str(tmp_path / "idx"), embedder="openai:stub-model")
    first = index.build(settings=settings)
    assert first.full and first.embedded == 2
    loaded = index.load(settings)
    assert loaded.manifest.embedder == f"openai:stub-model:{DIM}:256" and loaded.manifest.dim == DIM
    assert stub.url not in json.dumps(loaded.manifest.__dict__)

    again = index.build(settings=settings)
    assert not again.full and again.embedded == 0
    (src / "c.txt").write_text("Beavers build dams.", encoding="utf-8")
    added = index.build(settings=settings)
    assert not added.full and added.embedded == 1

    settings.embedder = "openai:other-model"
    switched = index.build(settings=settings)
    assert switched.full and switched.embedded == 3
    assert index.load(settings).manifest.embedder == f"openai:other-model:{DIM}:256"


def test_queries_use_the_index_model_and_find_the_passage(stub, tmp_path):
    import qa

    src = _sources(tmp_path)
    built = index.IndexSettings(sources=[str(src)], index_dir=str(tmp_path / "idx"), embedder="openai:stub-model")
    index.build(settings=built)
    configured = index.IndexSettings(sources=[str(src)], index_dir=str(tmp_path / "idx"), embedder="minilm-onnx-int8")
    pipe = qa.Pipeline(qa.Config(index=configured))
    assert pipe.embedder.name == "openai:stub-model"
    passages = pipe.retrieve("Kestrel reservoir litres", 1)
    assert passages[0].source.endswith("b.txt")
    asked = stub.embedding_requests()[-1]
    assert asked == ["Kestrel reservoir litres"]


def test_a_server_failure_stops_the_build_and_keeps_the_index(stub, tmp_path, monkeypatch):
    src = _sources(tmp_path)
    settings = index.IndexSettings(sources=[str(src)], index_dir=str(tmp_path / "idx"), embedder="openai:stub-model")
    index.build(settings=settings)
    before = index.load(settings).manifest
    monkeypatch.setenv("RAGQA_EMBED_RETRIES", "0")  # a new embedder (settings changed), failing after its probe
    get_embedder("openai:stub-model")
    (src / "c.txt").write_text("Beavers build dams.", encoding="utf-8")
    stub.fail = [(500, {"error": {"message": "down"}})]
    with pytest.raises(EmbedServerError, match="HTTP 500: down"):
        index.build(settings=settings)
    after = index.load(settings).manifest
    assert after.files == before.files and not any("c.txt" in s["source"] for s in after.skipped)
    assert index.build(settings=settings).embedded == 1  # the next build does the work
