"""Real-song remixing for the vocal model: MIR-1K layout, splits by singer, targets that sum to the mix."""

import numpy as np
import pytest
import soundfile as sf

from voicetools.data import mir1k
from voicetools.vocals.remix import SongRemixes, mixed_at

SR = mir1k.SAMPLE_RATE


def _clip(folder, name, seconds, f0, seed):
    """A MIR-1K-style clip: accompaniment (noise) LEFT, vocals (a tone) RIGHT."""
    t = np.arange(int(seconds * SR)) / SR
    vocals = 0.3 * np.sin(2 * np.pi * f0 * t)
    accomp = 0.05 * np.random.default_rng(seed).standard_normal(len(t))
    path = folder / "audio" / f"{name}.wav"
    sf.write(path, np.stack([accomp, vocals], 1).astype(np.float32), SR)
    return path


@pytest.fixture
def corpus(tmp_path):
    (tmp_path / "audio").mkdir()
    paths = [
        _clip(tmp_path, f"{singer}_1_0{i}", 4.0 + i, 200 + 50 * i, i)
        for i, singer in enumerate(["amy", "abjones", "leon", "khair"])
    ]
    return tmp_path, paths


def test_splits_are_by_singer(corpus):
    root, _ = corpus
    valid = mir1k.clips(root, split="valid")
    train = mir1k.clips(root, split="train")
    assert {mir1k.singer_of(p) for p in valid} == {"abjones", "khair"}
    assert {mir1k.singer_of(p) for p in train} == {"amy", "leon"}
    vocals, accomp = mir1k.load_clip(valid[0])
    assert abs(np.abs(vocals).max() - 0.3) < 0.01 and np.abs(accomp).max() < 0.3


def test_remixed_examples_sum_to_the_mixture_and_vary(corpus):
    root, _ = corpus
    extra = [0.1 * np.random.default_rng(9).standard_normal(5 * SR).astype(np.float32)]
    ds = SongRemixes(mir1k.clips(root, split="train"), extra_accompaniment=extra, segment_s=2.0)
    rng = np.random.default_rng(0)
    ratios, silent = [], 0
    for _ in range(200):
        mixture, targets = ds.example(rng)
        assert mixture.shape == (2 * SR,) and targets.shape == (2, 2 * SR)
        np.testing.assert_allclose(mixture, targets.sum(0), atol=1e-5)
        assert np.abs(mixture).max() <= 0.9 + 1e-6 and np.isfinite(targets).all()
        pv, pa = np.mean(targets[0] ** 2), np.mean(targets[1] ** 2)
        if pv == 0:
            silent += 1
        else:
            ratios.append(10 * np.log10(pv / pa))
    assert 0 < silent < 30  # about 5 % of examples have no vocals
    assert -10.5 < min(ratios) < -7 and 2 < max(ratios) < 5.5  # vocal-to-accompaniment -10…+5 dB


def test_mixed_at_zero_db(corpus):
    root, paths = corpus
    mixture, targets = mixed_at(paths[1])
    ratio = 10 * np.log10(np.mean(targets[0] ** 2) / np.mean(targets[1] ** 2))
    assert abs(ratio) < 1e-3 and np.allclose(mixture, targets.sum(0), atol=1e-6)
