"""The Classify tab: a clip in, its top-k labels as bars and, for longer clips, a timeline of the
label of every window (sound event, emotion or genre, whichever the configured model predicts).

``run_classification`` is the gradio-free core (tests call it directly); ``build`` lays out the tab.
(No ``from __future__ import annotations`` here: gradio reads the handler's ``gr.Request`` hint.)
"""

import html
import json
import warnings

from ...classify import classify, resolve_model
from ...errors import VoicetoolsError
from ..context import safe_stem
from ..player import Download, format_size, placeholder_html, ruler_html
from ..registry import TabSpec
from .common import check_uploads, examples_box, limits_text, reporter, run_job, wire_job

# one colour per class index (Tableau 10), so a label keeps its colour in the bars and the timeline
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")
PLACEHOLDER = (
    "The most likely labels appear here as bars, and for clips longer than the model's window a "
    "timeline of the label of each window: upload or record, or pick the example, then press Classify."
)
DEFAULT_TOP_K = 3


def label_colour(labels: list[str], label: str) -> str:
    return PALETTE[labels.index(label) % len(PALETTE)]


def bars_html(top_k: list[tuple[str, float]], labels: list[str]) -> str:
    """One row per label: name, a bar as wide as its probability, and the percentage."""
    rows = []
    for label, p in top_k:
        pct = 100.0 * p
        rows.append(
            f'<div class="vt-bar" data-label="{html.escape(label)}" data-p="{p:.4f}" '
            'style="display:flex;align-items:center;gap:8px;margin:4px 0">'
            f'<span style="width:9em;text-align:right">{html.escape(label)}</span>'
            '<span style="flex:1;background:#e5e7eb;border-radius:3px;height:1.1em">'
            f'<span class="vt-bar-fill" style="display:block;height:100%;width:{pct:.1f}%;'
            f'background:{label_colour(labels, label)};border-radius:3px"></span></span>'
            f'<span style="width:4em">{pct:.1f} %</span></div>'
        )
    return '<div id="vt-classify-bars">' + "".join(rows) + "</div>"


def timeline_html(segments, labels: list[str], duration_s: float) -> str:
    """Windows overlap by half; each is drawn from its start to the next window's start, so the
    strip tiles the clip once. Hovering a cell shows its time span, label and probability."""
    if len(segments) < 2:
        return ""
    cells = []
    for i, seg in enumerate(segments):
        end = segments[i + 1].start_s if i + 1 < len(segments) else duration_s
        left, width = 100 * seg.start_s / duration_s, 100 * (end - seg.start_s) / duration_s
        tip = f"{seg.start_s:.1f}–{seg.end_s:.1f} s: {seg.label} {100 * seg.score:.0f} %"
        cells.append(
            f'<div class="vt-segment" data-label="{html.escape(seg.label)}" data-start="{seg.start_s:.3f}" '
            f'data-end="{seg.end_s:.3f}" title="{html.escape(tip)}" style="position:absolute;top:0;bottom:0;'
            f"left:{left:.3f}%;width:{width:.3f}%;background:{label_colour(labels, seg.label)};"
            'border-right:1px solid #fff;overflow:hidden;font-size:11px;color:#fff;padding-left:2px">'
            f"{html.escape(seg.label)}</div>"
        )
    used = sorted({s.label for s in segments}, key=labels.index)
    legend = " ".join(
        f'<span style="display:inline-block;width:0.8em;height:0.8em;background:'
        f'{label_colour(labels, lab)}"></span> {html.escape(lab)}'
        for lab in used
    )
    return (
        '<div id="vt-classify-timeline" style="margin-top:12px"><div style="font-weight:600">'
        "Label per window</div>"
        '<div class="vt-timeline" style="position:relative;height:1.6em;background:#e5e7eb;'
        f'border-radius:3px;margin:4px 0 0">{"".join(cells)}</div>{ruler_html(duration_s)}'
        f"<div>{legend}</div></div>"
    )


