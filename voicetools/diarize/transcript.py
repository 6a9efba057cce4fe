"""Who said what: Whisper words aligned to diarized speaker turns, written as SRT or JSON.

The whisperX / pyannote-whisper recipe: Whisper transcribes the whole recording with word
timestamps, each word goes to the speaker whose turn overlaps it most (the nearest turn if none
does), and consecutive words of one speaker become an utterance. Where an emotion model is
available every utterance also gets an emotion token (``<|emotion-happy|>``, see
``voicetools.classify.emotion``).

Whisper (``pip install 'voicetools[whisper]'``) is optional and its weights are never downloaded
here (``voicetools models fetch whisper-small`` is the opt-in way):
pass a checkpoint file in Whisper's own format (``{"dims": ..., "model_state_dict": ...}``) or the
name of an official model already in Whisper's cache folder (``~/.cache/whisper/small.pt``, as
``whisper.load_model`` leaves it), which is checked against the sha256 in Whisper's model list.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..classify import classify
from ..classify.emotion import emotion_token, tag_transcript
from ..errors import MissingDependencyError, ModelLoadError
from ..files import atomic_write_text, sha256_of
from ..official_weights import whisper_cache

SAMPLE_RATE = 16000
DEFAULT_WHISPER = "small"


def _whisper():
    try:
        import whisper
    except ImportError:
        raise MissingDependencyError("transcripts need openai-whisper: pip install 'voicetools[whisper]'") from None
    return whisper


def load_whisper(model: str | os.PathLike = DEFAULT_WHISPER, *, device: str = "cpu", cache_dir=None):
    """A Whisper model from a local checkpoint file, or an official name found in the local cache.

    Never downloads: a name whose file is missing (or fails its checksum) is an error saying where
    to put the file.
    """
    whisper = _whisper()
    path = Path(model)
    heads = None
    if not path.is_file():
        name = str(model)
        if name not in whisper._MODELS:
            raise ModelLoadError(
                f"Whisper model {name!r} is neither a checkpoint file nor an official name "
                f"({', '.join(whisper.available_models())})"
            )
        url = whisper._MODELS[name]
        path = Path(cache_dir or whisper_cache()) / os.path.basename(url)
        if not path.is_file():
            raise ModelLoadError(
                f"Whisper {name!r} weights are not at {path}; get them with: voicetools models "
                f"fetch whisper-{name} (or pass a checkpoint path)"
            )
        if sha256_of(path) != url.split("/")[-2]:
            raise ModelLoadError(f"{path} does not match the checksum of Whisper {name!r}; replace the file")
        heads = whisper._ALIGNMENT_HEADS.get(name)
    try:
        net = whisper.load_model(str(path), device=device)  # a file path: whisper reads it with weights_only=True
    except Exception as e:  # noqa: BLE001 - any unreadable checkpoint is the user's file, said in one line
        raise ModelLoadError(f"cannot load Whisper checkpoint {path}: {str(e).splitlines()[0][:200]}") from None
    if heads is not None:
        net.set_alignment_heads(heads)
    return net


@dataclass
class Word:
    start_s: float
    end_s: float
    text: str
    speaker: str | None = None


@dataclass
class Utterance:
    speaker: str
    start_s: float
    end_s: float
    text: str
    emotion: str | None = None
    words: list[Word] = field(default_factory=list)


def whisper_words(audio_16k: np.ndarray, model, *, language: str | None = None, **options) -> list[Word]:
    """Whisper's words with their timestamps (seconds) for 16 kHz mono float32 audio."""
    out = model.transcribe(
        np.ascontiguousarray(audio_16k, dtype=np.float32),
        word_timestamps=True,
        fp16=False,
        language=language,
        verbose=None,
        **options,
    )
    return [
        Word(float(w["start"]), float(w["end"]), w["word"].strip())
        for seg in out["segments"]
        for w in seg.get("words", [])
        if w["word"].strip()
    ]


