"""The browser app: ``voicetools app`` serves a Gradio page with one tab per task.

``build_app(...)`` makes the ``gr.Blocks`` without starting a server (tests call its handlers
directly through ``demo.voicetools.handlers``); ``launch_app(...)`` builds and serves it. Tabs come
from ``voicetools.app.registry``. Gradio is an optional extra: ``pip install 'voicetools[app]'``.

>>> demo = build_app(model="tiny-satb")      # doctest: +SKIP
>>> launch_app(demo, port=7860)              # doctest: +SKIP
"""

from .build import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    build_app,
    footer_html,
    header_html,
    launch_app,
    model_cards,
    require_gradio,
)
from .context import AppContext, AppSettings
from .registry import TAB_MODULES, TabSpec

__all__ = [
    "build_app",
    "launch_app",
    "require_gradio",
    "AppSettings",
    "AppContext",
    "TabSpec",
    "TAB_MODULES",
    "footer_html",
    "header_html",
    "model_cards",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
]
