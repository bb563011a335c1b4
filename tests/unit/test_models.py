"""The model file is checked before it is loaded."""

import hashlib

import pytest

from qa.models import ModelFileError, verify


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        verify(tmp_path / "nope.gguf")


def test_truncated_file(tmp_path):
    f = tmp_path / "m.gguf"
    f.write_bytes(b"GGUF" + b"\0" * 10)
    with pytest.raises(ModelFileError, match="truncated"):
        verify(f, sha256="0" * 64, size=1000)


def test_wrong_checksum(tmp_path):
    f = tmp_path / "m.gguf"
    data = b"GGUF" + b"x" * 100
    f.write_bytes(data)
    good = hashlib.sha256(data).hexdigest()
    verify(f, sha256=good, size=len(data))  # the right file passes
    f.write_bytes(b"GGUF" + b"y" * 100)
    with pytest.raises(ModelFileError, match="SHA-256"):
        verify(f, sha256=good, size=len(data))
