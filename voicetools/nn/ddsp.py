"""A small DDSP decoder (Engel et al., ICLR 2020): F0 + loudness (+ voicing) per frame → harmonic
amplitudes and a filtered-noise spectrum, rendered by a differentiable harmonic-plus-noise synth.

The decoder is an MLP → GRU → MLP over frames; the synth is plain torch: harmonics of the
upsampled F0 with phase accumulated sample by sample, plus white noise shaped frame by frame in
the STFT domain of the shared front-end (``audio.frontend.stft``/``istft``). Trained with a
multi-scale spectral loss (``spectral_loss``) on one target timbre, it makes any melody sound like
that timbre: "timbre transfer".
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..audio.frontend import istft, stft


def exp_sigmoid(x: torch.Tensor, exponent: float = 10.0, max_value: float = 2.0) -> torch.Tensor:
    """DDSP's positive output nonlinearity: ``max_value · sigmoid(x) ** ln(exponent) + 1e-7``."""
    return max_value * torch.sigmoid(x) ** math.log(exponent) + 1e-7


def _mlp(n_in: int, n_hidden: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(n_in, n_hidden),
        nn.LayerNorm(n_hidden),
        nn.LeakyReLU(),
        nn.Linear(n_hidden, n_hidden),
        nn.LayerNorm(n_hidden),
        nn.LeakyReLU(),
    )


