"""Signal-processing re-voicing with Praat (parselmouth): pitch shift that keeps the formants, an
explicit formant shift, and breathiness.

Pitch: Praat's Manipulation (pitch-synchronous overlap-add, PSOLA) with the pitch tier multiplied
by ``2 ** (semitones / 12)``; PSOLA moves the glottal pulses and keeps each pulse's spectral
envelope, so the formants stay where they were. Formants: Praat's "Change gender" method — PSOLA
to pitch ``k / r`` and duration ``r``, then the sampling rate is overridden by ``r`` and the sound
resampled back — which scales the spectral envelope by ``r`` and leaves pitch ``k`` and duration as
asked. Breathiness: white noise through the voice's own LPC filter (Praat "To LPC (burg)" and
"Filter"), following the voice's frame loudness, mixed in at ``breathiness`` (0 … 1) of the voice's
level. (pyworld, the WORLD vocoder, was the first choice; its 0.3.5 sdist needs a C++ build and
imports ``pkg_resources``, which current setuptools no longer ships, so it does not install cleanly
in a fresh venv; Praat ships as a wheel.)
"""

from __future__ import annotations

import numpy as np
import torch

from ..audio.frontend import istft, stft
from ..audio.praat import praat_seed
from ..errors import ParameterError

# pitch search ranges (Hz) per voice type: Praat's pitch floor decides its analysis window. The
# floors sit a few semitones under each voice's lowest usual note (S C4, A F3, T C3, B E2): in a
# separated part a floor reaching a lower voice's range lets the tracker follow that voice's bleed
PITCH_RANGE_HZ = {
    "soprano": (190.0, 1100.0),
    "alto": (140.0, 800.0),
    "tenor": (95.0, 560.0),
    "bass": (55.0, 450.0),
    None: (60.0, 1000.0),
}
INFRASOUND_HZ = 40.0  # PSOLA's output is high-passed here, or at half the lowest pitch it can sing if lower


def pitch_range(voice: str | None, semitones: float = 0.0) -> tuple[float, float]:
    lo, hi = PITCH_RANGE_HZ.get(voice, PITCH_RANGE_HZ[None])
    return lo, hi


def _sound(x: np.ndarray, sample_rate: int):
    import parselmouth

    return parselmouth.Sound(np.asarray(x, np.float64), float(sample_rate))


def check_transform(semitones: float, formant: float, breathiness: float) -> None:
    if not -36.0 <= float(semitones) <= 36.0:
        raise ParameterError(
            f"the pitch shift (--pitch plus a --map SHIFT; pitch in Python) must be within "
            f"±36 semitones, got {semitones:g}"
        )
    if not 0.5 <= float(formant) <= 2.0:
        raise ParameterError(f"--formant (formant in Python) must be between 0.5 and 2.0, got {formant:g}")
    if not 0.0 <= float(breathiness) <= 1.0:
        raise ParameterError(f"--breathiness (breathiness in Python) must be between 0 and 1, got {breathiness:g}")


def transform(
    x: np.ndarray,
    sample_rate: int,
    *,
    semitones: float = 0.0,
    formant: float = 1.0,
    breathiness: float = 0.0,
    voice: str | None = None,
    f0_hz: np.ndarray | None = None,
    hop_s: float = 0.01,
) -> np.ndarray:
    """Re-voice one mono part: shift pitch by ``semitones`` (formants kept), scale the formants by
    ``formant``, add ``breathiness``. Returns float32 of the same length and rate.

    ``f0_hz`` (one value per ``hop_s`` frame, 0 where unvoiced; ``analysis.f0_track``) is the
    melody the output follows, times the shift. Without it Praat's own pitch analysis decides —
    which, on a separated part with other voices bleeding in, jumps to a wrong octave or voice more
    often than the analysis track does.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(16000) / 16000
    >>> y = transform(0.3 * np.sign(np.sin(2 * np.pi * 220 * t)), 16000, semitones=-12)
    >>> y.shape
    (16000,)
    """
    check_transform(semitones, formant, breathiness)
    x = np.asarray(x, np.float32)
    if not np.any(x) or (semitones == 0 and formant == 1.0 and breathiness == 0 and f0_hz is None):
        return x.copy()
    with praat_seed(x, sample_rate, semitones, formant, breathiness):
        return _transform(
            x,
            sample_rate,
            semitones=semitones,
            formant=formant,
            breathiness=breathiness,
            voice=voice,
            f0_hz=f0_hz,
            hop_s=hop_s,
        )


