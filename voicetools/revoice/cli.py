"""``voicetools revoice``: re-voice a choir or a solo; ``voicetools train timbre``: learn a timbre."""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

import torch

from ..checkpoints import cache_dir, resolve_model
from ..cli_common import (
    SubVerb,
    add_inputs,
    add_output,
    add_run_flags,
    file_per_input,
    progress_for,
    refuse_existing_outputs,
    run_inputs,
    warn,
    warnings_kept_quiet,
)
from ..errors import ParameterError, VoicetoolsError
from ..outputs import AUDIO_SUFFIXES
from .revoice import DEFAULT_SEPARATION_MODEL, DEFAULT_TRANSCRIPTION_MODEL, load_timbre, plan, revoice, timbre_target
from .targets import VOICE_TYPES, check_gain_db
from .timbre import export, load_target_audio, train_timbre


def _pairs(specs, what: str) -> dict[str, float]:
    out = {}
    for s in specs or []:
        part, eq, value = s.partition("=")
        try:
            out[part.strip().lower()] = float(value)
        except ValueError:
            raise ParameterError(f"bad --{what} {s!r}: write PART=DB, e.g. bass=-3") from None
        if not eq:
            raise ParameterError(f"bad --{what} {s!r}: write PART=DB, e.g. bass=-3")
    return out


def _revoice_one(args, opts, inp: str, out: Path, progress) -> dict:
    refuse_existing_outputs([out], args.overwrite)  # before any compute
    with warnings_kept_quiet():
        res = revoice(inp, callback=progress, **opts)
    res.save(out, overwrite=args.overwrite)
    extra = {}
    folder = out.with_name(out.stem)
    if args.overwrite:  # parts of an earlier run would sit beside the new mix as if they were its own
        _remove_stale_parts(folder, res.parts, keep=res.parts if args.stems else ())
    if args.stems:
        extra["stems"] = {k: str(v) for k, v in res.save_parts(folder, overwrite=args.overwrite).items()}
    for note in res.warnings:
        warn(note, inp)
    if not args.json and not args.quiet:
        print(f"{inp} -> {out} ({', '.join(f'{k}: {v}' for k, v in res.targets.items())})")
    return {"input": inp, "output": str(out), **extra, **res.to_dict()}


def _remove_stale_parts(folder: Path, parts, keep) -> None:
    """Delete the ``folder/<part>.wav`` files an earlier ``--stems`` run wrote (a voice type or one of
    ``parts``), except those in ``keep`` (about to be replaced), then the folder if that left it empty.
    Other files are the user's: kept."""
    if not folder.is_dir():
        return
    for part in {*VOICE_TYPES, *parts}:
        stale = folder / f"{part}.wav"
        if part not in keep and stale.is_file():
            stale.unlink()
    if not any(folder.iterdir()):
        folder.rmdir()


def cmd_revoice(args) -> int:
    outs = file_per_input(
        args.inputs, args.output, suffixes=AUDIO_SUFFIXES, name=lambda stem: f"{stem}-revoiced.wav", verb="re-voice"
    )
    separation = None if args.voice else resolve_model(args.separation_model, "separation")
    opts = dict(
        map=args.map,
        voice=args.voice,
        pitch=args.pitch,
        formant=args.formant,
        breathiness=args.breathiness,
        gains_db=_pairs(args.gain, "gain"),
        separation_model=separation or args.separation_model,
        transcription_model=args.transcription_model,
        timbre_minutes=args.timbre_minutes,
        device=args.device,
    )
    if args.voice and args.voice not in VOICE_TYPES:
        raise ParameterError(f"unknown voice {args.voice!r}; choose one of: {', '.join(VOICE_TYPES)}")
    # check the map, gains and timbre once, before any input is read
    names = [args.voice] if args.voice else list(separation.sources)
    timbre = timbre_target(args.timbre) if args.timbre else None
    plan(names, map=args.map, timbre=timbre.name if timbre else None)
    for part, g in opts["gains_db"].items():
        if part not in names:
            raise ParameterError(f"unknown part {part!r} in --gain; this input's parts are: {', '.join(names)}")
        check_gain_db(part, g)
    if timbre is not None:
        opts["timbre"] = load_timbre(timbre.name, minutes=args.timbre_minutes, callback=None)
    return run_inputs(
        zip(args.inputs, outs), functools.partial(_revoice_one, args, opts), quiet=args.quiet, as_json=args.json
    )


