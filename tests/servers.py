"""Start a model or embeddings server for a test: on loopback and a free port, wait for its ``/models``, stop it."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(cmd: list[str], base_url: str, log: Path, name: str, timeout: float,
            ready: Callable[[list[str]], bool] = bool, env: dict | None = None) -> Iterator[str]:
    """Run ``cmd`` (its output in ``log``) until ``ready`` accepts the model ids ``GET {base_url}/models`` lists;
    yields ``base_url`` and stops the server after. A server that exits or is not ready in ``timeout`` seconds
    fails the test with the end of its log."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{name} exited with {proc.returncode}:\n{log.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base_url}/models", timeout=2) as r:
                    if ready([m["id"] for m in json.loads(r.read())["data"]]):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{name} not ready after {timeout}s:\n{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.5)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
