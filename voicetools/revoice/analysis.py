"""Per-part analysis: F0 and voicing (Praat's autocorrelation pitch), loudness, spectral envelope.

Everything is on one frame grid of ``hop_s`` seconds. The same functions measure inputs and
outputs in the tests and the benchmark, so "melody kept" compares like with like.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr
import torch

from ..audio.frontend import stft
from .vocoder import pitch_range

HOP_S = 0.01
OCTAVE_COST = 0.05
# a separated tenor or bass part with a neighbour a fifth above bleeding in repeats only every
# other period of its own: the octave below wins. Cost 0.1 there, chosen on the separated parts of
# validation chorales (octave errors against the true part)
LOW_VOICE_OCTAVE_COST = 0.1
TRACK_RATE = 4000
MISSING_DB = 25.0  # a fundamental this far under the band at twice it is not sounding ...
ODD_MISSING_DB = 15.0  # ... nor an odd harmonic this far under its neighbours: the series is 2 F0's
MIN_RUN_S = 0.04
SLIP_S = 0.06
BLOCK_FRAMES = 2048
PIECE_S = 30.0
CUT_SEARCH_S = 5.0
CONTEXT_S = 1.0
ENVELOPE_POINTS = 65  # a part's envelope kept every 125 Hz (at 16 kHz): 1/8 of the STFT grid's memory


@dataclass
class PartAnalysis:
    """One part on a ``hop_s`` grid: ``f0_hz`` (0 where unvoiced), ``voiced``, ``loudness_db``, and the
    spectral ``envelope_db`` (frames, bins) over ``envelope_hz``."""

    f0_hz: np.ndarray
    voiced: np.ndarray
    loudness_db: np.ndarray
    envelope_db: np.ndarray
    envelope_hz: np.ndarray
    hop_s: float = HOP_S

    def frames(self, lo: int, hi: int) -> PartAnalysis:
        """Frames ``[lo, hi)`` of this analysis (frame 0 of the result is frame ``lo``)."""
        return PartAnalysis(
            self.f0_hz[lo:hi],
            self.voiced[lo:hi],
            self.loudness_db[lo:hi],
            self.envelope_db[lo:hi],
            self.envelope_hz,
            self.hop_s,
        )

    def to_dict(self) -> dict:
        f0 = self.f0_hz[self.voiced]
        return {
            "voiced_fraction": round(float(self.voiced.mean()), 3) if len(self.voiced) else 0.0,
            "median_f0_hz": round(float(np.median(f0)), 1) if len(f0) else None,
            "loudness_db": round(float(np.percentile(self.loudness_db, 90)), 1) if len(self.loudness_db) else None,
        }


def f0_track(
    x: np.ndarray,
    sample_rate: int,
    *,
    voice: str | None = None,
    hop_s: float = HOP_S,
    n_frames: int | None = None,
    shift_semitones: float = 0.0,
) -> np.ndarray:
    """F0 in Hz per frame (frame i centred at ``i * hop_s``), 0 where Praat finds no pitch.

    The search range is ``voice``'s (wide when None), moved by ``shift_semitones`` — to measure a part
    transposed by that much in the range where it now sings."""
    import parselmouth

    floor, ceiling = (f * 2.0 ** (shift_semitones / 12.0) for f in pitch_range(voice))
    n_frames = n_frames or int(len(x) / sample_rate / hop_s) + 1
    if not np.any(x):
        return np.zeros(n_frames)
    # pitch is tracked below 2 kHz: the low harmonics carry it, and the band above holds the
    # formant pattern that re-voicing changes — where, tracked at full band, the autocorrelation of a
    # re-coloured high voice takes 2 or 3 periods for one in some notes
    rate = min(sample_rate, TRACK_RATE)
    x = soxr.resample(np.asarray(x, np.float32), sample_rate, rate) if rate != sample_rate else x
    ceiling = min(ceiling, 0.45 * rate)
    snd = parselmouth.Sound(np.asarray(x, np.float64), float(rate))
    # octave cost 0.05 (Praat's default 0.01): PSOLA output can carry a subharmonic some 55 dB down
    # that the default takes for the pitch, an octave low; the higher cost prefers the true octave
    pitch = snd.to_pitch_ac(
        time_step=hop_s,
        pitch_floor=floor,
        pitch_ceiling=ceiling,
        octave_cost=LOW_VOICE_OCTAVE_COST if voice in ("tenor", "bass") else OCTAVE_COST,
    )
    f = pitch.selected_array["frequency"]
    t = pitch.xs()
    grid = np.arange(n_frames) * hop_s
    idx = np.clip(np.round((grid - t[0]) / hop_s).astype(int), 0, len(f) - 1) if len(f) else None
    out = f[idx] if idx is not None else np.zeros(n_frames)
    out[(grid < t[0] - hop_s) | (grid > t[-1] + hop_s)] = 0.0 if len(t) else 0.0
    out = np.nan_to_num(out)
    out = restore_missing_fundamentals(out, x, rate, hop_s=hop_s, ceiling_hz=ceiling)
    out[out < 1.03 * floor] = 0.0  # a candidate at the search's floor is the longest lag, not a pitch
    out = repair_slips(out, int(round(SLIP_S / hop_s)))
    return drop_blips(out, max(1, int(round(MIN_RUN_S / hop_s))))


def restore_missing_fundamentals(
    f0_hz: np.ndarray, x: np.ndarray, sample_rate: int, *, hop_s: float, ceiling_hz: float
) -> np.ndarray:
    """``f0_hz`` doubled (up to twice, below ``ceiling_hz``) in the frames of ``x`` where it is not the
    pitch of what sounds: nothing at it (``MISSING_DB`` or more under the band at twice it) and an
    odd harmonic missing too (3, 5 or 7 × F0 ``ODD_MISSING_DB`` under both its neighbours) — the
    partials are 2 F0's series.

    Two voices a fifth apart (2:3) repeat together every two periods of the lower: a separated
    part with its neighbour's bleed is then tracked an octave low, at a "fundamental" the part does
    not sing. A voice with a weak fundamental keeps its odd harmonics, and its pitch. (On the
    separated parts of 5 validation chorales, of the frames Praat tracks an octave under the true
    part this restores 64 % in the bass, 84 % in the tenor, 90 % in the alto, all 9 in the
    soprano; of the 26 000 it tracks right it doubles none.)"""
    f = np.asarray(f0_hz, float).copy()
    n_fft = 1 << int(np.ceil(np.log2(0.128 * sample_rate)))  # ~128 ms: bands resolved down to 55 Hz
    hop = hop_s * sample_rate
    padded = np.pad(np.asarray(x, np.float32), (n_fft // 2, n_fft))
    win = np.hanning(n_fft).astype(np.float32)
    bins = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    frames = np.flatnonzero(f > 0)
    for _ in range(2):  # the second pass looks again only at the frames the first doubled
        frames = frames[2 * f[frames] <= ceiling_hz]
        doubled = []
        for block in np.array_split(frames, max(1, len(frames) // BLOCK_FRAMES)):
            if not len(block):
                continue
            starts = np.minimum(np.round(block * hop).astype(int), len(padded) - n_fft)
            power = np.abs(np.fft.rfft(padded[starts[:, None] + np.arange(n_fft)[None]] * win, axis=1)) ** 2
            e = {k: _band_db(power, bins, k * f[block]) for k in range(1, 9)}  # at k × F0
            odd_gap = np.full(len(block), np.inf)
            for k in (3, 5, 7):
                ok = (k + 1) * f[block] < 0.45 * sample_rate
                odd_gap[ok] = np.minimum(odd_gap[ok], (e[k] - np.maximum(e[k - 1], e[k + 1]))[ok])
            doubled.append(block[(e[1] < e[2] - MISSING_DB) & (odd_gap < -ODD_MISSING_DB)])
        frames = np.concatenate(doubled) if doubled else frames[:0]
        f[frames] *= 2.0
    return f


def _band_db(power: np.ndarray, bins: np.ndarray, centre_hz: np.ndarray) -> np.ndarray:
    """Per row, the power (dB) within 3 % (at least one bin) of ``centre_hz``."""
    width = np.maximum(0.03 * centre_hz, bins[1])[:, None]
    return 10 * np.log10((power * (np.abs(bins[None] - centre_hz[:, None]) <= width)).sum(1) + 1e-12)


def drop_blips(f0_hz: np.ndarray, min_frames: int, *, step_cents: float = 100.0) -> np.ndarray:
    """``f0_hz`` with every stretch (``stretches``) shorter than ``min_frames`` unvoiced. Sung notes
    and glides are longer; what is shorter is the autocorrelation flicking to another voice's
    bleed, a subharmonic or a breath.
    (On the separated parts of 5 validation chorales the stretches under 40 ms held 1.8 % of the
    voiced frames, 67 % of them off the true part's pitch by over a semitone or unvoiced there —
    against 24 % of all frames.)"""
    f = np.asarray(f0_hz, float).copy()
    for a, b in stretches(f, step_cents=step_cents):
        if b - a < min_frames:
            f[a:b] = 0.0
    return f


def repair_slips(f0_hz: np.ndarray, max_frames: int, *, step_cents: float = 100.0) -> np.ndarray:
    """``f0_hz`` with every slip — a stretch of at most ``max_frames`` that jumps away from a voiced
    pitch and straight back to within ``step_cents`` of it — replaced by the line from the pitch
    before to the pitch after. In a separated part such slips are the tracker catching a
    neighbour's bleed for a few frames in the middle of a held note; a sung ornament is longer, and
    the track of a part sung alone is left as it is."""
    f = np.asarray(f0_hz, float).copy()
    c = 1200 * np.log2(np.maximum(f, 1e-3))
    runs = stretches(f, step_cents=step_cents)
    for (_, b1), (a2, b2), (a3, _) in zip(runs, runs[1:], runs[2:]):
        if b1 == a2 and b2 == a3 and b2 - a2 <= max_frames and abs(c[a3] - c[b1 - 1]) < step_cents:
            f[a2:b2] = 2.0 ** (np.interp(np.arange(a2, b2), [b1 - 1, a3], [c[b1 - 1], c[a3]]) / 1200)
    return f


def stretches(f0_hz: np.ndarray, *, step_cents: float = 100.0) -> list[tuple[int, int]]:
    """Frame ranges ``[a, b)`` of voiced frames each within ``step_cents`` of the one before."""
    f = np.asarray(f0_hz, float)
    voiced = f > 0
    c = 1200 * np.log2(np.maximum(f, 1e-3))
    joined = voiced[1:] & voiced[:-1] & (np.abs(np.diff(c)) < step_cents)
    starts = np.flatnonzero(voiced & ~np.r_[False, joined])
    ends = np.flatnonzero(voiced & ~np.r_[joined, False]) + 1
    return list(zip(starts.tolist(), ends.tolist()))


def loudness_db(x: np.ndarray, sample_rate: int, *, hop_s: float = HOP_S, n_frames: int | None = None) -> np.ndarray:
    """Frame RMS in dB (window 2 hops, centred), floored at -100 dB."""
    hop = max(1, int(round(hop_s * sample_rate)))
    n_frames = n_frames or len(x) // hop + 1
    p = np.pad(np.asarray(x, np.float64), (hop, hop + n_frames * hop))
    frames = np.lib.stride_tricks.sliding_window_view(p, 2 * hop)[::hop][:n_frames]
    return np.maximum(10 * np.log10((frames**2).mean(1) + 1e-10), -100.0)


def spectral_envelope(
    x: np.ndarray,
    sample_rate: int,
    *,
    hop_s: float = HOP_S,
    n_fft: int = 1024,
    n_lifter: int = 30,
    points: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Cepstrally smoothed log spectrum in dB, from the shared STFT: (frames, bins) and the bins'
    frequencies — every STFT bin, or ``points`` of them from 0 to Nyquist (``n_lifter`` cepstral
    coefficients hold no finer detail than some 2 × ``n_lifter`` points show)."""
    hop = max(1, int(round(hop_s * sample_rate)))
    mag = stft(torch.as_tensor(np.asarray(x, np.float32)), n_fft=n_fft, hop_length=hop).abs().numpy()
    keep = np.round(np.linspace(0, n_fft // 2, points or n_fft // 2 + 1)).astype(int)
    return (
        np.ascontiguousarray(cepstral_envelope_db(mag, n_lifter)[keep].T),
        np.linspace(0, sample_rate / 2, n_fft // 2 + 1)[keep],
    )


def cepstral_envelope_db(mag: np.ndarray, n_lifter: int) -> np.ndarray:
    """Magnitudes (bins, frames) → their envelopes in dB: the log spectrum with all but the first
    ``n_lifter`` cepstral coefficients zeroed (the harmonics' ripple removed)."""
    out = np.empty(mag.shape, np.float32)
    for a in range(0, mag.shape[1], BLOCK_FRAMES):  # in blocks: an hour's FFTs would not fit in memory
        cep = np.fft.irfft(np.log(np.asarray(mag[:, a : a + BLOCK_FRAMES], np.float32) + 1e-7), axis=0)
        cep[n_lifter:-n_lifter] = 0.0
        out[:, a : a + BLOCK_FRAMES] = (20 / np.log(10)) * np.fft.rfft(cep, axis=0).real[: mag.shape[0]]
    return out


def analyse(x: np.ndarray, sample_rate: int, *, voice: str | None = None, hop_s: float = HOP_S) -> PartAnalysis:
    """F0, voicing, loudness and spectral envelope of one mono part (a long one piece by piece,
    ``pieces``, each seen with ``CONTEXT_S`` around it)."""
    n_frames = int(len(x) / sample_rate / hop_s) + 1
    f0, loud, env = np.zeros(n_frames), np.zeros(n_frames), None
    hz = np.zeros(0)
    for a, b in pieces(x, sample_rate, hop_s=hop_s):
        (lo, hi), seg = with_context(x, sample_rate, a, b, n_frames, hop_s=hop_s)
        g = f0_track(seg, sample_rate, voice=voice, hop_s=hop_s, n_frames=hi - lo)
        f0[a:b] = g[a - lo : b - lo]
        loud[a:b] = loudness_db(seg, sample_rate, hop_s=hop_s, n_frames=hi - lo)[a - lo : b - lo]
        e, hz = spectral_envelope(seg, sample_rate, hop_s=hop_s, points=ENVELOPE_POINTS)
        e = e[a - lo : b - lo]
        if env is None:
            env = np.zeros((n_frames, e.shape[1]), np.float32)
        env[a : a + len(e)] = e
    return PartAnalysis(f0, f0 > 0, loud, env, hz, hop_s)


def pieces(
    x: np.ndarray, sample_rate: int, *, hop_s: float = HOP_S, f0_hz: np.ndarray | None = None
) -> list[tuple[int, int]]:
    """Frame ranges ``[a, b)`` (``hop_s`` frames) that cover ``x``: one for up to ``2 × PIECE_S``,
    else pieces of about ``PIECE_S`` cut at the quietest 20 ms within ``CUT_SEARCH_S`` of each mark
    (with the part's ``f0_hz``, the quietest unvoiced 20 ms if there is one: a breath or a rest,
    where two pieces' outputs meet without a seam) — long parts are analysed and re-voiced piece
    by piece, so memory is that of a piece."""
    n_frames = int(len(x) / sample_rate / hop_s) + 1
    per = int(round(PIECE_S / hop_s))
    if n_frames <= 2 * per:
        return [(0, n_frames)]
    block = max(1, int(round(0.02 * sample_rate)))
    m = len(x) // block
    energy = np.square(np.asarray(x[: m * block], np.float32).reshape(m, block)).mean(1)
    if f0_hz is not None:  # voiced blocks rank after every unvoiced one
        at = np.clip(np.round((np.arange(m) + 0.5) * 0.02 / hop_s).astype(int), 0, len(f0_hz) - 1)
        energy = energy + (np.asarray(f0_hz)[at] > 0) * (energy.max() + 1.0)
    cuts, search = [0], int(round(CUT_SEARCH_S / 0.02))
    while n_frames - cuts[-1] > 2 * per:
        mark = int(round((cuts[-1] + per) * hop_s / 0.02))
        lo, hi = max(0, mark - search), min(m, mark + search + 1)
        quiet = lo + int(np.argmin(energy[lo:hi]))
        cuts.append(max(cuts[-1] + 1, int(round((quiet + 0.5) * 0.02 / hop_s))))
    return list(zip(cuts, cuts[1:] + [n_frames]))


def with_context(
    x: np.ndarray, sample_rate: int, a: int, b: int, n_frames: int, *, hop_s: float = HOP_S
) -> tuple[tuple[int, int], np.ndarray]:
    """Frames ``[a, b)`` widened by ``CONTEXT_S`` each side (within the part), and those samples of ``x``."""
    c = int(round(CONTEXT_S / hop_s))
    lo, hi = max(0, a - c), min(n_frames, b + c)
    return (lo, hi), x[int(round(lo * hop_s * sample_rate)) : int(round(hi * hop_s * sample_rate))]


def envelope_peak_hz(x: np.ndarray, sample_rate: int, *, f_max_hz: float = 4000.0, min_hz: float = 150.0) -> float:
    """The frequency of the highest peak of the voiced frames' mean spectral envelope (below ``f_max_hz``)."""
    env, hz = spectral_envelope(x, sample_rate)
    loud = loudness_db(x, sample_rate, n_frames=len(env))
    sel = loud > loud.max() - 20
    mean = env[sel].mean(0)
    band = (hz >= min_hz) & (hz <= f_max_hz)
    return float(hz[band][np.argmax(mean[band])])


def mean_envelope_db(x: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean spectral envelope (dB) of the loud frames (within 20 dB of the loudest) and its frequencies."""
    env, hz = spectral_envelope(x, sample_rate)
    loud = loudness_db(x, sample_rate, n_frames=len(env))
    return env[loud > loud.max() - 20].mean(0), hz


SHIFT_FACTORS = np.exp(np.linspace(np.log(0.7), np.log(1.45), 301))  # the factors envelope_shift_factor tries


def envelope_shift_factor(
    x: np.ndarray, y: np.ndarray, sample_rate: int, *, band_hz=(250.0, 3500.0), factors=SHIFT_FACTORS
) -> float:
    """The factor ``a`` for which ``y``'s mean envelope best matches ``x``'s stretched by ``a``
    (``env_y(f) ≈ env_x(f / a)``, correlation over ``band_hz``): 1.15 after a formant shift of 1.15."""
    ex, hz = mean_envelope_db(x, sample_rate)
    ey, _ = mean_envelope_db(y, sample_rate)
    f = np.exp(np.linspace(np.log(band_hz[0]), np.log(band_hz[1]), 400))
    target = np.interp(f, hz, ey)
    target = target - target.mean()
    scores = []
    for a in factors:
        src = np.interp(f / a, hz, ex)
        src = src - src.mean()
        scores.append(float(src @ target / (np.linalg.norm(src) * np.linalg.norm(target) + 1e-9)))
    return float(factors[int(np.argmax(scores))])


def cents_error(
    f0_in: np.ndarray,
    f0_out: np.ndarray,
    semitones: float,
    *,
    skip_transitions: bool = True,
    window_s: float | None = None,
    hop_s: float = HOP_S,
) -> np.ndarray:
    """Per frame, voiced in both: 1200·log2(out / (in · 2^(semitones/12))) in cents.

    With ``skip_transitions`` the frames at the input's note changes are left out: where its pitch
    moves by more than 50 cents from one voiced frame to the next, the frames whose analysis window
    (``window_s``, Praat's three periods of the pitch floor; one frame when None) holds both notes —
    their F0 is neither note's, and a few milliseconds of timing there is not a wrong note.
    """
    n = min(len(f0_in), len(f0_out))
    a, b = np.asarray(f0_in[:n], float), np.asarray(f0_out[:n], float)
    both = (a > 0) & (b > 0)
    if skip_transitions and n > 2:
        half = max(1, int(np.ceil(window_s / 2 / hop_s))) if window_s else 1
        c = 1200 * np.log2(np.maximum(a, 1e-3))
        v = np.flatnonzero(a > 0)
        change = (np.diff(v) <= 2 * half - 1) & (np.abs(np.diff(c[v])) > 50)  # across a gap shorter than the window too
        jump = np.zeros(n + 1, int)
        for i, j in zip(v[:-1][change], v[1:][change]):
            jump[max(0, i - half + 1)] += 1
            jump[min(n, j + half)] -= 1
        both &= np.cumsum(jump)[:n] == 0
    return 1200 * np.log2(b[both] / (a[both] * 2 ** (semitones / 12)))
