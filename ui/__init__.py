"""The Gradio chat UI over :mod:`qa`: ``from ui.app import launch, build_app``."""

from index import _offline  # noqa: F401  (keeps gradio and the model libraries off the network; first)
