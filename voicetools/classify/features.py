"""Clips → fixed-length mono waveforms → log-mels, through the one front-end, cached on disk.

Every clip is read with ``audio.io.load_audio``, downmixed to mono, resampled once to the model's
rate and cut to ``clip_s`` seconds: longer clips keep their centre, shorter ones are zero-padded at
the end (so a 1 s dog bark in a 4 s window is the bark followed by silence). Clips that cannot be
read are skipped and reported with a count and their messages — never silently.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..audio.frontend import log_mel_spectrogram
from ..audio.io import Audio, load_audio, resample, to_mono
from ..errors import AudioLoadError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeatureConfig:
    sample_rate: int = 16000
    clip_s: float = 3.0
    n_fft: int = 1024
    hop_length: int = 320
    n_mels: int = 64

    @property
    def n_samples(self) -> int:
        return int(round(self.clip_s * self.sample_rate))

    @property
    def n_frames(self) -> int:
        return self.n_samples // self.hop_length + 1

    def frontend(self) -> dict:
        return dict(sample_rate=self.sample_rate, n_fft=self.n_fft, hop_length=self.hop_length, n_mels=self.n_mels)

    @classmethod
    def from_model_args(cls, a: dict) -> FeatureConfig:
        return cls(a["sample_rate"], a["clip_s"], a["n_fft"], a["hop_length"], a["n_mels"])


def fix_length(x: np.ndarray, n: int) -> np.ndarray:
    """Centre-crop or zero-pad (at the end) the last axis to ``n`` samples."""
    if x.shape[-1] > n:
        start = (x.shape[-1] - n) // 2
        return x[..., start : start + n]
    if x.shape[-1] < n:
        pad = [(0, 0)] * (x.ndim - 1) + [(0, n - x.shape[-1])]
        return np.pad(x, pad)
    return x


def prepare(audio: Audio, sample_rate: int) -> np.ndarray:
    """Any ``Audio`` → mono float32 (time,) at ``sample_rate``."""
    x = to_mono(audio.samples)
    return resample(x, audio.sample_rate, sample_rate)[0].numpy().astype(np.float32)


def load_clip(path, cfg: FeatureConfig) -> np.ndarray:
    # no minimum length: datasets hold slices of a few ms (UrbanSound8K), zero-padded like any short clip
    return fix_length(prepare(load_audio(path, min_duration_s=0), cfg.sample_rate), cfg.n_samples)


def logmel(waves: torch.Tensor | np.ndarray, cfg: FeatureConfig) -> torch.Tensor:
    """(batch, samples) → (batch, n_mels, frames) log-mel in dB."""
    return log_mel_spectrogram(torch.as_tensor(waves, dtype=torch.float32), **cfg.frontend())


@dataclass
class Features:
    """Cached features of a dataset: rows in the dataset's clip order, ``ok`` marks readable clips."""

    config: FeatureConfig
    waves: np.ndarray  # (n, samples) int16
    mels: np.ndarray  # (n, n_mels, frames) float32
    ok: np.ndarray  # (n,) bool
    content: list[str]  # hash of each clip's decoded audio ("" when unreadable)
    errors: list[tuple[str, str]] = field(default_factory=list)

    def wave(self, idx) -> np.ndarray:
        return self.waves[idx].astype(np.float32) / 32767.0


def _cache_key(paths: list[Path], cfg: FeatureConfig) -> str:
    h = hashlib.sha1(json.dumps(asdict(cfg), sort_keys=True).encode())
    for p in paths:
        try:
            st = p.stat()
            h.update(f"{p}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{p}|missing\n".encode())
    return h.hexdigest()[:20]


def extract(
    paths: list[Path], cfg: FeatureConfig, *, cache_dir: str | Path | None = None, threads: int = 2, callback=None
) -> Features:
    """Waveforms and log-mels for ``paths``; reuses ``cache_dir/features-<key>.npz`` when the files,
    their sizes/mtimes and the settings are unchanged."""
    paths = [Path(p) for p in paths]
    cache = Path(cache_dir) / f"features-{_cache_key(paths, cfg)}.npz" if cache_dir else None
    if cache is not None and cache.is_file():
        z = np.load(cache, allow_pickle=False)
        errors = [tuple(e.split("\t", 1)) for e in z["errors"].tolist()]
        log.info("features from cache %s", cache)
        return Features(cfg, z["waves"], z["mels"], z["ok"], z["content"].tolist(), errors)
    n = len(paths)
    waves = np.zeros((n, cfg.n_samples), np.int16)
    ok = np.zeros(n, bool)
    content = [""] * n
    errors: list[tuple[str, str]] = []

    def one(i):
        try:
            return i, load_clip(paths[i], cfg), None
        except AudioLoadError as exc:
            return i, None, str(exc)

    done = 0
    with ThreadPoolExecutor(max(1, threads)) as pool:
        for i, x, err in pool.map(one, range(n)):
            done += 1
            if callback:
                callback("features", done, n)
            if err is not None:
                errors.append((str(paths[i]), err))
                continue
            q = np.round(np.clip(x, -1, 1) * 32767).astype(np.int16)
            waves[i], ok[i] = q, True
            content[i] = hashlib.sha1(q.tobytes()).hexdigest()[:16] if np.any(q) else f"silent-{i}"
    mels = np.zeros((n, cfg.n_mels, cfg.n_frames), np.float32)
    for s in range(0, n, 64):
        mels[s : s + 64] = logmel(waves[s : s + 64].astype(np.float32) / 32767.0, cfg).numpy()
    feats = Features(cfg, waves, mels, ok, content, errors)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.stem}-{os.getpid()}.tmp.npz")  # ranks/processes never share a tmp file
        np.savez(
            tmp,
            waves=waves,
            mels=mels,
            ok=ok,
            content=np.array(content),
            errors=np.array(["\t".join(e) for e in errors], dtype=str),
        )
        tmp.replace(cache)
    return feats
