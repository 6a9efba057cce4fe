"""The Pronounce tab: type a Mandarin sentence, hear the reference, record yourself, and see per
syllable which tones were right (reference and your pitch contours side by side, green right, red
wrong), a table with the heard tone, score, hint and timing, and the result as JSON and TextGrid.

``run_reference`` and ``run_pronounce`` are the gradio-free core (tests call them directly);
``build`` lays out the tab. (No ``from __future__ import annotations``: gradio reads ``gr.Request``.)

An example is a recording with the sentence it reads beside it (``reading.wav`` + ``reading.txt``).
"""

import html
import warnings
from pathlib import Path

from ...errors import VoicetoolsError
from ...pronounce import DEFAULT_ALIGNER, DEFAULT_MODEL, MAX_DURATION_S, cached_model, pronounce, text_to_syllables
from ...pronounce.plot import save_contour_figure
from ..context import safe_stem
from ..player import Download, format_size, placeholder_html
from ..registry import TabSpec
from .common import check_uploads, examples_box, reporter, run_job, user_error, wire_job

EXAMPLE_TEXT = "你好，我叫小明。"
PLACEHOLDER = (
    "Type a sentence in Chinese characters and press Reference to hear it; then record yourself reading "
    "it and press Check (or click the example). Each syllable's tone and timing appears here."
)
STAGES = {"synthesize": "Making the reference reading", "align": "Finding the syllables in your recording"}


def _model_name(ctx) -> str:
    return ctx.settings.models.get("tone", DEFAULT_MODEL)


def pinyin_html(result) -> str:
    """The sentence in pinyin with tone marks, sandhi changes explained."""
    words = " ".join(
        f'<span class="vt-pinyin" data-pinyin="{html.escape(s.pinyin)}" title="{html.escape(s.pinyin)}">'
        f"{html.escape(s.marked)}</span>"
        for s in result.syllables
    )
    rule = {"3-3": "3-3 sandhi", "yi": "一 rule", "bu": "不 rule"}
    sandhi = [
        f"{html.escape(s.hanzi)} → {html.escape(s.marked)} ({rule.get(s.sandhi, s.sandhi)})"
        for s in result.syllables
        if s.sandhi
    ]
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
            f"<td>{timing}</td><td>{html.escape(s.hint)}</td></tr>"
        )
    head = (
        "<tr><th>Syllable</th><th>Expected</th><th>Heard tone</th><th>Score</th><th></th><th>Timing</th>"
        "<th>Hint</th></tr>"
    )
    summary = (
        f'<p class="vt-note" id="vt-pronounce-score">Score <b>{result.score:.0f}</b>/100 — tones '
        f"{result.tone_score:.0f}, timing {result.timing_score:.0f}. "
        f"{len(result.wrong)} of {len(result.syllables)} tones to practise.</p>"
    )
    return (
        summary + '<table id="vt-pronounce-table" style="border-collapse:collapse;width:100%">'
        f"{head}{''.join(rows)}</table>"
    )


def run_reference(ctx, text, *, session=None):
    """The reference speech for ``text``: ``(wav_path, pinyin_html)``."""
    result = pronounce(text)
    out = ctx.store.new_dir(session)
    wav = result.save_reference(out / "reference.wav")
    return str(wav), pinyin_html(result)


def run_pronounce(ctx, text, audio_path, *, session=None, progress=None):
    """Judge one recording of ``text``: ``(reference_wav, pinyin_html, result_html, figure_png, files, notes)``;
    the result HTML holds the table, the contour figure and the download links.

    Raises ``VoicetoolsError`` (with the user's file name, never a server path) for bad input.
    """
    report = reporter(progress)
    text_to_syllables(text)  # a text error first, before asking for audio
    upload = ctx.check_upload(audio_path)
    report(0.05, desc="Reading your recording")

    def on_stage(stage, done, total):
        report((done, total), desc=STAGES.get(stage, stage), unit="steps")

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = pronounce(text, upload.path, model=_model_name(ctx), callback=on_stage)
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
    wrong = ", ".join(f"{s.hanzi} ({s.marked})" for s in result.wrong)
    alt = (
        f"Pitch contour of each syllable, one slot per syllable: the reference dashed grey, yours green where the "
        f"tone is right and red where it is wrong; {len(result.wrong)} of {len(result.syllables)} wrong"
        + (f": {wrong}." if wrong else ".")
    )
    links = " ".join(
        Download(f"Download {what} ({kind}, {format_size(f.stat().st_size)})", ctx.store.url(f), f.name).html()
        for what, kind, f in (("the result", "JSON", js), ("the syllable timings", "TextGrid", tg))
    )
    page = (
        table_html(result) + f'<div id="vt-pronounce-plot" style="margin-top:12px"><img src="{ctx.store.url(png)}" '
        f'alt="{html.escape(alt)}" style="max-width:100%;height:auto"></div><p>{links}</p>'
    )
    return str(wav), pinyin_html(result), page, str(png), [str(js), str(tg)], list(result.warnings)


