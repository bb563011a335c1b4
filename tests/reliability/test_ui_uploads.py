"""Hostile uploads through the running UI: saved only inside the sources folder under a safe name, or refused."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from index.uploads import MAX_UPLOAD_BYTES
from tests.ui.server import call_api, get_server, raw_upload

pytestmark = [pytest.mark.slow, pytest.mark.integration]

HOSTILE_NAMES = [
    b"../../etc/passwd.txt",
    b"/etc/passwd.md",
    b"..\\..\\windows\\win.txt",
    b"../../../" + b"x" * 300 + b".txt",
    b"evil\nname.txt",
    b"evil\r\nContent-Type: text/html\r\n\r\n.txt",
    b"nul\x00name.txt",
    b".hidden.txt",
    b"..",
    b"<script>alert(1)</script>.md",
]


@pytest.fixture(scope="module")
def server():
    return get_server()


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _outside(server) -> dict[str, str]:
    """Every file in the server's temporary root except its sources, index and Gradio's upload cache."""
    return {k: v for k, v in _snapshot(server.root).items()
            if not k.startswith(("sources/", "index/", "gradio/")) and k != "server.log"}


def test_hostile_file_names_stay_inside_the_sources_folder(server):
    outside_before = _outside(server)
    passwd = Path("/etc/passwd").read_bytes() if Path("/etc/passwd").exists() else None
    server_paths, refused_at_upload = [], []
    for i, name in enumerate(HOSTILE_NAMES):
        r = raw_upload(server.url, name, f"Hostile upload number {i} about the Quarrel river otters.\n".encode())
        if r.status_code == 200:
            server_paths.extend(r.json())
        else:
            assert 400 <= r.status_code < 500 and r.text, (name, r.status_code)
            refused_at_upload.append(name)
    assert server_paths, "every upload was refused before reaching the app"

    files = [{"path": p, "meta": {"_type": "gradio.FileData"}} for p in server_paths]
    event, (status, table) = call_api(server.url, "add_sources", [files])
    assert event == "complete", status
    lines = status.splitlines()
    assert len([line for line in lines if line.split(":")[0] in ("saved", "refused", "duplicate")]) == len(server_paths)
    for line in lines:
        if line.startswith("saved: "):
            saved = line[len("saved: "):]
            path = server.sources / saved
            assert path.is_file() and path.parent == server.sources, line
            assert "/" not in saved and "\\" not in saved and not saved.startswith(".") and saved.isprintable()
    # nothing was written anywhere else, and every source file lies directly in the folder or came with the seeds
    assert _outside(server) == outside_before
    assert all(p.parent == server.sources for p in server.sources.rglob("*") if p.is_file())
    if passwd is not None:
        assert Path("/etc/passwd").read_bytes() == passwd
    assert server.alive()


def test_unsupported_empty_and_good_files_in_one_batch(server, tmp_path):
    from gradio_client import Client, handle_file

    files = {
        "tool.exe": b"MZ\x90\x00binary",
        "report.docx": b"PK\x03\x04",
        "noextension": b"plain words",
        "empty.txt": b"",
        "otters-of-quarrel.md": b"# Otters\n\nThe Quarrel river otter colony was counted at 57 animals in 2021.\n",
    }
    paths = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        paths.append(handle_file(str(tmp_path / name)))
    status, table = Client(server.url, verbose=False).predict(paths, api_name="/add_sources")
    lines = status.splitlines()
    assert any(line.startswith("refused: tool.exe: unsupported file type") for line in lines), status
    assert any(line.startswith("refused: report.docx: unsupported file type") for line in lines), status
    assert any(line.startswith("refused: noextension: unsupported file type") for line in lines), status
    assert any(line.startswith("refused: empty.txt: the file is empty") for line in lines), status
    assert "saved: otters-of-quarrel.md" in lines and any(line.startswith("index updated:") for line in lines), status
    assert not any((server.sources / n).exists() for n in ("tool.exe", "report.docx", "noextension", "empty.txt"))
    assert "otters-of-quarrel.md" in {row[0] for row in table["data"]}


def test_oversized_upload_is_refused_with_a_reason(server):
    before = _snapshot(server.sources)
    r = raw_upload(server.url, b"huge.txt", b"a" * (MAX_UPLOAD_BYTES + 1))
    assert r.status_code == 413 and "maximum allowed size" in r.text
    assert _snapshot(server.sources) == before and server.alive()


def test_files_outside_the_upload_cache_cannot_be_added(server):
    """A client that names a server path it did not upload (the index, /etc/passwd) gets an error, not a copy."""
    before = _snapshot(server.sources)
    seed = next(server.sources.glob("00*_*.txt"))
    for path in ["/etc/passwd", str(server.log), str(server.root / "gradio" / ".." / "server.log"), str(seed)]:
        event, message = call_api(server.url, "add_sources", [[{"path": path, "meta": {"_type": "gradio.FileData"}}]])
        assert event == "error" and "not uploaded" in str(message), (path, message)
    assert _snapshot(server.sources) == before and server.alive()
