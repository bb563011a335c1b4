"""The Gradio app: a chat with streamed, cited answers, the sources behind them, and an "Add sources" panel.

``ragqa ui`` calls :func:`launch`; :func:`build_app` returns the ``gr.Blocks`` for embedding or tests.
Named API endpoints (``gradio_client.Client(url).predict(..., api_name=...)``):

- ``/chat`` (message, sources=[]) → the verified answer text with ``[n]`` markers and a "Sources:" list
  (``[1] report.pdf (p. 2 · Results): "quote"``); ``sources`` limits the answer to indexed sources named
  by file name, glob pattern, folder or path (empty: all). The conversation is kept per client session,
  so follow-ups work. When the line in front of the model is full (:mod:`ui.gate`), it fails at once with
  "The server is busy answering other questions; try again in a moment." (``gradio_client``: ``AppError``).
- ``/add_sources`` (files) → (status lines, indexed sources table).
- ``/sources`` () → the indexed sources table (source, chunks, pages, size, indexed).
- ``/export`` (format="markdown" | "json") → a file with this session's questions and verified answers
  (per citation: source, page/section, offsets, quote); the same text as :func:`qa.export`.
"""

from __future__ import annotations

import gradio as gr

import qa
from index import IndexSettings
from index.uploads import MAX_UPLOAD_BYTES

from . import chat as chat_handlers
from . import render
from . import sources as source_handlers
from .export import export_file
from .gate import DEFAULT_SLOTS, DEFAULT_WAITING, Gate

CHAT_CONCURRENCY = DEFAULT_SLOTS
"""Questions answered at once (the model is one shared instance behind a lock; one retrieves while another
generates). Chat events are not bounded by Gradio's queue but by the :class:`ui.gate.Gate` in front of the
model: ``CHAT_CONCURRENCY`` answered, ``RAGQA_UI_QUEUE`` waiting, and any more told at once that the server is
busy."""

QUEUE_SIZE = 64
"""Events of any kind (page loads, uploads, removals) that may wait in Gradio's queue before new ones are
turned away with Gradio's own "busy" error. Questions do not wait there: they pass straight to the gate, which
answers its own one-line busy message, so this is only a backstop against a flood of requests."""

CSS = """
.ragqa-cite { font-weight: 600; color: var(--color-accent); }
.ragqa-streaming { opacity: 0.85; }
.ragqa-cursor { animation: ragqa-blink 1s step-start infinite; }
@keyframes ragqa-blink { 50% { opacity: 0; } }
.ragqa-wait { font-style: italic; opacity: 0.7; }
.ragqa-evidence, .ragqa-also { opacity: 0.8; margin: 0.2em 0 0.4em; }
.ragqa-evidence summary, .ragqa-also summary { cursor: pointer; }
.ragqa-evidence-list { margin: 0.2em 0 0.2em 1.2em; font-size: 0.9em; }
.ragqa-refused { margin-bottom: 0.3em; }
.ragqa-model-said, .ragqa-rewritten, .ragqa-note, .ragqa-timings, .ragqa-sources-title { opacity: 0.7; }
.ragqa-rewritten, .ragqa-sources-title { margin-top: 0.4em; }
.ragqa-source, .ragqa-retrieved { margin: 0.25em 0; border-left: 3px solid var(--border-color-primary); padding-left: 0.5em; }
.ragqa-source summary, .ragqa-retrieved summary { cursor: pointer; }
.ragqa-passage { margin: 0.3em 0 0.5em; font-size: 0.92em; line-height: 1.45; }
.ragqa-context { opacity: 0.6; }
mark.ragqa-span { background: #ffe58a; color: #111; padding: 0 1px; }
.ragqa-error { color: var(--error-text-color, #b91c1c); }
.ragqa-where { opacity: 0.75; font-weight: normal; }
.ragqa-doc { margin: 0.2em 0 0.5em; }
.ragqa-translated { font-weight: 600; text-transform: uppercase; font-size: 0.8em; letter-spacing: 0.04em;
  border: 1px solid var(--border-color-primary); border-radius: 3px; padding: 0 0.3em; }
.ragqa-original { margin: 0.2em 0 0.3em; opacity: 0.85; }
.ragqa-original summary { cursor: pointer; }
.ragqa-original-text { margin: 0.2em 0 0.3em; padding-left: 0.5em; border-left: 3px solid var(--border-color-primary); }
.ragqa-doc-cut { opacity: 0.7; }
.ragqa-doc-text { position: relative; max-height: 24em; overflow: auto; white-space: pre-wrap; font-size: 0.9em;
  line-height: 1.45; padding: 0.4em 0.6em; margin-top: 0.3em; border: 1px solid var(--border-color-primary);
  border-radius: 4px; }
"""

