"""A damaged index file gives IndexCorruptError naming `ragqa index --full`; the CLI says it in one line."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import index
from index.layout import current_generation

from .conftest import ROOT, make_sources
from .pdfs import text_pdf

FIX = "ragqa index --full"


@pytest.fixture
def built(tmp_path, fast_embedder):
    src, settings = make_sources(tmp_path, {"glacier.pdf": text_pdf("The glacier museum in Fjaerland opened in 1991.")})
    index.build(settings=settings)
    return src, settings, current_generation(Path(settings.index_dir))


def _truncate(f: Path) -> None:
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])


def _scribble(f: Path) -> None:
    data = bytearray(f.read_bytes())
    for i in range(0, len(data), max(1, len(data) // 16)):
        data[i] ^= 0x5A
    f.write_bytes(bytes(data))


def _files(gen: Path) -> list[str]:
    names = ["vectors.faiss", "chunks.jsonl", "manifest.json"]
    names += sorted(p.relative_to(gen).as_posix() for p in (gen / "bm25").iterdir())
    names += sorted(p.relative_to(gen).as_posix() for p in (gen / "texts").iterdir())
    return names


def test_every_index_file_is_checked(built):
    _, _, gen = built
    names = _files(gen)
    assert any(n.startswith("bm25/") for n in names) and any(n.startswith("texts/") for n in names)
    manifest = json.loads((gen / "manifest.json").read_text())
    assert set(manifest["checksums"]) == set(names) - {"manifest.json"}


@pytest.mark.parametrize("damage", [_truncate, _scribble, Path.unlink, lambda f: f.write_bytes(b"")],
                         ids=["truncated", "scribbled", "deleted", "emptied"])
def test_damaged_file_gives_clear_error_and_full_rebuild_recovers(built, damage):
    src, settings, gen = built
    for name in _files(gen):
        damage(gen / name)
        with pytest.raises(index.IndexCorruptError) as err:
            index.load(settings)
        assert FIX in str(err.value) and "\n" not in str(err.value)
        with pytest.raises(index.IndexCorruptError, match=FIX):  # an incremental build refuses too
            index.build(settings=settings)
        report = index.build(settings=settings, full=True)
        assert report.full and not report.skipped
        idx = index.load(settings)
        assert {Path(s).name for s in idx.sources} == {"otters.txt", "bakery.md", "glacier.pdf"}
        gen = current_generation(Path(settings.index_dir))


def test_old_index_without_checksums_still_fails_clearly(built):
    src, settings, gen = built
    manifest = json.loads((gen / "manifest.json").read_text())
    manifest.pop("checksums")
    (gen / "manifest.json").write_text(json.dumps(manifest))
    assert index.load(settings).store.count() > 0  # still loads
    for name in ("vectors.faiss", "chunks.jsonl"):
        _truncate(gen / name)
        with pytest.raises(index.IndexCorruptError, match=FIX):
            index.load(settings)
        index.build(settings=settings, full=True)
        gen = current_generation(Path(settings.index_dir))
        manifest = json.loads((gen / "manifest.json").read_text())
        manifest.pop("checksums")
        (gen / "manifest.json").write_text(json.dumps(manifest))


def _ragqa(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / ".venv" / "bin" / "ragqa"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_cli_prints_one_line_and_index_full_recovers(built):
    src, settings, gen = built
    env = {**os.environ, "RAGQA_SOURCES": str(src), "RAGQA_INDEX_DIR": settings.index_dir}
    _truncate(gen / "chunks.jsonl")
    (gen / "manifest.json").write_text('{"embedder": "minilm", "dim"')  # and a truncated manifest
    r = _ragqa("sources", env=env)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ragqa: error:") and FIX in lines[0]
    r = _ragqa("index", "--full", "--quiet", env=env)
    assert r.returncode == 0, r.stderr
    r = _ragqa("sources", env=env)
    assert r.returncode == 0 and "glacier.pdf" in r.stdout and "otters.txt" in r.stdout
