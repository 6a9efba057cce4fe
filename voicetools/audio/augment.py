"""Train-time augmentations on numpy signals; every function takes an explicit seeded generator."""

from __future__ import annotations

import numpy as np
import soxr
import torch


def room_impulse_response(
    sample_rate: int, rng: np.random.Generator, *, rt60_s: float | None = None, predelay_s: float | None = None
) -> np.ndarray:
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
    from scipy.signal import fftconvolve  # scipy.signal takes most of a second to import: only when used

    return fftconvolve(x, ir.reshape((1,) * (x.ndim - 1) + (-1,)), axes=-1)[..., : x.shape[-1]].astype(np.float32)


def random_eq(
    x: np.ndarray, sample_rate: int, rng: np.random.Generator, *, max_db: float = 6.0, points: int = 6
) -> np.ndarray:
    """Colour a signal (last axis) like another microphone or mix: a smooth random gain curve.

    Gains of up to ±``max_db`` at ``points`` log-spaced frequencies (50 Hz to Nyquist), joined
    linearly in dB over log frequency and applied in one FFT; the length is kept.
    """
    n = x.shape[-1]
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    anchors = np.geomspace(50.0, sample_rate / 2, points)
    gains_db = rng.uniform(-max_db, max_db, size=points)
    curve = 10 ** (np.interp(np.log(np.maximum(freqs, 1.0)), np.log(anchors), gains_db) / 20)
    return np.fft.irfft(np.fft.rfft(x, axis=-1) * curve, n=n, axis=-1).astype(np.float32)


def change_speed(x: np.ndarray, factor: float) -> np.ndarray:
    """Play a 1-D signal ``factor`` times faster: pitch and tempo change together, as a tape does."""
    if factor == 1.0:
        return np.asarray(x, np.float32).copy()
    return soxr.resample(np.asarray(x, np.float32), factor, 1.0).astype(np.float32)


# --- classifier augmentations: train-time only, every random choice from the caller's generator ---


def time_shift(x: np.ndarray, max_shift_s: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Shift along the last axis by a uniform ±``max_shift_s``; the gap is filled with zeros."""
    n = int(round(rng.uniform(-max_shift_s, max_shift_s) * sample_rate))
    if n == 0:
        return x.copy()
    y = np.zeros_like(x)
    if n > 0:
        y[..., n:] = x[..., :-n]
    else:
        y[..., :n] = x[..., -n:]
    return y


def add_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator, *, noise: np.ndarray | None = None) -> np.ndarray:
    """Mix background ``noise`` (a random excerpt, looped if short; white noise if None) at ``snr_db``.

    The SNR is signal power over noise power of the mixed-in noise; a silent ``x`` stays silent.
    """
    n = x.shape[-1]
    if noise is None:
        bg = rng.standard_normal(n).astype(np.float32)
    else:
        noise = np.asarray(noise, np.float32).reshape(-1)
        reps = int(np.ceil(n / len(noise))) + 1
        looped = np.tile(noise, reps)
        start = int(rng.integers(0, len(looped) - n + 1))
        bg = looped[start : start + n]
    p_sig = float(np.mean(x.astype(np.float64) ** 2))
    p_bg = float(np.mean(bg.astype(np.float64) ** 2)) + 1e-20
    if p_sig == 0.0:
        return x.copy()
    scale = np.sqrt(p_sig / (p_bg * 10 ** (snr_db / 10)))
    return (x + scale * bg).astype(np.float32)


def _phase_vocoder(x: np.ndarray, rate: float, n_fft: int = 512, hop: int = 128) -> np.ndarray:
    """Time-stretch a 1-D signal by 1/``rate`` (rate < 1: longer) keeping its pitch."""
    from scipy.signal import istft, stft  # slow to import: only when needed

    _, _, spec = stft(x, nperseg=n_fft, noverlap=n_fft - hop, boundary="zeros")
    steps = np.arange(0, spec.shape[1] - 1, rate)
    omega = 2 * np.pi * hop * np.arange(spec.shape[0]) / n_fft
    phase = np.angle(spec[:, 0])
    out = np.empty((spec.shape[0], len(steps)), dtype=complex)
    for i, t in enumerate(steps):
        k = int(t)
        a, b = spec[:, k], spec[:, k + 1]
        frac = t - k
        out[:, i] = ((1 - frac) * np.abs(a) + frac * np.abs(b)) * np.exp(1j * phase)
        dphi = np.angle(b) - np.angle(a) - omega
        dphi -= 2 * np.pi * np.round(dphi / (2 * np.pi))
        phase = phase + omega + dphi
    _, y = istft(out, nperseg=n_fft, noverlap=n_fft - hop, boundary=True)
    return y.astype(np.float32)


def pitch_shift(x: np.ndarray, semitones: float) -> np.ndarray:
    """Shift the pitch of a 1-D signal by ``semitones`` keeping its length and tempo.

    Phase-vocoder time stretch by 2^(semitones/12), then resampling back to the input length.
    """
    from scipy.signal import resample  # slow to import: only when needed

    if semitones == 0:
        return x.copy()
    ratio = 2.0 ** (semitones / 12.0)
    stretched = _phase_vocoder(np.asarray(x, np.float64), 1.0 / ratio)
    return resample(stretched, len(x)).astype(np.float32)


def spec_augment(
    logmel, generator, *, freq_masks: int = 2, freq_width: int = 8, time_masks: int = 2, time_width: int = 20
):
    """SpecAugment masking on a batch (batch, n_mels, frames) of log-mels (a new tensor).

    Each clip gets ``freq_masks`` bands of up to ``freq_width`` mel bins and ``time_masks`` spans of
    up to ``time_width`` frames set to that clip's mean; ``generator`` is a seeded ``torch.Generator``.
    """
    x = logmel.clone()
    b, f, t = x.shape
    fill = x.mean(dim=(1, 2))
    for i in range(b):
        for _ in range(freq_masks):
            w = int(torch.randint(0, freq_width + 1, (1,), generator=generator))
            s = int(torch.randint(0, max(1, f - w), (1,), generator=generator))
            x[i, s : s + w, :] = fill[i]
        for _ in range(time_masks):
            w = int(torch.randint(0, min(time_width, t) + 1, (1,), generator=generator))
            s = int(torch.randint(0, max(1, t - w), (1,), generator=generator))
            x[i, :, s : s + w] = fill[i]
    return x


def mixup(x, y, alpha: float, rng: np.random.Generator):
    """Mixup (Zhang et al. 2018) on a batch: returns (mixed x, y, y of the partner, lambda).

    lambda ~ Beta(alpha, alpha); the loss is ``lam * CE(logits, y) + (1 - lam) * CE(logits, y_partner)``.
    """
    lam = float(rng.beta(alpha, alpha)) if alpha > 0 else 1.0
    perm = torch.from_numpy(rng.permutation(x.shape[0]))
    return lam * x + (1 - lam) * x[perm], y, y[perm], lam
