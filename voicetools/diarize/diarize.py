"""``diarize``: who spoke when, in three passes over the audio (see the package docstring)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..audio.io import as_audio, audio_info, mono_blocks, resample, to_mono
from ..checkpoints import LoadedModel, resolve_model
from ..errors import ParameterError
from ..files import atomic_write_text
from .pipeline import (
    Settings,
    check_counts,
    cluster,
    embed_stream,
    frame_scores,
    frames_to_turns,
    segment_groups,
    window_spans,
)
from .vad import SAMPLE_RATE, detect_speech, get_vad

DEFAULT_ENCODER = "speaker-resemblyzer"
# the encoder was trained on speech normalised to this loudness (Resemblyzer's preprocessing)
TARGET_DBFS = -30.0


@dataclass(frozen=True)
class Turn:
    start_s: float
    end_s: float
    speaker: str

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass
class DiarizationResult:
    """``turns`` sorted by start (overlapping turns of different speakers are allowed)."""

    turns: list[Turn]
    duration_s: float
    speech_s: float
    model: str
    warnings: list[str] = field(default_factory=list)

    @property
    def speakers(self) -> list[str]:
        return sorted({t.speaker for t in self.turns})

    def speaking_time(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for t in self.turns:
            out[t.speaker] = out.get(t.speaker, 0.0) + t.duration_s
        return out

    def overlaps(self) -> list[tuple[float, float]]:
        """(start_s, end_s) of every stretch in which two or more speakers talk at once."""
        edges = sorted([(t.start_s, 1) for t in self.turns] + [(t.end_s, -1) for t in self.turns])
        out, talking, start = [], 0, 0.0
        for time, step in edges:  # at equal times an end (-1) sorts first: touching turns do not overlap
            if talking < 2 <= talking + step:
                start = time
            elif talking + step < 2 <= talking and time > start:
                out.append((start, time))
            talking += step
        return out

    def to_rttm(self, uri: str = "audio") -> str:
        return "".join(
            f"SPEAKER {uri} 1 {t.start_s:.3f} {t.duration_s:.3f} <NA> <NA> {t.speaker} <NA> <NA>\n" for t in self.turns
        )

    def save_rttm(self, path, uri: str | None = None) -> Path:
        path = Path(path)
        return atomic_write_text(path, self.to_rttm(uri or path.stem))

    def to_annotation(self, uri: str = "audio"):
        """The turns as a ``pyannote.core.Annotation`` (needs pyannote.core: pip install pyannote.metrics)."""
        from pyannote.core import Annotation, Segment

        ann = Annotation(uri=uri)
        for i, t in enumerate(self.turns):
            ann[Segment(t.start_s, t.end_s), i] = t.speaker
        return ann

    def to_dict(self) -> dict:
        return {
            "duration_s": self.duration_s,
            "speech_s": self.speech_s,
            "model": self.model,
            "speakers": self.speakers,
            "speaking_time_s": self.speaking_time(),
            "turns": [
                {"start_s": round(t.start_s, 3), "end_s": round(t.end_s, 3), "speaker": t.speaker} for t in self.turns
            ],
            "warnings": self.warnings,
        }


BLOCK_S = 60.0  # diarization reads long files this many seconds at a time: memory does not grow with length


def _block_source(audio, sample_rate) -> tuple[Callable, int]:
    """A function returning a fresh iterator over 16 kHz mono float32 blocks, and the channel count.

    A file is decoded again on every pass (three passes, never held whole); an array in memory is
    converted once and cut into views.
    """
    if isinstance(audio, (str, os.PathLike)):
        info = audio_info(audio)
        return (lambda: mono_blocks(audio, SAMPLE_RATE, block_s=BLOCK_S, info=info)), int(info.channels)
    a = as_audio(audio, sample_rate)
    x = resample(to_mono(a.samples), a.sample_rate, SAMPLE_RATE)[0].numpy().astype(np.float32)
    step = int(BLOCK_S * SAMPLE_RATE)
    return (lambda: (x[i : i + step] for i in range(0, len(x), step))), a.channels


def _encoder(encoder) -> tuple[object, str]:
    if hasattr(encoder, "embed_variable"):
        return encoder, type(encoder).__name__
    loaded: LoadedModel = resolve_model(encoder or DEFAULT_ENCODER, "speaker-embedding")
    return loaded.model, loaded.name


def diarize(
    audio,
    *,
    sample_rate: int | None = None,
    speakers: int | None = None,
    min_speakers: int = 1,
    max_speakers: int | None = None,
    vad: str | Callable | None = "silero",
    encoder=None,
    overlap: bool = True,
    settings: Settings | None = None,
    callback: Callable[[str, int, int], None] | None = None,
) -> DiarizationResult:
    """Find who spoke when.

    Parameters
    ----------
    audio : path, array/tensor (time,), (channels, time) or (time, channels) with ``sample_rate``; any
        rate, channels averaged.
    speakers : the exact number of speakers, if known; else it is estimated (``min_speakers`` to
        ``max_speakers``).
    vad : "silero" (default), "energy", or a callable ``audio_16k -> [(start_s, end_s)]``.
    encoder : a speaker-embedding model name/folder (default ``speaker-resemblyzer``) or an object
        with ``embed_variable(clips) -> unit embeddings`` (16 kHz clips of any length).
    overlap : also label a second speaker where two are equally likely (overlapped speech).

    Returns
    -------
    DiarizationResult — speakers are named SPEAKER_00, SPEAKER_01, … in order of first speech.
    """
    check_counts(speakers, min_speakers, max_speakers)
    s = settings or Settings()
    blocks, channels = _block_source(audio, sample_rate)
    notes = [f"{channels} channels were averaged to mono"] if channels > 1 else []
    net, name = _encoder(encoder)
    # pass 1: length and loudness (the encoder was trained on speech at TARGET_DBFS)
    n_samples, energy = 0, 0.0
    for b in blocks():
        n_samples, energy = n_samples + len(b), energy + float(np.dot(b, b))
    duration = n_samples / SAMPLE_RATE
    if energy == 0.0:
        return DiarizationResult([], duration, 0.0, name, notes + ["the input is silent: no speech, no speakers"])
    rms_db = 10 * np.log10(energy / n_samples + 1e-12)
    gain = np.float32(10 ** ((TARGET_DBFS - rms_db) / 20)) if rms_db < TARGET_DBFS else np.float32(1.0)

    def levelled():
        for b in blocks():
            yield np.clip(b * gain, -1.0, 1.0)

    # pass 2: speech regions, block by block (a region cut by a block edge is joined again)
    regions = [(max(0.0, a_), min(duration, b)) for a_, b in detect_speech(get_vad(vad), levelled(), SAMPLE_RATE)]
    speech_s = float(sum(b - a_ for a_, b in regions))
    if not regions:
        return DiarizationResult([], duration, 0.0, name, notes + ["no speech was found"])
    if speech_s / s.hop_s > s.max_windows:  # long recordings: fewer, further-apart windows keep clustering fast
        s = replace(s, hop_s=min(s.window_s, speech_s / s.max_windows))
    spans = window_spans(regions, s) or [max(regions, key=lambda r: r[1] - r[0])]  # only short bursts: the longest
    # pass 3: one embedding per window, the audio held one block at a time
    emb = embed_stream(net, levelled(), spans, SAMPLE_RATE, s, callback)
    labels = cluster(
        emb,
        s,
        num_speakers=speakers,
        min_speakers=min_speakers,
        max_speakers=max_speakers,
        groups=segment_groups(spans, regions, s.segment_s),
    )
    scores, speech = frame_scores(emb, labels, spans, regions, duration, s)
    turns = [
        Turn(round(float(a_), 3), round(float(min(b, duration)), 3), f"SPEAKER_{k:02d}")
        for a_, b, k in frames_to_turns(scores, speech, s, overlap=overlap)
    ]
    if speakers is not None and len({t.speaker for t in turns}) < speakers:
        notes.append(f"asked for {speakers} speakers; only {len({t.speaker for t in turns})} were heard")
    return DiarizationResult(turns, duration, speech_s, name, notes)


def read_rttm(path) -> dict[str, list[Turn]]:
    """RTTM file → {uri: [Turn]} (SPEAKER lines only)."""
    out: dict[str, list[Turn]] = {}
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        f = line.split()
        if not f or f[0] != "SPEAKER":
            continue
        try:
            start, dur = float(f[3]), float(f[4])
            out.setdefault(f[1], []).append(Turn(start, start + dur, f[7]))
        except (IndexError, ValueError):
            raise ParameterError(f"{path}:{n}: not an RTTM SPEAKER line: {line!r}") from None
    return out
