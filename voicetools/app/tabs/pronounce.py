"""The Pronounce tab: type a Mandarin sentence, hear the reference, record yourself, and see per
syllable which tones were right (reference and your pitch contours side by side, green right, red
wrong), a table with the heard tone, score, hint and timing, and the result as JSON and TextGrid.

``run_reference`` and ``run_pronounce`` are the gradio-free core (tests call them directly);
``build`` lays out the tab. (No ``from __future__ import annotations``: gradio reads ``gr.Request``.)
"""

import html
import warnings

from ...errors import VoicetoolsError
from ..registry import TabSpec

EXAMPLE_TEXT = "你好，我叫小明。"
PLACEHOLDER = ('<p class="vt-note">Type a sentence in Chinese characters and press <b>Reference</b> to hear it; '
               'then record yourself reading it and press <b>Check</b>. Each syllable\'s tone and timing '
               'appears here.</p>')


def _model_name(ctx) -> str:
    from ...pronounce import DEFAULT_MODEL

    return ctx.settings.models.get("tone", DEFAULT_MODEL)


def pinyin_html(result) -> str:
    """The sentence in pinyin with tone marks, sandhi changes explained."""
    words = " ".join(f'<span class="vt-pinyin" data-pinyin="{html.escape(s.pinyin)}" title="{html.escape(s.pinyin)}">'
                     f"{html.escape(s.marked)}</span>" for s in result.syllables)
    rule = {"3-3": "3-3 sandhi", "yi": "一 rule", "bu": "不 rule"}
    sandhi = [f"{html.escape(s.hanzi)} → {html.escape(s.marked)} ({rule.get(s.sandhi, s.sandhi)})"
              for s in result.syllables if s.sandhi]
    extra = f'<div style="font-size:12px;color:#555">Tone changes: {"; ".join(sandhi)}</div>' if sandhi else ""
    return f'<div id="vt-pronounce-pinyin" style="font-size:20px;margin:4px 0">{words}</div>{extra}'


def table_html(result) -> str:
    """One row per syllable: characters, pinyin, expected and heard tone, score, timing, hint."""
    rows = []
    for s in result.syllables:
        ok = s.tone_ok
        colour = "#e8f5e9" if ok else "#fdecea"
        timing = f"{s.duration_ratio:.2f}×" + (f" ({html.escape(s.timing_note)})" if s.timing_note else "")
        rows.append(
            f'<tr class="vt-syllable" data-index="{s.index}" data-expected="{s.expected_tone}" '
            f'data-heard="{s.heard_tone}" data-ok="{int(bool(ok))}" style="background:{colour}">'
            f"<td>{html.escape(s.hanzi)}</td><td>{html.escape(s.marked)} ({s.expected_tone})</td>"
            f"<td>{s.heard_tone}</td><td>{s.tone_score:.0f}</td><td>{'✓' if ok else '✗'}</td>"
            f"<td>{timing}</td><td>{html.escape(s.hint)}</td></tr>")
    head = ("<tr><th>Syllable</th><th>Expected</th><th>Heard tone</th><th>Score</th><th></th><th>Timing</th>"
            "<th>Hint</th></tr>")
    summary = (f'<p class="vt-note" id="vt-pronounce-score">Score <b>{result.score:.0f}</b>/100 — tones '
               f"{result.tone_score:.0f}, timing {result.timing_score:.0f}. "
               f"{len(result.wrong)} of {len(result.syllables)} tones to practise.</p>")
    return (summary + '<table id="vt-pronounce-table" style="border-collapse:collapse;width:100%">'
            f'{head}{"".join(rows)}</table>')


def run_reference(ctx, text, *, session=None):
    """The reference speech for ``text``: ``(wav_path, pinyin_html)``."""
    from ...pronounce import pronounce

    result = pronounce(text)
    out = ctx.store.new_dir(session)
    wav = result.save_reference(out / "reference.wav")
    return str(wav), pinyin_html(result)


