"""``build_app`` and ``launch_app``: the Gradio page, its header, footer and model cards (see the package docstring)."""

from __future__ import annotations

import html
from pathlib import Path

from ..checkpoints import CHECKPOINT_DIR, registry
from ..classify import DEFAULT_MODELS as CLASSIFIERS
from ..diarize import DEFAULT_ENCODER as DIARIZATION_ENCODER
from ..errors import MissingDependencyError
from ..pronounce import DEFAULT_MODEL as TONE_MODEL
from ..separation import DEFAULT_MODEL as SEPARATION_MODEL
from ..transcribe import DEFAULT_MODEL as TRANSCRIPTION_MODEL
from .context import AppContext, AppSettings, default_examples, file_url
from .registry import load_tabs

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


def require_gradio():
    """Import gradio, or say how to install it."""
    try:
        import gradio
    except ImportError:
        raise MissingDependencyError("the browser app needs gradio: pip install 'voicetools[app]'") from None
    return gradio


def build_app(
    *,
    model: str | None = None,
    models: dict | None = None,
    tabs: list[str] | None = None,
    max_upload_mb: float = 50.0,
    max_duration_s: float = 600.0,
    concurrency: int = 1,
    max_queue: int = 16,
    result_ttl_s: float = 3600.0,
    examples: list | None = None,
    title: str = "voicetools",
):
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
    all_models = {
        "separation": SEPARATION_MODEL,
        "classify": CLASSIFIERS["emotion"],
        "diarization": DIARIZATION_ENCODER,
    }
    all_models["transcription"] = TRANSCRIPTION_MODEL
    all_models.update(models or {})
    if model is not None:
        all_models["separation"] = str(model)
    example_files = [Path(p).resolve() for p in (default_examples() if examples is None else examples)]
    settings = AppSettings(
        models=all_models,
        max_upload_mb=max_upload_mb,
        max_duration_s=max_duration_s,
        concurrency=int(concurrency),
        max_queue=int(max_queue),
        result_ttl_s=result_ttl_s,
        examples=example_files,
    )
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
        gr.HTML(header_html(title, [s.title for s in specs]), elem_id="vt-header")
        with gr.Tabs():
            for spec in specs:
                with gr.Tab(spec.title, id=spec.key, elem_id=f"vt-tab-{spec.key}"):
                    spec.build(ctx)
        cards = model_cards(ctx, specs)  # after the tabs: they fill in the models they use
        gr.set_static_paths([card for _, _, card in cards if card is not None])  # the cards are served too
        gr.HTML(footer_html(ctx, cards), elem_id="vt-footer")

        def release(request):
            ctx.store.release(getattr(request, "session_hash", None))

        release.__annotations__["request"] = gr.Request  # a real class: this module's hints are strings

        demo.unload(release)
    demo.queue(default_concurrency_limit=settings.concurrency, max_size=settings.max_queue)
    demo.voicetools = ctx
    return demo


# Which models each tab uses (AppSettings.models keys, or fixed names), for the links to their cards.
TAB_MODELS = {
    "separate": ("separation",),
    "transcribe": ("transcription",),
    "vocals": ("vocals",),
    "revoice": ("separation", "timbre-synth-choir", "timbre-clarinet"),
    "classify": ("classify",),
    "diarize": ("diarization",),
    "pronounce": ("tone", "mandarin-aligner"),
}
# The known limits of each shipped model, in a visitor's words (each card has the details and numbers).
LIMITS = {
    "satb-convtasnet": "learned from synthesized choirs only, so real choirs separate less cleanly; the voices "
    "carry nothing above 4 kHz (it works at 8 kHz)",
    "voice2midi": "learned from synthesized singing; one voice at a time (tick Choir for S, A, T, B); notes from "
    "C2 to C6",
    "vocals-htdemucs-small": "a small model that learned from amateur Mandarin pop: other styles and studio mixes "
    "come out less clean",
    "emotion-ravdess-cnn": "heard acted North-American English sentences only: other speech, languages and noisy "
    "rooms get guesses",
    "speaker-resemblyzer": "emotion and speaking style move a voice print, so strongly acted speech can count one "
    "person twice",
    "tone-net": "learned from one native speaker and synthetic voices: treat a single wrong tone as a hint to "
    "listen again",
}


