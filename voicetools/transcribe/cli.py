"""``voicetools transcribe``: singing to MIDI, or a choir to one MIDI track per voice."""

from __future__ import annotations

import functools
import sys
import warnings
from pathlib import Path

from ..errors import VoicetoolsError

MIDI_SUFFIXES = (".mid", ".midi")


def _outputs(inputs: list[str], output: str | None) -> list[Path]:
    """Where each input's MIDI goes: ``-o x.mid`` for one input, else ``<folder>/<input stem>.mid``;
    checked by the rules of ``voicetools.outputs`` before any work."""
    from ..outputs import check_file, check_folder, is_file_output

    if output and is_file_output(output, MIDI_SUFFIXES):
        if len(inputs) > 1:
            raise VoicetoolsError(f"-o {output} names one MIDI file but {len(inputs)} inputs were given; "
                                  "give a folder instead")
        return [check_file(output, MIDI_SUFFIXES)]
    folder = check_folder(output or ".")
    outs = [check_file(folder / f"{Path(i).stem}.mid") for i in inputs]
    seen = {}
    for i, o in zip(inputs, outs):
        if o in seen:
            raise VoicetoolsError(f"{i} and {seen[o]} would both write {o}; rename one or transcribe it in "
                                  "another run")
        seen[o] = i
    return outs


def _transcribe_one(args, model, inp: str, out: Path, progress) -> dict:
    """Transcribe one input into ``out`` (and its plot); returns its JSON summary or raises."""
    from . import transcribe

    if out.exists() and not args.overwrite:  # before any compute
        raise VoicetoolsError(f"{out} exists; pass --overwrite to replace it")
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        res = transcribe(inp, model=model, parts=args.parts, separation_model=args.separation_model,
                         onset_threshold=args.onset_threshold, frame_threshold=args.frame_threshold,
                         quantize=args.quantize, tempo_bpm=args.tempo, pitch_bend=args.pitch_bend,
                         device=args.device, callback=progress)
    res.save(out, overwrite=args.overwrite)
    extra = {}
    if args.plot:
        from ..audio.io import load_audio, to_mono
        from ..audio.plot import piano_roll

        a = load_audio(inp)
        extra["plot"] = str(out.with_suffix(".png"))
        piano_roll(res.tracks, audio=to_mono(a.samples), sample_rate=a.sample_rate, path=extra["plot"],
                   title=Path(inp).name)
    for note in res.warnings:
        print(f"voicetools: warning: {inp}: {note}", file=sys.stderr)
    if not args.json and not args.quiet:
        counts = ", ".join(f"{k}: {len(v)} notes" for k, v in res.tracks.items())
        print(f"{inp} -> {out} ({counts}; {res.tempo_bpm:g} BPM)")
    return {"input": inp, "midi": str(out), **extra, **res.to_dict()}


def cmd_transcribe(args) -> int:
    from ..cli import run_inputs
    from . import _resolve_model

    outs = _outputs(args.inputs, args.output)  # a missing folder is made when the first file is written
    model = _resolve_model(args.model)  # once for all inputs
    return run_inputs(zip(args.inputs, outs), functools.partial(_transcribe_one, args, model), quiet=args.quiet,
                      as_json=args.json)


def add_parser(sub) -> None:
    from ..checkpoints import available_models
    from ..cli import device_arg
    from . import DEFAULT_MODEL

    t = sub.add_parser("transcribe", help="singing to MIDI; with --parts a choir to one track per voice",
                       description="Transcribe sung audio to a MIDI file (notes with onsets, offsets and "
                                   "velocities). With --parts the choir is first separated into soprano, alto, "
                                   "tenor and bass, and each voice becomes a named track.")
    t.add_argument("inputs", nargs="+", metavar="AUDIO", help="audio files (WAV, FLAC, OGG, MP3, ...)")
    t.add_argument("-o", "--output", default=None,
                   help="a .mid file (one input) or a folder for <input name>.mid (default: current folder)")
    t.add_argument("--parts", action="store_true", help="separate SATB voices first: four named tracks")
    t.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"transcription model or checkpoint folder; installed: "
                        f"{', '.join(available_models('transcription'))}")
    t.add_argument("--separation-model", default="satb-convtasnet", help="separation model used by --parts")
    t.add_argument("--quantize", default=None, metavar="GRID", help="snap notes to a grid, e.g. 1/16")
    t.add_argument("--tempo", type=float, default=None, metavar="BPM",
                   help="tempo of the MIDI file and the --quantize grid (default: estimated from the notes)")
    t.add_argument("--pitch-bend", action="store_true", help="add pitch bends for vibrato and glides")
    t.add_argument("--plot", action="store_true", help="also write a piano-roll PNG beside the MIDI file")
    t.add_argument("--onset-threshold", type=float, default=0.5, help="lower finds more notes (default 0.5)")
    t.add_argument("--frame-threshold", type=float, default=0.5, help="lower holds notes longer (default 0.5)")
    t.add_argument("--device", type=device_arg, default=None, help="torch device, e.g. cpu or cuda (default: cpu)")
    t.add_argument("--overwrite", action="store_true", help="replace an existing MIDI file")
    t.add_argument("--json", action="store_true", help="print a JSON summary with the note list on stdout")
    t.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary line")
    t.set_defaults(func=cmd_transcribe)
