"""The Diarize tab: a recording in; who spoke when as coloured speaker rows under its playing
spectrogram (one colour per speaker, the playhead runs over both), speaking time per speaker, and
the turns to download (RTTM and CSV).

``run_diarization`` is the gradio-free core (tests call it directly); ``build`` lays out the tab.
(No ``from __future__ import annotations`` here: gradio reads the handler's ``gr.Request`` hint.)
"""

import html
import warnings

from ...audio.io import load_audio, save_audio, to_mono
from ...diarize import diarize
from ...diarize.plot import speaker_colour
from ...errors import VoicetoolsError
from ..context import safe_stem
from ..player import (
    WIDE_PX,
    Download,
    format_size,
    player_html,
    players_html,
    spectrogram_db,
    spectrogram_plot,
    track_html,
)
from ..registry import TabSpec
from .common import check_uploads, examples_box, limits_text, player_area, reporter, run_job, wire_job

PLACEHOLDER = (
    "Who spoke when appears here, one coloured row per speaker under the spectrogram: upload or record "
    "a conversation, or pick the example, then press Diarize."
)
SPEAKER_CHOICES = ["auto", "1", "2", "3", "4", "5", "6", "7", "8"]
TIMELINE_CSS = """
.vt-speaker-row, .vt-overlap-row { position: relative; height: 16px; margin: 3px 0; background: #e2e8f0;
                                   border-radius: 2px; }
.vt-speaker-name { position: absolute; right: 100%; top: 0; padding-right: 8px; font-size: 12px; line-height: 16px;
                   white-space: nowrap; }
.vt-speaker-legend { margin-right: 1em; font-size: 12px; white-space: nowrap; }
"""


OVERLAP_FILL = "repeating-linear-gradient(45deg, #475569 0 3px, #cbd5e1 3px 6px)"  # hatched: two at once


def timeline_html(result, plot) -> str:
    """One row per speaker, named on the left; each turn a bar placed in percent of the clip, on the
    spectrogram's time axis (``plot.box``), so it lines up with the spectrogram at any width and the
    playhead runs over the rows too."""
    speakers, dur = result.speakers, max(result.duration_s, 1e-9)
    talk = result.speaking_time()
    rows = []
    for spk in speakers:
        colour = speaker_colour(speakers, spk)
        name = html.escape(spk)
        bars = "".join(
            f'<div class="vt-turn" data-speaker="{name}" data-start="{t.start_s:.3f}" '
            f'data-end="{t.end_s:.3f}" title="{name} {t.start_s:.1f}–{t.end_s:.1f} s" '
            f'style="position:absolute;top:1px;bottom:1px;left:{100 * t.start_s / dur:.3f}%;'
            f'width:{100 * t.duration_s / dur:.3f}%;background:{colour};border-radius:2px"></div>'
            for t in result.turns
            if t.speaker == spk
        )
        rows.append(
            f'<div class="vt-speaker-row" data-speaker="{name}" title="{name}">'
            f'<span class="vt-speaker-name">{name}</span>{bars}</div>'
        )
    overlaps = result.overlaps()
    if overlaps:  # where two talk at once: a row of its own, so it is seen without comparing rows
        bars = "".join(
            f'<div class="vt-overlap" data-start="{a:.3f}" data-end="{b:.3f}" '
            f'title="two or more speakers {a:.1f}–{b:.1f} s" style="position:absolute;top:1px;bottom:1px;'
            f'left:{100 * a / dur:.3f}%;width:{100 * (b - a) / dur:.3f}%;background:{OVERLAP_FILL};border-radius:2px">'
            "</div>"
            for a, b in overlaps
        )
        rows.append(
            '<div class="vt-overlap-row" title="overlapped speech">'
            f'<span class="vt-speaker-name">overlap</span>{bars}</div>'
        )
    legend = " ".join(
        f'<span class="vt-speaker-legend"><span style="display:inline-block;width:0.8em;height:0.8em;'
        f'background:{speaker_colour(speakers, spk)}"></span> {html.escape(spk)} {talk[spk]:.1f} s</span>'
        for spk in speakers
    )
    if overlaps:
        legend += (
            f' <span class="vt-speaker-legend"><span style="display:inline-block;width:0.8em;height:0.8em;'
            f'background:{OVERLAP_FILL}"></span> overlap {sum(b - a for a, b in overlaps):.1f} s</span>'
        )
    return (
        f'<div id="vt-diarize-timeline">{track_html(plot, "".join(rows))}'
        f'<div style="margin:4px 0 0 {plot.left_pct:.3f}%">{legend}</div></div>'
    )


def turns_csv(result) -> str:
    lines = ["speaker,start_s,end_s,duration_s"]
    lines += [f"{t.speaker},{t.start_s:.3f},{t.end_s:.3f},{t.duration_s:.3f}" for t in result.turns]
    return "\n".join(lines) + "\n"


