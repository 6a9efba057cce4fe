"""Vocal-extraction metrics: SDR as the Music Demixing challenges define it, beside SI-SDR and the IRM.

``sdr`` is the plain signal-to-distortion ratio 10·log10(‖s‖² / ‖s − ŝ‖²) (no projection, no
filter allowance), the "new SDR" of MDX 2021 and of Demucs' own evaluation; SI-SDR and the oracle
ideal-ratio-mask ceiling come from ``voicetools.separation.metrics``.
"""

from __future__ import annotations

import torch

from ..separation.metrics import ideal_ratio_mask, si_sdr

__all__ = ["sdr", "si_sdr", "ideal_ratio_mask"]


def sdr(estimate: torch.Tensor, reference: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """SDR in dB over the last axis (shapes broadcast); eps keeps silent references finite."""
    num = reference.pow(2).sum(-1) + eps
    den = (reference - estimate).pow(2).sum(-1) + eps
    return 10 * torch.log10(num / den)