SCRIPT = """
() => {
  // Chat messages are sanitized (no scripts), so this one global listener does what a message cannot: when a
  // citation's "Open the whole document" viewer opens, scroll the cited span to the middle of its box (only the
  // box scrolls, never the chat or the page). `toggle` does not bubble: listen in the capture phase.
  if (window.ragqaDocScroll) return;
  window.ragqaDocScroll = true;
  document.addEventListener("toggle", (event) => {
    const doc = event.target;
    if (!(doc instanceof HTMLDetailsElement) || !doc.open || !doc.classList.contains("ragqa-doc")) return;
    const box = doc.querySelector(".ragqa-doc-text");
    const mark = box && box.querySelector("mark.ragqa-span");
    if (!mark) return;
    requestAnimationFrame(() => {
      const top = mark.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop;
      box.scrollTop = Math.max(0, top - (box.clientHeight - mark.getBoundingClientRect().height) / 2);
    });
  }, true);
}
"""
"""Run once when the page loads (``launch(js=...)``)."""

INTRO = ("Ask a question about your documents. Every answer cites the passages it comes from; "
         "expand a source to see the cited span highlighted in its context.")


def _source_patterns() -> gr.Dropdown:
    """The ``/chat`` endpoint's hidden ``sources`` input: any list of names, glob patterns, folders or paths.

    A multiselect dropdown that takes custom values. Its API description is set on the instance to say
    ``list[str]`` instead of listing its (empty) choices: a subclass of a Gradio component would make Gradio
    write a ``.pyi`` stub beside this module at import time.
    """
    dropdown = gr.Dropdown(choices=[], value=[], multiselect=True, allow_custom_value=True, visible=False,
                           label="sources")
    dropdown.api_info = lambda: {  # type: ignore[method-assign]
        "type": "array", "items": {"type": "string"},
        "additional_description": "indexed sources by file name, glob pattern, folder or path; empty: all"}
    return dropdown


def _theme() -> gr.themes.Base:
    # system fonts only: the page loads nothing from outside this server
    return gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                             font_mono=["ui-monospace", "monospace"])


