"""The one spectrogram front-end of voicetools: STFT, inverse STFT, mel and log-mel, in torch.

Every task that needs a time-frequency view takes it from here, so a model trained on one task's
features sees the same features at inference and in every other task.
"""

from __future__ import annotations

import functools
import math

import torch


@functools.lru_cache(maxsize=16)
def _window(n_fft: int) -> torch.Tensor:
    with torch.inference_mode(False):  # cached: one made under inference_mode would break a later backward pass
        return torch.hann_window(n_fft)


def stft(
    audio: torch.Tensor, *, n_fft: int = 1024, hop_length: int | None = None, pad_mode: str = "reflect"
) -> torch.Tensor:
    """Complex STFT. audio: (..., time) → (..., n_fft // 2 + 1, frames), Hann window, centred
    (the ends padded by ``pad_mode``: "reflect", or "constant" as librosa ≥ 0.10 does)."""
    hop = hop_length or n_fft // 4
    shape = audio.shape
    spec = torch.stft(
        audio.reshape(-1, shape[-1]),
        n_fft,
        hop,
        window=_window(n_fft).to(audio.device),
        center=True,
        pad_mode=pad_mode,
        return_complex=True,
    )
    return spec.reshape(*shape[:-1], *spec.shape[-2:])


def istft(spec: torch.Tensor, *, n_fft: int = 1024, hop_length: int | None = None, length: int) -> torch.Tensor:
    """Inverse of ``stft``: (..., freqs, frames) → (..., length)."""
    hop = hop_length or n_fft // 4
    shape = spec.shape
    audio = torch.istft(
        spec.reshape(-1, *shape[-2:]), n_fft, hop, window=_window(n_fft).to(spec.device), center=True, length=length
    )
    return audio.reshape(*shape[:-2], length)


# Slaney's mel scale (librosa's default): linear below 1 kHz, logarithmic above
_SLANEY_BREAK_HZ, _SLANEY_STEP_HZ, _SLANEY_LOGSTEP = 1000.0, 200.0 / 3, math.log(6.4) / 27.0


def hz_to_mel(f, scale: str = "htk"):
    if scale == "htk":
        return 2595.0 * torch.log10(1.0 + f / 700.0)
    lin = f / _SLANEY_STEP_HZ
    log = _SLANEY_BREAK_HZ / _SLANEY_STEP_HZ + torch.log(torch.clamp(f, min=1e-9) / _SLANEY_BREAK_HZ) / _SLANEY_LOGSTEP
    return torch.where(f >= _SLANEY_BREAK_HZ, log, lin)


def mel_to_hz(m, scale: str = "htk"):
    if scale == "htk":
        return 700.0 * (10 ** (m / 2595.0) - 1.0)
    brk = _SLANEY_BREAK_HZ / _SLANEY_STEP_HZ
    return torch.where(m >= brk, _SLANEY_BREAK_HZ * torch.exp(_SLANEY_LOGSTEP * (m - brk)), m * _SLANEY_STEP_HZ)


@functools.lru_cache(maxsize=16)
def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, f_min: float = 0.0, f_max: float | None = None, scale: str = "htk"
) -> torch.Tensor:
    """Triangular mel filters, shape (n_mels, n_fft // 2 + 1), area-normalised (Slaney style).

    ``scale``: "htk" (2595·log10(1 + f/700)) or "slaney" (librosa's default, which pretrained
    models such as Resemblyzer's speaker encoder were trained with).
    """
    if scale not in ("htk", "slaney"):
        raise ValueError(f"mel scale must be 'htk' or 'slaney', got {scale!r}")
    f_max = f_max or sample_rate / 2
    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    edges = torch.tensor([f_min, f_max], dtype=torch.float64)
    mels = torch.linspace(*hz_to_mel(edges, scale).tolist(), n_mels + 2, dtype=torch.float64)
    hz = mel_to_hz(mels, scale)
    lower, center, upper = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    up = (freqs[None] - lower) / (center - lower)
    down = (upper - freqs[None]) / (upper - center)
    fb = torch.clamp(torch.minimum(up, down), min=0.0)
    return (fb * (2.0 / (upper - lower))).float()


def mel_spectrogram(
    audio: torch.Tensor,
    *,
    sample_rate: int,
    n_fft: int = 1024,
    hop_length: int | None = None,
    n_mels: int = 64,
    f_min: float = 0.0,
    f_max: float | None = None,
    mel_scale: str = "htk",
    pad_mode: str = "reflect",
) -> torch.Tensor:
    """Power mel spectrogram: (..., time) → (..., n_mels, frames)."""
    power = stft(audio, n_fft=n_fft, hop_length=hop_length, pad_mode=pad_mode).abs() ** 2
    fb = mel_filterbank(sample_rate, n_fft, n_mels, f_min, f_max, mel_scale).to(audio.device)
    return torch.matmul(fb, power)


def log_mel_spectrogram(
    audio: torch.Tensor,
    *,
    sample_rate: int,
    n_fft: int = 1024,
    hop_length: int | None = None,
    n_mels: int = 64,
    f_min: float = 0.0,
    f_max: float | None = None,
    floor_db: float = -100.0,
) -> torch.Tensor:
    """Log-mel in dB (10·log10 power), floored at ``floor_db``: (..., time) → (..., n_mels, frames)."""
    mel = mel_spectrogram(
        audio, sample_rate=sample_rate, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, f_min=f_min, f_max=f_max
    )
    return torch.clamp(10.0 * torch.log10(mel + 1e-10), min=floor_db)
