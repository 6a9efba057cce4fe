"""Synthesized Mandarin with known tones and boundaries, and perturbations that make one real
speaker sound like many: training material for the aligner and the tone model beside real speech,
and test material with exact answers.

An utterance is 3-8 random syllables (any Mandarin syllable pypinyin knows, each with a random tone;
neutral tone less often) said by espeak-ng syllable by syllable with random pauses, so every
boundary is known exactly. Variety comes from espeak-ng's voice variants, its pitch (0-99) and
speed, and Praat's "Change gender" on the whole utterance (formant shift, pitch median, pitch range:
PSOLA), plus white noise. ``TRAIN_VOICES`` and ``TEST_VOICES`` share no variant, and the test
settings lie outside the training ranges, so the held-out score measures voices the model never saw.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import soxr

from ..audio.augment import add_noise, reverberate, room_impulse_response
from ..audio.praat import praat_seed
from .pinyin import Syllable
from .tts import SAMPLE_RATE, EspeakNG, synthesize_reference

# espeak-ng voice variants (espeak-ng-data/voices/!v); None is the default voice
TRAIN_VOICES = [
    None,
    "m1",
    "m2",
    "m4",
    "m5",
    "m6",
    "f1",
    "f3",
    "f5",
    "klatt",
    "klatt3",
    "Andy",
    "annie",
    "david",
    "linda",
    "max",
    "paul",
]
TEST_VOICES = ["m3", "m7", "f2", "f4", "klatt2", "Michael", "belinda", "john"]
# the real speakers of the AISHELL sample set: the models train on one and never hear the other
TRAIN_SPEAKER, VALID_SPEAKER = "S0150", "S0252"


@dataclass(frozen=True)
class VoiceSettings:
    """One synthetic speaker: espeak-ng variant, pitch, speed; Praat formant shift ratio, pitch range factor."""

    variant: str | None
    pitch: int
    speed: int
    formant_shift: float = 1.0
    pitch_range: float = 1.0
    noise_snr_db: float | None = None


TRAIN_RANGES = dict(pitch=(25, 75), speed=(130, 210), formant_shift=(0.92, 1.08), pitch_range=(0.8, 1.3))


def train_voice(rng: np.random.Generator) -> VoiceSettings:
    r = TRAIN_RANGES
    return VoiceSettings(
        TRAIN_VOICES[rng.integers(len(TRAIN_VOICES))],
        int(rng.integers(*r["pitch"])),
        int(rng.integers(*r["speed"])),
        float(rng.uniform(*r["formant_shift"])),
        float(rng.uniform(*r["pitch_range"])),
        float(rng.uniform(15, 40)) if rng.random() < 0.5 else None,
    )


def test_voice(rng: np.random.Generator) -> VoiceSettings:
    """Held-out: unseen variants, and pitch, speed, formant and pitch-range values outside training's."""
    return VoiceSettings(
        TEST_VOICES[rng.integers(len(TEST_VOICES))],
        int(rng.choice([15, 20, 80, 88])),
        int(rng.choice([110, 120, 230, 250])),
        float(rng.choice([0.85, 0.88, 1.12, 1.16])),
        float(rng.choice([0.65, 0.7, 1.45, 1.55])),
        float(rng.uniform(20, 40)),
    )


@functools.lru_cache(maxsize=1)
def syllable_inventory() -> list[str]:
    """Toneless Mandarin syllables (pypinyin's readings of the common CJK block), sorted."""
    from pypinyin import Style, lazy_pinyin

    chars = "".join(chr(c) for c in range(0x4E00, 0x9FA6))
    return sorted({p for p in lazy_pinyin(chars, style=Style.NORMAL) if p.isalpha() and p.isascii()})


def random_syllables(rng: np.random.Generator, n: int, *, neutral_p: float = 0.1) -> list[Syllable]:
    inv = syllable_inventory()
    out = []
    for _ in range(n):
        tone = 5 if rng.random() < neutral_p else int(rng.integers(1, 5))
        p = f"{inv[rng.integers(len(inv))]}{tone}"
        out.append(Syllable("?", p, p, 0))
    return out


def change_voice(
    x: np.ndarray,
    sample_rate: int,
    *,
    formant_shift: float = 1.0,
    pitch_range: float = 1.0,
    pitch_median_hz: float = 0.0,
) -> np.ndarray:
    """Praat's "Change gender" (PSOLA): formants scaled, pitch range stretched about the median,
    the median moved (0 keeps it); duration unchanged."""
    import parselmouth
    from parselmouth.praat import call

    if formant_shift == 1.0 and pitch_range == 1.0 and not pitch_median_hz:
        return x
    snd = parselmouth.Sound(np.asarray(x, np.float64), float(sample_rate))
    with praat_seed(x, formant_shift, pitch_range, pitch_median_hz):
        out = call(snd, "Change gender", 60, 500, float(formant_shift), float(pitch_median_hz), float(pitch_range), 1.0)
    y = out.values[0][: len(x)]
    return np.pad(y, (0, len(x) - len(y))).astype(np.float32)


