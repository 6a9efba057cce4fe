"""The separator's measured spectral loss (``voicetools.revoice.separation_loss``), undone on the bundled
example — a test chorale the curves were not measured on, with its true stems."""

import numpy as np
import pytest

import voicetools as vt
from voicetools.revoice.separation_loss import harmonics_of, long_term_db, loss_db, restore


@pytest.fixture(scope="module")
def example(choir_example):
    sr, mixture, stems = choir_example
    return sr, stems, vt.separate(mixture, sample_rate=sr).stems


def band_db(x, sr, voice, active=None):
    """Level of ``x``'s own harmonics at 2-3.8 kHz over 200-1000 Hz (dB), on the frames ``active``."""
    db, active = long_term_db(harmonics_of(x, sr, voice), active)
    f = np.fft.rfftfreq(2 * (len(db) - 1), 1.0 / sr)
    power = 10 ** (db / 10)
    return 10 * np.log10(power[(f > 2000) & (f < 3800)].sum() / power[(f > 200) & (f < 1000)].sum()), active


@pytest.mark.parametrize("i,voice", [(0, "soprano"), (1, "alto")])
def test_restoring_brings_a_separated_parts_upper_harmonics_back_towards_the_sung_part(example, i, voice):
    sr, stems, sep = example
    x = np.asarray(sep[voice], np.float32)[0]
    true, active = band_db(stems[i], sr, voice)
    before, _ = band_db(x, sr, voice, active)
    after, _ = band_db(restore(x, sr, "satb-convtasnet", voice), sr, voice, active)
    assert true - before > 4  # the separator took that much more off the upper band than off 200-1000 Hz
    assert abs(true - after) < 0.6 * (true - before)  # most of that gap closed (the loss varies by chorale)


def test_unmeasured_models_and_voices_are_left_alone():
    x = np.random.default_rng(0).standard_normal(8000).astype(np.float32)
    assert loss_db("my-separator", "alto", np.array([1000.0])) is None
    assert restore(x, 8000, "my-separator", "alto") is x and restore(x, 8000, "satb-convtasnet", None) is x
    assert loss_db("satb-convtasnet", "alto", np.array([4500.0]))[0] == 0  # above the model's band: nothing to restore
