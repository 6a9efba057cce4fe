"""Voice-type colour (``voicetools.revoice.colour``): measured on the singing synthesizer's own voices.

A sung vowel of one voice type, recoloured to another, must fit the target type's table envelope of
THAT vowel better than the source's (the character moved), match the same vowel among the target's
five that it matched among the source's before (the vowel kept), and keep its pitch and length.
The same type at the same scale is the identity.
"""

import numpy as np
import pytest

from voicetools.data.chorales import Note
from voicetools.data.singing import VOWELS, Singer, sing
from voicetools.revoice.analysis import cents_error, f0_track, mean_envelope_db
from voicetools.revoice.colour import recolour, vowel_envelopes_db

SR = 16000


def sung(voice, vowel, pitch, seed=0):
    rng = np.random.default_rng(seed)
    s = Singer.random(voice, rng)
    s.vibrato_cents, s.jitter, s.formant_scale, s.tilt_db_per_oct = 0.0, 0.0, 1.0, 0.0
    return 0.1 * sing(
        [Note(0.0, 2.0, pitch, vowel)],
        voice=voice,
        sample_rate=SR,
        length_s=2.3,
        seconds_per_quarter=1.0,
        rng=rng,
        singer=s,
    )


def fits(x, voice):
    """Correlation (250-3800 Hz) of ``x``'s mean envelope with each of ``voice``'s five vowel envelopes."""
    env, hz = mean_envelope_db(x, SR)
    band = (hz > 250) & (hz < 3800)
    a = env[band] - env[band].mean()
    t = vowel_envelopes_db(voice, hz)[:, band]
    t = t - t.mean(1, keepdims=True)
    return t @ a / (np.linalg.norm(t, axis=1) * np.linalg.norm(a))


@pytest.mark.parametrize(
    "source,target,vowel,pitch",
    [
        ("soprano", "bass", "a", 50),
        ("tenor", "alto", "o", 55),
        ("alto", "tenor", "e", 57),
        ("bass", "soprano", "a", 52),
    ],
)
def test_recolour_moves_the_vowel_to_the_target_types_envelope(source, target, vowel, pitch):
    x = sung(source, vowel, pitch)
    y = recolour(x, SR, source, target)
    assert y.shape == x.shape and y.dtype == np.float32
    v = VOWELS.index(vowel)
    before, after = fits(x, target)[v] - fits(x, source)[v], fits(y, target)[v] - fits(y, source)[v]
    assert after > before + 0.1 and after > 0
    # still the vowel that was sung: the target's table names the same vowel the source's named before
    assert int(np.argmax(fits(y, target))) == int(np.argmax(fits(x, source)))
    e = cents_error(f0_track(x, SR), f0_track(y, SR), 0.0)
    assert len(e) > 150 and np.sqrt(np.mean(e**2)) < 5.0


def test_recolour_is_the_identity_for_the_same_type_and_silence():
    x = sung("alto", "a", 60)
    assert np.array_equal(recolour(x, SR, "alto", "alto"), x)
    assert not np.any(recolour(np.zeros(8000, np.float32), SR, "alto", "bass"))


@pytest.mark.parametrize(
    "source,target,f0",
    [("soprano", "bass", 98.0), ("tenor", "soprano", 131.0), ("alto", "bass", 196.0), ("bass", "alto", 392.0)],
)
def test_recolour_keeps_the_lowest_harmonics_balance_and_changes_the_envelope_smoothly(source, target, f0):
    # a flat harmonic tone: the change of each harmonic's level is the correction the colour applied
    t = np.arange(int(1.5 * SR)) / SR
    x = (0.02 * sum(np.sin(2 * np.pi * f0 * k * t) for k in range(1, int(3800 / f0)))).astype(np.float32)
    y = recolour(x, SR, source, target, f0_hz=np.full(151, f0))
    mid = slice(SR // 4, 5 * SR // 4)
    f = np.fft.rfftfreq(SR, 1 / SR)

    def levels(z):
        spec = np.abs(np.fft.rfft(z[mid] * np.hanning(SR)))
        return np.array([20 * np.log10(spec[np.abs(f - f0 * k) < 3].max()) for k in range(1, int(3500 / f0))])

    gain = levels(y) - levels(x)
    assert np.ptp(gain) > 6.0  # the colour did change the envelope
    # fundamental and second harmonic as they were to each other (a cut fundamental is heard an octave up)
    assert abs(gain[0] - gain[1]) < 1.0
    # no narrow peaks: neighbouring harmonics' gains differ by under 6 dB per 100 Hz
    assert np.max(np.abs(np.diff(gain))) * 100 / f0 < 6.0
