"""Voice-type colour: move a part's spectral envelope from one voice type's formant pattern to another's.

A formant shift (Praat, ``vocoder``) moves the whole envelope up or down but keeps its *pattern*:
a soprano shifted down still has a soprano's weak upper formants, where tenors and basses have a
strong cluster at 2.4-3.5 kHz (the "singer's formant", Sundberg 1974) and their own F1/F2 per vowel.
So, frame by frame (STFT, ~64 ms windows):

1. the frame's cepstrally smoothed envelope is compared (correlation over 150-3800 Hz) with the
   source voice type's five vowel envelopes — the singing synthesizer's formant tables
   (``voicetools.data.singing.FORMANTS``), scaled by the formant factor already applied;
2. the vowel weights (a soft-max of those correlations) mix the per-vowel differences
   ``target(vowel) - source(vowel)`` into that frame's correction curve;
3. the curves are smoothed over ~40 ms and over 400 Hz, centred on their median (the loudness is
   matched later) and limited to ±24 dB;
4. below 2.2 × F0 (when the part's F0 track is given) each curve holds its value there, so the
   two lowest harmonics keep their balance;
5. the curve is applied to the frame's magnitude (phase kept).

Steps 3-4 are what keeps the pitch: the difference of two tables has narrow peaks up to ±24 dB, and
one harmonic lifted that far over its neighbours (or a fundamental cut under the second harmonic)
is heard, and tracked, as a pitch two or three harmonics up (``benchmarks/revoice.py`` measures how
often).

The vowel stays the one sung — only its colour follows the target voice type's table.
"""

from __future__ import annotations

import numpy as np

from ..data.singing import FORMANTS, VOWELS, envelope_db
from .analysis import cepstral_envelope_db
from .vocoder import apply_frame_gains

VOWEL_BAND_HZ = (150.0, 3800.0)
TABLE_TOP_HZ = 5000.0  # the tables end at 4.95 kHz; above, the correction holds its value there
LIMIT_DB = 24.0
SOFTMAX_T = 0.05
LOW_HARMONICS = 2.2
SMOOTH_HZ = 400.0


def vowel_envelopes_db(voice: str, freqs_hz: np.ndarray, *, scale: float = 1.0) -> np.ndarray:
    """(vowels, freqs) envelopes of ``voice``'s formant table (a e i o u) with its formants scaled by ``scale``."""
    f = np.minimum(freqs_hz, TABLE_TOP_HZ * scale)[None]
    out = []
    for v in VOWELS:
        centres, amps, bws = FORMANTS[voice][v]
        out.append(envelope_db(f, (np.asarray(centres) * scale, amps, bws), 0.0)[0])
    return np.stack(out)


def correction_db(
    mag: np.ndarray,
    freqs_hz: np.ndarray,
    sample_rate: int,
    source: str,
    target: str,
    *,
    source_scale: float = 1.0,
    target_scale: float = 1.0,
    hop_s: float,
) -> np.ndarray:
    """Per-frame correction curves (bins, frames) in dB for magnitudes ``mag`` (bins, frames)."""
    from scipy.ndimage import convolve1d  # slow to import: only when needed

    env = cepstral_envelope_db(mag, max(4, int(0.002 * sample_rate)))
    band = (freqs_hz >= VOWEL_BAND_HZ[0]) & (freqs_hz <= min(VOWEL_BAND_HZ[1], 0.45 * sample_rate))
    src = vowel_envelopes_db(source, freqs_hz, scale=source_scale)
    tgt = vowel_envelopes_db(target, freqs_hz, scale=target_scale)
    e = env[band] - env[band].mean(0)
    s = src[:, band] - src[:, band].mean(1, keepdims=True)
    corr = (s @ e) / (np.linalg.norm(s, axis=1)[:, None] * np.linalg.norm(e, axis=0)[None] + 1e-9)
    w = np.exp((corr - corr.max(0)) / SOFTMAX_T)
    w /= w.sum(0)
    d = (tgt - src).T @ w
    k = np.hanning(max(3, int(round(0.04 / hop_s)) | 1))
    k /= k.sum()
    d = convolve1d(d, k, axis=1, mode="constant")
    kf = np.hanning(max(3, int(round(SMOOTH_HZ / (freqs_hz[1] - freqs_hz[0]))) | 1))
    d = convolve1d(d, kf / kf.sum(), axis=0, mode="nearest")
    return np.clip(d - np.median(d, 0), -LIMIT_DB, LIMIT_DB)


def hold_low_harmonics(d: np.ndarray, freqs_hz: np.ndarray, f0_hz: np.ndarray, frames_per_f0: float) -> None:
    """In place: below ``LOW_HARMONICS`` × F0 each voiced frame's correction is its value there.

    The tables' difference can cut the fundamental 20 dB under the second harmonic (a high voice's
    F1 region moved to a low voice's); the note is then heard, and tracked, an octave up. Holding the
    lowest harmonics' balance keeps the pitch where PSOLA put it."""
    frame_f0 = f0_hz[np.clip(np.round(np.arange(d.shape[1]) * frames_per_f0).astype(int), 0, len(f0_hz) - 1)]
    for j in np.flatnonzero(frame_f0 > 0):
        i = min(int(np.searchsorted(freqs_hz, LOW_HARMONICS * frame_f0[j])), len(freqs_hz) - 1)
        d[:i, j] = d[i, j]


def recolour(
    x: np.ndarray,
    sample_rate: int,
    source: str,
    target: str,
    *,
    source_scale: float = 1.0,
    target_scale: float = 1.0,
    f0_hz: np.ndarray | None = None,
    f0_hop_s: float = 0.01,
) -> np.ndarray:
    """``x`` (mono, sung by a ``source`` voice type whose formants were already scaled by
    ``source_scale``) with each frame's envelope moved to ``target``'s formant pattern (scaled by
    ``target_scale``: a user's extra formant shift stays); float32, same length. Identity when source
    and target are the same voice type at the same scale.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(16000) / 16000
    >>> y = recolour(0.3 * np.sign(np.sin(2 * np.pi * 220 * t)), 16000, "soprano", "tenor")
    >>> y.shape
    (16000,)
    """
    x = np.asarray(x, np.float32)
    if not np.any(x) or (source == target and source_scale == target_scale):
        return x.copy()

    def gains(mag, freqs, hop_s):
        d = correction_db(
            mag, freqs, sample_rate, source, target, source_scale=source_scale, target_scale=target_scale, hop_s=hop_s
        )
        if f0_hz is not None:
            hold_low_harmonics(d, freqs, np.asarray(f0_hz, float), hop_s / f0_hop_s)
        return 10.0 ** (d / 20.0)

    return apply_frame_gains(x, sample_rate, gains)