def build_app(pipeline: qa.Pipeline | None = None, index_settings: IndexSettings | None = None,
              max_upload_bytes: int = MAX_UPLOAD_BYTES, gate: Gate | None = None) -> gr.Blocks:
    """The chat app over ``pipeline`` (default: one built from ``index_settings``), with its event queue set up.

    ``gate`` is the line in front of the model (default: :data:`CHAT_CONCURRENCY` answered at once and
    ``ui.gate.DEFAULT_WAITING`` waiting); it is kept as ``app.ragqa_gate``.
    """
    if pipeline is None:
        pipeline = qa.Pipeline(qa.Config(index=index_settings or IndexSettings()))
    if gate is None:
        gate = Gate(CHAT_CONCURRENCY, DEFAULT_WAITING)
    settings = pipeline.config.index if index_settings is None else index_settings
    default_k = pipeline.config.retrieval.top_k

    def respond(message, chat, turns, top_k, show_scores, scope):
        yield from chat_handlers.respond(pipeline, message, chat, turns, top_k, show_scores, scope, gate=gate)

    def api_chat(message, sources, turns):
        yield from chat_handlers.api_chat(pipeline, message, turns, sources, gate=gate)

    def rerender(turns, show_scores):
        return chat_handlers.render_turns(turns or [], pipeline, bool(show_scores))

    def add_sources(files, progress=gr.Progress()):
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in (files or [])]
        return source_handlers.add_files(paths, settings, progress, max_bytes=max_upload_bytes)

    def list_sources():
        return source_handlers.indexed_rows(settings)

    def refresh_panel(scope):
        _, skipped, choices = source_handlers.panel(settings, scope)
        return skipped, choices

    def pick_row(evt: gr.SelectData):
        row = evt.index[0] if isinstance(evt.index, list | tuple) and evt.index else None
        shown = evt.row_value[0] if evt.row_value else None
        picked = source_handlers.select_row(settings, shown, row)
        return (gr.update(visible=True), picked.prompt, gr.update(visible=picked.deletable, value=False),
                gr.update(visible=picked.source is not None), picked.source)

    def remove_picked(source, delete_file, scope):
        status = source_handlers.remove_source(settings, source, bool(delete_file))
        rows, skipped, choices = source_handlers.panel(settings, scope)
        return gr.update(value=status, visible=True), rows, skipped, choices, gr.update(visible=False), None

    def cancel_remove():
        return gr.update(visible=False), None

    def clear():
        return [], [], ""

    def download_file(fmt: str):
        def handler(turns_now):
            try:
                return gr.update(value=export_file(turns_now, fmt), visible=True)
            except ValueError as exc:
                raise gr.Error(str(exc), print_exception=False) from exc
        return handler

    def api_export(turns_now, fmt):
        try:
            return export_file(turns_now, (fmt or "markdown").strip().lower())
        except ValueError as exc:
            raise gr.Error(str(exc), print_exception=False) from exc

    with gr.Blocks(title="ragqa: cited answers from your documents", analytics_enabled=False) as app:
        turns = gr.State([])
        pending = gr.State(None)  # the source picked for removal, until Remove or Cancel
        gr.Markdown("## ragqa\n" + INTRO)
        with gr.Row():
            with gr.Column(scale=3):
                # choices are the indexed sources (filled on load and after sources are added or removed)
                scope = gr.Dropdown(choices=[], value=[], multiselect=True, label="Answer from",
                                    info="All sources when empty; choose files to answer only from them.",
                                    elem_id="scope")
                chatbot = gr.Chatbot(
                    elem_id="chat", label="Chat", height=640, latex_delimiters=[], sanitize_html=True,
                    allow_tags=False, feedback_options=None, buttons=[], show_label=False,
                    placeholder="Answers appear here, with their sources underneath.",
                )
                with gr.Row():
                    question = gr.Textbox(elem_id="question", placeholder="Ask a question…", show_label=False,
                                          scale=5, lines=1, max_lines=6, autofocus=True, submit_btn=False)
                    send = gr.Button("Ask", elem_id="send", variant="primary", scale=1, min_width=80)
                with gr.Row():
                    clear_btn = gr.Button("Clear chat", elem_id="clear", size="sm", variant="secondary")
                    export_md = gr.Button("Download conversation (Markdown)", elem_id="export-md", size="sm",
                                          variant="secondary")
                    export_json = gr.Button("Download (JSON)", elem_id="export-json", size="sm", variant="secondary")
                download = gr.File(label="Conversation", elem_id="download", visible=False, interactive=False)
            with gr.Column(scale=2):
                with gr.Accordion("Settings", open=True):
                    top_k = gr.Slider(1, 10, value=default_k, step=1, label="Passages to retrieve (top-k)",
                                      elem_id="top-k")
                    show_scores = gr.Checkbox(False, label="Show retrieval scores", elem_id="show-scores")
                with gr.Accordion("Add sources", open=True):
                    # no file_types filter here: each file is accepted or refused with its own reason
                    files = gr.File(label="Upload .txt, .md, .html or .pdf", file_count="multiple", type="filepath",
                                    elem_id="upload", height=140)
                    add_btn = gr.Button("Add to the index", elem_id="add-sources")
                    status = gr.Textbox(label="Status", lines=3, max_lines=12, interactive=False, elem_id="status")
                with gr.Accordion("Indexed sources", open=True):
                    table = gr.Dataframe(headers=render.SOURCES_HEADERS,
                                         datatype=["str", "number", "number", "str", "str"], type="array",
                                         interactive=False, elem_id="sources", wrap=True, max_height=320,
                                         column_widths=["30%", "17%", "15%", "15%", "23%"],
                                         label="Click a row to take it out of the index")
                    with gr.Column(visible=False, elem_id="remove-confirm", variant="panel") as confirm:
                        confirm_text = gr.HTML(elem_id="remove-prompt")
                        delete_file = gr.Checkbox(False, label="Also delete the file from the sources folder",
                                                  elem_id="delete-file", visible=False)
                        with gr.Row():
                            remove_btn = gr.Button("Remove", elem_id="remove", variant="stop", size="sm")
                            cancel_btn = gr.Button("Cancel", elem_id="cancel-remove", size="sm")
                    sources_status = gr.Textbox(show_label=False, lines=1, max_lines=6, interactive=False,
                                                elem_id="sources-status", visible=False)
                    skipped = gr.Dataframe(headers=render.SKIPPED_HEADERS, datatype=["str", "str"], type="array",
                                           interactive=False, elem_id="skipped", wrap=True, max_height=200,
                                           label="Skipped by the last build", visible=False)
        api_message = gr.Textbox(visible=False)
        api_sources = _source_patterns()
        api_answer = gr.Textbox(visible=False)
        api_format = gr.Textbox("markdown", visible=False)
        api_file = gr.File(visible=False)

        # questions are let through Gradio's queue at once (concurrency_limit=None) and wait at the gate instead,
        # which shows each one its place in the line and turns the overflow away at once with a clear message
        chat_event = dict(fn=respond, inputs=[question, chatbot, turns, top_k, show_scores, scope],
                          outputs=[chatbot, turns, question], concurrency_id="chat", concurrency_limit=None,
                          show_progress="hidden")
        # one event for Enter and the button: a second question waits until the answer being streamed is done
        gr.on([question.submit, send.click], **chat_event, api_visibility="private", trigger_mode="once")
        clear_btn.click(clear, outputs=[chatbot, turns, question], api_visibility="private", queue=False)
        chatbot.clear(clear, outputs=[chatbot, turns, question], api_visibility="private", queue=False)  # its trash icon
        show_scores.change(rerender, inputs=[turns, show_scores], outputs=[chatbot], api_visibility="private")
        add_btn.click(add_sources, inputs=[files], outputs=[status, table], api_name="add_sources",
                      concurrency_id="build", concurrency_limit=1).then(
            lambda: None, outputs=[files], api_visibility="private", queue=False).then(  # empty the upload box
            refresh_panel, inputs=[scope], outputs=[skipped, scope], api_visibility="private")
        table.select(pick_row, outputs=[confirm, confirm_text, delete_file, remove_btn, pending],
                     api_visibility="private", queue=False)
        remove_btn.click(remove_picked, inputs=[pending, delete_file, scope],
                         outputs=[sources_status, table, skipped, scope, confirm, pending], api_visibility="private",
                         concurrency_id="build", concurrency_limit=1)
        export_md.click(download_file("markdown"), inputs=[turns], outputs=[download], api_visibility="private")
        export_json.click(download_file("json"), inputs=[turns], outputs=[download], api_visibility="private")
        api_format.submit(api_export, inputs=[turns, api_format], outputs=[api_file], api_name="export")
        cancel_btn.click(cancel_remove, outputs=[confirm, pending], api_visibility="private", queue=False)
        api_message.submit(api_chat, inputs=[api_message, api_sources, turns], outputs=[api_answer, turns],
                           api_name="chat", concurrency_id="chat", concurrency_limit=None)
        app.load(list_sources, outputs=[table], api_name="sources").then(  # after: the index is described once
            refresh_panel, inputs=[scope], outputs=[skipped, scope], api_visibility="private")
    app.queue(default_concurrency_limit=CHAT_CONCURRENCY, max_size=QUEUE_SIZE)
    app.ragqa_gate = gate
    return app


