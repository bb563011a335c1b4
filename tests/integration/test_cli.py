"""The command line, as a user runs it (real models, a private index over the seeds)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def ragqa(*args, env_extra=None, check=True):
    env = {**os.environ, **(env_extra or {})}
    proc = subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True, env=env, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def env(seed_index):
    return {"RAGQA_INDEX_DIR": seed_index.index_dir, "RAGQA_SOURCES": os.pathsep.join(seed_index.sources)}


def test_ask_json_sogou_and_refusal(env):
    out = json.loads(ragqa("ask", "--json", "Who founded the search engine Sogou?", env_extra=env).stdout)
    assert "Wang Xiaochuan" in out["answer"] and out["refused"] is False
    cites = [c for c in out["citations"] if "003_" in c["source"]]
    assert cites
    assert any("Wang Xiaochuan" in Path(c["source"]).read_text(encoding="utf-8")[c["start"] : c["end"]] for c in cites)
    assert {"retrieve", "first_token", "total"} <= set(out["timings"])
    assert out["passages"] and {"source", "start", "end", "text", "score"} <= set(out["passages"][0])

    out = json.loads(ragqa("ask", "--json", "What is the capital of Australia?", env_extra=env).stdout)
    assert out["refused"] is True and out["citations"] == []


def test_ask_plain_prints_citations(env):
    proc = ragqa("ask", "--top-k", "3", "How many research laboratories does Baidu run in the United States?", env_extra=env)
    assert "three" in proc.stdout.lower() and "[1]" in proc.stdout
    assert "000_e1edbd7ea7deb9e1.txt" in proc.stdout


def test_ask_stream_shows_the_passages_first_and_scopes(env):
    proc = ragqa("ask", "--stream", "--source", "003_*", "Who founded the search engine Sogou?", env_extra=env)
    lines = proc.stderr.splitlines()
    reading = next(i for i, line in enumerate(lines) if line.startswith("Reading "))
    verified = next(i for i, line in enumerate(lines) if "the verified answer" in line)
    assert reading < verified  # the passages before the model's text
    assert "003_e929be3b8f9030bd.txt" in lines[reading] and "001_" not in lines[reading]  # only the chosen source
    assert "Wang Xiaochuan" in proc.stdout and "[1] " in proc.stdout
    bad = ragqa("ask", "--source", "nothing-like-this.txt", "Who founded Sogou?", env_extra=env, check=False)
    assert bad.returncode == 2 and "ragqa sources" in bad.stderr


def test_index_adds_sources_and_lists_them(tmp_path, seeds_copy):
    idx = tmp_path / "idx"
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "note.md").write_text("# Note\n\nThe lighthouse keeper is named Ada Lovelace Brown.", encoding="utf-8")
    env = {"RAGQA_INDEX_DIR": str(idx), "RAGQA_SOURCES": str(seeds_copy)}
    first = ragqa("index", "--quiet", env_extra=env).stdout
    assert "5 added" in first
    second = ragqa("index", "--quiet", str(extra), env_extra=env).stdout
    assert "1 added" in second and "5 unchanged" in second
    listing = ragqa("sources", env_extra=env).stdout
    assert "note.md" in listing and "003_e929be3b8f9030bd.txt" in listing


def test_errors_are_one_line(tmp_path, env):
    proc = ragqa("ask", "   ", env_extra=env, check=False)
    assert proc.returncode == 2 and "question is empty" in proc.stderr and "Traceback" not in proc.stderr
    proc = ragqa("sources", env_extra={"RAGQA_INDEX_DIR": str(tmp_path / "none")}, check=False)
    assert proc.returncode == 2 and "ragqa index" in proc.stderr and "Traceback" not in proc.stderr
