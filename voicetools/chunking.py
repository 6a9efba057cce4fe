"""Run a model over audio of any length in fixed chunks, joined by overlap-add, while streaming.

``OverlapAdd`` takes input blocks of any size and gives back finished output blocks as soon as
no later chunk can still change them, so memory depends on the chunk size, not on the file.
It is model-agnostic: ``fn`` maps a (channels, segment) tensor to (n_out, segment).
"""

from __future__ import annotations

from collections.abc import Callable

import torch


class OverlapAdd:
    """Streaming chunked inference with linear cross-fades.

    Every chunk is exactly ``segment`` samples (the last one zero-padded), chunks start every
    ``segment - overlap`` samples, and the output has exactly as many samples as were pushed.
    """

    def __init__(
        self, fn: Callable[[torch.Tensor], torch.Tensor], *, segment: int, overlap: int, n_out: int, channels: int = 1
    ):
        if not 0 <= overlap < segment:
            raise ValueError(f"overlap must be in [0, segment), got {overlap} for segment {segment}")
        self.fn, self.segment, self.overlap, self.n_out = fn, segment, overlap, n_out
        self.hop = segment - overlap
        ramp = (torch.arange(overlap, dtype=torch.float32) + 0.5) / max(overlap, 1)
        self.window = torch.ones(segment)
        if overlap:
            self.window[:overlap] = ramp
            self.window[-overlap:] = ramp.flip(0)
        self.inp = torch.zeros(channels, 0)  # input not yet fully consumed, from position self.start
        self.acc = torch.zeros(n_out, segment)  # weighted sum of outputs, from position self.start
        self.wsum = torch.zeros(segment)
        self.start = 0  # absolute sample index of inp[0] / acc[0]
        self.pushed = 0
        self.emitted = 0

    def _run_chunk(self, chunk: torch.Tensor) -> None:
        out = self.fn(chunk)
        self.acc[:, : self.segment] += out * self.window
        self.wsum[: self.segment] += self.window

    def _emit(self, n: int) -> torch.Tensor:
        out = self.acc[:, :n] / self.wsum[:n].clamp_min(1e-8)
        self.acc = torch.cat([self.acc[:, n:], torch.zeros(self.n_out, n)], 1)
        self.wsum = torch.cat([self.wsum[n:], torch.zeros(n)])
        self.inp = self.inp[:, n:]
        self.start += n
        self.emitted += n
        return out

    def push(self, block: torch.Tensor) -> torch.Tensor:
        """Feed (channels, n) input; returns (n_out, m) finished output (m may be 0)."""
        self.inp = torch.cat([self.inp, block], 1)
        self.pushed += block.shape[-1]
        outs = []
        while self.inp.shape[-1] >= self.segment:
            self._run_chunk(self.inp[:, : self.segment])
            outs.append(self._emit(self.hop))
        return torch.cat(outs, 1) if outs else torch.zeros(self.n_out, 0)

    def finish(self) -> torch.Tensor:
        """Run the last, zero-padded chunk and return everything still pending."""
        remaining = self.pushed - self.emitted
        # a chunk already covers the first `overlap` pending samples; run another only if more is left
        covered = self.overlap if self.emitted else 0
        if remaining > covered or self.emitted == 0:
            chunk = torch.nn.functional.pad(self.inp, [0, self.segment - self.inp.shape[-1]])
            self._run_chunk(chunk)
        return self._emit(remaining) if remaining else torch.zeros(self.n_out, 0)

    @staticmethod
    def n_chunks(n_samples: int, segment: int, overlap: int) -> int:
        """How many model calls a signal of ``n_samples`` takes (for progress bars)."""
        hop = segment - overlap
        full = max(0, (n_samples - segment) // hop + 1) if n_samples >= segment else 0
        emitted = full * hop
        return full + (1 if n_samples - emitted > (overlap if full else 0) or full == 0 else 0)
