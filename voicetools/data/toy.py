"""Tiny synthetic labelled datasets written in the exact layouts of the real ones.

For tests, benchmarks and demos where UrbanSound8K, ESC-50, CREMA-D or GTZAN are not on disk.
Each class is a signal with a known answer a small model can learn from a log-mel — a steady tone,
white noise, a high tone, a rising chirp, tone pulses, a two-tone chord — with per-clip jitter
(frequency ±4 %, level, onset) and per-group (speaker/artist) frequency offsets, so grouping
matters the way it does in real data.

    python -m voicetools.data.toy --layout urbansound8k --out /tmp/us8k
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import soundfile as sf

from .labelled import CREMAD_EMOTIONS, GTZAN_GENRES, RAVDESS_EMOTIONS

LAYOUTS = ("urbansound8k", "esc50", "ravdess", "cremad", "gtzan", "folder")
N_KINDS = 6


def toy_signal(
    kind: int, rng: np.random.Generator, *, sample_rate: int = 8000, seconds: float = 1.0, group_scale: float = 1.0
) -> np.ndarray:
    """One clip of signal class ``kind`` (0..5), float32 in [-1, 1]."""
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    s = group_scale * rng.uniform(0.96, 1.04)
    k = kind % N_KINDS
    if k == 0:
        x = np.sin(2 * np.pi * 300 * s * t)
    elif k == 1:
        x = rng.standard_normal(n) * 0.5
    elif k == 2:
        x = np.sin(2 * np.pi * 1800 * s * t)
    elif k == 3:
        f = np.linspace(250, 2500, n) * s
        x = np.sin(2 * np.pi * np.cumsum(f) / sample_rate)
    elif k == 4:
        x = np.sin(2 * np.pi * 800 * s * t) * (np.sin(2 * np.pi * 6 * t) > 0.3)
    else:
        x = 0.5 * np.sin(2 * np.pi * 500 * s * t) + 0.5 * np.sin(2 * np.pi * 1100 * s * t)
    x = x * rng.uniform(0.2, 0.6) + rng.standard_normal(n) * 0.003
    shift = int(rng.uniform(0, 0.1) * n)
    x = np.concatenate([np.zeros(shift), x[: n - shift]])
    return np.clip(x, -1, 1).astype(np.float32)


def _write(path: Path, x: np.ndarray, sample_rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, sample_rate, subtype="PCM_16")


def make_toy_dataset(
    root: str | Path,
    layout: str,
    *,
    n_classes: int = 3,
    n_groups: int = 4,
    clips_per_group: int = 2,
    sample_rate: int = 8000,
    seconds: float = 1.0,
    seed: int = 0,
) -> Path:
    """Write a toy dataset under ``root`` in ``layout``; returns ``root``.

    ``n_groups`` are the folds (UrbanSound8K, ESC-50, folder CSV), actors (RAVDESS), speakers
    (CREMA-D) or artists (GTZAN, written to ``artists.csv``); each group has ``clips_per_group``
    clips of every class.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose one of {LAYOUTS}")
    root = Path(root)
    rng = np.random.default_rng(seed)
    scales = np.linspace(0.9, 1.1, n_groups)
    rows = []

    def clip(kind, g):
        return toy_signal(kind, rng, sample_rate=sample_rate, seconds=seconds, group_scale=scales[g])

    if layout == "urbansound8k":
        classes = ["air_conditioner", "car_horn", "siren", "children_playing", "dog_bark", "engine_idling"]
        kinds = [1, 0, 3, 5, 4, 2]
        for g in range(n_groups):
            for c in range(n_classes):
                for j in range(clips_per_group):
                    fs = 1000 + 100 * g + 10 * c + j
                    name = f"{fs}-{c}-0-{j}.wav"
                    _write(root / "audio" / f"fold{g + 1}" / name, clip(kinds[c], g), sample_rate)
                    rows.append(
                        {
                            "slice_file_name": name,
                            "fsID": fs,
                            "start": 0.0,
                            "end": seconds,
                            "salience": 1,
                            "fold": g + 1,
                            "classID": c,
                            "class": classes[c],
                        }
                    )
        _csv(root / "metadata" / "UrbanSound8K.csv", rows)
    elif layout == "esc50":
        classes = ["dog", "rain", "siren", "clock_tick", "crow", "wind"]
        kinds = [0, 1, 3, 4, 2, 5]
        for g in range(n_groups):
            for c in range(n_classes):
                for j in range(clips_per_group):
                    src = 100000 + 1000 * g + 10 * c + j
                    name = f"{g + 1}-{src}-A-{c}.wav"
                    _write(root / "audio" / name, clip(kinds[c], g), sample_rate)
                    rows.append(
                        {
                            "filename": name,
                            "fold": g + 1,
                            "target": c,
                            "category": classes[c],
                            "esc10": "False",
                            "src_file": src,
                            "take": "A",
                        }
                    )
        _csv(root / "meta" / "esc50.csv", rows)
    elif layout == "ravdess":
        codes = list(RAVDESS_EMOTIONS)[:n_classes]
        for g in range(n_groups):
            actor = f"{g + 1:02d}"
            for c, code in enumerate(codes):
                for j in range(clips_per_group):
                    name = f"03-01-{code}-01-{1 + j % 2:02d}-{1 + j // 2:02d}-{actor}.wav"
                    _write(root / f"Actor_{actor}" / name, clip(c, g), sample_rate)
    elif layout == "cremad":
        codes = list(CREMAD_EMOTIONS)[:n_classes]
        sentences = ["DFA", "IEO", "ITS", "TIE", "IOM", "IWW"]
        for g in range(n_groups):
            for c, code in enumerate(codes):
                for j in range(clips_per_group):
                    name = f"{1001 + g}_{sentences[j % len(sentences)]}_{code}_{'XX' if j < 6 else 'HI'}.wav"
                    _write(root / "AudioWAV" / name, clip(c, g), sample_rate)
    elif layout == "gtzan":
        genres = list(GTZAN_GENRES)[:n_classes]
        n = {g: 0 for g in genres}
        for g in range(n_groups):
            for c, genre in enumerate(genres):
                for _ in range(clips_per_group):
                    name = f"{genre}.{n[genre]:05d}.wav"
                    n[genre] += 1
                    _write(root / "genres_original" / genre / name, clip(c, g), sample_rate)
                    rows.append({"path": f"{genre}/{name}", "artist": f"artist{g}"})
        _csv(root / "artists.csv", rows)
    else:  # folder
        labels = ["tone", "noise", "high", "chirp", "pulses", "chord"][:n_classes]
        for g in range(n_groups):
            for c, label in enumerate(labels):
                for j in range(clips_per_group):
                    name = f"{label}-{g}-{j}.wav"
                    _write(root / label / name, clip(c, g), sample_rate)
                    rows.append({"path": f"{label}/{name}", "fold": g + 1})
        _csv(root / "folds.csv", rows)
    return root


def _csv(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Write a tiny synthetic labelled dataset in a real layout.")
    ap.add_argument("--layout", choices=LAYOUTS, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--classes", type=int, default=3)
    ap.add_argument("--groups", type=int, default=4)
    ap.add_argument("--clips-per-group", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--sample-rate", type=int, default=8000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    make_toy_dataset(
        a.out,
        a.layout,
        n_classes=a.classes,
        n_groups=a.groups,
        clips_per_group=a.clips_per_group,
        sample_rate=a.sample_rate,
        seconds=a.seconds,
        seed=a.seed,
    )
    print(a.out)


if __name__ == "__main__":
    main()