def run_classification(ctx, audio_path, *, top_k: int = DEFAULT_TOP_K, session=None, progress=None):
    """Classify one upload; returns ``(html, json_path, notes)``.

    Raises ``VoicetoolsError`` (with the user's file name, never a server path) for bad input.
    """
    report = reporter(progress)
    upload = ctx.check_upload(audio_path)
    model = resolve_model(ctx.model("classify"))
    report(0.1, desc="Listening to the clip, one window at a time")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # soft problems come back in result.warnings
            result = classify(upload.path, model=model, top_k=int(top_k), segments=True)
    except VoicetoolsError as exc:
        raise type(exc)(ctx.user_message(exc, upload.path)) from None
    labels = list(model.config["labels"])
    out = ctx.store.new_dir(session)
    json_path = out / f"{safe_stem(upload.name)}-{result.task}.json"
    json_path.write_text(json.dumps({"input": upload.name, **result.to_dict()}, indent=1))
    notes = list(result.warnings)
    if result.model.startswith("tiny-"):
        notes.append(f"{result.model} is a random-weight test model: its labels mean nothing")
    summary = (
        f'<p class="vt-note">{html.escape(upload.name)}: {result.duration_s:.1f} s, '
        f"{result.task} model {html.escape(result.model)}; most likely "
        f"<b>{html.escape(result.label)}</b> ({100 * result.score:.0f} %).</p>"
    )
    link = Download(
        f"Download all probabilities (JSON, {format_size(json_path.stat().st_size)})",
        ctx.store.url(json_path),
        json_path.name,
    ).html()
    page = (
        summary
        + bars_html(result.top_k, labels)
        + timeline_html(result.segments, labels, result.duration_s)
        + f'<p style="margin-top:10px">{link}</p>'
    )
    return page, str(json_path), notes


def build(ctx):
    import gradio as gr

    s = ctx.settings
    model = resolve_model(ctx.model("classify"))  # a separation model here fails before the server starts
    n_labels = len(model.config["labels"])
    clip_s = model.config["model_args"].get("clip_s")

    def classify_handler(audio_path, top_k, request: gr.Request = None, progress=gr.Progress()):
        return run_job(
            ctx,
            key="classify",
            title="Cannot classify this audio",
            audio_path=audio_path,
            params=(int(top_k),),
            request=request,
            compute=lambda session: run_classification(
                ctx, audio_path, top_k=top_k, session=session, progress=progress
            ),
        )

    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            audio_in = gr.Audio(
                sources=["upload", "microphone"], type="filepath", label="Audio clip", elem_id="vt-classify-input"
            )
            top_k = gr.Slider(
                1,
                n_labels,
                value=min(DEFAULT_TOP_K, n_labels),
                step=1,
                label="Labels shown",
                elem_id="vt-classify-topk",
            )
            run = gr.Button("Classify", variant="primary", elem_id="vt-classify-run")
            examples = examples_box("classify", [audio_in], [[str(p)] for p in ctx.examples_for("classify")])
        with gr.Column(scale=1, min_width=320):
            gr.Markdown(
                f"Model: `{s.models.get('classify')}` ({model.config.get('task')}: "
                f"{', '.join(model.config['labels'])}). It hears {clip_s:g} s at a time; longer clips "
                f"get one label per window (half-overlapping) and the average overall. {limits_text(ctx)}",
                elem_id="vt-classify-help",
            )
            result = gr.HTML(placeholder_html(PLACEHOLDER), elem_id="vt-classify-result")
    # the JSON is linked from the result; this hidden box only hands it to API clients
    json_out = gr.File(visible=False, elem_id="vt-classify-json", interactive=False)

    check_uploads(ctx, audio_in)
    wire_job(
        ctx,
        key="classify",
        fn=classify_handler,
        inputs=[audio_in, top_k],
        outputs=[result, json_out],
        run=run,
        examples=examples,
        progress_on=[result],
    )
    ctx.handlers["classify"] = classify_handler


TAB = TabSpec(key="classify", title="Classify", build=build, task="classify")
