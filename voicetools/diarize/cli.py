"""``voicetools diarize``: who spoke when → ``<name>.rttm`` and a timeline ``<name>.png``;
``voicetools evaluate diarization``: DER/JER against reference RTTMs."""

from __future__ import annotations

import contextlib
import functools
import json
from pathlib import Path

from ..audio.io import load_mono
from ..cli_common import (
    SubVerb,
    add_inputs,
    add_output,
    add_run_flags,
    progress_for,
    refuse_existing_outputs,
    refuse_shared_outputs,
    run_inputs,
    warn,
    warnings_kept_quiet,
)
from ..errors import ParameterError
from ..files import atomic_output
from ..official_weights import whisper_cache
from ..outputs import check_folder
from .diarize import DEFAULT_ENCODER, diarize
from .evaluate import evaluate_folder, format_report
from .plot import plot_timeline
from .transcript import DEFAULT_WHISPER, SAMPLE_RATE, load_whisper, to_json, to_srt, transcribe_turns


def _diarize_one(args, inp: str, folder: Path, progress) -> dict:
    """Diarize one input into ``folder/<stem>.rttm`` (+ ``.png``); all files or none are written."""
    stem = Path(inp).stem
    rttm, png = folder / f"{stem}.rttm", folder / f"{stem}.png"
    srt, transcript_json = folder / f"{stem}.srt", folder / f"{stem}.transcript.json"
    outs = [rttm] + ([] if args.no_plot else [png]) + ([srt, transcript_json] if args.transcribe else [])
    refuse_existing_outputs(outs, args.overwrite)  # before any compute
    with warnings_kept_quiet():
        res = diarize(
            inp,
            speakers=args.speakers,
            min_speakers=args.min_speakers,
            max_speakers=args.max_speakers,
            vad=args.vad,
            encoder=args.encoder,
            overlap=not args.no_overlap,
            callback=progress,
        )
    utts = _transcribe(args, inp, res) if args.transcribe else None
    output = functools.partial(atomic_output, overwrite=args.overwrite)
    with contextlib.ExitStack() as stack:  # every file of this input is written, or none
        stack.enter_context(output(rttm)).write_text(res.to_rttm(stem))
        if not args.no_plot:
            plot_timeline(res, stack.enter_context(output(png)), title=Path(inp).name)
        if utts is not None:
            stack.enter_context(output(srt)).write_text(to_srt(utts))
            stack.enter_context(output(transcript_json)).write_text(to_json(utts))
    for note in res.warnings:
        warn(note, inp)
    if not args.json and not args.quiet:
        talk = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(res.speaking_time().items()))
        print(f"{inp} -> {rttm} ({len(res.speakers)} speakers, {len(res.turns)} turns{': ' + talk if talk else ''})")
    extra = {} if utts is None else {"srt": str(srt), "transcript": str(transcript_json), "utterances": len(utts)}
    return {"input": inp, "rttm": str(rttm), **({} if args.no_plot else {"plot": str(png)}), **extra, **res.to_dict()}


def _transcribe(args, inp: str, res):
    """Whisper words per speaker (+ emotion tokens unless --no-emotion) for one diarized input."""
    x, _ = load_mono(inp, SAMPLE_RATE)
    return transcribe_turns(
        x,
        res.turns,
        whisper_model=args.whisper_net,
        language=args.language,
        emotion_model=None if args.no_emotion else args.emotion_model,
    )


def cmd_diarize(args) -> int:
    folder = check_folder(args.output)  # made when the first file is written
    refuse_shared_outputs(((inp, folder / f"{Path(inp).stem}.rttm") for inp in args.inputs), "diarize")
    if args.transcribe:  # once, and before any diarizing: a missing extra or missing weights fail fast
        args.whisper_net = load_whisper(args.whisper)
    return run_inputs(
        [(inp, folder) for inp in args.inputs],
        lambda inp, out, progress: _diarize_one(args, inp, out, progress),
        quiet=args.quiet,
        as_json=args.json,
    )


def add_parser(sub) -> None:
    d = sub.add_parser(
        "diarize",
        help="who spoke when: an RTTM file and a timeline picture per input",
        description="Find who spoke when (speech detection, speaker embeddings, clustering). "
        "Writes OUTPUT/<input name>.rttm and OUTPUT/<input name>.png. Speakers are "
        "named SPEAKER_00, SPEAKER_01, ... in order of first speech.",
    )
    add_inputs(d)
    add_output(d, default=".", help="output folder (default: the current folder)")
    d.add_argument("--speakers", type=int, default=None, help="the number of speakers, if known")
    d.add_argument("--min-speakers", type=int, default=1, help="at least this many (when estimating)")
    d.add_argument("--max-speakers", type=int, default=None, help="at most this many (when estimating; default 10)")
    d.add_argument("--vad", choices=["silero", "energy"], default="silero", help="speech detector (default: silero)")
    d.add_argument("--encoder", default=DEFAULT_ENCODER, help="speaker-embedding model name or folder")
    d.add_argument("--no-overlap", action="store_true", help="one speaker at a time (no overlapped speech)")
    d.add_argument("--no-plot", action="store_true", help="skip the timeline PNG")
    d.add_argument(
        "--transcribe",
        action="store_true",
        help="also write OUTPUT/<name>.srt and <name>.transcript.json: Whisper words per speaker "
        "(needs pip install 'voicetools[whisper]' and local weights)",
    )
    d.add_argument(
        "--whisper",
        default=DEFAULT_WHISPER,
        metavar="MODEL",
        help=f"Whisper checkpoint file, or an official name whose weights are in {whisper_cache()} "
        f"(default: {DEFAULT_WHISPER}; voicetools models fetch whisper-NAME gets official weights)",
    )
    d.add_argument("--language", default=None, help="spoken language code for Whisper (default: detected)")
    d.add_argument(
        "--emotion-model", default="emotion-ravdess-cnn", help="emotion classifier for the transcript's emotion tokens"
    )
    d.add_argument("--no-emotion", action="store_true", help="no emotion tokens in the transcript")
    add_run_flags(d, device=False, json="print a JSON summary (turns included) on stdout")
    d.set_defaults(func=cmd_diarize)


def evaluate_diarization(args) -> int:
    if not args.data:
        raise ParameterError("give --data DIR: audio files with same-named .rttm references")
    with progress_for(not args.json) as progress:
        report = evaluate_folder(args.data, oracle_speakers=args.speakers == "oracle", callback=progress)
    print(json.dumps(report, indent=1) if args.json else format_report(report))
    return 0


def add_evaluate_arguments(e) -> None:
    e.add_argument(
        "--speakers",
        choices=["auto", "oracle"],
        default="auto",
        help="diarization: estimate the speaker count, or give it the reference's (default: auto)",
    )


EVALUATE = SubVerb(
    tasks=("diarization",),
    run=evaluate_diarization,
    add_arguments=add_evaluate_arguments,
    help="`evaluate diarization --data` scores diarization",
    description="`voicetools evaluate diarization --data DIR`: diarize every audio file in DIR that "
    "has a same-named .rttm (VoxConverse layout works) and print DER/JER per file and "
    "overall.",
)
