"""Separation metrics: SI-SDR, its improvement over the mixture, and the ideal-ratio-mask ceiling."""

from __future__ import annotations

import torch

from ..audio.frontend import istft, stft


def si_sdr(estimate: torch.Tensor, reference: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale-invariant SDR in dB (Le Roux et al. 2019) over the last axis; shapes broadcast."""
    estimate = estimate - estimate.mean(-1, keepdim=True)
    reference = reference - reference.mean(-1, keepdim=True)
    alpha = (estimate * reference).sum(-1, keepdim=True) / (reference.pow(2).sum(-1, keepdim=True) + eps)
    target = alpha * reference
    noise = estimate - target
    return 10 * torch.log10((target.pow(2).sum(-1) + eps) / (noise.pow(2).sum(-1) + eps))


def si_sdr_loss(estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Negative mean SI-SDR over batch and sources, in fixed source order (no permutation search)."""
    return -si_sdr(estimate, reference).mean()


def ideal_ratio_mask(mixture: torch.Tensor, sources: torch.Tensor, *, n_fft: int = 512) -> torch.Tensor:
    """Oracle separation with magnitude ratio masks from the true sources; the ceiling of masking.

    mixture: (time,), sources: (n_src, time) → (n_src, time).
    """
    spec_s = stft(sources, n_fft=n_fft).abs()
    mask = spec_s / (spec_s.sum(0, keepdim=True) + 1e-8)
    return istft(mask * stft(mixture, n_fft=n_fft)[None], n_fft=n_fft, length=mixture.shape[-1])
