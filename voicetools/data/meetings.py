"""Simulated far-field meetings from real recorded speech, with known turns.

Real meetings are heard from a microphone in the middle of the table or on the wall: talkers at
different distances and levels (10-25 dB apart), a room's reverberation, talkers cutting in and
backchannelling ("mm", "yes") over each other, HVAC hum and far-off chatter, sometimes a phone
line's band. These meetings are built that way from real speech of three corpora, with every
speaker in exactly one of train / valid / test, so a model or a setting chosen on one split is
scored on voices it never heard:

* RAVDESS actors 01-12 (English, acted), ``Actor_XX/`` (odd numbers male)
* EmoDB's 10 actors (German), ``audio/<speaker>...flac``
* the AISHELL sample's 2 speakers (Mandarin read speech), ``BAC009<speaker>W....flac``

``python -m voicetools.data.meetings --out data/meetings --split valid --n 12`` writes WAV + RTTM
pairs that ``voicetools evaluate diarization --data`` scores.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from scipy.signal import butter, fftconvolve, sosfilt

from ..audio.io import resample
from .conversations import SAMPLE_RATE, Conversation, load_trimmed
from .labelled import DatasetError
from .rooms import coloured_noise, random_room

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
CORPORA = {
    "ravdess": SHARED / "ravdess-actors-01-12",
    "emodb": SHARED / "emodb",
    "aishell": SHARED / "mandarin-aishell-sample",
}
# every speaker in one split; each split has men and women, and each corpus where it has enough voices
SPLITS = {
    "train": {"ravdess": ["01", "02", "03", "04"], "emodb": ["03", "08", "09", "10"], "aishell": []},
    "valid": {"ravdess": ["05", "06"], "emodb": ["11", "13"], "aishell": ["S0150"]},
    "test": {
        "ravdess": ["07", "08", "09", "10", "11", "12"],
        "emodb": ["12", "14", "15", "16"],
        "aishell": ["S0252"],
    },
}
# meeting rooms, offices and classrooms (a choir's church reaches 1.5 s), the microphone on the
# table or a wall
RT60_S = (0.25, 1.0)
MIC_DISTANCE_M = (0.7, 5.0)
LEVEL_SPREAD_DB = (10.0, 25.0)  # loudest talker over the quietest, at the microphone
OVERLAP_P = (0.3, 0.6)  # chance that a turn starts before the last one ends
BACKCHANNEL_P = 0.4  # per turn: a short "mm" from another talker over it
BACKCHANNEL_S = (0.25, 0.6)
PHONE_P = 0.2
SNR_DB = (3.0, 20.0)  # the quietest talker over HVAC noise + babble (the loudest is 10-25 dB over that)
LEVEL_DBFS = (-45.0, -20.0)  # the whole meeting's speech level: far-field recordings are often quiet


def _speaker_files(corpus: str, speaker: str) -> list[Path]:
    root = CORPORA[corpus]
    if corpus == "ravdess":
        files = sorted(p for p in (root / f"Actor_{speaker}").glob("*") if p.suffix in (".wav", ".flac"))
    elif corpus == "emodb":
        files = sorted((root / "audio").glob(f"{speaker}*.flac"))
    else:
        files = sorted(root.glob(f"BAC009{speaker}W*.flac"))
    if not files:
        raise DatasetError(f"no recordings of {corpus} speaker {speaker} under {root}")
    return files


def speakers(split: str) -> list[tuple[str, str]]:
    """(corpus, speaker id) of every speaker of a split."""
    if split not in SPLITS:
        raise DatasetError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    return [(c, s) for c, ids in SPLITS[split].items() for s in ids]


@dataclass
class Pools:
    """Utterances by speaker name ("ravdess-07") of one split; each speaker's file list is read once."""

    split: str
    files: dict = field(default_factory=dict)

    def __post_init__(self):
        speakers(self.split)  # an unknown split fails here, not at the first utterance

    def names(self) -> list[str]:
        return [f"{c}-{s}" for c, s in speakers(self.split)]

    def utterance(self, name: str, rng: np.random.Generator) -> np.ndarray:
        if name not in self.files:
            self.files[name] = _speaker_files(*name.split("-", 1))
        files = self.files[name]
        return load_trimmed(files[rng.integers(len(files))])


def _place(audio: np.ndarray, clip: np.ndarray, start: int) -> None:
    end = min(len(audio), start + len(clip))
    audio[start:end] += clip[: end - start]


def _phone(x: np.ndarray) -> np.ndarray:
    """A telephone line: 300-3400 Hz through an 8 kHz codec rate."""
    sos = butter(4, [300, 3400], btype="band", fs=SAMPLE_RATE, output="sos")
    y = resample(torch.from_numpy(sosfilt(sos, x).astype(np.float32))[None], SAMPLE_RATE, 8000)
    return resample(y, 8000, SAMPLE_RATE)[0].numpy()[: len(x)]


