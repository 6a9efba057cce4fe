"""``voicetools transcribe``: singing to MIDI, or a choir to one MIDI track per voice."""

from __future__ import annotations

import functools
from pathlib import Path

from ..audio.io import load_audio, to_mono
from ..audio.plot import piano_roll
from ..checkpoints import available_models, resolve_model
from ..cli_common import (
    add_inputs,
    add_output,
    add_run_flags,
    file_per_input,
    refuse_existing_outputs,
    run_inputs,
    warn,
    warnings_kept_quiet,
)
from ..separation import DEFAULT_MODEL as DEFAULT_SEPARATION_MODEL
from .transcribe import DEFAULT_MODEL, transcribe

MIDI_SUFFIXES = (".mid", ".midi")


def _transcribe_one(args, model, inp: str, out: Path, progress) -> dict:
    """Transcribe one input into ``out`` (and its plot); returns its JSON summary or raises."""
    refuse_existing_outputs([out], args.overwrite)  # before any compute
    with warnings_kept_quiet():
        res = transcribe(
            inp,
            model=model,
            parts=args.parts,
            separation_model=args.separation_model,
            onset_threshold=args.onset_threshold,
            frame_threshold=args.frame_threshold,
            quantize=args.quantize,
            tempo_bpm=args.tempo,
            pitch_bend=args.pitch_bend,
            device=args.device,
            callback=progress,
        )
    res.save(out, overwrite=args.overwrite)
    extra = {}
    if args.plot:
        a = load_audio(inp)
        extra["plot"] = str(out.with_suffix(".png"))
        piano_roll(
            res.tracks, audio=to_mono(a.samples), sample_rate=a.sample_rate, path=extra["plot"], title=Path(inp).name
        )
    for note in res.warnings:
        warn(note, inp)
    if not args.json and not args.quiet:
        counts = ", ".join(f"{k}: {len(v)} notes" for k, v in res.tracks.items())
        print(f"{inp} -> {out} ({counts}; {res.tempo_bpm:g} BPM)")
    return {"input": inp, "midi": str(out), **extra, **res.to_dict()}


def cmd_transcribe(args) -> int:
    # a missing folder is made when the first file is written
    outs = file_per_input(
        args.inputs, args.output, suffixes=MIDI_SUFFIXES, name=lambda stem: f"{stem}.mid", verb="transcribe"
    )
    model = resolve_model(args.model, "transcription")  # once for all inputs
    return run_inputs(
        zip(args.inputs, outs), functools.partial(_transcribe_one, args, model), quiet=args.quiet, as_json=args.json
    )


def add_parser(sub) -> None:
    t = sub.add_parser(
        "transcribe",
        help="singing to MIDI; with --parts a choir to one track per voice",
        description="Transcribe sung audio to a MIDI file (notes with onsets, offsets and "
        "velocities). With --parts the choir is first separated into soprano, alto, "
        "tenor and bass, and each voice becomes a named track.",
    )
    add_inputs(t)
    add_output(
        t, default=None, help="a .mid file (one input) or a folder for <input name>.mid (default: current folder)"
    )
    t.add_argument("--parts", action="store_true", help="separate SATB voices first: four named tracks")
    t.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"transcription model or checkpoint folder; installed: {', '.join(available_models('transcription'))}",
    )
    t.add_argument("--separation-model", default=DEFAULT_SEPARATION_MODEL, help="separation model used by --parts")
    t.add_argument("--quantize", default=None, metavar="GRID", help="snap notes to a grid, e.g. 1/16")
    t.add_argument(
        "--tempo",
        type=float,
        default=None,
        metavar="BPM",
        help="tempo of the MIDI file and the --quantize grid (default: estimated from the notes)",
    )
    t.add_argument("--pitch-bend", action="store_true", help="add pitch bends for vibrato and glides")
    t.add_argument("--plot", action="store_true", help="also write a piano-roll PNG beside the MIDI file")
    t.add_argument("--onset-threshold", type=float, default=0.5, help="lower finds more notes (default 0.5)")
    t.add_argument("--frame-threshold", type=float, default=0.5, help="lower holds notes longer (default 0.5)")
    add_run_flags(
        t, overwrite="replace an existing MIDI file", json="print a JSON summary with the note list on stdout"
    )
    t.set_defaults(func=cmd_transcribe)