def _transform(x, sample_rate, *, semitones, formant, breathiness, voice, f0_hz, hop_s):
    from parselmouth.praat import call

    n = len(x)
    floor, ceiling = pitch_range(voice)
    snd = _sound(x, sample_rate)
    dur = snd.get_total_duration()
    k, r = 2.0 ** (float(semitones) / 12.0), float(formant)
    manip = call(snd, "To Manipulation", 0.01, floor, ceiling)
    if f0_hz is not None and np.any(np.asarray(f0_hz) > 0):
        own = call(manip, "Extract pulses")
        have = (
            np.asarray(call(own, "To Matrix").values, float).ravel()  # the pulse times
            if call(own, "Get number of points")
            else np.zeros(0)
        )
        pulses = call("Create empty PointProcess", "pulses", 0.0, dur)
        call(pulses, "Add points", psola_marks(have, np.asarray(f0_hz, float), hop_s, dur))
        call([manip, pulses], "Replace pulses")
        tier = call("Create PitchTier", "melody", 0.0, dur)
        for i in np.flatnonzero(np.asarray(f0_hz) > 0):
            if i * hop_s <= dur:
                call(tier, "Add point", i * hop_s, float(f0_hz[i]) * k / r)
    else:
        tier = call(manip, "Extract pitch tier")
        call(tier, "Multiply frequencies", 0.0, dur, k / r)
    call([tier, manip], "Replace pitch tier")
    if r != 1.0:
        dt = call("Create DurationTier", "stretch", 0.0, dur)
        call(dt, "Add point", 0.0, r)
        call([dt, manip], "Replace duration tier")
    y = call(manip, "Get resynthesis (overlap-add)")
    if r != 1.0:
        call(y, "Override sampling frequency", sample_rate * r)
        y = call(y, "Resample", float(sample_rate), 50)
    out = np.asarray(y.values[0], np.float32)
    out = without_infrasound(
        np.pad(out, (0, max(0, n - len(out))))[:n], sample_rate, min(INFRASOUND_HZ, 0.5 * floor * k)
    )
    if breathiness > 0:
        out = add_breath(out, sample_rate, breathiness)
    return out


def without_infrasound(x: np.ndarray, sample_rate: int, cutoff_hz: float) -> np.ndarray:
    """``x`` high-passed at ``cutoff_hz`` (4th-order Butterworth, forward and back: no phase shift).

    Praat's PSOLA output drifts below 5 Hz when it raises the pitch (a tenor an octave up: some 0.3 %
    of the energy, on some chorale parts 10 %) — inaudible, but it counts in the level match that
    follows and darkens what a classifier hears."""
    import scipy.signal as ss  # slow to import: only when needed

    if len(x) < 64:
        return x
    sos = ss.butter(4, cutoff_hz, "highpass", fs=sample_rate, output="sos")
    return ss.sosfiltfilt(sos, x).astype(np.float32)


def psola_marks(own: np.ndarray, f0_hz: np.ndarray, hop_s: float, dur: float) -> np.ndarray:
    """PSOLA's analysis marks (s) for a part whose melody is ``f0_hz``: Praat's own glottal pulses
    ``own`` where their spacing is the track's period (within 20 %), plus marks one period apart
    along the track where none of those is within 3/4 of a period.

    Where Praat's own voicing or period disagrees with the track (bleed from another voice, a
    breathy onset), PSOLA would copy the input unshifted or move the wrong period, and the output
    is heard (and tracked) at the input's pitch or another voice's; with these marks it follows
    the track."""
    own = np.asarray(own, float)
    if len(own) > 2:
        at = f0_hz[np.clip(np.round(own / hop_s).astype(int), 0, len(f0_hz) - 1)]
        gaps = np.diff(own)
        period = np.minimum(np.r_[gaps[0], gaps], np.r_[gaps, gaps[-1]])
        own = own[(at <= 0) | (np.abs(np.log(period * np.maximum(at, 1.0))) <= 0.2)]
    new = track_pulses(f0_hz, hop_s, dur)
    if len(own) and len(new):
        f = f0_hz[np.clip(np.round(new / hop_s).astype(int), 0, len(f0_hz) - 1)]
        j = np.searchsorted(own, new)
        near = np.minimum(np.abs(own[np.minimum(j, len(own) - 1)] - new), np.abs(own[np.maximum(j - 1, 0)] - new))
        new = new[near > 0.75 / np.maximum(f, 1.0)]
    return np.sort(np.r_[own, new])


def track_pulses(f0_hz: np.ndarray, hop_s: float, dur: float, *, step_s: float = 2e-4) -> np.ndarray:
    """Pulse times (s) one period apart along ``f0_hz`` in its voiced frames: PSOLA's analysis marks."""
    t = np.arange(0.0, dur, step_s)
    frame = np.clip(np.round(t / hop_s).astype(int), 0, len(f0_hz) - 1)
    voiced = f0_hz[frame] > 0
    if not voiced.any():
        return np.zeros(0)
    v = np.flatnonzero(f0_hz > 0)
    f = np.interp(t / hop_s, v, f0_hz[v])
    phase = np.cumsum(np.where(voiced, f * step_s, 0.0))
    starts = np.flatnonzero(voiced & ~np.r_[False, voiced[:-1]])
    seg = np.cumsum(voiced & ~np.r_[False, voiced[:-1]])  # restart the count at each voiced stretch
    phase = phase - np.r_[0.0, phase][starts][np.maximum(seg - 1, 0)]
    marks = voiced & (np.floor(phase) > np.floor(np.r_[0.0, phase[:-1]]))
    return t[marks]