class DDSPDecoder(nn.Module):
    """(f0_hz, loudness_db, voiced), each (batch, frames) at ``hop_length`` → audio (batch, frames · hop).

    ``loudness_mean`` / ``loudness_std`` normalise the loudness input; ``loudness_ref_db`` is the
    training data's loud-frame level, to which an input is moved before decoding.
    """

    def __init__(
        self,
        *,
        sample_rate: int = 16000,
        hop_length: int = 128,
        n_harmonics: int = 48,
        n_noise_bands: int = 33,
        hidden: int = 128,
        loudness_mean: float = -40.0,
        loudness_std: float = 15.0,
        loudness_ref_db: float = -25.0,
    ):
        super().__init__()
        self.model_args = dict(
            sample_rate=sample_rate,
            hop_length=hop_length,
            n_harmonics=n_harmonics,
            n_noise_bands=n_noise_bands,
            hidden=hidden,
            loudness_mean=loudness_mean,
            loudness_std=loudness_std,
            loudness_ref_db=loudness_ref_db,
        )
        self.sample_rate, self.hop = sample_rate, hop_length
        self.n_harmonics, self.n_bands = n_harmonics, n_noise_bands
        self.inp = _mlp(3, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True)
        self.out = nn.Sequential(_mlp(2 * hidden, hidden), nn.Linear(hidden, 1 + n_harmonics + n_noise_bands))

    @classmethod
    def from_model_args(cls, args: dict) -> DDSPDecoder:
        return cls(**args)

    def controls(self, f0_hz: torch.Tensor, loudness_db: torch.Tensor, voiced: torch.Tensor) -> dict:
        a = self.model_args
        f0n = torch.where(voiced > 0, torch.log2(torch.clamp(f0_hz, min=20.0) / 440.0), torch.zeros_like(f0_hz))
        ln = (loudness_db - a["loudness_mean"]) / a["loudness_std"]
        h = self.inp(torch.stack([f0n, ln, voiced.float()], -1))
        g, _ = self.gru(h)
        o = self.out(torch.cat([g, h], -1))
        amp = exp_sigmoid(o[..., :1])
        dist = exp_sigmoid(o[..., 1 : 1 + self.n_harmonics])
        noise = exp_sigmoid(o[..., 1 + self.n_harmonics :] - 5.0)  # start quiet: noise is learned in
        return {"amplitude": amp, "harmonics": dist, "noise": noise}

    def _upsample(self, x: torch.Tensor, n: int) -> torch.Tensor:
        """(batch, frames, ch) → (batch, ch, n) by linear interpolation between frame centres."""
        return F.interpolate(x.transpose(1, 2), size=n, mode="linear", align_corners=True)

    def harmonic(self, f0_hz: torch.Tensor, controls: dict, *, phase0: torch.Tensor | None = None):
        """The harmonic part; returns (audio (batch, frames · hop), the phase at the end)."""
        b, t = f0_hz.shape
        n = t * self.hop
        k = torch.arange(1, self.n_harmonics + 1, device=f0_hz.device, dtype=f0_hz.dtype)
        dist = controls["harmonics"] * (f0_hz[..., None] * k < self.sample_rate / 2)  # no aliasing
        dist = dist / (dist.sum(-1, keepdim=True) + 1e-7)
        amps = self._upsample(controls["amplitude"] * dist, n)  # (b, H, n)
        f0 = self._upsample(f0_hz[..., None], n)[:, 0]
        omega = 2 * math.pi * f0.double() / self.sample_rate
        phase = torch.cumsum(omega, -1) + (phase0[:, None] if phase0 is not None else 0.0)
        end = phase[:, -1] % (2 * math.pi)
        phase = (phase % (2 * math.pi)).to(f0.dtype)
        return (amps * torch.sin(phase[:, None, :] * k[None, :, None])).sum(1), end

    def noise(self, controls: dict, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """White noise shaped by the per-frame band gains (interpolated over the STFT bins)."""
        b, t, nb = controls["noise"].shape
        n_fft = 2 * self.hop
        white = torch.rand(b, n, generator=generator, device=controls["noise"].device) * 2 - 1
        # (b, bins, t + 1); reflect padding needs more than half a window of signal
        spec = stft(white, n_fft=n_fft, hop_length=self.hop, pad_mode="reflect" if n > n_fft // 2 else "constant")
        gains = F.interpolate(controls["noise"], size=n_fft // 2 + 1, mode="linear", align_corners=True)
        gains = torch.cat([gains, gains[:, -1:]], 1)[:, : spec.shape[-1]].transpose(1, 2)
        return istft(spec * gains, n_fft=n_fft, hop_length=self.hop, length=n)

    def forward(self, f0_hz: torch.Tensor, loudness_db: torch.Tensor, voiced: torch.Tensor) -> torch.Tensor:
        c = self.controls(f0_hz, loudness_db, voiced)
        h, _ = self.harmonic(f0_hz, c)
        return h + self.noise(c, h.shape[-1])

    @torch.no_grad()
    def render(
        self,
        f0_hz: torch.Tensor,
        loudness_db: torch.Tensor,
        voiced: torch.Tensor,
        *,
        block_frames: int = 500,
        seed: int = 0,
    ) -> torch.Tensor:
        """Inference on a long sequence: the GRU sees it whole; the synth runs in blocks with the phase
        carried over, so memory stays small. (batch, frames) → (batch, frames · hop)."""
        c = self.controls(f0_hz, loudness_db, voiced)
        g = torch.Generator().manual_seed(seed)
        out, phase = [], None
        n = f0_hz.shape[1]
        starts = list(range(0, n, block_frames))
        if len(starts) > 1 and n - starts[-1] < 8:  # a tiny last block joins the one before
            starts.pop()
        for i, s in enumerate(starts):
            stop = starts[i + 1] if i + 1 < len(starts) else n
            e = min(n, stop + 1)  # one frame of overlap keeps interpolation continuous
            cb = {k: v[:, s:e] for k, v in c.items()}
            h, _ = self.harmonic(f0_hz[:, s:e], cb, phase0=phase)
            keep = (stop - s) * self.hop
            # the phase at the end of the kept part
            f0 = self._upsample(f0_hz[:, s:e, None], (e - s) * self.hop)[:, 0, :keep]
            phase = (
                (phase if phase is not None else 0.0) + torch.sum(2 * math.pi * f0.double() / self.sample_rate, -1)
            ) % (2 * math.pi)
            out.append(h[:, :keep] + self.noise(cb, h.shape[-1], generator=g)[:, :keep])
        return torch.cat(out, -1)


def spectral_loss(pred: torch.Tensor, target: torch.Tensor, fft_sizes=(2048, 1024, 512, 256, 128, 64)) -> torch.Tensor:
    """Multi-scale spectral loss: mean over sizes of L1(|S|) + L1(log |S|), the DDSP training loss."""
    loss = 0.0
    for n_fft in fft_sizes:
        p = stft(pred, n_fft=n_fft, hop_length=n_fft // 4).abs()
        t = stft(target, n_fft=n_fft, hop_length=n_fft // 4).abs()
        loss = loss + (p - t).abs().mean() + (torch.log(p + 1e-5) - torch.log(t + 1e-5)).abs().mean()
    return loss / len(fft_sizes)
