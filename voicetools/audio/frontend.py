"""The one spectrogram front-end of voicetools: STFT, inverse STFT, mel and log-mel, in torch.

Every task that needs a time-frequency view takes it from here, so a model trained on one task's
features sees the same features at inference and in every other task.
"""

from __future__ import annotations

import functools

import torch


@functools.lru_cache(maxsize=16)
def _window(n_fft: int) -> torch.Tensor:
    return torch.hann_window(n_fft)


def stft(audio: torch.Tensor, *, n_fft: int = 1024, hop_length: int | None = None) -> torch.Tensor:
    """Complex STFT. audio: (..., time) → (..., n_fft // 2 + 1, frames), Hann window, centred."""
    hop = hop_length or n_fft // 4
    shape = audio.shape
    spec = torch.stft(audio.reshape(-1, shape[-1]), n_fft, hop, window=_window(n_fft).to(audio.device),
                      center=True, return_complex=True)
    return spec.reshape(*shape[:-1], *spec.shape[-2:])


def istft(spec: torch.Tensor, *, n_fft: int = 1024, hop_length: int | None = None, length: int) -> torch.Tensor:
    """Inverse of ``stft``: (..., freqs, frames) → (..., length)."""
    hop = hop_length or n_fft // 4
    shape = spec.shape
    audio = torch.istft(spec.reshape(-1, *shape[-2:]), n_fft, hop, window=_window(n_fft).to(spec.device),
                        center=True, length=length)
    return audio.reshape(*shape[:-2], length)


def _hz_to_mel(f):
    return 2595.0 * torch.log10(1.0 + f / 700.0)


def _mel_to_hz(m):
    return 700.0 * (10 ** (m / 2595.0) - 1.0)


@functools.lru_cache(maxsize=16)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, f_min: float = 0.0,
                   f_max: float | None = None) -> torch.Tensor:
    """Triangular HTK-mel filters, shape (n_mels, n_fft // 2 + 1), area-normalised (Slaney style)."""
    f_max = f_max or sample_rate / 2
    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    mels = torch.linspace(_hz_to_mel(torch.tensor(f_min)), _hz_to_mel(torch.tensor(f_max)), n_mels + 2)
    hz = _mel_to_hz(mels)
    lower, center, upper = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    up = (freqs[None] - lower) / (center - lower)
    down = (upper - freqs[None]) / (upper - center)
    fb = torch.clamp(torch.minimum(up, down), min=0.0)
    return fb * (2.0 / (upper - lower))


def mel_spectrogram(audio: torch.Tensor, *, sample_rate: int, n_fft: int = 1024, hop_length: int | None = None,
                    n_mels: int = 64, f_min: float = 0.0, f_max: float | None = None) -> torch.Tensor:
    """Power mel spectrogram: (..., time) → (..., n_mels, frames)."""
    power = stft(audio, n_fft=n_fft, hop_length=hop_length).abs() ** 2
    fb = mel_filterbank(sample_rate, n_fft, n_mels, f_min, f_max).to(audio.device)
    return torch.matmul(fb, power)


def log_mel_spectrogram(audio: torch.Tensor, *, sample_rate: int, n_fft: int = 1024, hop_length: int | None = None,
                        n_mels: int = 64, f_min: float = 0.0, f_max: float | None = None,
                        floor_db: float = -100.0) -> torch.Tensor:
    """Log-mel in dB (10·log10 power), floored at ``floor_db``: (..., time) → (..., n_mels, frames)."""
    mel = mel_spectrogram(audio, sample_rate=sample_rate, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels,
                          f_min=f_min, f_max=f_max)
    return torch.clamp(10.0 * torch.log10(mel + 1e-10), min=floor_db)
