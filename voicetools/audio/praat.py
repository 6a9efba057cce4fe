"""Praat (parselmouth) helpers shared by the tasks that run its PSOLA (pronounce's data, revoice's vocoder)."""

from __future__ import annotations

import contextlib
import hashlib

import numpy as np


@contextlib.contextmanager
def praat_seed(*inputs):
    """Praat's random generator seeded from ``inputs`` inside the block (its PSOLA draws random
    numbers, so the same input gave slightly different audio on every run), unpredictable again after."""
    import parselmouth  # a compiled extension, loaded only where Praat runs

    h = hashlib.sha1(repr([np.asarray(a).tobytes() if isinstance(a, np.ndarray) else a for a in inputs]).encode())
    parselmouth.praat.run(f"random_initializeWithSeedUnsafelyButPredictably ({int(h.hexdigest()[:8], 16)})")
    try:
        yield
    finally:
        parselmouth.praat.run("random_initializeSafelyAndUnpredictably ()")