def run_pronounce(ctx, text, audio_path, *, session=None, progress=None):
    """Judge one recording of ``text``: ``(reference_wav, pinyin_html, table_html, figure_png, files, notes)``.

    Raises ``VoicetoolsError`` (with the user's file name, never a server path) for bad input.
    """
    from ...pronounce import pronounce, text_to_syllables
    from ...pronounce.plot import save_contour_figure
    from ..context import safe_stem

    report = progress or (lambda *args, **kwargs: None)
    text_to_syllables(text)  # a text error first, before asking for audio
    upload = ctx.check_upload(audio_path)
    report(0.1, desc="Finding the syllables in your recording")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = pronounce(text, upload.path, model=_model_name(ctx))
    except VoicetoolsError as exc:
        raise type(exc)(ctx.user_message(exc, upload.path)) from None
    report(0.9, desc="Drawing the pitch contours")
    out = ctx.store.new_dir(session)
    base = safe_stem(upload.name)
    wav = result.save_reference(out / "reference.wav")
    png = save_contour_figure(result, out / f"{base}-contours.png")
    js = out / f"{base}-pronunciation.json"
    js.write_text(result.to_json() + "\n", encoding="utf-8")
    tg = result.save_textgrid(out / f"{base}.TextGrid")
    return str(wav), pinyin_html(result), table_html(result), str(png), [str(js), str(tg)], list(result.warnings)


def build(ctx):
    import gradio as gr

    from ...pronounce import DEFAULT_ALIGNER, MAX_DURATION_S, _load_model
    from . import show_warnings, upload_checker, user_error

    _load_model(_model_name(ctx), "tone")  # a missing model fails before the server starts
    _load_model(DEFAULT_ALIGNER, "mandarin-aligner")

    def reference_handler(text, request: gr.Request = None):
        try:
            return run_reference(ctx, text, session=getattr(request, "session_hash", None))
        except VoicetoolsError as exc:
            raise user_error(exc, "Cannot read this sentence") from None

    def pronounce_handler(text, audio_path, request: gr.Request = None, progress=gr.Progress()):
        try:
            wav, pinyin, table, png, files, notes = run_pronounce(
                ctx, text, audio_path, session=getattr(request, "session_hash", None), progress=progress)
        except VoicetoolsError as exc:
            raise user_error(exc, "Cannot check this recording") from None
        show_warnings(notes)
        return wav, pinyin, table, png, files

    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            text = gr.Textbox(EXAMPLE_TEXT, label="Sentence (Chinese characters)", elem_id="vt-pronounce-text")
            ref_btn = gr.Button("Reference", elem_id="vt-pronounce-reference-run")
            ref_audio = gr.Audio(label="Reference", type="filepath", interactive=False,
                                 elem_id="vt-pronounce-reference")
            pinyin = gr.HTML("", elem_id="vt-pronounce-pinyin-box")
            audio_in = gr.Audio(sources=["microphone", "upload"], type="filepath", label="Your reading",
                                elem_id="vt-pronounce-input")
            run = gr.Button("Check", variant="primary", elem_id="vt-pronounce-run")
        with gr.Column(scale=2, min_width=320):
            gr.Markdown(f"Read the whole sentence once, at a natural pace (up to {MAX_DURATION_S:.0f} s). The "
                        "reference is espeak-ng's Mandarin voice. The aligner and the tone model learned from "
                        "recordings of one native speaker (and many synthetic voices), so treat a single WRONG as a "
                        "hint to listen again.", elem_id="vt-pronounce-help")
            table = gr.HTML(PLACEHOLDER, elem_id="vt-pronounce-result")
            figure = gr.Image(label="Pitch per syllable: reference (grey) and you (green right, red wrong)",
                              type="filepath", interactive=False, elem_id="vt-pronounce-plot")
            files = gr.File(label="Result (JSON, TextGrid)", file_count="multiple", interactive=False,
                            elem_id="vt-pronounce-files")
    audio_in.upload(upload_checker(ctx), inputs=[audio_in], outputs=None, api_visibility="private",
                    show_progress="hidden", concurrency_limit=None)
    ref_btn.click(reference_handler, inputs=[text], outputs=[ref_audio, pinyin], api_name="pronounce_reference",
                  concurrency_id="pronounce", concurrency_limit=ctx.settings.concurrency)
    run.click(pronounce_handler, inputs=[text, audio_in], outputs=[ref_audio, pinyin, table, figure, files],
              api_name="pronounce", concurrency_id="pronounce", concurrency_limit=ctx.settings.concurrency)
    ctx.handlers["pronounce"] = pronounce_handler
    ctx.handlers["pronounce_reference"] = reference_handler


TAB = TabSpec(key="pronounce", title="Pronounce", build=build)