def replace_contour(x: np.ndarray, sample_rate: int, start_s: float, end_s: float, contour) -> np.ndarray:
    """Give ``x[start_s:end_s]`` a new F0 contour by PSOLA (Praat Manipulation); the rest keeps its own.

    ``contour(t, f0_hz) -> new_f0_hz``: ``t`` runs 0→1 over the span, ``f0_hz`` is the original F0
    there. Used to make a deliberately wrong tone in tests and benchmarks.
    """
    import parselmouth
    from parselmouth.praat import call

    snd = parselmouth.Sound(np.asarray(x, np.float64), float(sample_rate))
    manip = call(snd, "To Manipulation", 0.01, 60, 500)
    tier = call(manip, "Extract pitch tier")
    n = call(tier, "Get number of points")
    times = [call(tier, "Get time from index", i) for i in range(1, n + 1)]
    values = [call(tier, "Get value at index", i) for i in range(1, n + 1)]
    inside = [(t, v) for t, v in zip(times, values) if start_s <= t <= end_s]
    if not inside:
        raise ValueError(f"no voiced frames between {start_s:.2f} and {end_s:.2f} s")
    call(tier, "Remove points between", start_s, end_s)
    for t, v in inside:
        call(tier, "Add point", t, float(contour((t - start_s) / max(1e-6, end_s - start_s), v)))
    call([manip, tier], "Replace pitch tier")
    with praat_seed(x, start_s, end_s):
        y = call(manip, "Get resynthesis (overlap-add)").values[0][: len(x)]
    return np.pad(y, (0, len(x) - len(y))).astype(np.float32)


@dataclass
class Utterance:
    samples: np.ndarray
    sample_rate: int
    syllables: list[Syllable]
    spans_s: list[tuple[float, float]]
    voice: VoiceSettings


def synthesize(
    syllables: list[Syllable], voice: VoiceSettings, rng: np.random.Generator, *, max_pause_s: float = 0.25
) -> Utterance:
    """Say ``syllables`` with ``voice``: random pauses (0 to ``max_pause_s``), voice change, noise."""
    gaps = (
        list(rng.uniform(0.0, max_pause_s, max(0, len(syllables) - 1)) * (rng.random(len(syllables) - 1) < 0.5))
        if len(syllables) > 1
        else []
    )
    ref = synthesize_reference(
        syllables,
        EspeakNG(variant=voice.variant, pitch=voice.pitch, speed=voice.speed),
        gaps_s=[0.01 + g for g in gaps],
        edge_s=float(rng.uniform(0.05, 0.4)),
    )
    x = change_voice(ref.samples, ref.sample_rate, formant_shift=voice.formant_shift, pitch_range=voice.pitch_range)
    if voice.noise_snr_db is not None:
        x = add_noise(x, voice.noise_snr_db, rng)
    return Utterance(x.astype(np.float32), SAMPLE_RATE, syllables, ref.spans_s, voice)


def perturb(x: np.ndarray, rng: np.random.Generator, sample_rate: int = SAMPLE_RATE) -> tuple[np.ndarray, float]:
    """A recording as another speaker in another room: (samples, speed factor).

    Speed 0.85-1.15 (tempo and pitch together, as Kaldi's speed perturbation; the copy's time axis is
    the original's divided by the factor), Praat formant and pitch changes that turn one speaker into
    men, women and children, synthetic rooms, noise at 5-30 dB, telephone band, any level."""
    import parselmouth
    from scipy.signal import butter, sosfilt  # slow to import: only when needed

    speed = float(rng.uniform(0.85, 1.15))
    y = soxr.resample(x, sample_rate * speed, sample_rate).astype(np.float32)
    if rng.random() < 0.7:
        f0 = float(rng.choice([0.0, rng.uniform(90, 300)]))  # 0 keeps the (speed-changed) median pitch
        try:
            y = change_voice(
                y,
                sample_rate,
                formant_shift=float(rng.uniform(0.82, 1.2)),
                pitch_range=float(rng.uniform(0.7, 1.4)),
                pitch_median_hz=f0,
            )
        except parselmouth.PraatError:  # Praat refuses a few extreme changes: keep the speed change only
            pass
    if rng.random() < 0.5:
        y = reverberate(y, room_impulse_response(sample_rate, rng, rt60_s=float(rng.uniform(0.15, 0.9))))
    if rng.random() < 0.3:
        y = sosfilt(butter(4, [300, 3400], "bandpass", fs=sample_rate, output="sos"), y).astype(np.float32)
    if rng.random() < 0.6:
        y = add_noise(y, float(rng.uniform(5, 30)), rng)
    return y * float(10 ** (rng.uniform(-25, 0) / 20) / (np.abs(y).max() + 1e-9)), speed
