"""``voicetools diarize``: who spoke when → ``<name>.rttm`` and a timeline ``<name>.png``."""

from __future__ import annotations

import contextlib
import functools
import sys
import warnings
from pathlib import Path

from ..errors import VoicetoolsError


def _diarize_one(args, inp: str, folder: Path, progress) -> dict:
    """Diarize one input into ``folder/<stem>.rttm`` (+ ``.png``); all files or none are written."""
    from ..files import atomic_output
    from . import diarize
    from .plot import plot_timeline

    stem = Path(inp).stem
    rttm, png = folder / f"{stem}.rttm", folder / f"{stem}.png"
    srt, transcript_json = folder / f"{stem}.srt", folder / f"{stem}.transcript.json"
    outs = [rttm] + ([] if args.no_plot else [png]) + ([srt, transcript_json] if args.transcribe else [])
    existing = [str(p) for p in outs if p.exists()]
    if existing and not args.overwrite:  # before any compute
        raise VoicetoolsError(f"{existing[0]} exists; pass --overwrite to replace it")
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        res = diarize(inp, speakers=args.speakers, min_speakers=args.min_speakers, max_speakers=args.max_speakers,
                      vad=args.vad, encoder=args.encoder, overlap=not args.no_overlap, callback=progress)
    utts = _transcribe(args, inp, res) if args.transcribe else None
    output = functools.partial(atomic_output, overwrite=args.overwrite)
    with contextlib.ExitStack() as stack:  # every file of this input is written, or none
        stack.enter_context(output(rttm)).write_text(res.to_rttm(stem))
        if not args.no_plot:
            plot_timeline(res, stack.enter_context(output(png)), title=Path(inp).name)
        if utts is not None:
            from .transcript import to_json, to_srt

            stack.enter_context(output(srt)).write_text(to_srt(utts))
            stack.enter_context(output(transcript_json)).write_text(to_json(utts))
    for note in res.warnings:
        print(f"voicetools: warning: {inp}: {note}", file=sys.stderr)
    if not args.json and not args.quiet:
        talk = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(res.speaking_time().items()))
        print(f"{inp} -> {rttm} ({len(res.speakers)} speakers, {len(res.turns)} turns{': ' + talk if talk else ''})")
    extra = {} if utts is None else {"srt": str(srt), "transcript": str(transcript_json),
                                     "utterances": len(utts)}
    return {"input": inp, "rttm": str(rttm), **({} if args.no_plot else {"plot": str(png)}), **extra,
            **res.to_dict()}


def _transcribe(args, inp: str, res):
    """Whisper words per speaker (+ emotion tokens unless --no-emotion) for one diarized input."""
    from ..audio.io import load_mono
    from .transcript import SAMPLE_RATE, transcribe_turns

    x, _ = load_mono(inp, SAMPLE_RATE)
    return transcribe_turns(x, res.turns, whisper_model=args.whisper_net, language=args.language,
                            emotion_model=None if args.no_emotion else args.emotion_model)


def cmd_diarize(args) -> int:
    from ..cli import run_inputs
    from ..outputs import check_folder

    folder = check_folder(args.output)  # made when the first file is written
    stems = {}
    for inp in args.inputs:
        if Path(inp).stem in stems:
            raise VoicetoolsError(f"{inp} and {stems[Path(inp).stem]} would both write {Path(inp).stem}.rttm; "
                                  "rename one or diarize it in another run")
        stems[Path(inp).stem] = inp
    if args.transcribe:  # once, and before any diarizing: a missing extra or missing weights fail fast
        from .transcript import load_whisper

        args.whisper_net = load_whisper(args.whisper)
    return run_inputs([(inp, folder) for inp in args.inputs],
                      lambda inp, out, progress: _diarize_one(args, inp, out, progress),
                      quiet=args.quiet, as_json=args.json)


def add_parser(sub) -> None:
    from . import DEFAULT_ENCODER
    from ..official_weights import whisper_cache
    from .transcript import DEFAULT_WHISPER

    d = sub.add_parser("diarize", help="who spoke when: an RTTM file and a timeline picture per input",
                       description="Find who spoke when (speech detection, speaker embeddings, clustering). "
                                   "Writes OUTPUT/<input name>.rttm and OUTPUT/<input name>.png. Speakers are "
                                   "named SPEAKER_00, SPEAKER_01, ... in order of first speech.")
    d.add_argument("inputs", nargs="+", metavar="AUDIO", help="audio files (WAV, FLAC, OGG, MP3, ...)")
    d.add_argument("-o", "--output", default=".", help="output folder (default: the current folder)")
    d.add_argument("--speakers", type=int, default=None, help="the number of speakers, if known")
    d.add_argument("--min-speakers", type=int, default=1, help="at least this many (when estimating)")
    d.add_argument("--max-speakers", type=int, default=None, help="at most this many (when estimating; default 10)")
    d.add_argument("--vad", choices=["silero", "energy"], default="silero", help="speech detector (default: silero)")
    d.add_argument("--encoder", default=DEFAULT_ENCODER, help="speaker-embedding model name or folder")
    d.add_argument("--no-overlap", action="store_true", help="one speaker at a time (no overlapped speech)")
    d.add_argument("--no-plot", action="store_true", help="skip the timeline PNG")
    d.add_argument("--transcribe", action="store_true",
                   help="also write OUTPUT/<name>.srt and <name>.transcript.json: Whisper words per speaker "
                        "(needs pip install 'voicetools[whisper]' and local weights)")
    d.add_argument("--whisper", default=DEFAULT_WHISPER, metavar="MODEL",
                   help=f"Whisper checkpoint file, or an official name whose weights are in {whisper_cache()} "
                        f"(default: {DEFAULT_WHISPER}; voicetools models fetch whisper-NAME gets official weights)")
    d.add_argument("--language", default=None, help="spoken language code for Whisper (default: detected)")
    d.add_argument("--emotion-model", default="emotion-ravdess-cnn",
                   help="emotion classifier for the transcript's emotion tokens")
    d.add_argument("--no-emotion", action="store_true", help="no emotion tokens in the transcript")
    d.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    d.add_argument("--json", action="store_true", help="print a JSON summary (turns included) on stdout")
    d.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary line")
    d.set_defaults(func=cmd_diarize)
