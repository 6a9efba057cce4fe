"""The ``voicetools`` command: one verb per task, mirroring the Python API's names.

Exit codes: 0 all inputs done, 1 at least one input failed (each failure is one line on stderr),
2 a usage error, 128 + the signal number when stopped by SIGINT (Ctrl-C), SIGTERM or SIGHUP (partial
outputs are removed first). ``--json`` puts a machine-readable summary on stdout; progress bars go to
stderr when it is a terminal. Where outputs may go: ``voicetools.outputs``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import warnings
from pathlib import Path

from . import __version__
from .errors import VoicetoolsError


def _progress(enabled: bool):
    """A ``callback(stage, done, total)`` drawing one tqdm bar per stage on stderr, if it is a terminal."""
    from tqdm import tqdm

    isatty = getattr(sys.stderr, "isatty", None)
    enabled = enabled and bool(isatty and isatty())  # no \r or cursor codes in a log file or a pipe
    bars = {}

    def callback(stage, done, total):
        if not enabled:
            return
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="chunk", file=sys.stderr, leave=False)
        bar.total = max(bar.total or 0, total)
        bar.update(done - bar.n)

    def close():
        for bar in bars.values():
            bar.close()
        bars.clear()

    callback.close = close
    return callback


def run_inputs(jobs, run_one, *, quiet: bool, as_json: bool) -> int:
    """``run_one(input, output, progress) -> summary`` for each (input, output) pair: a failing input is
    one error line on stderr and the run goes on; ``as_json`` prints the summaries. Returns the exit code."""
    summaries = []
    for inp, out in jobs:
        progress = _progress(not quiet)
        try:
            summaries.append(run_one(inp, out, progress))
        except VoicetoolsError as exc:
            print(f"voicetools: error: {exc}", file=sys.stderr)
            summaries.append({"input": inp, "error": str(exc)})
        finally:
            progress.close()
    if as_json:
        print(json.dumps(summaries[0] if len(summaries) == 1 else summaries, indent=1))
    return 1 if any("error" in s for s in summaries) else 0


def device_arg(value: str) -> str:
    """``--device``: only a device this torch can use (argparse ``type=``; a usage error otherwise)."""
    import torch

    usable = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    try:
        device = torch.device(value)
    except RuntimeError:
        device = None
    ok = device is not None and usable.get(device.type, False)
    if ok and device.type == "cuda" and device.index is not None:
        ok = device.index < torch.cuda.device_count()
    if not ok:
        have = ", ".join(k for k, v in usable.items() if v)
        raise argparse.ArgumentTypeError(f"{value!r} is not a device this torch can use; available: {have}")
    return value


def cmd_separate(args) -> int:
    from .outputs import check_folder
    from .separation import _resolve_model, separate_file

    check_folder(args.output)  # before loading anything
    model = _resolve_model(args.model)  # once for all inputs

    def run(inp, out_dir, progress):
        return separate_file(inp, out_dir, model=model, format=args.format, segment_s=args.segment_s,
                             overlap_s=args.overlap_s, shifts=args.shifts, wiener=False if args.no_wiener else None,
                             device=args.device, overwrite=args.overwrite, callback=progress)

    return stems_per_input(args, run, verb="separate")


def stems_per_input(args, run, *, verb: str) -> int:
    """``run_inputs`` for verbs writing stems into ``OUTPUT/<input name>/`` (``separate``, ``vocals``).

    ``run(inp, out_dir, progress) -> summary``; two inputs with the same name are refused rather than
    written into one folder; soft warnings and a summary line per input go to the terminal.
    """
    used: dict[Path, str] = {}

    def one(inp, out_dir, progress):
        if out_dir in used:  # a.wav and other/a.wav would write the same stems
            raise VoicetoolsError(f"{inp}: its stems would go to {out_dir}/, already used by {used[out_dir]}; "
                                  f"rename it or {verb} it in another run")
        used[out_dir] = inp
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            summary = run(inp, out_dir, progress)
        progress.close()
        for note in summary["warnings"]:
            print(f"voicetools: warning: {inp}: {note}", file=sys.stderr)
        if not args.json and not args.quiet:
            print(f"{inp} -> {out_dir}/ ({', '.join(Path(s).name for s in summary['stems'].values())})")
        return summary

    jobs = [(inp, Path(args.output) / Path(inp).stem) for inp in args.inputs]
    return run_inputs(jobs, one, quiet=args.quiet, as_json=args.json)


OFFICIAL_TASKS = {"demucs": "vocals", "whisper": "transcript"}


def models_listing() -> dict:
    """What ``voicetools models`` shows: installed models (shipped, user cache, official weights
    present) and the official ones ``voicetools models fetch`` can get, each with its task."""
    from .checkpoints import CONFIG, available_models, cache_dir, registry
    from .official_weights import catalog

    shipped = registry()

    def task_of(name: str) -> str:
        if name in shipped:
            return shipped[name]["task"]
        try:  # available_models only lists cache folders whose config.json reads
            return str(json.loads((cache_dir() / name / CONFIG).read_text()).get("task"))
        except (OSError, ValueError):
            return "?"

    installed = [{"name": n, "task": task_of(n), "source": "shipped" if n in shipped else "user cache"}
                 for n in available_models()]
    fetchable = []
    for name, m in catalog().items():
        row = {"name": name, "task": OFFICIAL_TASKS[m.project], "source": f"official {m.project}"}
        (installed if m.installed() else fetchable).append(row)
    return {"installed": installed, "fetchable": fetchable}


def cmd_models(args) -> int:
    from .errors import ParameterError

    if args.action == "fetch":
        from .official_weights import fetch

        for path in fetch(args.name, mirror=args.mirror, quiet=args.quiet):
            if not args.quiet:
                print(path)
        return 0
    listing = models_listing()
    if args.task is not None:
        tasks = sorted({r["task"] for rows in listing.values() for r in rows})
        if args.task not in tasks:
            raise ParameterError(f"unknown task {args.task!r}; choose one of {', '.join(tasks)}")
        listing = {k: [r for r in rows if r["task"] == args.task] for k, rows in listing.items()}
    if args.json:
        print(json.dumps(listing, indent=1))
        return 0
    rows = listing["installed"] + listing["fetchable"]
    w_name = max((len(r["name"]) for r in rows), default=0) + 2
    w_task = max((len(r["task"]) for r in rows), default=0) + 2
    for title, key in (("installed:", "installed"), ("fetchable (opt-in download: voicetools models fetch NAME):",
                                                     "fetchable")):
        if listing[key] or key == "installed":
            print(title)
        for r in listing[key]:
            print(f"  {r['name']:<{w_name}}{r['task']:<{w_task}}{r['source']}")
    return 0


def cmd_app(args) -> int:
    from .app import build_app, launch_app

    models = {"classify": args.classify_model} if args.classify_model else None
    demo = build_app(model=args.model, models=models, max_upload_mb=args.max_upload_mb,
                     max_duration_s=args.max_duration_s, concurrency=args.concurrency, max_queue=args.max_queue)
    print(f"voicetools app: open http://{args.host}:{args.port}/ in a browser (Ctrl+C stops it)", file=sys.stderr)
    launch_app(demo, host=args.host, port=args.port, share=args.share)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .checkpoints import available_models
    from .separation import DEFAULT_MODEL, FORMATS, OVERLAP_S, SEGMENT_S

    p = argparse.ArgumentParser(prog="voicetools", description="Offline music and voice tools.")
    p.add_argument("--version", action="version", version=f"voicetools {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("separate", help="split a choir recording into soprano, alto, tenor and bass",
                       description="Split choir recordings into soprano/alto/tenor/bass stems "
                                   "(OUTPUT/<input name>/<voice>.<format>). Stereo and multichannel "
                                   "input is downmixed to mono; stems keep the input's sample rate.")
    s.add_argument("inputs", nargs="+", metavar="AUDIO", help="audio files (WAV, FLAC, OGG, MP3, ...)")
    s.add_argument("-o", "--output", default="separated", help="output folder (default: separated)")
    s.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"model name or checkpoint path; installed: {', '.join(available_models('separation'))}")
    s.add_argument("--format", choices=sorted(FORMATS), default="wav", help="stem file format (default: wav)")
    s.add_argument("--segment-s", type=float, default=SEGMENT_S, help="chunk length in seconds")
    s.add_argument("--overlap-s", type=float, default=OVERLAP_S, help="cross-fade between chunks in seconds")
    s.add_argument("--shifts", type=int, default=None,
                   help="average this many sub-frame shifts of the input (default: the model's own setting; "
                        "1 is fastest)")
    s.add_argument("--no-wiener", action="store_true",
                   help="skip the final Wiener filter that refits the stems to the mixture (if the model uses one)")
    s.add_argument("--device", type=device_arg, default=None, help="torch device, e.g. cpu or cuda (default: cpu)")
    s.add_argument("--overwrite", action="store_true", help="replace existing stems")
    s.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary line")
    s.set_defaults(func=cmd_separate)

    m = sub.add_parser("models", help="list installed models; fetch official weights (opt-in download)",
                       description="List installed models and the official ones that can be fetched; "
                                   "`voicetools models fetch NAME` downloads official weights (the only "
                                   "command that ever downloads anything).")
    m.add_argument("--task", default=None, help="only models of this task (separation, vocals, emotion, ...)")
    m.add_argument("--json", action="store_true", help="print the listing as JSON on stdout")
    m.set_defaults(func=cmd_models, action="list")
    msub = m.add_subparsers(dest="action", metavar="ACTION")
    f = msub.add_parser("fetch", help="download official weights (Demucs, Whisper) into their cache",
                        description="Download an official model's weights into the cache its loader reads "
                                    "(Demucs: torch hub checkpoints; Whisper: its cache folder), resuming a "
                                    "partial download and checking the published checksum before installing. "
                                    "Proxies: HTTPS_PROXY / HTTP_PROXY / NO_PROXY.")
    f.add_argument("name", metavar="NAME", help="e.g. htdemucs, htdemucs_ft, mdx_extra, whisper-small "
                                                "(voicetools models lists them)")
    f.add_argument("--mirror", default=None, metavar="URL",
                   help="fetch the same files from this server instead (default: $VOICETOOLS_MIRROR or the "
                        "project's own URL)")
    f.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no file list")
    f.set_defaults(func=cmd_models, action="fetch")

    a = sub.add_parser("app", help="serve the browser app (one tab per task) on this machine",
                       description="Serve the Gradio app. It listens on 127.0.0.1 unless --host says "
                                   "otherwise; --share (off by default) asks Gradio for a public link.")
    a.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1; 0.0.0.0 for all)")
    a.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    a.add_argument("--share", action="store_true", help="also create a public share link (off by default)")
    a.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"separation model name or checkpoint folder; installed: "
                        f"{', '.join(available_models('separation'))}")
    a.add_argument("--classify-model", default=None,
                   help="classifier for the Classify tab: a name, checkpoint folder or `voicetools train` run "
                        "folder (default: the shipped emotion model)")
    a.add_argument("--max-upload-mb", type=float, default=50.0, help="largest upload accepted (default: 50)")
    a.add_argument("--max-duration-s", type=float, default=600.0, help="longest audio accepted (default: 600)")
    a.add_argument("--concurrency", type=int, default=1, help="jobs run at once; others queue (default: 1)")
    a.add_argument("--max-queue", type=int, default=16, help="jobs allowed to wait (default: 16)")
    a.set_defaults(func=cmd_app)

    from .classify.cli import add_parsers as add_classify_parsers  # train, classify, evaluate

    add_classify_parsers(sub)
    from .diarize.cli import add_parser as add_diarize_parser
    from .transcribe.cli import add_parser as add_transcribe_parser

    add_transcribe_parser(sub)
    add_diarize_parser(sub)
    from .vocals.cli import add_parser as add_vocals_parser

    add_vocals_parser(sub)
    from .revoice.cli import add_parser as add_revoice_parser

    add_revoice_parser(sub)
    from .pronounce.cli import add_parser as add_pronounce_parser

    add_pronounce_parser(sub)
    return p


STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


class Stopped(BaseException):
    """SIGTERM or SIGHUP: unwinds the stack like Ctrl-C's KeyboardInterrupt, so the all-or-nothing
    writers remove their partial output (a BaseException, so ``except Exception`` does not swallow it)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _stop(main_pid: int, signum, frame):
    if os.getpid() != main_pid:  # a forked worker (DataLoader) inherited this handler: die as before
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    for s in STOP_SIGNALS:  # a terminal closing sends SIGHUP then SIGTERM: let the first one's cleanup run
        signal.signal(s, signal.SIG_IGN)
    raise Stopped(signum)


def main(argv=None) -> int:
    import functools
    import threading

    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        return _main(argv)
    previous = {s: signal.signal(s, functools.partial(_stop, os.getpid())) for s in STOP_SIGNALS}
    try:
        return _main(argv)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _main(argv=None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return args.func(args)
    except VoicetoolsError as exc:
        print(f"voicetools: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("voicetools: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except Stopped as exc:
        print(f"voicetools: stopped by {signal.Signals(exc.signum).name}", file=sys.stderr)
        return 128 + exc.signum
    except Exception as exc:  # a bug, not a user error: say so in one line unless debugging
        if os.environ.get("VOICETOOLS_DEBUG"):
            raise
        from .outputs import refusal

        reason = refusal(exc)  # the OS said no to a file not written through voicetools.files: not a bug
        if reason:
            print(f"voicetools: error: {exc.filename or 'a file'}: {reason}", file=sys.stderr)
            return 1
        print(f"voicetools: internal error: {type(exc).__name__}: {exc} "
              "(set VOICETOOLS_DEBUG=1 for the traceback and please report it)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
