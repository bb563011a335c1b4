"""Asking within chosen sources (qa.scope) and taking sources out of the index (index.remove)."""

from __future__ import annotations

import json
import random
import shutil

import pytest

import index
from index.uploads import deletable, delete_source_file
from qa.scope import SourceNotFoundError, matches, resolve

INDEXED = ["/data/papers/2020/virus.pdf", "/data/papers/2021/vaccine.md", "/data/notes/todo.txt", "/data/notes/virus.txt"]


@pytest.mark.parametrize("pattern, expected", [
    ("vaccine.md", ["/data/papers/2021/vaccine.md"]),
    ("*.txt", ["/data/notes/todo.txt", "/data/notes/virus.txt"]),
    ("virus.*", ["/data/papers/2020/virus.pdf", "/data/notes/virus.txt"]),
    ("/data/papers", ["/data/papers/2020/virus.pdf", "/data/papers/2021/vaccine.md"]),
    ("/data/papers/", ["/data/papers/2020/virus.pdf", "/data/papers/2021/vaccine.md"]),
    ("/data/papers/202[1]/*", ["/data/papers/2021/vaccine.md"]),
    ("/data/notes/todo.txt", ["/data/notes/todo.txt"]),
])
def test_patterns_select_sources(pattern, expected):
    assert resolve([pattern], INDEXED) == expected


def test_a_folder_is_not_a_name_prefix():
    assert not matches("/data/pap", "/data/papers/2020/virus.pdf")


def test_no_match_is_an_error_that_says_how_to_list_sources():
    with pytest.raises(SourceNotFoundError, match="ragqa sources") as err:
        resolve(["*.txt", "missing.pdf"], INDEXED)
    assert "missing.pdf" in str(err.value) and "*.txt" not in str(err.value)
    with pytest.raises(ValueError):
        resolve([" "], INDEXED)


@pytest.fixture()
def corpus(tmp_path, seeds_copy):
    folder = tmp_path / "sources"
    shutil.copytree(seeds_copy, folder)
    settings = index.IndexSettings(sources=[str(folder)], index_dir=str(tmp_path / "idx"))
    index.build(settings=settings)
    return settings, folder


def test_retrieval_never_leaves_the_scope(seed_index):
    """Property over random scopes: every passage comes from a chosen source, and scoped search is not empty."""
    import qa

    pipeline = qa.Pipeline(qa.Config(index=seed_index))
    sources = list(index.load(seed_index).sources)
    rng = random.Random(7)
    questions = ["Who founded Sogou?", "How many research laboratories does Baidu run?", "AI talent in China",
                 "What did the experts say about infrastructure?", "Tsinghua event"]
    for _ in range(12):
        chosen = rng.sample(sources, rng.randint(1, len(sources) - 1))
        passages = pipeline.retrieve(rng.choice(questions), rng.randint(1, 8), sources=chosen)
        assert passages, chosen
        assert {p.source for p in passages} <= set(chosen)


def test_remove_keeps_a_file_out_until_added_again(corpus):
    settings, folder = corpus
    victim = sorted(folder.iterdir())[0]
    before = index.load(settings).sources
    report = index.remove([victim.name], settings=settings)
    assert report.removed == [str(victim)]
    assert victim.exists()  # the file on disk is untouched
    after = index.load(settings)
    assert str(victim) not in after.sources and len(after.sources) == len(before) - 1
    assert index.build(settings=settings).removed == []  # its folder is still watched, the file stays out
    assert str(victim) not in index.load(settings).sources
    assert index.build(sources=[str(victim)], settings=settings).added == [str(victim)]
    assert str(victim) in index.load(settings).sources


def test_remove_a_folder_and_unknown_paths(corpus, tmp_path):
    settings, folder = corpus
    with pytest.raises(ValueError, match="not in the index"):
        index.remove([str(tmp_path / "nowhere.txt")], settings=settings)
    report = index.remove([str(folder)], settings=settings)
    assert len(report.removed) == len(list(folder.iterdir()))
    assert index.load(settings).sources == {}


def test_only_files_inside_the_sources_folder_are_deletable(corpus, tmp_path):
    settings, folder = corpus
    inside = sorted(folder.iterdir())[0]
    outside = tmp_path / "mine.txt"
    outside.write_text("my own file")
    assert deletable(inside, settings) and not deletable(outside, settings)
    with pytest.raises(ValueError, match="deletes nothing else"):
        delete_source_file(outside, settings)
    assert outside.exists()
    delete_source_file(inside, settings)
    assert not inside.exists()


def test_cli_sources_and_remove(corpus, capsys):
    from qa.cli import main

    settings, folder = corpus
    victim = sorted(folder.iterdir())[1]
    assert main(["--index-dir", settings.index_dir, "sources", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {r["source"] for r in listed["sources"]} == set(index.load(settings).sources)
    assert main(["--index-dir", settings.index_dir, "remove", str(victim), "--delete-file", "--quiet"]) == 0
    out = capsys.readouterr()
    assert f"removed {victim}" in out.out and victim.exists()  # not a terminal: it asked, and kept the file
    assert main(["--index-dir", settings.index_dir, "remove", "nothing-like-this.txt"]) == 2
    assert "not in the index" in capsys.readouterr().err
    assert main(["--index-dir", settings.index_dir, "sources"]) == 0
    text = capsys.readouterr().out
    assert "chunks" in text and str(victim) not in text


def test_an_index_folder_inside_the_sources_is_not_indexed(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nThe Orby bridge opened in 1932 after eight years of work.\n")
    settings = index.IndexSettings(sources=[str(folder)], index_dir=str(folder / "idx"))
    index.build(settings=settings)
    (folder / "idx" / "stray.txt").write_text("A file inside the index folder is not a source at all.\n")
    report = index.build(settings=settings)
    assert report.added == [] and list(index.load(settings).sources) == [str(folder / "a.md")]