def launch(host: str = "127.0.0.1", port: int = 7860, index_settings: IndexSettings | None = None,
           pipeline: qa.Pipeline | None = None, block: bool = True,
           auth: list[tuple[str, str]] | None = None, waiting: int = DEFAULT_WAITING) -> gr.Blocks:
    """Serve the chat at ``http://host:port`` (loopback only by default) with nothing sent off the machine.

    ``auth`` (``[(user, password), ...]``, see :mod:`ui.auth`) puts Gradio's login in front of the page
    and every API endpoint. ``waiting`` (``RAGQA_UI_QUEUE``) is how many questions may wait for the model
    beyond the :data:`CHAT_CONCURRENCY` being answered; more are told the server is busy.
    """
    if pipeline is None:
        pipeline = qa.configure(qa.Config(index=index_settings or IndexSettings()))
    app = build_app(pipeline, index_settings, gate=Gate(CHAT_CONCURRENCY, waiting))
    pipeline.llm  # noqa: B018  (load the model now, not on the first question)
    app.launch(
        server_name=host, server_port=port, share=False, inbrowser=False, show_error=True,
        max_file_size=MAX_UPLOAD_BYTES, prevent_thread_lock=not block, quiet=False,
        # every question in the line holds a worker thread while it waits: leave room for page loads and uploads
        max_threads=max(40, CHAT_CONCURRENCY + waiting + 16),
        theme=_theme(), css=CSS, js=SCRIPT, footer_links=["api"], run_history=False, enable_monitoring=False,
        ssr_mode=False, pwa=False, mcp_server=False, auth=auth or None,
        auth_message="ragqa: sign in to ask questions about these documents." if auth else None,
    )
    return app
