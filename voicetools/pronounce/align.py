"""Syllable boundaries in a learner's recording by DTW against the reference (the aeneas approach).

Both signals go through the shared front-end (``audio.frontend.log_mel_spectrogram``) and become
MFCCs (a DCT of the log-mel, scipy), mean- and variance-normalised per utterance so that the
speakers' voices matter less than what they say. Dynamic time warping finds the cheapest monotonic
path between the two frame sequences; each reference syllable's first and last frame, followed
along that path, give the learner's syllable start and end. Because the reference is said syllable
by syllable (``tts.synthesize_reference``), its boundaries are exact.

``vt.pronounce`` now aligns with an acoustic model trained on real speech (``acoustic``); this DTW
stays as the second method ``benchmarks/pronounce.py`` compares it with (it is exact on espeak-ng
voices, whose reference is the same synthesizer, and breaks on natural timing and voice quality).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..audio.frontend import log_mel_spectrogram

HOP_S = 0.01
N_FFT = 512
N_MELS = 40
N_MFCC = 13
FLOOR_DB = 50.0  # mel energies more than this below the loudest are floored: noise and silence look alike


def mfcc(x: np.ndarray, sample_rate: int, *, hop_s: float = HOP_S) -> np.ndarray:
    """(time,) → (frames, N_MFCC) MFCCs without c0, plus log energy, normalised per utterance."""
    from scipy.fft import dct  # slow to import: only when needed

    hop = int(round(hop_s * sample_rate))
    mel = log_mel_spectrogram(
        torch.as_tensor(x, dtype=torch.float32),
        sample_rate=sample_rate,
        n_fft=N_FFT,
        hop_length=hop,
        n_mels=N_MELS,
        f_min=50.0,
        f_max=min(7600.0, sample_rate / 2),
    )
    mel = np.maximum(mel.numpy().T, mel.numpy().max() - FLOOR_DB)  # quieter is silence (and background noise)
    c = dct(mel / 10.0, type=2, norm="ortho", axis=1)[:, : N_MFCC + 1]
    feats = np.concatenate([c[:, 1:], c[:, :1]], axis=1)  # c1..c13, then c0 (energy)
    feats = (feats - feats.mean(0)) / (feats.std(0) + 1e-6)
    return feats.astype(np.float64)


def dtw(cost: np.ndarray) -> tuple[np.ndarray, float]:
    """Classic DTW (steps (1,0), (0,1), (1,1)) over a (n, m) cost matrix from (0,0) to (n-1, m-1).

    Returns the path as an (steps, 2) array of (i, j) and its total cost. Each row is one vectorised
    pass: with ``A[j] = min(D[i-1, j-1], D[i-1, j])`` the row recursion ``D[j] = C[j] + min(A[j], D[j-1])``
    is ``S[j] + cummin(A[k] - S[k-1])`` for the running sum ``S`` of the row's costs.
    """
    n, m = cost.shape
    D = np.empty((n, m))
    D[0] = np.cumsum(cost[0])
    for i in range(1, n):
        prev = D[i - 1]
        a = np.empty(m)
        a[0] = prev[0]
        a[1:] = np.minimum(prev[:-1], prev[1:])
        s = np.cumsum(cost[i])
        s_prev = np.concatenate([[0.0], s[:-1]])
        D[i] = s + np.minimum.accumulate(a - s_prev)
    i, j = n - 1, m - 1
    path = [(i, j)]
    while i > 0 or j > 0:
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        else:
            k = int(np.argmin((D[i - 1, j - 1], D[i - 1, j], D[i, j - 1])))
            i, j = (i - 1, j - 1) if k == 0 else (i - 1, j) if k == 1 else (i, j - 1)
        path.append((i, j))
    return np.array(path[::-1]), float(D[-1, -1])


@dataclass
class AlignmentResult:
    """Learner spans per reference syllable (seconds) and the path's mean frame distance ``cost``."""

    spans_s: list[tuple[float, float]]
    cost: float
    path: np.ndarray


def align(
    reference: np.ndarray,
    learner: np.ndarray,
    sample_rate: int,
    reference_spans_s: list[tuple[float, float]],
    *,
    hop_s: float = HOP_S,
) -> AlignmentResult:
    """Map each reference span onto the learner's recording (both mono at ``sample_rate``)."""
    from scipy.spatial.distance import cdist  # slow to import: only when needed

    fr, fl = mfcc(reference, sample_rate, hop_s=hop_s), mfcc(learner, sample_rate, hop_s=hop_s)
    cost = cdist(fr, fl, "euclidean") / np.sqrt(fr.shape[1])
    path, _ = dtw(cost)
    step_cost = cost[path[:, 0], path[:, 1]]
    n_ref, n_learn = len(fr), len(fl)
    first = np.full(n_ref, n_learn, int)
    last = np.full(n_ref, -1, int)
    np.minimum.at(first, path[:, 0], path[:, 1])
    np.maximum.at(last, path[:, 0], path[:, 1])
    spans = []
    for s, e in reference_spans_s:
        a = min(n_ref - 1, int(round(s / hop_s)))
        b = max(a, min(n_ref - 1, int(round(e / hop_s)) - 1))
        start, end = first[a], last[b] + 1
        spans.append((start * hop_s, max(start + 1, end) * hop_s))
    return AlignmentResult(spans, float(step_cost.mean()), path)
