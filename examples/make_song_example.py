"""Make examples/song.wav: a short stereo "song" from a TEST-split chorale, for `voicetools vocals`.

    python examples/make_song_example.py            # rewrites examples/song.wav

The chorale is the first of the fixed test list (never seen in training), version 0 (seeded
transposition and tempo), its first 8 bars: the melody sung by the project's singing synthesizer
(with a room) over the band arrangement of the same harmony (piano, guitar, bass, strings, drums)
rendered by FluidSynth, panned across the stereo field, at 22.05 kHz. ``example_stems()`` returns
the true vocals and accompaniment, so tests and benchmarks can score the extraction against them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voicetools.audio.augment import reverberate, room_impulse_response
from voicetools.data.arrangement import INSTRUMENTS, render_arrangement
from voicetools.data.chorales import load_chorale
from voicetools.data.render import render_singing, version_of
from voicetools.vocals.data import MAX_QUARTERS, _excerpt

EXAMPLE_CHORALE = "bach/bwv139.6"  # a test-split chorale: the models never trained on its tune
SAMPLE_RATE = 22050
SECONDS = 20.0
OUT = Path(__file__).with_name("song.wav")
# instrument -> (gain dB, pan -1 left .. 1 right)
BAND = {"piano": (-3, -0.4), "guitar": (-6, 0.5), "bass": (-2, 0.0), "strings": (-8, 0.3), "drums": (-5, 0.0)}


def _pan(x: np.ndarray, pan: float) -> np.ndarray:
    angle = (pan + 1) * np.pi / 4  # constant-power panning
    return np.stack([np.cos(angle) * x, np.sin(angle) * x])


def example_stems():
    """(name, mixture (2, samples), {"vocals": (2, samples), "accompaniment": (2, samples)}) at SAMPLE_RATE."""
    name = EXAMPLE_CHORALE
    chorale = load_chorale(name)
    version = version_of(chorale, 0)
    chorale = _excerpt(chorale, MAX_QUARTERS)
    rng = np.random.default_rng(version.seed)
    n = int(SECONDS * SAMPLE_RATE)
    melody = render_singing(chorale, version, sample_rate=SAMPLE_RATE)[0]
    band = render_arrangement(chorale, version, sample_rate=SAMPLE_RATE)
    n = min(n, len(melody), band.shape[-1])
    vocals = _pan(reverberate(melody[:n], room_impulse_response(SAMPLE_RATE, rng, rt60_s=0.8)), 0.0)
    accomp = sum(_pan(band[i, :n] * 10 ** (BAND[inst][0] / 20), BAND[inst][1]) for i, inst in enumerate(INSTRUMENTS))
    accomp = reverberate(accomp, room_impulse_response(SAMPLE_RATE, rng, rt60_s=0.5))
    mixture = vocals + accomp
    scale = 0.8 / np.abs(mixture).max()
    return name, (mixture * scale).astype(np.float32), {"vocals": vocals * scale, "accompaniment": accomp * scale}


if __name__ == "__main__":
    import soundfile as sf

    name, mixture, _ = example_stems()
    sf.write(OUT, mixture.T, SAMPLE_RATE, subtype="PCM_16")
    print(f"{OUT}: {name}, {mixture.shape[-1] / SAMPLE_RATE:.1f} s stereo at {SAMPLE_RATE} Hz")
