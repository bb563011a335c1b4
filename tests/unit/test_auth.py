"""The UI's login rules: open on loopback, credentials required beyond it unless --no-auth."""

from __future__ import annotations

import pytest

from ui.auth import AuthError, credentials, is_loopback, login_for, parse_credentials


@pytest.mark.parametrize("host, loop", [("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True),
                                        ("127.0.0.2", True), ("0.0.0.0", False), ("::", False),
                                        ("192.168.1.5", False), ("example.org", False)])
def test_loopback(host, loop):
    assert is_loopback(host) is loop


def test_parse_credentials():
    assert parse_credentials("ann:pw1, bob:p:w2\n# comment\ncid:x  # trailing", "t") == [
        ("ann", "pw1"), ("bob", "p:w2"), ("cid", "x")]
    with pytest.raises(AuthError, match="entry 1"):
        parse_credentials("nopassword", "t")
    with pytest.raises(AuthError):
        parse_credentials(":pw", "t")


def test_credentials_from_env_and_file(tmp_path):
    f = tmp_path / "auth"
    f.write_text("dan:secret\n")
    assert credentials({"RAGQA_UI_AUTH": "ann:pw"}, str(f)) == [("ann", "pw"), ("dan", "secret")]
    assert credentials({"RAGQA_UI_AUTH_FILE": str(f)}) == [("dan", "secret")]
    assert credentials({}) == []
    with pytest.raises(AuthError, match="cannot read"):
        credentials({}, str(tmp_path / "missing"))


def test_login_required_beyond_loopback():
    assert login_for("127.0.0.1", []) is None
    assert login_for("0.0.0.0", [("a", "b")]) == [("a", "b")]
    assert login_for("127.0.0.1", [("a", "b")]) == [("a", "b")]  # given credentials always apply
    assert login_for("0.0.0.0", [], no_auth=True) is None
    with pytest.raises(AuthError, match="--no-auth"):
        login_for("0.0.0.0", [])
