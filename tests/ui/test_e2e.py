"""End to end through gradio_client against the real `ragqa ui` server (real models, a copy of the seeds)."""

from __future__ import annotations

import re

import pytest
from gradio_client import Client, handle_file

pytestmark = [pytest.mark.slow, pytest.mark.integration]

NEW_SOURCE = ("The Zorblat kite festival is held every April in the town of Quenville, on the shores of Lake Morrow. "
              "It was founded in 1911 by the baker Ada Pinsk, who flew the first kite from her bakery roof.\n")


def cited_sources(text: str) -> dict[int, str]:
    """``[n] file (place): "quote"`` lines of the /chat answer → {n: file}."""
    return {int(n): name for n, name in re.findall(r'^\[(\d+)\] (.+?)(?: \([^()]*\))?: "', text, flags=re.M)}


def test_chat_answers_with_citations_and_follow_ups(ui_client):
    text = ui_client.predict("Who founded the search engine Sogou?", api_name="/chat")
    answer, _, sources = text.partition("\n\nSources:\n")
    assert "Wang Xiaochuan" in answer and "[1]" in answer
    cited = cited_sources(text)
    assert {int(n) for n in re.findall(r"\[(\d+)\]", answer)} == set(cited)
    assert any(name.startswith("003_") for name in cited.values()), text
    assert "Wang Xiaochuan" in sources

    follow = ui_client.predict("How much seed capital did his startup raise?", api_name="/chat")
    assert "50 million" in follow and any(n.startswith("003_") for n in cited_sources(follow).values()), follow


def test_chat_answers_only_from_the_chosen_sources(ui_client):
    text = ui_client.predict("Who founded the search engine Sogou?", ["003_*"], api_name="/chat")
    cited = cited_sources(text)
    assert "Wang Xiaochuan" in text and cited and all(name.startswith("003_") for name in cited.values()), text
    with pytest.raises(Exception, match="missing.pdf"):  # a pattern that matches nothing is an error, not "all"
        ui_client.predict("Who founded the search engine Sogou?", ["missing.pdf"], api_name="/chat")


def test_unanswerable_is_refused_plainly(ui_client):
    text = ui_client.predict("What is the capital of Australia?", api_name="/chat")
    assert text.startswith("I could not find the answer in the sources"), text
    assert "Sources:" not in text


def test_empty_question_is_a_clear_error(ui_client):
    with pytest.raises(Exception, match="empty"):
        ui_client.predict("   ", api_name="/chat")
    assert "Sogou" in ui_client.predict("Who founded the search engine Sogou?", api_name="/chat")


def test_uploaded_source_is_answered_from_at_once(ui_server, ui_client, tmp_path):
    before = {row[0]: row[1] for row in ui_client.predict(api_name="/sources")["data"]}
    seeds = {p.name for p in ui_server.sources.glob("00*_*.txt")}
    assert len(seeds) == 5 and seeds <= set(before) and all(before[s] > 0 for s in seeds)

    path = tmp_path / "zorblat festival.txt"
    path.write_text(NEW_SOURCE)
    status, table = ui_client.predict([handle_file(str(path))], api_name="/add_sources")
    assert "saved: zorblat festival.txt" in status and "index updated: 1 added" in status, status
    rows = {row[0]: row[1] for row in table["data"]}
    assert rows.get("zorblat festival.txt", 0) >= 1 and set(before) < set(rows)
    assert (ui_server.sources / "zorblat festival.txt").read_text() == NEW_SOURCE

    text = ui_client.predict("Who founded the Zorblat kite festival?", api_name="/chat")
    assert "Ada Pinsk" in text and "zorblat festival.txt" in cited_sources(text).values(), text

    again, _ = ui_client.predict([handle_file(str(path))], api_name="/add_sources")
    assert again.startswith("duplicate:") and "index updated" not in again


def _listening_addresses(port: int) -> list[str]:
    """Local addresses (hex, as in /proc/net/tcp*) of sockets listening on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.append(address)
    return found


def test_binds_to_loopback_only(ui_server):
    addresses = _listening_addresses(ui_server.port)
    if not addresses:
        pytest.skip("/proc/net/tcp is not available here")
    loopback = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1
    assert set(addresses) <= loopback, addresses


def test_api_lists_the_named_endpoints(ui_server):
    api = Client(ui_server.url, verbose=False).view_api(print_info=False, return_format="dict")
    names = set(api["named_endpoints"])
    assert {"/chat", "/add_sources", "/sources"} <= names
    assert [p["parameter_name"] for p in api["named_endpoints"]["/chat"]["parameters"]] == ["message", "sources"]
