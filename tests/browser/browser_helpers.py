"""Helpers shared by the browser tests (imported by name: this folder is on sys.path)."""

from pathlib import Path

import numpy as np


def write_choir(path, seconds=3.0, sample_rate=16000):
    """Four sine 'voices' (C5, G4, E4, C3) with vibrato: a stand-in choir."""
    import soundfile as sf

    t = np.arange(int(seconds * sample_rate)) / sample_rate
    x = sum(0.15 * np.sin(2 * np.pi * f * t + 0.3 * np.sin(2 * np.pi * 5 * t)) for f in (523.25, 392.0, 329.63, 130.81))
    sf.write(str(path), x.astype(np.float32), sample_rate)
    return Path(path)
