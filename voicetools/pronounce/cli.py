"""``voicetools pronounce``: per-syllable tone and timing feedback on a Mandarin reading."""

from __future__ import annotations

import json

from ..checkpoints import available_models
from ..cli_common import (
    add_json,
    add_overwrite,
    add_quiet,
    progress_for,
    refuse_existing_outputs,
    warn,
    warnings_kept_quiet,
)
from ..errors import ParameterError
from ..files import atomic_write_text
from ..outputs import AUDIO_SUFFIXES, check_file
from .pronounce import DEFAULT_ALIGNER, DEFAULT_MODEL, MAX_DURATION_S, pronounce
from .tts import BACKENDS


def cmd_pronounce(args) -> int:
    if args.textgrid and args.audio is None:
        raise ParameterError("--textgrid needs --audio (the boundaries are the recording's)")
    if args.reference_out:
        check_file(args.reference_out, AUDIO_SUFFIXES)  # save_audio picks the format by suffix
    outs = [check_file(p) for p in (args.reference_out, args.textgrid, args.json_out) if p]
    refuse_existing_outputs(outs, args.overwrite)  # before any compute
    if len(set(map(str, outs))) < len(outs):
        raise ParameterError("--reference-out, --textgrid and --json-out must name different files")
    with progress_for(not args.quiet and not args.json) as progress, warnings_kept_quiet():
        res = pronounce(
            args.text,
            args.audio,
            model=args.model,
            aligner=args.aligner,
            tts=args.tts,
            tts_model=args.tts_model,
            max_duration_s=args.max_duration_s,
            callback=progress,
        )
    written = {}
    if args.reference_out:
        written["reference"] = str(res.save_reference(args.reference_out, overwrite=args.overwrite))
    if args.textgrid:
        written["textgrid"] = str(res.save_textgrid(args.textgrid, overwrite=args.overwrite))
    for note in res.warnings:
        warn(note)
    if args.json_out:
        written["json"] = str(atomic_write_text(args.json_out, res.to_json() + "\n", overwrite=args.overwrite))
    if args.json:
        print(json.dumps({"input": args.audio, **res.to_dict(), **written}, indent=1, ensure_ascii=False))
        return 0
    marked, numbered = " ".join(s.marked for s in res.syllables), " ".join(s.pinyin for s in res.syllables)
    print(f"{res.text}  →  {marked}  ({numbered})")
    if args.audio is not None:
        print(res.format_table())
    else:
        sandhi = [f"{s.hanzi} {s.pinyin} ({s.sandhi})" for s in res.syllables if s.sandhi]
        if sandhi:
            print("tone sandhi: " + ", ".join(sandhi))
    for kind, path in written.items():
        print(f"{kind}: {path}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "pronounce",
        help="Mandarin pronunciation trainer: per-syllable tone and timing feedback",
        description="Check a recording of a Mandarin sentence: syllable boundaries from an acoustic "
        "model of initials and finals (which also refuses a recording that is not a "
        "reading of the sentence), the tone heard on each syllable (pitch and energy "
        "contours read in context by a small network), timing against a synthesized "
        "reference, and an overall score. Without --audio: the pinyin (tone sandhi "
        "applied) and, with --reference-out, the reference to listen to.",
    )
    p.add_argument("--text", required=True, help="the sentence in Chinese characters, e.g. '你好，我叫小明。'")
    p.add_argument("--audio", default=None, help="your recording of it (WAV, FLAC, OGG, MP3, ...)")
    p.add_argument("--reference-out", default=None, metavar="WAV", help="write the reference speech here")
    p.add_argument("--textgrid", default=None, metavar="PATH", help="write syllable boundaries as a Praat TextGrid")
    add_json(p, "print the result as JSON on stdout")
    p.add_argument("--json-out", default=None, metavar="PATH", help="also write the JSON result to this file")
    p.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"tone model name or folder; installed: {', '.join(available_models('tone')) or 'none'}",
    )
    p.add_argument(
        "--aligner",
        default=DEFAULT_ALIGNER,
        help=f"acoustic model name or folder; installed: {', '.join(available_models('mandarin-aligner')) or 'none'}",
    )
    p.add_argument("--tts", default="espeak", choices=BACKENDS, help="reference voice backend (default: espeak)")
    p.add_argument("--tts-model", default=None, metavar="PATH", help="--tts coqui: a local coqui-tts model")
    p.add_argument(
        "--max-duration-s",
        type=float,
        default=MAX_DURATION_S,
        help=f"longest recording accepted (default {MAX_DURATION_S:g})",
    )
    add_overwrite(p, "replace existing output files")
    add_quiet(p, "no progress bar")
    p.set_defaults(func=cmd_pronounce)
