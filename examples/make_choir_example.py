"""Make examples/choir.wav: 20 s of a TEST-split chorale, sung by the project's singing synthesizer.

    python examples/make_choir_example.py            # rewrites examples/choir.wav

The chorale is the first of the fixed test list (never seen in training), version 0 (seeded
transposition and tempo), rendered at 22.05 kHz and mixed with the same seeded gains and room as
the benchmark's test mixtures. ``example_stems()`` returns the true stems, so tests can score the
separation of the bundled example against them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voicetools.data.chorales import load_chorale
from voicetools.data.render import RENDERERS, render, version_of
from voicetools.data.satb import mix

EXAMPLE_CHORALE = "bach/bwv139.6"  # a test-split chorale: the models never trained on its tune
SAMPLE_RATE = 22050
SECONDS = 20.0
OUT = Path(__file__).with_name("choir.wav")


def example_stems():
    """(name, mixture (samples,), stems (4, samples)) of the bundled example, at SAMPLE_RATE."""
    name = EXAMPLE_CHORALE
    chorale = load_chorale(name)
    version = version_of(chorale, 0)
    stems = render(chorale, version, "singing", sample_rate=SAMPLE_RATE)[None, :, : int(SECONDS * SAMPLE_RATE)]
    rng = np.random.default_rng([version.seed, RENDERERS.index("singing")])
    mixture, targets = mix(stems, rng, sample_rate=SAMPLE_RATE, reverb_p=1.0)
    peak = np.abs(mixture).max()
    return name, mixture * (0.8 / peak), targets * (0.8 / peak)


if __name__ == "__main__":
    import soundfile as sf

    name, mixture, _ = example_stems()
    sf.write(OUT, mixture, SAMPLE_RATE, subtype="PCM_16")
    print(f"{OUT}: {name}, {SECONDS:.0f} s at {SAMPLE_RATE} Hz")