def add_parser(sub) -> None:
    r = sub.add_parser(
        "revoice",
        help="re-voice a choir or a solo: same music, other voices (pitch, formants, timbre, GM)",
        description="Separate a choir into soprano/alto/tenor/bass (or take one voice with --voice), give each "
        "part a new voice, and remix. --map PART=TARGET[:SHIFT], repeatable. TARGET: a voice type "
        "(soprano, alto, tenor, bass: Praat pitch + formant re-voicing; without SHIFT the part moves "
        "by whole octaves into that voice's range), a timbre model (synth-choir, clarinet, or a "
        "folder from `voicetools train timbre`), gm:PROGRAM (transcribed and played by a General "
        "MIDI program, 0-127 or a name like gm:clarinet), singing (transcribed and sung by the "
        "singing synthesizer) or keep. SHIFT: semitones (+0, -12, +2.5) or cents (-50c).",
        epilog="examples: voicetools revoice choir.wav --map soprano=tenor:+0 --map bass=synth-choir -o revoiced.wav | "
        "voicetools revoice solo.wav --voice alto --formant 1.15 --pitch -12 | "
        "voicetools revoice choir.wav --timbre target_singer.wav",
    )
    add_inputs(r)
    add_output(
        r,
        default=None,
        help="a .wav/.flac/.ogg file (one input) or a folder for <input name>-revoiced.wav (default: current folder)",
    )
    r.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="PART=TARGET[:SHIFT]",
        help="what a part becomes (repeatable); parts not mapped keep their voice",
    )
    r.add_argument(
        "--voice", choices=VOICE_TYPES, default=None, help="the input is one voice of this type: no separation"
    )
    r.add_argument("--pitch", type=float, default=0.0, metavar="SEMITONES", help="added to every part's shift")
    r.add_argument(
        "--formant",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="extra formant scale for Praat re-voicing, 0.5-2 (1.15: brighter / smaller)",
    )
    r.add_argument("--breathiness", type=float, default=0.0, metavar="0-1", help="breath noise for Praat re-voicing")
    r.add_argument(
        "--timbre",
        default=None,
        metavar="MODEL|RECORDING",
        help="timbre for every part not in --map: a timbre model name or folder, or a recording "
        "of the target (a model is trained on it, --timbre-minutes, and cached)",
    )
    r.add_argument("--timbre-minutes", type=float, default=3.0, help="training time for a --timbre recording")
    r.add_argument("--gain", action="append", default=[], metavar="PART=DB", help="remix gain per part (repeatable)")
    r.add_argument("--stems", action="store_true", help="also write each re-voiced part into OUTPUT's stem folder")
    r.add_argument(
        "--separation-model",
        default=DEFAULT_SEPARATION_MODEL,
        help=f"separation model name or checkpoint folder (default: {DEFAULT_SEPARATION_MODEL})",
    )
    r.add_argument("--transcription-model", default=DEFAULT_TRANSCRIPTION_MODEL, help="for gm: and singing targets")
    add_run_flags(r, overwrite="replace an existing output (and the part files an earlier --stems run left beside it)")
    r.set_defaults(func=cmd_revoice)


def add_train_arguments(t) -> None:
    """``voicetools train timbre RECORDING... --out DIR``: the options of this task alone."""
    t.add_argument("--out", default=None, help="timbre: the model folder to write (then --timbre/--map use it)")
    t.add_argument("--minutes", type=float, default=5.0, help="timbre: training time on one core (default 5)")
    t.add_argument("--steps", type=int, default=20_000, help="timbre: at most this many steps (default 20000)")


def cmd_train_timbre(args) -> int:
    if not args.recordings:
        raise ParameterError("give the target recording(s): voicetools train timbre target.wav --out DIR")
    if not args.out:
        raise ParameterError("give --out DIR: the folder for the timbre model")
    out = Path(args.out)
    if (out / "model.safetensors").exists() and not args.overwrite:
        raise VoicetoolsError(f"{out} holds a model; pass --overwrite to replace it")
    torch.set_num_threads(args.threads or 1)
    torch.set_flush_denormal(True)
    audios = [load_target_audio(p) for p in args.recordings]
    run = Path(args.run) if args.run else cache_dir() / "runs" / f"timbre-{out.name}"
    if args.overwrite and run.exists():
        shutil.rmtree(run)
    with progress_for(not args.quiet and not args.json) as progress:
        model, summary = train_timbre(
            audios, run, minutes=args.minutes, steps=args.steps, seed=args.seed, callback=progress
        )
    sha = export(model, out, target=[Path(p).name for p in args.recordings], training=summary)
    summary.update(model=str(out), sha256=sha)
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print(
            f"{out}: timbre model from {summary['target_seconds']} s of audio, {summary['steps']} steps, "
            f"valid spectral loss {summary['initial_valid_loss']:.3f} -> {summary['best_valid_loss']:.3f} "
            f"(use: voicetools revoice choir.wav --timbre {out})"
        )
    return 0


TRAIN = SubVerb(
    tasks=("timbre",),
    run=cmd_train_timbre,
    add_arguments=add_train_arguments,
    help="a timbre model for `voicetools revoice` (train timbre target.wav --out DIR)",
    description="`train timbre RECORDING... --out DIR` trains a re-voicing timbre model on recordings "
    "of the target voice or instrument.",
)
