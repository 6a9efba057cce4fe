"""Load check for the browser app: N concurrent requests against a local server, latency percentiles.

Starts the app in this process on 127.0.0.1 (or uses ``--url``, which must resolve to loopback
only), then runs two scenarios with ``--clients`` concurrent clients:

* ``page``: N plain HTTP GETs of the page (``/``), what every visitor costs first;
* ``separate``: N full Separate jobs through Gradio's API (``gradio_client``: upload a generated
  choir-like WAV, queue, separate, return the players and the zip), the same path the page uses.

Bounded in count (``--requests`` ≤ 200) and time (``--timeout-s``; unfinished requests count as
failed). Prints a Markdown table and writes ``benchmarks/results/app_load.json``.

    python tests/tiny_models.py                                    # once: installs tiny-satb into your cache
    python benchmarks/app_load.py                                  # tiny-satb: server-side overhead
    python benchmarks/app_load.py --model satb-convtasnet --requests 8 --clients 4
    python benchmarks/app_load.py --url http://127.0.0.1:7860/     # a running `voicetools app`
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import platform
import socket
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import provenance  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "app_load.json"
MAX_REQUESTS, MAX_CLIENTS, MAX_TIMEOUT_S = 200, 32, 1800


def loopback_only(url: str) -> str:
    """Refuse any URL whose host resolves to something other than loopback."""
    u = urlparse(url)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise SystemExit(f"--url must be http(s)://host:port/, got {url!r}")
    addrs = {a[4][0] for a in socket.getaddrinfo(u.hostname, u.port or 80)}
    if not addrs or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addrs):
        raise SystemExit(
            f"refusing {url}: the load check only targets loopback (127.0.0.0/8, ::1), "
            f"{u.hostname} resolves to {sorted(addrs)}"
        )
    return url if url.endswith("/") else url + "/"


def write_choir(path: Path, seconds: float, sample_rate: int = 16000) -> Path:
    import soundfile as sf

    t = np.arange(int(seconds * sample_rate)) / sample_rate
    x = sum(0.15 * np.sin(2 * np.pi * f * t + 0.3 * np.sin(2 * np.pi * 5 * t)) for f in (523.25, 392.0, 329.63, 130.81))
    sf.write(str(path), x.astype(np.float32), sample_rate)
    return path


def percentiles(latencies: list[float]) -> dict:
    if not latencies:
        return {}
    a = np.asarray(latencies)
    return {
        "mean": float(a.mean()),
        "p50": float(np.percentile(a, 50)),
        "p90": float(np.percentile(a, 90)),
        "p95": float(np.percentile(a, 95)),
        "p99": float(np.percentile(a, 99)),
        "max": float(a.max()),
        "min": float(a.min()),
    }


def run_scenario(name: str, one_request, n: int, clients: int, deadline: float) -> dict:
    """Run ``one_request(i)`` n times on ``clients`` threads; stop submitting at ``deadline``."""
    lock = threading.Lock()
    records = []

    def job(i):
        if time.monotonic() > deadline:
            with lock:
                records.append({"i": i, "ok": False, "error": "not started: time limit reached"})
            return
        t0 = time.perf_counter()
        try:
            one_request(i)
            rec = {"i": i, "ok": True, "latency_s": time.perf_counter() - t0}
        except Exception as exc:  # noqa: BLE001 -- every failure is a data point
            rec = {
                "i": i,
                "ok": False,
                "latency_s": time.perf_counter() - t0,
                "error": f"{type(exc).__name__}: {str(exc)[:200]}",
            }
        with lock:
            records.append(rec)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(job, i) for i in range(n)]
        done, pending = wait(futures, timeout=max(1.0, deadline - time.monotonic()))
        for f in pending:
            f.cancel()
    wall = time.perf_counter() - t0
    finished = {r["i"] for r in records}
    records += [{"i": i, "ok": False, "error": "unfinished at the time limit"} for i in range(n) if i not in finished]
    ok = [r["latency_s"] for r in records if r["ok"]]
    errors = sorted({r["error"] for r in records if not r["ok"]})
    return {
        "scenario": name,
        "requests": n,
        "clients": clients,
        "ok": len(ok),
        "failed": n - len(ok),
        "wall_s": wall,
        "throughput_rps": len(ok) / wall if wall else 0.0,
        "latency_s": percentiles(ok),
        "errors": errors[:5],
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="a running app on loopback (default: start one in this process)")
    p.add_argument("--model", default="tiny-satb", help="model for the in-process server (default: tiny-satb)")
    p.add_argument("--server-concurrency", type=int, default=1, help="jobs the server runs at once (default 1)")
    p.add_argument("--max-queue", type=int, default=64, help="jobs the server lets wait (default 64)")
    p.add_argument("--requests", type=int, default=16, help=f"requests per scenario (≤ {MAX_REQUESTS}; default 16)")
    p.add_argument("--page-requests", type=int, default=None, help="page GETs (default: 4 × --requests)")
    p.add_argument("--clients", type=int, default=4, help=f"concurrent clients (≤ {MAX_CLIENTS}; default 4)")
    p.add_argument("--audio-s", type=float, default=5.0, help="length of the generated upload (default 5 s)")
    p.add_argument("--timeout-s", type=float, default=300.0, help=f"time limit per scenario (≤ {MAX_TIMEOUT_S})")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    n = max(1, min(args.requests, MAX_REQUESTS))
    n_page = max(1, min(args.page_requests or 4 * n, MAX_REQUESTS))
    clients = max(1, min(args.clients, MAX_CLIENTS))
    timeout_s = max(1.0, min(args.timeout_s, MAX_TIMEOUT_S))
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

    import gradio
    from gradio_client import Client, handle_file

    demo = None
    tmp = Path(tempfile.mkdtemp(prefix="voicetools-app-load-"))
    try:
        if args.url:
            url = loopback_only(args.url)
            model = "(the running server's)"
            used = []  # a running server's models are its own business: not known here
        else:
            from voicetools.app import build_app, launch_app

            demo = build_app(
                model=args.model, concurrency=args.server_concurrency, max_queue=args.max_queue, examples=[]
            )
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            launch_app(demo, host="127.0.0.1", port=port, block=False, quiet=True)
            url = loopback_only(demo.local_url)
            model = args.model
            used = list(demo.voicetools.settings.models.values())  # every model the app loaded at start
        audio = write_choir(tmp / "choir.wav", args.audio_s)
        print(
            f"app at {url}; model {model}; {n} separate jobs and {n_page} page loads, {clients} clients",
            file=sys.stderr,
        )

        def get_page(i):
            with urllib.request.urlopen(url, timeout=timeout_s) as r:
                if r.status != 200 or not r.read():
                    raise RuntimeError(f"HTTP {r.status}")

        local = threading.local()

        def separate(i):
            if not hasattr(local, "client"):
                local.client = Client(url, verbose=False, download_files=False, analytics_enabled=False)
            html, zip_file = local.client.predict(handle_file(str(audio)), api_name="/separate")
            if html.count("<audio") != 4:
                raise RuntimeError("the answer does not hold four players")

        # warm up once (first request pays for lazy imports), not counted
        get_page(-1)
        separate(-1)
        results = [
            run_scenario("page", get_page, n_page, clients, time.monotonic() + timeout_s),
            run_scenario("separate", separate, n, clients, time.monotonic() + timeout_s),
        ]
    finally:
        if demo is not None:
            demo.close()
            demo.voicetools.store.close()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)

    import torch

    report = {
        "benchmark": "app_load",
        "url_kind": "external loopback" if args.url else "in-process",
        "model": model,
        "server_concurrency": None if args.url else args.server_concurrency,
        "audio_s": args.audio_s,
        "timeout_s": timeout_s,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "gradio": gradio.__version__,
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "loadavg_1m_at_end": os.getloadavg()[0],
        },
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "provenance": provenance(used),
        "scenarios": results,
    }
    print("| scenario | requests | clients | ok | failed | p50 s | p90 s | p99 s | max s | req/s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        lat = r["latency_s"]
        cells = [f"{lat[k]:.3f}" if lat else "-" for k in ("p50", "p90", "p99", "max")]
        print(
            f"| {r['scenario']} | {r['requests']} | {r['clients']} | {r['ok']} | {r['failed']} | "
            f"{' | '.join(cells)} | {r['throughput_rps']:.2f} |"
        )
        for e in r["errors"]:
            print(f"  {r['scenario']} error: {e}", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0 if all(r["failed"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
