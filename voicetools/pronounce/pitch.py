"""F0 with Praat (parselmouth), in semitones relative to the speaker's median, per syllable.

Praat's autocorrelation tracker (``Sound.to_pitch_ac``) gives F0 every 10 ms, 0 where unvoiced.
Semitones re. the speaker's median voiced F0 make a man's and a child's tone 4 look alike; a
syllable's contour is its voiced frames resampled to ``N_POINTS`` (unvoiced gaps interpolated),
which is what the tone classifier reads.
"""

from __future__ import annotations

import numpy as np

HOP_S = 0.01
PITCH_FLOOR_HZ = 60.0
PITCH_CEILING_HZ = 500.0
N_POINTS = 20


def f0_track(
    x: np.ndarray,
    sample_rate: int,
    *,
    hop_s: float = HOP_S,
    floor_hz: float = PITCH_FLOOR_HZ,
    ceiling_hz: float = PITCH_CEILING_HZ,
) -> np.ndarray:
    """F0 in Hz every ``hop_s`` from t = 0 (frame k at k·hop_s), 0 where unvoiced: (frames,)."""
    import parselmouth

    n = int(np.ceil(len(x) / sample_rate / hop_s))
    if len(x) < int(3 / floor_hz * sample_rate) + 1:
        return np.zeros(n)
    snd = parselmouth.Sound(np.asarray(x, np.float64), float(sample_rate))
    pitch = snd.to_pitch_ac(time_step=hop_s, pitch_floor=floor_hz, pitch_ceiling=ceiling_hz)
    f = pitch.selected_array["frequency"]
    times = pitch.xs()
    out = np.zeros(n)
    idx = np.clip(np.round(times / hop_s).astype(int), 0, n - 1)
    out[idx] = f
    return out


def to_semitones(f0_hz: np.ndarray, reference_hz: float | None = None) -> tuple[np.ndarray, float]:
    """Voiced frames in semitones re. ``reference_hz`` (default: the median voiced F0), NaN where
    unvoiced; returns (semitones, reference_hz)."""
    voiced = f0_hz > 0
    ref = float(reference_hz if reference_hz else (np.median(f0_hz[voiced]) if voiced.any() else 100.0))
    st = np.full(len(f0_hz), np.nan)
    st[voiced] = 12.0 * np.log2(f0_hz[voiced] / ref)
    return st, ref


def syllable_contour(
    semitones: np.ndarray, start_s: float, end_s: float, *, hop_s: float = HOP_S, n_points: int = N_POINTS
) -> tuple[np.ndarray, float]:
    """The syllable's voiced contour resampled to ``n_points`` (semitones) and its voiced fraction.

    Without voiced frames the contour is all zeros and the fraction 0.
    """
    a, b = int(np.floor(start_s / hop_s)), int(np.ceil(end_s / hop_s))
    seg = semitones[max(0, a) : max(a + 1, min(len(semitones), b))]
    ok = np.isfinite(seg)
    if ok.sum() < 2:
        return np.zeros(n_points), float(ok.mean()) if len(seg) else 0.0
    pos = np.flatnonzero(ok)
    voiced = seg[ok]
    # from the first to the last voiced frame: onsets and codas without voicing are not part of the tone
    t = np.linspace(pos[0], pos[-1], n_points)
    return np.interp(t, pos, voiced), float(ok.mean())
