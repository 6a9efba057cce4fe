"""``voicetools models``: list installed models; ``voicetools models fetch NAME``: the one opt-in download."""

from __future__ import annotations

import json

from . import official_weights
from .checkpoints import CONFIG, available_models, cache_dir, registry
from .cli_common import add_json, add_quiet
from .errors import ParameterError

OFFICIAL_TASKS = {"demucs": "vocals", "whisper": "transcript"}


def models_listing() -> dict:
    """What ``voicetools models`` shows: installed models (shipped, user cache, official weights
    present) and the official ones ``voicetools models fetch`` can get, each with its task."""
    shipped = registry()

    def task_of(name: str) -> str:
        if name in shipped:
            return shipped[name]["task"]
        try:  # available_models only lists cache folders whose config.json reads
            return str(json.loads((cache_dir() / name / CONFIG).read_text()).get("task"))
        except (OSError, ValueError):
            return "?"

    installed = [
        {"name": n, "task": task_of(n), "source": "shipped" if n in shipped else "user cache"}
        for n in available_models()
    ]
    fetchable = []
    for name, m in official_weights.catalog().items():
        row = {"name": name, "task": OFFICIAL_TASKS[m.project], "source": f"official {m.project}"}
        (installed if m.installed() else fetchable).append(row)
    return {"installed": installed, "fetchable": fetchable}


def cmd_models(args) -> int:
    if args.action == "fetch":
        for path in official_weights.fetch(args.name, mirror=args.mirror, quiet=args.quiet):
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
    for title, key in (
        ("installed:", "installed"),
        ("fetchable (opt-in download: voicetools models fetch NAME):", "fetchable"),
    ):
        if listing[key] or key == "installed":
            print(title)
        for r in listing[key]:
            print(f"  {r['name']:<{w_name}}{r['task']:<{w_task}}{r['source']}")
    return 0


def add_parser(sub) -> None:
    m = sub.add_parser(
        "models",
        help="list installed models; fetch official weights (opt-in download)",
        description="List installed models and the official ones that can be fetched; "
        "`voicetools models fetch NAME` downloads official weights (the only "
        "command that ever downloads anything).",
    )
    m.add_argument("--task", default=None, help="only models of this task (separation, vocals, emotion, ...)")
    add_json(m, "print the listing as JSON on stdout")
    m.set_defaults(func=cmd_models, action="list")
    msub = m.add_subparsers(dest="action", metavar="ACTION")
    f = msub.add_parser(
        "fetch",
        help="download official weights (Demucs, Whisper) into their cache",
        description="Download an official model's weights into the cache its loader reads "
        "(Demucs: torch hub checkpoints; Whisper: its cache folder), resuming a "
        "partial download and checking the published checksum before installing. "
        "Proxies: HTTPS_PROXY / HTTP_PROXY / NO_PROXY.",
    )
    f.add_argument(
        "name",
        metavar="NAME",
        help="e.g. htdemucs, htdemucs_ft, mdx_extra, whisper-small (voicetools models lists them)",
    )
    f.add_argument(
        "--mirror",
        default=None,
        metavar="URL",
        help="fetch the same files from this server instead (default: $VOICETOOLS_MIRROR or the project's own URL)",
    )
    add_quiet(f, "no progress bar and no file list")
    f.set_defaults(func=cmd_models, action="fetch")
