"""``voicetools app``: serve the browser app (one tab per task) on this machine."""

from __future__ import annotations

import sys

from ..checkpoints import available_models
from ..separation import DEFAULT_MODEL
from .build import build_app, launch_app


def cmd_app(args) -> int:
    models = {"classify": args.classify_model} if args.classify_model else None
    demo = build_app(
        model=args.model,
        models=models,
        max_upload_mb=args.max_upload_mb,
        max_duration_s=args.max_duration_s,
        concurrency=args.concurrency,
        max_queue=args.max_queue,
    )
    print(f"voicetools app: open http://{args.host}:{args.port}/ in a browser (Ctrl+C stops it)", file=sys.stderr)
    launch_app(demo, host=args.host, port=args.port, share=args.share)
    return 0


def add_parser(sub) -> None:
    a = sub.add_parser(
        "app",
        help="serve the browser app (one tab per task) on this machine",
        description="Serve the Gradio app. It listens on 127.0.0.1 unless --host says "
        "otherwise; --share (off by default) asks Gradio for a public link.",
    )
    a.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1; 0.0.0.0 for all)")
    a.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    a.add_argument("--share", action="store_true", help="also create a public share link (off by default)")
    a.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"separation model name or checkpoint folder; installed: {', '.join(available_models('separation'))}",
    )
    a.add_argument(
        "--classify-model",
        default=None,
        help="classifier for the Classify tab: a name, checkpoint folder or `voicetools train` run "
        "folder (default: the shipped emotion model)",
    )
    a.add_argument("--max-upload-mb", type=float, default=50.0, help="largest upload accepted (default: 50)")
    a.add_argument("--max-duration-s", type=float, default=600.0, help="longest audio accepted (default: 600)")
    a.add_argument("--concurrency", type=int, default=1, help="jobs run at once; others queue (default: 1)")
    a.add_argument("--max-queue", type=int, default=16, help="jobs allowed to wait (default: 16)")
    a.set_defaults(func=cmd_app)
