"""The Transcribe tab: singing in, MIDI out — a piano roll over the spectrogram, the MIDI played back
with a playhead over the roll, and the MIDI file to download. "Choir" splits SATB voices first.

``run_transcription`` is the gradio-free core (tests call it directly); ``build`` lays out the tab.
(No ``from __future__ import annotations`` here: gradio reads the handler's ``gr.Request`` hint.)
"""

import warnings

import numpy as np
import torch

from ...audio.io import load_audio, save_audio, to_mono
from ...audio.plot import TRACK_COLOURS
from ...errors import VoicetoolsError
from ...transcribe import transcribe
from ..context import safe_stem
from ..player import (
    Download,
    format_size,
    piano_roll_plot,
    player_html,
    players_html,
)
from ..registry import TabSpec
from .common import check_uploads, examples_box, limits_text, player_area, reporter, run_job, wire_job

PLACEHOLDER = (
    "The piano roll appears here over the spectrogram, with the MIDI played back: upload or record "
    "singing, or pick the example, then press Transcribe."
)
QUANTIZE_CHOICES = ["off", "1/4", "1/8", "1/16"]
PLAYBACK_RATE = 16000


def run_transcription(ctx, audio_path, *, parts=False, quantize="off", pitch_bend=False, session=None, progress=None):
    """Transcribe one upload; returns ``(player_html, midi_path, notes)``.

    Raises ``VoicetoolsError`` (with the user's file name, never a server path) for bad input.
    """
    report = reporter(progress)
    upload = ctx.check_upload(audio_path)
    model = ctx.model("transcription")
    report(0.0, desc="Reading audio")

    def on_chunk(stage, done, total):
        what = "Separating voices" if stage == "separate" else "Transcribing"
        report((done, total), desc=f"{what}: chunk {done} of {total}", unit="chunks")

    try:
        audio = load_audio(upload.path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # soft problems come back in result.warnings
            separation = ctx.model("separation") if parts and "separation" in ctx.settings.models else "satb-convtasnet"
            result = transcribe(
                audio,
                model=model,
                parts=bool(parts),
                separation_model=separation,
                quantize=None if quantize in (None, "off") else quantize,
                pitch_bend=bool(pitch_bend),
                callback=on_chunk,
            )
    except VoicetoolsError as exc:
        raise type(exc)(ctx.user_message(exc, upload.path)) from None

    report(0.95, desc="Drawing the piano roll")
    out = ctx.store.new_dir(session)
    base = safe_stem(upload.name)
    midi_path = result.save(out / f"{base}.mid", overwrite=True)
    plot = piano_roll_plot(
        result.tracks,
        audio=to_mono(audio.samples)[0],
        sample_rate=audio.sample_rate,
        duration_s=upload.duration_s,
        colours=TRACK_COLOURS,
    )
    playback = result.midi.synthesize(fs=PLAYBACK_RATE) if result.notes else np.zeros(1, np.float32)
    n = int(round(upload.duration_s * PLAYBACK_RATE))
    playback = np.pad(playback[:n], (0, max(0, n - len(playback))))
    playback = 0.5 * playback / (np.abs(playback).max() + 1e-9)
    wav = save_audio(out / f"{base}-midi.wav", torch.from_numpy(playback.astype(np.float32))[None], PLAYBACK_RATE)
    url = ctx.store.url(wav)
    downloads = [
        Download(f"Download MIDI ({format_size(midi_path.stat().st_size)})", ctx.store.url(midi_path), midi_path.name),
        Download(f"Download playback (WAV, {format_size(wav.stat().st_size)})", url, wav.name),
    ]
    player = player_html(
        name="midi",
        title="Transcribed notes",
        audio_url=url,
        plot=plot,
        duration_s=upload.duration_s,
        audio_label="The transcribed MIDI, played back",
        downloads=downloads,
    )
    counts = ", ".join(f"{len(v)} {k} notes" for k, v in result.tracks.items())
    notes = list(result.warnings)
    if result.model.startswith("tiny-"):
        notes.append(f"{result.model} is a random-weight test model: its notes are not real")
    summary = f"{upload.name}: {upload.duration_s:.1f} s, {counts} ({result.tempo_bpm:g} BPM), model {result.model}."
    html = players_html([player], note=" ".join([summary] + [n[0].upper() + n[1:] + "." for n in notes]))
    return html, str(midi_path), notes


def build(ctx):
    import gradio as gr

    s = ctx.settings

    def transcribe_handler(audio_path, parts, quantize, pitch_bend, request: gr.Request = None, progress=gr.Progress()):
        return run_job(
            ctx,
            key="transcribe",
            title="Cannot transcribe this audio",
            audio_path=audio_path,
            params=(bool(parts), quantize, bool(pitch_bend)),
            request=request,
            compute=lambda session: run_transcription(
                ctx,
                audio_path,
                parts=parts,
                quantize=quantize,
                pitch_bend=pitch_bend,
                session=session,
                progress=progress,
            ),
        )

    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            audio_in = gr.Audio(
                sources=["upload", "microphone"], type="filepath", label="Singing", elem_id="vt-transcribe-input"
            )
            with gr.Row():
                parts = gr.Checkbox(
                    label="Choir: one track per voice (S, A, T, B)", value=False, elem_id="vt-transcribe-parts"
                )
                pitch_bend = gr.Checkbox(label="Pitch bends", value=False, elem_id="vt-transcribe-bend")
            quantize = gr.Dropdown(
                QUANTIZE_CHOICES, value="off", label="Quantize to a grid", elem_id="vt-transcribe-quantize"
            )
            run = gr.Button("Transcribe", variant="primary", elem_id="vt-transcribe-run")
            # a choir is polyphonic: its example transcribes each voice on its own track
            rows, labels = [], []
            for p in ctx.examples_for("transcribe"):
                choir = p.name == "choir.wav"
                rows.append([str(p), choir])
                labels.append(p.name + (" (one track per voice)" if choir else ""))
            examples = examples_box("transcribe", [audio_in, parts], rows, labels)
        with gr.Column(scale=1, min_width=320):
            gr.Markdown(
                f"Upload or record singing and press **Transcribe**, or click the example. {limits_text(ctx)} "
                f"Model: `{s.models.get('transcription')}`. The player plays the MIDI; click the piano roll, "
                "or focus it and use the arrow keys, to jump there.",
                elem_id="vt-transcribe-help",
            )
    # the MIDI file is linked from the result; the hidden file box only hands it to API clients
    players, midi_out = player_area("transcribe", PLACEHOLDER, file_id="midi")

    check_uploads(ctx, audio_in)
    wire_job(
        ctx,
        key="transcribe",
        fn=transcribe_handler,
        inputs=[audio_in, parts, quantize, pitch_bend],
        outputs=[players, midi_out],
        run=run,
        examples=examples,
        progress_on=[players],
    )
    ctx.handlers["transcribe"] = transcribe_handler


TAB = TabSpec(key="transcribe", title="Transcribe", build=build, task="transcription")
