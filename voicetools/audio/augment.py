"""Train-time augmentations on numpy signals; every function takes an explicit seeded generator."""

from __future__ import annotations

import numpy as np
from scipy.signal import fftconvolve


def room_impulse_response(sample_rate: int, rng: np.random.Generator, *, rt60_s: float | None = None,
                          predelay_s: float | None = None) -> np.ndarray:
    """A synthetic room: direct sound, sparse early reflections and an exponentially decaying tail.

    The direct path is normalised to 1 at index 0, so the response keeps the signal's timing.
    """
    rt60 = rt60_s if rt60_s is not None else rng.uniform(0.2, 1.6)
    predelay = predelay_s if predelay_s is not None else rng.uniform(0.005, 0.03)
    n = int(sample_rate * min(rt60, 2.0))
    t = np.arange(n) / sample_rate
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)  # -60 dB at rt60
    tail[: int(predelay * sample_rate)] = 0.0
    for _ in range(6):  # early reflections
        i = int(rng.uniform(predelay, predelay + 0.05) * sample_rate)
        if i < n:
            tail[i] += rng.uniform(-0.6, 0.6)
    wet = 10 ** (rng.uniform(-14, -2) / 20)
    ir = tail / (np.sqrt(np.sum(tail**2)) + 1e-12) * wet
    ir[0] += 1.0
    return ir.astype(np.float32)


def reverberate(x: np.ndarray, ir: np.ndarray) -> np.ndarray:
    """Convolve along the last axis and keep the input length."""
    return fftconvolve(x, ir.reshape((1,) * (x.ndim - 1) + (-1,)), axes=-1)[..., : x.shape[-1]].astype(np.float32)
