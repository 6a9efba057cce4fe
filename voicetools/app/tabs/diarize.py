"""The Diarize tab: a recording in; who spoke when as coloured speaker rows under its playing
spectrogram (one colour per speaker, the playhead runs over both), speaking time per speaker, and
the RTTM file to download.

``run_diarization`` is the gradio-free core (tests call it directly); ``build`` lays out the tab.
(No ``from __future__ import annotations`` here: gradio reads the handler's ``gr.Request`` hint.)
"""

import html
import warnings

from ...errors import VoicetoolsError
from ..player import PLAYER_CSS, PLAYER_JS, player_html, players_html
from ..registry import TabSpec
from . import show_warnings, upload_checker, user_error

PLACEHOLDER = ('<p class="vt-note">Who spoke when appears here, one coloured row per speaker under the '
               'spectrogram: upload or record a conversation, then press Diarize.</p>')
SPEAKER_CHOICES = ["auto", "1", "2", "3", "4", "5", "6", "7", "8"]


def timeline_html(result) -> str:
    """One row per speaker; each turn a bar placed in percent of the clip, so it lines up with the
    spectrogram above it at any width."""
    from ...diarize.plot import speaker_colour

    speakers, dur = result.speakers, max(result.duration_s, 1e-9)
    talk = result.speaking_time()
    rows = []
    for spk in speakers:
        colour = speaker_colour(speakers, spk)
        bars = "".join(
            f'<div class="vt-turn" data-speaker="{html.escape(spk)}" data-start="{t.start_s:.3f}" '
            f'data-end="{t.end_s:.3f}" title="{html.escape(spk)} {t.start_s:.1f}–{t.end_s:.1f} s" '
            f'style="position:absolute;top:1px;bottom:1px;left:{100 * t.start_s / dur:.3f}%;'
            f'width:{100 * t.duration_s / dur:.3f}%;background:{colour};border-radius:2px"></div>'
            for t in result.turns if t.speaker == spk)
        rows.append(f'<div class="vt-speaker-row" data-speaker="{html.escape(spk)}" title="{html.escape(spk)}" '
                    f'style="position:relative;height:14px;margin:2px 0;background:#f3f4f6">{bars}</div>')
    legend = " ".join(f'<span class="vt-speaker-legend" style="margin-right:1em;font-size:12px">'
                      f'<span style="display:inline-block;width:0.8em;height:0.8em;background:'
                      f'{speaker_colour(speakers, spk)}"></span> {html.escape(spk)} {talk[spk]:.1f} s</span>'
                      for spk in speakers)
    return f'<div id="vt-diarize-timeline" style="margin:4px 0">{"".join(rows)}<div>{legend}</div></div>'


def run_diarization(ctx, audio_path, *, speakers="auto", session=None, progress=None):
    """Diarize one upload; returns ``(player_html, rttm_path, notes)``.

    Raises ``VoicetoolsError`` (with the user's file name, never a server path) for bad input.
    """
    from ...diarize import diarize
    from ..context import safe_stem
    from ..player import png_data_uri, spectrogram_db, spectrogram_rgb

    report = progress or (lambda *args, **kwargs: None)
    upload = ctx.check_upload(audio_path)
    encoder = ctx.model("diarization")
    report(0.0, desc="Finding speech")

    def on_windows(stage, done, total):
        report((done, total), desc=f"Listening to voices: {done} of {total} windows", unit="windows")

    count = None if speakers in (None, "", "auto") else int(speakers)
    try:
        from ...audio.io import load_audio, to_mono

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
    mono = to_mono(audio.samples)
    image = png_data_uri(spectrogram_rgb(spectrogram_db(mono[0], audio.sample_rate, f_max_hz=8000.0)))
    from ...audio.io import save_audio

    wav = save_audio(out / f"{base}.wav", mono, audio.sample_rate)
    player = player_html(name="conversation", title="Conversation", audio_url=ctx.store.url(wav), image_uri=image,
                         duration_s=upload.duration_s, download_name=wav.name, below_image=timeline_html(result))
    notes = list(result.warnings)
    summary = (f"{upload.name}: {upload.duration_s:.1f} s, {len(result.speakers)} speaker"
               f"{'' if len(result.speakers) == 1 else 's'}, {len(result.turns)} turns.")
    page = players_html([player], note=" ".join([summary] + [n[0].upper() + n[1:] + "." for n in notes]))
    return page, str(rttm), notes


def build(ctx):
    import gradio as gr

    from ..context import format_duration

    s = ctx.settings
    players = gr.HTML(PLACEHOLDER, js_on_load=PLAYER_JS, css_template=PLAYER_CSS, apply_default_css=False,
                      elem_id="vt-diarize-players", render=False)
    rttm_out = gr.File(label="Who spoke when (RTTM)", elem_id="vt-diarize-rttm", interactive=False, render=False)

    def diarize_handler(audio_path, speakers, request: gr.Request = None, progress=gr.Progress()):
        try:
            page, rttm, notes = run_diarization(ctx, audio_path, speakers=speakers,
                                                session=getattr(request, "session_hash", None), progress=progress)
        except VoicetoolsError as exc:
            raise user_error(exc, "Cannot diarize this audio") from None
        show_warnings(notes)
        return page, rttm

    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            audio_in = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Conversation",
                                elem_id="vt-diarize-input")
            speakers = gr.Dropdown(SPEAKER_CHOICES, value="auto", label="Speakers (auto: estimated)",
                                   elem_id="vt-diarize-speakers")
            run = gr.Button("Diarize", variant="primary", elem_id="vt-diarize-run")
        with gr.Column(scale=1, min_width=320):
            gr.Markdown(f"Upload or record a conversation and press **Diarize**: one row per speaker under the "
                        f"spectrogram, in that speaker's colour. Up to {s.max_upload_mb:g} MB and "
                        f"{format_duration(s.max_duration_s)} per file. Click the spectrogram to jump there.",
                        elem_id="vt-diarize-help")
            rttm_out.render()
    players.render()
    audio_in.upload(upload_checker(ctx), inputs=[audio_in], outputs=None, api_visibility="private",
                    show_progress="hidden", concurrency_limit=None)
    run.click(diarize_handler, inputs=[audio_in, speakers], outputs=[players, rttm_out], api_name="diarize",
              concurrency_id="diarize", concurrency_limit=s.concurrency)
    ctx.handlers["diarize"] = diarize_handler


TAB = TabSpec(key="diarize", title="Diarize", build=build, task="diarization")
