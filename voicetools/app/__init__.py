"""The browser app: ``voicetools app`` serves a Gradio page with one tab per task.

``build_app(...)`` makes the ``gr.Blocks`` without starting a server (tests call its handlers
directly through ``demo.voicetools.handlers``); ``launch_app(...)`` builds and serves it. Tabs come
from ``voicetools.app.registry``. Gradio is an optional extra: ``pip install 'voicetools[app]'``.

>>> demo = build_app(model="tiny-satb")      # doctest: +SKIP
>>> launch_app(demo, port=7860)              # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from ..errors import MissingDependencyError
from .context import AppContext, AppSettings, default_examples
from .registry import TAB_MODULES, TabSpec, load_tabs

__all__ = ["build_app", "launch_app", "require_gradio", "AppSettings", "AppContext", "TabSpec", "TAB_MODULES"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


def require_gradio():
    """Import gradio, or say how to install it."""
    try:
        import gradio
    except ImportError:
        raise MissingDependencyError("the browser app needs gradio: pip install 'voicetools[app]'") from None
    return gradio


def build_app(*, model: str | None = None, models: dict | None = None, tabs: list[str] | None = None,
              max_upload_mb: float = 50.0, max_duration_s: float = 600.0, concurrency: int = 1,
              max_queue: int = 16, result_ttl_s: float = 3600.0, examples: list | None = None,
              title: str = "voicetools"):
    """Build the app (a ``gr.Blocks``) without serving it.

    Parameters
    ----------
    model : the separation model (registry name or checkpoint folder); shorthand for
        ``models={"separation": model}``. Default: ``voicetools.separation.DEFAULT_MODEL``.
    models : tab task -> model name or folder, e.g. ``{"classify": "runs/events-cnn"}`` (default:
        the shipped emotion model).
    tabs : keys of the tabs to show (default: every registered tab).
    max_upload_mb, max_duration_s : per-file limits; larger or longer files get one clear message.
    concurrency, max_queue : jobs running at once, and jobs allowed to wait.
    result_ttl_s : results (stems, zips) are deleted after this long, or when the page is closed.
    examples : example audio files shown one click away (default: the repo's ``examples/``).

    Models are loaded here, once, so a wrong name fails before the server starts.
    The returned Blocks has ``.voicetools``, the ``AppContext`` (settings, handlers, results store).
    """
    from ..classify import DEFAULT_MODELS as CLASSIFIERS
    from ..diarize import DEFAULT_ENCODER as DIARIZATION_ENCODER
    from ..separation import DEFAULT_MODEL
    from ..transcribe import DEFAULT_MODEL as TRANSCRIPTION_MODEL

    all_models = {"separation": DEFAULT_MODEL, "classify": CLASSIFIERS["emotion"],
                  "diarization": DIARIZATION_ENCODER}
    all_models["transcription"] = TRANSCRIPTION_MODEL
    all_models.update(models or {})
    if model is not None:
        all_models["separation"] = str(model)
    example_files = [Path(p).resolve() for p in (default_examples() if examples is None else examples)]
    settings = AppSettings(models=all_models, max_upload_mb=max_upload_mb, max_duration_s=max_duration_s,
                           concurrency=int(concurrency), max_queue=int(max_queue), result_ttl_s=result_ttl_s,
                           examples=example_files)
    specs = load_tabs(tabs)
    ctx = AppContext(settings)
    for spec in specs:
        if spec.task:
            ctx.model(spec.task)  # before importing gradio: a wrong model name fails fast
    gr = require_gradio()
    # the results folder and the example files are served as they are; nothing else is added
    gr.set_static_paths([ctx.store.root, *example_files])
    ttl = int(max(60, result_ttl_s))
    with gr.Blocks(title=title, analytics_enabled=False, delete_cache=(max(60, ttl // 4), ttl)) as demo:
        gr.Markdown("## voicetools\nOffline music and voice tools. Everything runs on this server; "
                    "nothing is sent anywhere else.", elem_id="vt-header")
        with gr.Tabs():
            for spec in specs:
                with gr.Tab(spec.title, id=spec.key, elem_id=f"vt-tab-{spec.key}"):
                    spec.build(ctx)

        def release(request):
            ctx.store.release(getattr(request, "session_hash", None))

        release.__annotations__["request"] = gr.Request  # a real class: this module's hints are strings

        demo.unload(release)
    demo.queue(default_concurrency_limit=settings.concurrency, max_size=settings.max_queue)
    demo.voicetools = ctx
    return demo


def _theme(gr):
    # system fonts: the default theme would fetch web fonts from the internet
    sans = ["ui-sans-serif", "system-ui", "sans-serif"]
    mono = ["ui-monospace", "monospace"]
    return gr.themes.Default(font=sans, font_mono=mono)


def launch_app(demo=None, *, host: str = DEFAULT_HOST, port: int | None = DEFAULT_PORT, share: bool = False,
               quiet: bool = False, block: bool = True, **build_kwargs):
    """Serve the app (building it first unless ``demo`` is given); returns ``demo``.

    ``share`` (off by default) asks Gradio for a public link. ``block=False`` returns at once with
    the server running in a thread (``demo.close()`` stops it); ``demo.local_url`` is its address.
    """
    gr = require_gradio()
    if demo is None:
        demo = build_app(**build_kwargs)
    elif build_kwargs:
        raise TypeError("pass either demo or build options, not both")
    s = demo.voicetools.settings
    demo.launch(server_name=host, server_port=port, share=share, quiet=quiet, prevent_thread_lock=not block,
                max_file_size=int(s.max_upload_mb * 2**20), ssr_mode=False, pwa=False, mcp_server=False,
                inbrowser=False, show_error=False, theme=_theme(gr))
    return demo