def assign_speakers(words: list[Word], turns) -> list[Word]:
    """Each word to the speaker whose turns overlap it most; a word in a gap goes to the nearest turn."""
    if not turns:
        return [Word(w.start_s, w.end_s, w.text, None) for w in words]
    starts = np.array([t.start_s for t in turns])
    ends = np.array([t.end_s for t in turns])
    out = []
    for w in words:
        overlap = np.minimum(ends, w.end_s) - np.maximum(starts, w.start_s)
        if overlap.max() > 0:
            by_speaker: dict[str, float] = {}
            for t, ov in zip(turns, overlap):
                if ov > 0:
                    by_speaker[t.speaker] = by_speaker.get(t.speaker, 0.0) + float(ov)
            speaker = max(by_speaker, key=by_speaker.get)
        else:
            mid = (w.start_s + w.end_s) / 2
            speaker = turns[int(np.argmin(np.minimum(abs(starts - mid), abs(ends - mid))))].speaker
        out.append(Word(w.start_s, w.end_s, w.text, speaker))
    return out


def utterances(words: list[Word], *, max_gap_s: float = 1.5) -> list[Utterance]:
    """Consecutive words of one speaker, split where the speaker changes or a pause exceeds ``max_gap_s``."""
    out: list[Utterance] = []
    for w in words:
        last = out[-1] if out else None
        if last and last.speaker == w.speaker and w.start_s - last.end_s <= max_gap_s:
            last.end_s, last.text = max(last.end_s, w.end_s), f"{last.text} {w.text}"
            last.words.append(w)
        else:
            out.append(Utterance(w.speaker or "UNKNOWN", w.start_s, w.end_s, w.text, words=[w]))
    return out


def add_emotions(utts: list[Utterance], audio_16k: np.ndarray, model="emotion-ravdess-cnn") -> list[Utterance]:
    """Label each utterance with the emotion the classifier hears most over its span."""
    if not utts:
        return utts
    segments = classify(audio_16k, sample_rate=SAMPLE_RATE, model=model, task="emotion", segments=True).segments
    for u, row in zip(
        utts, tag_transcript([{"start_s": u.start_s, "end_s": u.end_s, "text": u.text} for u in utts], segments)
    ):
        u.emotion = row["emotion"]
    return utts


def _srt_time(t: float) -> str:
    ms = int(round(max(0.0, t) * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def to_srt(utts: list[Utterance]) -> str:
    """SubRip: one cue per utterance, ``[SPEAKER_00] <|emotion-neutral|> text``."""
    cues = []
    for i, u in enumerate(utts, 1):
        tag = f" {emotion_token(u.emotion)}" if u.emotion else ""
        cues.append(f"{i}\n{_srt_time(u.start_s)} --> {_srt_time(u.end_s)}\n[{u.speaker}]{tag} {u.text}\n")
    return "\n".join(cues)


def to_json(utts: list[Utterance]) -> str:
    return json.dumps({"utterances": [asdict(u) for u in utts]}, indent=1, ensure_ascii=False)


def transcribe_turns(
    audio_16k: np.ndarray,
    turns,
    *,
    whisper_model=DEFAULT_WHISPER,
    language: str | None = None,
    emotion_model: str | None = "emotion-ravdess-cnn",
    **options,
) -> list[Utterance]:
    """Words per speaker for a diarized recording: Whisper → ``assign_speakers`` → ``utterances`` (+ emotions)."""
    net = whisper_model if hasattr(whisper_model, "transcribe") else load_whisper(whisper_model)
    utts = utterances(assign_speakers(whisper_words(audio_16k, net, language=language, **options), turns))
    return add_emotions(utts, audio_16k, emotion_model) if emotion_model else utts


def save_transcript(utts: list[Utterance], srt_path: Path, json_path: Path) -> None:
    atomic_write_text(Path(srt_path), to_srt(utts))
    atomic_write_text(Path(json_path), to_json(utts))