def examples_of(ctx) -> list[tuple[str, Path]]:
    """(sentence, recording) per example recording that has its sentence beside it (``.txt``)."""
    pairs = []
    for p in ctx.examples_for("pronounce"):
        text = Path(p).with_suffix(".txt")
        if text.is_file():
            pairs.append((text.read_text(encoding="utf-8").strip(), Path(p)))
    return pairs


def build(ctx):
    import gradio as gr

    cached_model(_model_name(ctx), "tone")  # a missing model fails before the server starts
    cached_model(DEFAULT_ALIGNER, "mandarin-aligner")

    def reference_handler(text, request: gr.Request = None):
        try:
            wav, pinyin = run_reference(ctx, text, session=getattr(request, "session_hash", None))
        except VoicetoolsError as exc:
            raise user_error(exc, "Cannot read this sentence") from None
        return gr.Audio(wav, visible=True), pinyin

    def pronounce_handler(text, audio_path, request: gr.Request = None, progress=gr.Progress()):
        wav, pinyin, page, png, files = run_job(
            ctx,
            key="pronounce",
            title="Cannot check this recording",
            audio_path=audio_path,
            params=(text,),
            request=request,
            compute=lambda session: run_pronounce(ctx, text, audio_path, session=session, progress=progress),
        )
        return gr.Audio(wav, visible=True), pinyin, page, png, files

    examples = examples_of(ctx)
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            text = gr.Textbox(
                examples[0][0] if examples else EXAMPLE_TEXT,
                label="Sentence (Chinese characters)",
                elem_id="vt-pronounce-text",
            )
            ref_btn = gr.Button("Reference", elem_id="vt-pronounce-reference-run")
            ref_audio = gr.Audio(
                label="Reference reading",
                type="filepath",
                interactive=False,
                visible=False,
                elem_id="vt-pronounce-reference",
            )
            pinyin = gr.HTML("", elem_id="vt-pronounce-pinyin-box")
            audio_in = gr.Audio(
                sources=["microphone", "upload"], type="filepath", label="Your reading", elem_id="vt-pronounce-input"
            )
            run = gr.Button("Check", variant="primary", elem_id="vt-pronounce-run")
            box = examples_box(
                "pronounce",
                [text, audio_in],
                [[t, str(p)] for t, p in examples],
                [f"{t} ({p.name})" for t, p in examples],
            )
        with gr.Column(scale=2, min_width=320):
            gr.Markdown(
                f"Read the whole sentence once, at a natural pace (up to {MAX_DURATION_S:.0f} s). The "
                "reference is espeak-ng's Mandarin voice. The aligner and the tone model learned from "
                "recordings of one native speaker (and many synthetic voices), so treat a single WRONG as a "
                "hint to listen again.",
                elem_id="vt-pronounce-help",
            )
            table = gr.HTML(placeholder_html(PLACEHOLDER), elem_id="vt-pronounce-result")
    # the figure and the files are shown and linked in the result; these hidden boxes hand them to API clients
    figure = gr.Image(visible=False, type="filepath", interactive=False, elem_id="vt-pronounce-figure")
    files = gr.File(visible=False, file_count="multiple", interactive=False, elem_id="vt-pronounce-files")

    check_uploads(ctx, audio_in)
    wire_job(
        ctx,
        key="pronounce_reference",
        fn=reference_handler,
        inputs=[text],
        outputs=[ref_audio, pinyin],
        run=ref_btn,
        progress_on=[pinyin],
        concurrency_id="pronounce",
    )
    wire_job(
        ctx,
        key="pronounce",
        fn=pronounce_handler,
        inputs=[text, audio_in],
        outputs=[ref_audio, pinyin, table, figure, files],
        run=run,
        examples=box,
        progress_on=[table],
    )
    ctx.handlers["pronounce"] = pronounce_handler
    ctx.handlers["pronounce_reference"] = reference_handler


TAB = TabSpec(key="pronounce", title="Pronounce", build=build)
