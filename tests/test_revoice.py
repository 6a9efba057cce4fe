"""Re-voicing with Praat (PSOLA): each transform measured on synthesized singing with a known answer.

A tenor or alto sings two notes on the project's singing synthesizer without vibrato or jitter; the
F0 of the output must follow the input's times 2^(shift/12) within 20 cents (RMS over frames voiced
in both), a formant shift must stretch the spectral envelope by its factor, a pitch shift alone must
leave the envelope where it was, and breathiness must lower the harmonics-to-noise ratio.
"""

import numpy as np
import pytest

import voicetools as vt
from voicetools.data.chorales import Note
from voicetools.data.singing import Singer, sing
from voicetools.revoice.analysis import analyse, cents_error, envelope_shift_factor, f0_track
from voicetools.revoice.vocoder import transform

SR = 16000


def sung(voice, pitches, seconds=3.0, seed=0):
    rng = np.random.default_rng(seed)
    s = Singer.random(voice, rng)
    s.vibrato_cents, s.jitter, s.breath_db, s.formant_scale, s.shimmer_db = 0.0, 0.0, -70.0, 1.0, 0.0
    d = (seconds - 0.5) / len(pitches)
    notes = [Note(i * d, d, p, "a") for i, p in enumerate(pitches)]
    return 0.1 * sing(notes, voice=voice, sample_rate=SR, length_s=seconds, seconds_per_quarter=1.0, rng=rng, singer=s)


@pytest.fixture(scope="module")
def tenor():
    return sung("tenor", [48, 52])


@pytest.fixture(scope="module")
def alto():
    return sung("alto", [62, 65])


def rms_cents(x, y, shift, voice):
    e = cents_error(f0_track(x, SR, voice=voice), f0_track(y, SR), shift)
    assert len(e) > 150  # most frames voiced in both
    return float(np.sqrt(np.mean(e ** 2)))


@pytest.mark.parametrize("shift", [-12.0, 3.0, 0.5])
def test_pitch_shift_moves_f0_by_the_shift_within_20_cents(alto, shift):
    y = transform(alto, SR, semitones=shift, voice="alto")
    assert y.shape == alto.shape and y.dtype == np.float32
    assert rms_cents(alto, y, shift, "alto") < 20.0


def test_pitch_shift_keeps_the_formants(tenor):
    y = transform(tenor, SR, semitones=-5, voice="tenor")
    assert rms_cents(tenor, y, -5, "tenor") < 20.0
    assert envelope_shift_factor(tenor, y, SR) == pytest.approx(1.0, abs=0.04)


@pytest.mark.parametrize("factor", [1.15, 0.87])
def test_formant_shift_moves_the_envelope_by_the_factor_and_keeps_the_pitch(tenor, factor):
    y = transform(tenor, SR, formant=factor, voice="tenor")
    assert envelope_shift_factor(tenor, y, SR) == pytest.approx(factor, rel=0.04)
    assert rms_cents(tenor, y, 0.0, "tenor") < 20.0


def test_breathiness_lowers_the_harmonics_to_noise_ratio(tenor):
    import parselmouth
    from parselmouth.praat import call

    def hnr(x):
        h = call(parselmouth.Sound(x.astype(np.float64), SR), "To Harmonicity (cc)", 0.01, 75, 0.1, 1.0)
        return call(h, "Get mean", 0, 0)

    plain, breathy = transform(tenor, SR, semitones=-1, voice="tenor"), transform(
        tenor, SR, semitones=-1, breathiness=0.6, voice="tenor")
    assert hnr(breathy) < hnr(plain) - 6.0  # dB
    assert rms_cents(tenor, breathy, -1, "tenor") < 20.0  # the melody is still there


def test_analysis_finds_pitch_voicing_and_loudness(tenor):
    an = analyse(tenor, SR, voice="tenor")
    f = an.f0_hz[an.voiced]
    assert 0.6 < an.voiced.mean() < 0.95
    first = 440 * 2 ** ((48 - 69) / 12)
    assert np.median(f[: len(f) // 3]) == pytest.approx(first, rel=0.01)
    assert an.loudness_db[an.voiced].mean() > an.loudness_db[~an.voiced].mean() + 20
    assert an.envelope_db.shape[0] == len(an.f0_hz)


def test_revoice_solo_shifts_and_keeps_level(alto):
    res = vt.revoice(alto, sample_rate=SR, voice="alto", pitch=-12, formant=1.1)
    assert isinstance(res.audio, np.ndarray) and res.audio.shape == (1, len(alto))
    assert res.targets == {"alto": "keep:-12"} and res.separation_model is None
    y = res.audio[0]
    assert rms_cents(alto, y, -12, "alto") < 20.0
    rms = lambda v: np.sqrt(np.mean(v[np.abs(v) > 1e-3 * np.abs(v).max()] ** 2))  # noqa: E731
    assert rms(y) == pytest.approx(rms(alto), rel=0.05)


def test_voice_type_target_moves_by_octaves_into_its_range_and_scales_formants():
    tenor = sung("tenor", [55, 59], seconds=2.5)  # a tenor line around G3-B3
    res = vt.revoice(tenor, sample_rate=SR, voice="tenor", map={"tenor": "soprano"})
    assert res.shifts == {"tenor": 12.0} and res.targets == {"tenor": "soprano:+12"}
    y = res.audio[0]
    assert rms_cents(tenor, y, 12, "tenor") < 20.0
    kept = vt.revoice(tenor, sample_rate=SR, voice="tenor", map=["tenor=soprano:+0"])
    assert kept.shifts == {"tenor": 0.0}
    assert envelope_shift_factor(tenor, kept.audio[0], SR) == pytest.approx(1.20 / 1.05, rel=0.04)
