"""The Gradio app: a chat with streamed, cited answers, the sources behind them, and an "Add sources" panel.

``ragqa ui`` calls :func:`launch`; :func:`build_app` returns the ``gr.Blocks`` for embedding or tests.
Named API endpoints (``gradio_client.Client(url).predict(..., api_name=...)``):

- ``/chat`` (message) → the verified answer text with ``[n]`` markers and a "Sources:" list;
  the conversation is kept per client session, so follow-ups work.
- ``/add_sources`` (files) → (status lines, indexed sources table).
- ``/sources`` () → the indexed sources table (source, chunks).
"""

from __future__ import annotations

import gradio as gr

import qa
from index import IndexSettings
from index.uploads import MAX_UPLOAD_BYTES

from . import chat as chat_handlers
from . import sources as source_handlers

CHAT_CONCURRENCY = 2
"""Questions processed at once (the model is one shared instance behind a lock; one retrieves while another generates)."""

QUEUE_SIZE = 64
"""Requests that may wait in the queue before new ones are turned away."""

CSS = """
.ragqa-cite { font-weight: 600; color: var(--color-accent); }
.ragqa-streaming { opacity: 0.85; }
.ragqa-cursor { animation: ragqa-blink 1s step-start infinite; }
@keyframes ragqa-blink { 50% { opacity: 0; } }
.ragqa-wait { font-style: italic; opacity: 0.7; }
.ragqa-refused { margin-bottom: 0.3em; }
.ragqa-model-said, .ragqa-rewritten, .ragqa-note, .ragqa-timings, .ragqa-sources-title { opacity: 0.7; }
.ragqa-rewritten, .ragqa-sources-title { margin-top: 0.4em; }
.ragqa-source { margin: 0.25em 0; border-left: 3px solid var(--border-color-primary); padding-left: 0.5em; }
.ragqa-source summary { cursor: pointer; }
.ragqa-passage { margin: 0.3em 0 0.5em; font-size: 0.92em; line-height: 1.45; }
.ragqa-context { opacity: 0.6; }
mark.ragqa-span { background: #ffe58a; color: #111; padding: 0 1px; }
.ragqa-error { color: var(--error-text-color, #b91c1c); }
"""

INTRO = ("Ask a question about your documents. Every answer cites the passages it comes from; "
         "expand a source to see the cited span highlighted in its context.")


def _theme() -> gr.themes.Base:
    # system fonts only: the page loads nothing from outside this server
    return gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                             font_mono=["ui-monospace", "monospace"])


def build_app(pipeline: qa.Pipeline | None = None, index_settings: IndexSettings | None = None,
              max_upload_bytes: int = MAX_UPLOAD_BYTES) -> gr.Blocks:
    """The chat app over ``pipeline`` (default: one built from ``index_settings``), with its event queue set up."""
    if pipeline is None:
        pipeline = qa.Pipeline(qa.Config(index=index_settings or IndexSettings()))
    settings = pipeline.config.index if index_settings is None else index_settings
    default_k = pipeline.config.retrieval.top_k

    def respond(message, chat, turns, top_k, show_scores):
        yield from chat_handlers.respond(pipeline, message, chat, turns, top_k, show_scores)

    def api_chat(message, turns):
        yield from chat_handlers.api_chat(pipeline, message, turns)

    def rerender(turns, show_scores):
        return chat_handlers.render_turns(turns or [], pipeline, bool(show_scores))

    def add_sources(files, progress=gr.Progress()):
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in (files or [])]
        return source_handlers.add_files(paths, settings, progress, max_bytes=max_upload_bytes)

    def list_sources():
        return source_handlers.indexed_rows(settings)

    def clear():
        return [], [], ""

    with gr.Blocks(title="ragqa: cited answers from your documents", analytics_enabled=False) as app:
        turns = gr.State([])
        gr.Markdown("## ragqa\n" + INTRO)
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    elem_id="chat", label="Chat", height=640, latex_delimiters=[], sanitize_html=True,
                    allow_tags=False, feedback_options=None, buttons=[], show_label=False,
                    placeholder="Answers appear here, with their sources underneath.",
                )
                with gr.Row():
                    question = gr.Textbox(elem_id="question", placeholder="Ask a question…", show_label=False,
                                          scale=5, lines=1, max_lines=6, autofocus=True, submit_btn=False)
                    send = gr.Button("Ask", elem_id="send", variant="primary", scale=1, min_width=80)
                clear_btn = gr.Button("Clear chat", elem_id="clear", size="sm", variant="secondary")
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
                    table = gr.Dataframe(headers=["source", "chunks"], datatype=["str", "number"], interactive=False,
                                         elem_id="sources", wrap=True, max_height=320)
        api_message = gr.Textbox(visible=False)
        api_answer = gr.Textbox(visible=False)

        chat_event = dict(fn=respond, inputs=[question, chatbot, turns, top_k, show_scores],
                          outputs=[chatbot, turns, question], concurrency_id="chat", concurrency_limit=CHAT_CONCURRENCY,
                          show_progress="hidden")
        # one event for Enter and the button: a second question waits until the answer being streamed is done
        gr.on([question.submit, send.click], **chat_event, api_visibility="private", trigger_mode="once")
        clear_btn.click(clear, outputs=[chatbot, turns, question], api_visibility="private", queue=False)
        chatbot.clear(clear, outputs=[chatbot, turns, question], api_visibility="private", queue=False)  # its trash icon
        show_scores.change(rerender, inputs=[turns, show_scores], outputs=[chatbot], api_visibility="private")
        add_btn.click(add_sources, inputs=[files], outputs=[status, table], api_name="add_sources",
                      concurrency_id="build", concurrency_limit=1).then(
            lambda: None, outputs=[files], api_visibility="private", queue=False)  # empty the upload box
        api_message.submit(api_chat, inputs=[api_message, turns], outputs=[api_answer, turns], api_name="chat",
                           concurrency_id="chat", concurrency_limit=CHAT_CONCURRENCY)
        app.load(list_sources, outputs=[table], api_name="sources")
    app.queue(default_concurrency_limit=CHAT_CONCURRENCY, max_size=QUEUE_SIZE)
    return app


def launch(host: str = "127.0.0.1", port: int = 7860, index_settings: IndexSettings | None = None,
           pipeline: qa.Pipeline | None = None, block: bool = True) -> gr.Blocks:
    """Serve the chat at ``http://host:port`` (loopback only by default) with nothing sent off the machine."""
    if pipeline is None:
        pipeline = qa.configure(qa.Config(index=index_settings or IndexSettings()))
    app = build_app(pipeline, index_settings)
    pipeline.llm  # noqa: B018  (load the model now, not on the first question)
    app.launch(
        server_name=host, server_port=port, share=False, inbrowser=False, show_error=True,
        max_file_size=MAX_UPLOAD_BYTES, prevent_thread_lock=not block, quiet=False,
        theme=_theme(), css=CSS, footer_links=["api"], run_history=False, enable_monitoring=False,
        ssr_mode=False, pwa=False, mcp_server=False,
    )
    return app
