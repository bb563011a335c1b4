"""The app's wiring without a server: named endpoints, bounded concurrency, nothing sent off the machine."""

from __future__ import annotations

import os

import qa
from index import IndexSettings
from ui.app import CHAT_CONCURRENCY, build_app
from ui.gate import DEFAULT_WAITING


def test_app_is_offline_named_and_bounded(tmp_path):
    pipeline = qa.Pipeline(qa.Config(index=IndexSettings(sources=[str(tmp_path)], index_dir=str(tmp_path / "idx"))))
    app = build_app(pipeline)
    assert app.analytics_enabled is False and os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    named = {fn.api_name: fn for fn in app.fns.values() if fn.api_visibility == "public"}
    assert set(named) == {"chat", "add_sources", "sources", "export"}
    # questions pass Gradio's queue at once and wait at the gate in front of the model, which bounds them
    assert named["chat"].concurrency_limit is None and named["chat"].concurrency_id == "chat"
    assert named["add_sources"].concurrency_limit == 1
    chat_fns = [fn for fn in app.fns.values() if fn.concurrency_id == "chat"]
    assert {fn.name for fn in chat_fns} == {"respond", "api_chat"}  # the UI's own submit events share the gate
    assert all(fn.concurrency_limit is None for fn in chat_fns)
    assert app.ragqa_gate.slots == CHAT_CONCURRENCY and app.ragqa_gate.waiting == DEFAULT_WAITING
    assert app._queue.max_size is not None
    assert pipeline._llm is None  # building the app loads no model


def test_chat_endpoint_takes_optional_sources(tmp_path):
    pipeline = qa.Pipeline(qa.Config(index=IndexSettings(sources=[str(tmp_path)], index_dir=str(tmp_path / "idx"))))
    params = build_app(pipeline).get_api_info()["named_endpoints"]["/chat"]["parameters"]
    assert [p["parameter_name"] for p in params] == ["message", "sources"]
    assert not params[0]["parameter_has_default"]
    assert params[1]["parameter_has_default"] and params[1]["parameter_default"] == []  # callable with a message only
    assert params[1]["python_type"]["type"] == "list[str]"


def test_private_events_are_not_in_the_api(tmp_path):
    pipeline = qa.Pipeline(qa.Config(index=IndexSettings(sources=[str(tmp_path)], index_dir=str(tmp_path / "idx"))))
    app = build_app(pipeline)
    assert set(app.get_api_info()["named_endpoints"]) == {"/chat", "/add_sources", "/sources", "/export"}
    removing = [fn for fn in app.fns.values() if fn.name == "remove_picked"]
    assert len(removing) == 1 and removing[0].api_visibility == "private" and removing[0].concurrency_id == "build"
