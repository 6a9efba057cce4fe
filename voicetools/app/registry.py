"""The one place where the app's tabs are listed.

Each task adds its tab by writing ``voicetools/app/tabs/<task>.py`` with a module-level
``TAB = TabSpec(...)`` and adding one line to ``TAB_MODULES`` below; no other tab changes.
A tab's ``build(ctx)`` is called inside its ``gr.Tab`` and creates the tab's components and events;
``ctx`` (an ``AppContext``) gives it the settings, the loaded models, upload checks and a folder
for results that is cleaned up.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import ParameterError

# In page order. Later tasks: vocals, transcribe, revoice, classify, pronounce, diarize.
TAB_MODULES: tuple[str, ...] = (
    "voicetools.app.tabs.separate",
    "voicetools.app.tabs.transcribe",
    "voicetools.app.tabs.vocals",
    "voicetools.app.tabs.revoice",
    "voicetools.app.tabs.classify",
    "voicetools.app.tabs.diarize",
    "voicetools.app.tabs.pronounce",
)


@dataclass(frozen=True)
class TabSpec:
    """A tab: ``key`` (also its API-name prefix), ``title`` shown on the tab, the ``task`` whose model
    it uses (a key of ``AppSettings.models``; None if it needs none) and its ``build(ctx)``."""

    key: str
    title: str
    build: Callable
    task: str | None = None


def load_tabs(only: list[str] | tuple[str, ...] | None = None) -> list[TabSpec]:
    """The registered tabs in page order, or just those whose ``key`` is in ``only``."""
    tabs = [importlib.import_module(m).TAB for m in TAB_MODULES]
    if only is not None:
        keys = [t.key for t in tabs]
        unknown = [k for k in only if k not in keys]
        if unknown:
            raise ParameterError(f"unknown app tab {unknown[0]!r}; choose from {keys}")
        tabs = [t for t in tabs if t.key in only]
    return tabs
