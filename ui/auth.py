"""Who may use the chat when it listens beyond this machine: credentials for Gradio's own login.

Loopback (``127.0.0.1``, ``::1``, ``localhost``) stays open by default. On any other address the UI
refuses to start without credentials, unless the caller says ``--no-auth`` explicitly. Credentials
come from ``RAGQA_UI_AUTH`` (``user:password``, several separated by commas) or from an auth file
(``RAGQA_UI_AUTH_FILE`` or ``--auth-file``: one ``user:password`` per line, ``#`` comments). They are
handed to ``launch(auth=...)``, so the page and every API endpoint (``/chat`` through
``gradio_client.Client(url, auth=(user, password))``) need a login.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost"})


class AuthError(ValueError):
    """The UI cannot start as asked: missing or malformed credentials."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    host = host.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name or an address that may reach beyond this machine


def parse_credentials(text: str, where: str) -> list[tuple[str, str]]:
    """``user:password`` pairs from ``text`` (separated by commas or new lines; ``#`` starts a comment)."""
    pairs = []
    for n, item in enumerate(
            (part.strip() for line in text.splitlines() for part in line.split("#", 1)[0].split(",")), 1):
        if not item:
            continue
        user, sep, password = item.partition(":")
        if not sep or not user.strip() or not password:
            raise AuthError(f"{where}: entry {n} is not 'user:password'")
        pairs.append((user.strip(), password))
    return pairs


def credentials(env: dict[str, str], auth_file: str | None = None) -> list[tuple[str, str]]:
    """Credentials from ``RAGQA_UI_AUTH``, then the auth file (``auth_file`` or ``RAGQA_UI_AUTH_FILE``)."""
    pairs = parse_credentials(env.get("RAGQA_UI_AUTH", ""), "RAGQA_UI_AUTH")
    path = auth_file or env.get("RAGQA_UI_AUTH_FILE")
    if path:
        try:
            text = Path(path).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise AuthError(f"cannot read the auth file {path} ({exc.strerror or exc})") from exc
        pairs += parse_credentials(text, str(path))
    return pairs


def login_for(host: str, pairs: list[tuple[str, str]], no_auth: bool = False) -> list[tuple[str, str]] | None:
    """What to pass as ``launch(auth=...)`` for serving on ``host``: the credentials, or None for no login.

    Raises :class:`AuthError` when ``host`` reaches beyond this machine, no credentials are given and
    ``no_auth`` was not asked for.
    """
    if pairs:
        return pairs
    if is_loopback(host) or no_auth:
        return None
    raise AuthError(f"refusing to serve on {host} without a login: anyone on the network could read your "
                    "documents. Set RAGQA_UI_AUTH=user:password (or an auth file: --auth-file / "
                    "RAGQA_UI_AUTH_FILE), or pass --no-auth to serve without one")