def model_cards(ctx, specs) -> list[tuple[str, list[str], Path | None]]:
    """(model name, the titles of the shown tabs that use it, its card or None), in page order."""
    entries, used = registry(), {}
    for spec in specs:
        for want in TAB_MODELS.get(spec.key, ()):
            name = str(ctx.settings.models.get(want, TONE_MODEL if want == "tone" else want))
            if not name.startswith("tiny-"):
                used.setdefault(name, []).append(spec.title)
    cards = []
    for name, tabs in used.items():
        card = CHECKPOINT_DIR / entries[name]["card"] if name in entries else Path(name) / "MODEL_CARD.md"
        cards.append((name, tabs, card.resolve() if card.is_file() else None))
    return cards


def header_html(title: str, tabs: list[str]) -> str:
    e = html.escape
    return (
        f'<h1 style="margin:0 0 .25rem;font-size:1.9rem">{e(title)}</h1>'
        f'<p style="margin:0">Offline music and voice tools: {e(", ".join(tabs))}. Pick a tab, upload or record '
        "audio (or click its example) and press its button. Everything runs on this server: nothing you upload "
        "is sent anywhere else, and results are deleted an hour after they are made or when you close the page."
        "</p>"
    )


def footer_html(ctx, cards) -> str:
    """One line per model: its card (served by the app, opens as text), the tabs using it, its known limits."""
    e = html.escape
    rows = []
    for name, tabs, card in cards:
        link = f'<a href="{e(file_url(card))}" target="_blank" rel="noopener">{e(name)}</a>' if card else e(name)
        rows.append(f"<li>{link} ({e(', '.join(tabs))}){': ' + e(LIMITS[name]) if name in LIMITS else ''}</li>")
    if not rows:
        return ""
    return (
        "<p><b>The models</b>: each card says what the model learned from, how well it does and where it fails; "
        f"their known limits in short:</p><ul>{''.join(rows)}</ul>"
    )


# Page-wide CSS (launch(css=...)).
APP_CSS = """
footer { display: none !important; }  /* gradio's "Use via API · Built with Gradio" */
/* an error is told once, in its toast: no red "Error" pill over every output as well */
[data-testid="status-tracker"]:has(> .error) { display: none !important; }
.toast-message-text .vt-error-title { font-size: 1.05em; }
.vt-placeholder { min-height: 5rem; }
#vt-footer { margin-top: 1.5rem; padding-top: .75rem; border-top: 1px solid var(--border-color-primary);
             font-size: .9em; opacity: .9; }
#vt-footer ul { margin: .25rem 0 0 1.2rem; }
.progress-text, .meta-text, .progress-level-inner { font-size: .95rem !important; }
"""

# Page-wide script (launch(head=...)): gradio writes a waiting job's place as "queue: 3/3"; say it in words.
QUEUE_WORDS_JS = r"""<script>
(() => {
  const words = (node) => {
    const m = /^\s*queue:\s*(\d+)\/(\d+)\s*\|?\s*$/.exec(node.nodeValue || '');
    if (!m) return;
    const ahead = parseInt(m[1], 10) - 1;
    node.nodeValue = ahead > 0
      ? `Waiting in line: ${ahead} job${ahead > 1 ? 's' : ''} ahead of yours (place ${m[1]} of ${m[2]}) | `
      : 'Next in line | ';
  };
  const scan = (root) => {
    const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) words(n);
  };
  new MutationObserver((records) => records.forEach((r) => {
    if (r.type === 'characterData') words(r.target);
    else r.addedNodes.forEach((n) => (n.nodeType === 3 ? words(n) : n.nodeType === 1 && scan(n)));
  })).observe(document.documentElement, {subtree: true, childList: true, characterData: true});
})();
</script>"""


def _theme(gr):
    # calm blue-grey instead of the default orange; system fonts: the default theme would fetch web
    # fonts from the internet
    sans = ["ui-sans-serif", "system-ui", "sans-serif"]
    mono = ["ui-monospace", "monospace"]
    return gr.themes.Soft(primary_hue="blue", secondary_hue="slate", neutral_hue="slate", font=sans, font_mono=mono)


def launch_app(
    demo=None,
    *,
    host: str = DEFAULT_HOST,
    port: int | None = DEFAULT_PORT,
    share: bool = False,
    quiet: bool = False,
    block: bool = True,
    **build_kwargs,
):
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
    demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        quiet=quiet,
        prevent_thread_lock=not block,
        max_file_size=int(s.max_upload_mb * 2**20),
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        inbrowser=False,
        show_error=False,
        theme=_theme(gr),
        css=APP_CSS,
        head=QUEUE_WORDS_JS,
        footer_links=[],
    )
    return demo