def add_breath(x: np.ndarray, sample_rate: int, amount: float, *, seed: int = 0) -> np.ndarray:
    """Mix in white noise shaped by the voice's LPC envelope and loudness: ``amount`` 1 makes the
    noise as loud as the voice (frame by frame)."""
    from parselmouth.praat import call

    snd = _sound(x, sample_rate)
    order = int(min(24, 2 + sample_rate // 1000))
    lpc = call(snd, "To LPC (burg)", order, 0.025, 0.005, 50.0)
    noise = np.random.default_rng(seed).standard_normal(len(x))
    shaped = np.asarray(call([_sound(noise, sample_rate), lpc], "Filter", "no").values[0])[: len(x)]
    hop = max(1, sample_rate // 100)
    centres, t = np.arange(int(np.ceil(len(x) / hop))) * hop + hop / 2, np.arange(len(x))
    env_v, env_n = (np.interp(t, centres, _frame_rms(s, hop)) for s in (x, shaped))
    # smooth envelopes first: no spikes between frames; the floor is relative to the noise's level
    # where the voice sounds, not its peak — LPC fitted to a near-silent frame (1e-27) can make that
    # frame's noise explode
    sounding = env_n[env_v > 1e-3 * env_v.max()]
    gain = env_v / (env_n + 1e-3 * np.median(sounding if len(sounding) else env_n) + 1e-12)
    return (x + amount * gain * shaped).astype(np.float32)


def _frame_rms(x: np.ndarray, hop: int) -> np.ndarray:
    n = int(np.ceil(len(x) / hop))
    p = np.pad(np.asarray(x, np.float64), (0, n * hop - len(x)))
    return np.sqrt((p.reshape(n, hop) ** 2).mean(1) + 1e-12)


def apply_frame_gains(x: np.ndarray, sample_rate: int, gains_of) -> np.ndarray:
    """``x`` (mono) with each frame of its ~64 ms STFT multiplied by ``gains_of(mag, freqs_hz, hop_s)``
    — gains shaped like ``mag`` (bins, frames) — and the phase kept; float32, same length."""
    n_fft = 1 << int(np.ceil(np.log2(0.064 * sample_rate)))
    hop = n_fft // 4
    spec = stft(torch.from_numpy(np.asarray(x, np.float32)), n_fft=n_fft, hop_length=hop, pad_mode="constant")
    gains = gains_of(spec.abs().numpy(), np.fft.rfftfreq(n_fft, 1.0 / sample_rate), hop / sample_rate)
    out = istft(spec * torch.from_numpy(np.asarray(gains, np.float32)), n_fft=n_fft, hop_length=hop, length=len(x))
    return out.numpy().astype(np.float32)


def keep_harmonics(
    x: np.ndarray, sample_rate: int, f0_hz: np.ndarray, *, hop_s: float = 0.01, width: float = 0.04
) -> np.ndarray:
    """``x`` with, in its voiced frames, only the harmonics of ``f0_hz`` kept (a soft comb mask, each
    tooth a Gaussian ``width`` × F0 wide, at least 1.5 bins); unvoiced frames pass unchanged.

    A separated choir part carries the other voices' bleed; PSOLA moves that bleed with the part and
    the result is tracked at a wrong octave or voice. Combing the part on its own melody first
    leaves what PSOLA should move.
    """
    x = np.asarray(x, np.float32)
    f0_hz = np.asarray(f0_hz, float)
    if not np.any(x) or not np.any(f0_hz > 0):
        return x.copy()

    def comb(mag, freqs, frame_s):
        near = np.clip(np.round(np.arange(mag.shape[1]) * frame_s / hop_s).astype(int), 0, len(f0_hz) - 1)
        mask = np.ones(mag.shape, np.float32)
        for j in np.flatnonzero(f0_hz[near] > 0):  # frame by frame: long parts stay within memory
            f0 = f0_hz[near[j]]
            off = np.abs(freqs / f0 - np.round(freqs / f0)) * f0  # Hz to the nearest harmonic
            tooth = max(width * f0, 1.5 * (freqs[1] - freqs[0]))
            mask[:, j] = np.exp(-0.5 * (off / tooth) ** 2) * (freqs >= 0.5 * f0)
        return mask

    return apply_frame_gains(x, sample_rate, comb)
