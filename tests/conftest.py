"""Shared fixtures: synthetic signals with known answers, and a scratch folder per test."""

import numpy as np
import pytest


@pytest.fixture
def tone():
    """A function making a sine of ``freq_hz`` for ``seconds`` at ``sample_rate``, float32."""

    def make(freq_hz=440.0, seconds=1.0, sample_rate=8000, amplitude=0.3):
        t = np.arange(int(seconds * sample_rate)) / sample_rate
        return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)

    return make
