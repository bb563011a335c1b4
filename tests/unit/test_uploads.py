"""Uploads land only inside the sources folder, under a safe name, or are refused."""

import pytest

from index.uploads import UploadError, safe_name, save_upload


@pytest.mark.parametrize("name", ["../../etc/passwd.txt", "/etc/passwd.txt", "..\\..\\win.txt", "a/b/c.txt"])
def test_paths_are_flattened_inside_the_folder(tmp_path, name):
    saved = save_upload(name, b"hello world", tmp_path / "src")
    assert saved.path.parent == (tmp_path / "src").resolve()
    assert ".." not in saved.path.name and "/" not in saved.path.name


def test_control_characters_removed():
    assert safe_name("evil\x00name\n.txt") == "evilname.txt"
    assert safe_name(".hidden.md") == "hidden.md"


@pytest.mark.parametrize("name,data,reason", [
    ("empty.txt", b"", "empty"),
    ("big.txt", b"x" * 2048, "limit"),
    ("tool.exe", b"MZ", "unsupported"),
    ("noext", b"abc", "unsupported"),
    ("\x00\n", b"abc", "usable"),
])
def test_refusals(tmp_path, name, data, reason):
    with pytest.raises(UploadError, match=reason):
        save_upload(name, data, tmp_path, max_bytes=1024)
    assert not any(tmp_path.iterdir())


def test_duplicates_detected_and_names_not_overwritten(tmp_path):
    first = save_upload("a.txt", b"same bytes", tmp_path)
    again = save_upload("copy.txt", b"same bytes", tmp_path)
    assert again.duplicate_of == first.path
    other = save_upload("a.txt", b"different bytes", tmp_path)
    assert other.path.name == "a (2).txt" and first.path.read_bytes() == b"same bytes"
