"""Rendered training stems on disk, shared by the SATB and vocal-extraction data: each example is
one ``<name>-v<version>.npy`` file of float16 stems (sources, samples), written atomically, rendered
in parallel and resumably, and read back as memory-mapped random crops."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm


def stem_path(out_dir: Path, name: str, index: int) -> Path:
    return Path(out_dir) / f"{name.replace('/', '_')}-v{index}.npy"


def save_stems(path: Path, stems: np.ndarray) -> Path:
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, stems.astype(np.float16))
    tmp.rename(path)  # a crash never leaves a half-written file that looks finished
    return path


def render_splits(out_dir: Path, splits, render_one: Callable, work_of: Callable, *, jobs: int) -> list[Path]:
    """``render_one(item) -> path`` in ``jobs`` processes for every item of ``work_of(split, folder)``,
    split by split into ``out_dir/<split>/``; files already there are skipped by ``render_one``."""
    paths = []
    for split in splits:
        d = Path(out_dir) / split
        d.mkdir(parents=True, exist_ok=True)
        work = work_of(split, d)
        with ProcessPoolExecutor(jobs) as pool:
            paths += list(tqdm(pool.map(render_one, work), total=len(work), desc=f"render {split}"))
    return paths


def random_level(targets: np.ndarray, rng: np.random.Generator, *, peak: float):
    """(mixture, targets) of summed ``targets`` scaled together to a random level 0 to 12 dB below ``peak``."""
    mixture = targets.sum(0)
    scale = 10 ** (rng.uniform(-12, 0) / 20) * peak / (np.abs(mixture).max() + 1e-9)
    return mixture * scale, targets * scale


class StemCrops(torch.utils.data.IterableDataset):
    """Base of the endless, dynamically mixed training sets: the rendered files, memory-mapped, and
    one random generator per data-loader worker."""

    def __init__(self, files, *, segment_s: float, sample_rate: int, seed: int, missing: str):
        self.files = sorted(Path(f) for f in files)
        if not self.files:
            raise FileNotFoundError(missing)
        self.stems = [np.load(f, mmap_mode="r") for f in self.files]
        self.segment = int(segment_s * sample_rate)
        self.sample_rate, self.seed = sample_rate, seed

    def worker_rng(self) -> np.random.Generator:
        info = torch.utils.data.get_worker_info()
        return np.random.default_rng([self.seed, info.id if info else 0])
