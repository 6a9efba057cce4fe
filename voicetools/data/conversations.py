"""Multi-speaker conversations with known turns, for diarization tests and benchmarks.

Two sources of utterances: espeak-ng voices (always available: ``apt-get install espeak-ng``;
voices differ in variant, pitch and speed) and real recorded speech from a folder with one
sub-folder per speaker (e.g. RAVDESS ``Actor_XX/``). Turns follow each other with random pauses,
and with probability ``overlap_p`` the next speaker starts before the current one stops.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from ..audio.io import load_audio, resample, to_mono
from ..errors import MissingDependencyError

SAMPLE_RATE = 16000

# Harvard sentences (IEEE 1969), public domain
SENTENCES = [
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.",
    "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.",
    "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.",
    "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.",
    "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.",
    "The girl at the booth sold fifty bonds.",
    "The small pup gnawed a hole in the sock.",
    "The fish twisted and turned on the bent hook.",
    "Press the pants and sew a button on the vest.",
    "The swan dive was far short of perfect.",
    "The beauty of the view stunned the young boy.",
    "Two blue fish swam in the tank.",
    "Her purse was full of useless trash.",
    "The colt reared and threw the tall rider.",
    "It snowed, rained, and hailed the same morning.",
    "Read verse out loud for pleasure.",
]

# espeak-ng voices that a speaker encoder tells apart: chosen from 28 variants so that no two have
# mean embeddings (speaker-resemblyzer) more alike than 0.72 in cosine — same-gender variants of
# one base voice are near 0.9 and would be one "person"
ESPEAK_SPEAKERS = [
    ("en-us+m3", 40, 160),
    ("en+steph", 65, 160),
    ("en-us+f4", 85, 175),
    ("en+iven3", 50, 150),
    ("en+Andy", 50, 160),
    ("en-us+klatt", 50, 150),
    ("en+boris", 50, 150),
    ("en+edward", 50, 150),
]


@dataclass
class Conversation:
    audio: np.ndarray  # mono float32 at SAMPLE_RATE
    turns: list[tuple[float, float, str]] = field(default_factory=list)  # (start_s, end_s, speaker)
    info: dict = field(default_factory=dict)  # how it was made (room, levels, noise), for reports

    @property
    def duration_s(self) -> float:
        return len(self.audio) / SAMPLE_RATE

    def rttm(self, uri: str) -> str:
        return "".join(f"SPEAKER {uri} 1 {s:.3f} {e - s:.3f} <NA> <NA> {spk} <NA> <NA>\n" for s, e, spk in self.turns)


def espeak(text: str, voice: str, pitch: int = 50, speed: int = 160) -> np.ndarray:
    """One utterance from espeak-ng, trimmed of its leading/trailing silence, at SAMPLE_RATE."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise MissingDependencyError("synthetic conversations need espeak-ng: apt-get install espeak-ng")
    wav = subprocess.run(
        [exe, "-v", voice, "-p", str(pitch), "-s", str(speed), "--stdout", text], capture_output=True, check=True
    ).stdout
    x, sr = sf.read(io.BytesIO(wav), dtype="float32")
    x = resample(torch.from_numpy(x)[None], sr, SAMPLE_RATE)[0].numpy()
    loud = np.flatnonzero(np.abs(x) > 0.01 * np.abs(x).max())
    return x[loud[0] : loud[-1] + 1] if len(loud) else x


def espeak_pools(n_speakers: int, n_utterances: int, rng: np.random.Generator) -> dict[str, list[np.ndarray]]:
    """``n_speakers`` espeak voices, each with ``n_utterances`` different sentences."""
    if n_speakers > len(ESPEAK_SPEAKERS):
        raise ValueError(f"at most {len(ESPEAK_SPEAKERS)} espeak speakers")
    picks = rng.choice(len(ESPEAK_SPEAKERS), n_speakers, replace=False)
    pools = {}
    for i in picks:
        voice, pitch, speed = ESPEAK_SPEAKERS[i]
        texts = rng.choice(SENTENCES, n_utterances, replace=False)
        pools[voice.replace("+", "_")] = [espeak(str(t), voice, pitch, speed) for t in texts]
    return pools


def folder_pools(
    root: Path,
    n_speakers: int,
    n_utterances: int,
    rng: np.random.Generator,
    pattern: str = "*.*",
    only: list[str] | None = None,
) -> dict[str, list[np.ndarray]]:
    """Utterances of ``n_speakers`` random speakers from ``root/<speaker>/<files>`` (e.g. RAVDESS),
    drawn from the sub-folders named in ``only`` if given."""
    speakers = sorted(d for d in Path(root).iterdir() if d.is_dir() and (only is None or d.name in only))
    pools = {}
    for d in rng.choice(speakers, min(n_speakers, len(speakers)), replace=False):
        files = sorted(f for f in Path(d).glob(pattern) if f.suffix.lower() in (".wav", ".flac"))
        chosen = rng.choice(files, min(n_utterances, len(files)), replace=False)
        pools[Path(d).name] = [load_trimmed(f) for f in chosen]
    return pools


def load_trimmed(path) -> np.ndarray:
    """A recorded utterance, mono at SAMPLE_RATE, without the silence before and after it (corpora
    pad their clips or lead with silence: the turn is the speech)."""
    a = load_audio(path)
    x = resample(to_mono(a.samples), a.sample_rate, SAMPLE_RATE)[0].numpy()
    loud = np.flatnonzero(np.abs(x) > 0.02 * np.abs(x).max())
    return (x[loud[0] : loud[-1] + 1] if len(loud) else x).astype(np.float32)


def build(
    pools: dict[str, list[np.ndarray]],
    n_turns: int,
    rng: np.random.Generator,
    *,
    pause_s: tuple[float, float] = (0.2, 1.0),
    overlap_p: float = 0.15,
    overlap_s: tuple[float, float] = (0.3, 0.8),
    lead_s: float = 0.5,
    noise_db: float = -50.0,
) -> Conversation:
    """Turns drawn from ``pools`` (never the same speaker twice in a row), mixed on one track."""
    names = list(pools)
    used = {n: 0 for n in names}
    placed, t, prev = [], lead_s, None
    for _ in range(n_turns):
        spk = rng.choice([n for n in names if n != prev]) if len(names) > 1 else names[0]
        clip = pools[spk][used[spk] % len(pools[spk])]
        used[spk] += 1
        if placed and rng.uniform() < overlap_p:
            start = max(placed[-1][0] + 0.5, t - rng.uniform(*overlap_s))
        else:
            start = t + (rng.uniform(*pause_s) if placed else 0.0)
        # every utterance at about the same loudness (±2 dB), as talkers at one table would be
        gain = 10 ** ((rng.uniform(-2, 2) - 20) / 20) / (np.sqrt(np.mean(clip**2)) + 1e-9)
        placed.append((start, clip * gain, spk))
        t = max(t, start + len(clip) / SAMPLE_RATE)
        prev = spk
    audio = np.zeros(int((t + lead_s) * SAMPLE_RATE), np.float32)
    turns = []
    for start, clip, spk in placed:
        i = int(start * SAMPLE_RATE)
        audio[i : i + len(clip)] += clip
        turns.append((i / SAMPLE_RATE, (i + len(clip)) / SAMPLE_RATE, str(spk)))
    audio += (10 ** (noise_db / 20) * rng.standard_normal(len(audio))).astype(np.float32)
    audio *= 0.5 / np.abs(audio).max()
    return Conversation(audio, sorted(turns))