def run_diarization(ctx, audio_path, *, speakers="auto", session=None, progress=None):
    """Diarize one upload; returns ``(player_html, rttm_path, notes)``; the player links the RTTM and
    a CSV of the turns.

    Raises ``VoicetoolsError`` (with the user's file name, never a server path) for bad input.
    """
    report = reporter(progress)
    upload = ctx.check_upload(audio_path)
    encoder = ctx.model("diarization")
    report(0.0, desc="Finding speech")

    def on_windows(stage, done, total):
        report((done, total), desc=f"Listening to voices: {done} of {total} windows", unit="windows")

    count = None if speakers in (None, "", "auto") else int(speakers)
    try:
        audio = load_audio(upload.path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # soft problems come back in result.warnings
            result = diarize(audio, speakers=count, encoder=encoder.model, callback=on_windows)
    except VoicetoolsError as exc:
        raise type(exc)(ctx.user_message(exc, upload.path)) from None
    report(0.95, desc="Drawing the timeline")
    out = ctx.store.new_dir(session)
    base = safe_stem(upload.name)
    rttm = result.save_rttm(out / f"{base}.rttm", uri=base)
    csv = out / f"{base}-turns.csv"
    csv.write_text(turns_csv(result))
    mono = to_mono(audio.samples)
    f_max = min(8000.0, audio.sample_rate / 2)
    # time labels on top: the speaker rows sit right under the spectrogram, on its time axis
    plot = spectrogram_plot(
        spectrogram_db(mono[0], audio.sample_rate, f_max_hz=f_max),
        duration_s=upload.duration_s,
        f_max_hz=f_max,
        what="the conversation",
        width_px=WIDE_PX,
        height_px=200,
        left_px=110,
        time_on_top=True,
    )
    wav = save_audio(out / f"{base}.wav", mono, audio.sample_rate)
    downloads = [
        Download(f"Download who spoke when (RTTM, {format_size(rttm.stat().st_size)})", ctx.store.url(rttm), rttm.name),
        Download(f"Download turns (CSV, {format_size(csv.stat().st_size)})", ctx.store.url(csv), csv.name),
    ]
    player = player_html(
        name="conversation",
        title="Conversation",
        audio_url=ctx.store.url(wav),
        plot=plot,
        duration_s=upload.duration_s,
        audio_label="The conversation",
        downloads=downloads,
        below_plot=timeline_html(result, plot),
    )
    notes = list(result.warnings)
    summary = (
        f"{upload.name}: {upload.duration_s:.1f} s, {len(result.speakers)} speaker"
        f"{'' if len(result.speakers) == 1 else 's'}, {len(result.turns)} turns"
        + (f", {sum(b - a for a, b in overlaps):.1f} s overlapped." if (overlaps := result.overlaps()) else ".")
    )
    page = players_html([player], note=" ".join([summary] + [n[0].upper() + n[1:] + "." for n in notes]))
    return page, str(rttm), notes


def build(ctx):
    import gradio as gr

    def diarize_handler(audio_path, speakers, request: gr.Request = None, progress=gr.Progress()):
        return run_job(
            ctx,
            key="diarize",
            title="Cannot diarize this audio",
            audio_path=audio_path,
            params=(speakers,),
            request=request,
            compute=lambda session: run_diarization(
                ctx, audio_path, speakers=speakers, session=session, progress=progress
            ),
        )

    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            audio_in = gr.Audio(
                sources=["upload", "microphone"], type="filepath", label="Conversation", elem_id="vt-diarize-input"
            )
            speakers = gr.Dropdown(
                SPEAKER_CHOICES, value="auto", label="Speakers (auto: estimated)", elem_id="vt-diarize-speakers"
            )
            run = gr.Button("Diarize", variant="primary", elem_id="vt-diarize-run")
            examples = examples_box("diarize", [audio_in], [[str(p)] for p in ctx.examples_for("diarize")])
        with gr.Column(scale=1, min_width=320):
            gr.Markdown(
                "Upload or record a conversation and press **Diarize**, or click the example: one row per "
                f"speaker under the spectrogram, in that speaker's colour. {limits_text(ctx)} Click the "
                "spectrogram or a row, or focus it and use the arrow keys, to jump there.",
                elem_id="vt-diarize-help",
            )
    # the RTTM is linked from the result; the hidden file box only hands it to API clients
    players, rttm_out = player_area("diarize", PLACEHOLDER, file_id="rttm", extra_css=TIMELINE_CSS)

    check_uploads(ctx, audio_in)
    wire_job(
        ctx,
        key="diarize",
        fn=diarize_handler,
        inputs=[audio_in, speakers],
        outputs=[players, rttm_out],
        run=run,
        examples=examples,
        progress_on=[players],
    )
    ctx.handlers["diarize"] = diarize_handler


TAB = TabSpec(key="diarize", title="Diarize", build=build, task="diarization")
