#!/usr/bin/env python
"""Choose the SATB model's test-time refinement on the VALIDATION chorales (never the test ones).

    python benchmarks/separation_refine.py                       # satb-convtasnet, the full grid
    python benchmarks/separation_refine.py --model runs/satb --limit 2

For each (shifts, Wiener mask power) it runs ``voicetools.separate`` (the path users get) on the 8
validation chorales, full length, each renderer alone, and prints mean SI-SDRi per renderer. The
best setting is what ``python -m voicetools.separation.train --export`` writes into the model's
config (``"inference"``), and so what ``separate`` uses by default. JSON:
``benchmarks/results/separation-refine.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from itertools import islice
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

import voicetools as vt
from voicetools.checkpoints import load_model
from voicetools.data.satb import SAMPLE_RATE, test_mixtures
from voicetools.separation.metrics import si_sdr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, provenance  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GRID = [(1, None), (4, None), (1, 2.0), (4, 1.0), (4, 1.5), (4, 2.0), (8, 1.5)]


def si_sdri(estimate: np.ndarray, mixture: np.ndarray, targets: np.ndarray) -> float:
    t = torch.from_numpy(targets)
    return float((si_sdr(torch.from_numpy(estimate), t) - si_sdr(torch.from_numpy(mixture)[None], t)).mean())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="satb-convtasnet")
    ap.add_argument("--limit", type=int, default=None, help="only the first N validation chorales")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "separation-refine.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    model = load_model(args.model)
    limit = None if args.limit is None else 2 * args.limit  # two renderers per chorale
    scores: dict[str, dict[str, list[float]]] = {}
    for _name, renderer, mixture, targets in tqdm(
        islice(test_mixtures("valid"), limit), file=sys.stderr, desc="valid", total=limit or 16
    ):
        for shifts, power in GRID:
            stems = vt.separate(
                mixture,
                sample_rate=SAMPLE_RATE,
                model=_with_power(model, power),
                shifts=shifts,
                wiener=power is not None,
            )
            est = np.stack([stems.stems[k][0] for k in model.sources]).astype(np.float32)
            scores.setdefault(f"{shifts}|{power}", {}).setdefault(renderer, []).append(
                si_sdri(est, mixture.astype(np.float32), targets.astype(np.float32))
            )
    rows, results = [], []
    for key, per in scores.items():
        shifts, power = key.split("|")
        means = {r: float(np.mean(v)) for r, v in per.items()}
        overall = float(np.mean(sum(per.values(), [])))
        results.append(
            {
                "shifts": int(shifts),
                "wiener_power": None if power == "None" else float(power),
                "si_sdri": means,
                "mean_si_sdri": overall,
                "n": sum(len(v) for v in per.values()),
            }
        )
        rows.append(
            f"| {shifts} | {power if power != 'None' else 'off'} | "
            + " | ".join(f"{means[r]:.2f}" for r in sorted(means))
            + f" | {overall:.2f} |"
        )
    renderers = sorted(next(iter(scores.values())))
    print(f"## Test-time refinement on the validation chorales ({args.model})\n")
    print("| shifts | Wiener power | " + " | ".join(renderers) + " | mean SI-SDRi |")
    print("| --- | --- | " + " | ".join("---" for _ in renderers) + " | --- |")
    print("\n".join(rows))
    best = max(results, key=lambda r: r["mean_si_sdri"])
    print(
        f"\nbest: shifts {best['shifts']}, Wiener power {best['wiener_power']} "
        f"({best['mean_si_sdri']:.2f} dB; bare network {results[0]['mean_si_sdri']:.2f} dB)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "model": args.model,
        "grid": results,
        "best": best,
        "machine": machine_info(1),
        "provenance": provenance([args.model]),
    }
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


def _with_power(model, power: float | None):
    """The same network with ``power`` as its own Wiener setting (None: unchanged, Wiener off)."""
    from voicetools.checkpoints import LoadedModel

    if power is None:
        return model
    config = {**model.config, "inference": {**model.config.get("inference", {}), "wiener_power": power}}
    return LoadedModel(model.name, model.model, config)


if __name__ == "__main__":
    sys.exit(main())