def meeting(
    pools: Pools, rng: np.random.Generator, *, n_speakers: int | None = None, n_turns: int = 14
) -> Conversation:
    """One far-field meeting of 2-4 talkers from ``pools``: turns, cut-ins and backchannels, each
    talker at its own place and level in one image-source room, noise, maybe a phone line."""
    names = pools.names()
    k = n_speakers or int(rng.integers(2, 5))
    chosen = [str(n) for n in rng.choice(names, min(k, len(names)), replace=False)]
    spread = rng.uniform(*LEVEL_SPREAD_DB)
    levels = dict(zip(chosen, [0.0, -spread, *rng.uniform(-spread, 0.0, len(chosen) - 2)]))
    room = random_room(len(chosen), SAMPLE_RATE, rng, rt60_s=RT60_S, mic_distance_m=MIC_DISTANCE_M)
    rirs = dict(zip(chosen, room.rirs))
    overlap_p = rng.uniform(*OVERLAP_P)

    placed: list[tuple[float, np.ndarray, str]] = []  # (start s, dry clip at its level, speaker)
    t, prev = 0.5, None
    for _ in range(n_turns):
        spk = str(rng.choice([n for n in chosen if n != prev]))
        clip = pools.utterance(spk, rng)
        if placed and rng.uniform() < overlap_p:  # cuts in before the last talker is done
            start = max(placed[-1][0] + 0.3, t - rng.uniform(0.5, 2.0))
        else:
            start = t + rng.uniform(0.1, 0.8)
        placed.append((start, clip, spk))
        if len(chosen) > 1 and rng.uniform() < BACKCHANNEL_P:  # "mm": a short snippet from someone else
            other = str(rng.choice([n for n in chosen if n != spk]))
            snip = pools.utterance(other, rng)
            n = int(rng.uniform(*BACKCHANNEL_S) * SAMPLE_RATE)
            i0 = int(rng.integers(max(1, len(snip) - n)))
            snip = snip[i0 : i0 + n] * np.hanning(min(n, len(snip[i0:])) + 2)[1:-1].astype(np.float32)
            placed.append((start + rng.uniform(0.2, 0.8) * len(clip) / SAMPLE_RATE, snip, other))
        t = max(t, start + len(clip) / SAMPLE_RATE)
        prev = spk
    n = int((t + 0.5) * SAMPLE_RATE)
    speech = np.zeros(n, np.float32)
    turns = []
    for start, clip, spk in placed:
        gain = 10 ** ((levels[spk] - 20) / 20) / (np.sqrt(np.mean(clip**2)) + 1e-9)
        wet = fftconvolve(clip * gain, rirs[spk])[: len(clip) + SAMPLE_RATE // 2].astype(np.float32)
        i = int(start * SAMPLE_RATE)
        _place(speech, wet, i)
        turns.append((i / SAMPLE_RATE, min(n, i + len(clip)) / SAMPLE_RATE, spk))
    speech_rms = np.sqrt(np.mean(speech[speech != 0] ** 2)) if np.any(speech) else 1.0
    quietest = 10 ** ((min(levels.values()) - 20) / 20)  # the dry level every talker was set to, scaled
    noise = coloured_noise(n, rng, exponent=rng.uniform(1.0, 2.0))  # HVAC: pink to brown
    babble = _babble(pools, chosen, n, rng)
    mix_bg = noise + (rng.uniform(0.3, 1.0) * babble if babble is not None else 0.0)
    bg_rms = np.sqrt(np.mean(mix_bg**2)) + 1e-12
    snr = rng.uniform(*SNR_DB)
    audio = speech + mix_bg * quietest / bg_rms * 10 ** (-snr / 20)
    phone = rng.uniform() < PHONE_P
    if phone:
        audio = _phone(audio)
    level = rng.uniform(*LEVEL_DBFS)
    audio *= 10 ** (level / 20) / speech_rms
    peak = np.abs(audio).max()
    if peak > 0.99:
        audio *= 0.99 / peak
    info = {
        "rt60_s": round(room.rt60_s, 2),
        "levels_db": {k: round(v, 1) for k, v in levels.items()},
        "snr_quietest_db": round(snr, 1),
        "phone": phone,
        "speech_dbfs": round(level, 1),
    }
    return Conversation(audio.astype(np.float32), sorted(turns), info)


def _babble(pools: Pools, chosen: list[str], n: int, rng: np.random.Generator) -> np.ndarray | None:
    """Far-off talk of the split's other speakers (never the meeting's own), unit RMS."""
    others = [s for s in pools.names() if s not in chosen]
    if not others:
        return None
    out = np.zeros(n, np.float32)
    for _ in range(int(rng.integers(3, 7))):
        pos = 0
        spk = str(rng.choice(others))
        while pos < n:
            clip = pools.utterance(spk, rng)
            _place(out, clip / (np.sqrt(np.mean(clip**2)) + 1e-9), pos)
            pos += len(clip) + int(rng.uniform(0.2, 1.5) * SAMPLE_RATE)
    sos = butter(2, 2500, btype="low", fs=SAMPLE_RATE, output="sos")  # distant: the highs are gone
    out = sosfilt(sos, out).astype(np.float32)
    return out / (np.sqrt(np.mean(out**2)) + 1e-12)


def overlap_fraction(turns, duration_s: float, frame_s: float = 0.01) -> float:
    """Share of the speech time in which two or more talk."""
    count = np.zeros(int(np.ceil(duration_s / frame_s)) + 1, int)
    for a, b, _ in turns:
        count[int(a / frame_s) : int(b / frame_s)] += 1
    return float((count >= 2).sum() / max(1, (count >= 1).sum()))


def write_set(out: Path, split: str, n: int, seed: int = 0) -> list[Path]:
    """``n`` meetings of ``split`` as ``<split>-NN.wav`` + ``.rttm`` in ``out``; seeded, so a set is
    rebuilt the same way anywhere."""
    out.mkdir(parents=True, exist_ok=True)
    pools = Pools(split)
    paths = []
    for i in range(n):
        rng = np.random.default_rng([seed, {"train": 0, "valid": 1, "test": 2}[split], i])
        conv = meeting(pools, rng)
        uri = f"{split}-{i:02d}"
        sf.write(out / f"{uri}.wav", conv.audio, SAMPLE_RATE, subtype="PCM_16")
        (out / f"{uri}.rttm").write_text(conv.rttm(uri))
        paths.append(out / f"{uri}.wav")
    return paths


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Write simulated far-field meetings (WAV + RTTM).")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--split", choices=list(SPLITS), default="valid")
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    for p in write_set(args.out, args.split, args.n, args.seed):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
