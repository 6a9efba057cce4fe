"""Reference speech: a small TTS backend interface, espeak-ng by default, coqui-tts from a local model.

A backend turns one pinyin syllable (``"hao3"``) into audio. ``synthesize_reference`` says every
syllable on its own and joins them with short gaps, so the reference's syllable boundaries are
known exactly (no forced alignment of the reference is needed), and each syllable carries the tone
it should have after sandhi (espeak-ng would otherwise apply its own rules across a sentence).

Backends:

* ``EspeakNG`` — the offline default: espeak-ng's ``cmn-latn-pinyin`` voice reads pinyin with tone
  digits (plain ``cmn`` reads the digits as English words). Options: voice variant (``+f2``),
  pitch 0-99, speed in words per minute, amplitude.
* ``CoquiTTS`` — a coqui-tts model loaded from a local folder or file only (never downloaded);
  needs ``pip install coqui-tts`` (not a dependency of voicetools).

Others plug in by subclassing ``TTSBackend`` (``syllable(pinyin) -> (samples, sample_rate)``).
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from ..audio.io import resample
from ..errors import MissingDependencyError, ParameterError, VoicetoolsError

SAMPLE_RATE = 16000
ESPEAK_VOICE = "cmn-latn-pinyin"
GAP_S = 0.04  # between syllables of one phrase
PHRASE_GAP_S = 0.25  # at a punctuation mark
EDGE_S = 0.15  # silence before the first and after the last syllable


class TTSBackend:
    """Says one pinyin syllable with a tone number; returns (mono float32 samples, sample rate)."""

    name = "tts"

    def syllable(self, pinyin: str) -> tuple[np.ndarray, int]:
        raise NotImplementedError

    def describe(self) -> str:
        return self.name


@dataclass
class EspeakNG(TTSBackend):
    """espeak-ng's Mandarin voice reading pinyin. ``variant``: an espeak-ng voice variant such as
    ``"f2"`` or ``"m3"`` (None: the default male voice); ``pitch`` 0-99 (50 default); ``speed`` in
    words per minute (175 default)."""

    variant: str | None = None
    pitch: int = 50
    speed: int = 175
    amplitude: int = 100
    voice: str = ESPEAK_VOICE
    name: str = field(default="espeak-ng", init=False)

    def __post_init__(self):
        if not 0 <= int(self.pitch) <= 99:
            raise ParameterError(f"espeak-ng pitch must be 0-99, got {self.pitch}")
        if not 80 <= int(self.speed) <= 450:
            raise ParameterError(f"espeak-ng speed must be 80-450 words per minute, got {self.speed}")

    def describe(self) -> str:
        v = self.voice + (f"+{self.variant}" if self.variant else "")
        return f"espeak-ng {v} pitch {self.pitch} speed {self.speed}"

    def syllable(self, pinyin: str) -> tuple[np.ndarray, int]:
        return _espeak(
            pinyin,
            self.voice + (f"+{self.variant}" if self.variant else ""),
            int(self.pitch),
            int(self.speed),
            int(self.amplitude),
        )


@functools.lru_cache(maxsize=4096)
def _espeak(text: str, voice: str, pitch: int, speed: int, amplitude: int) -> tuple[np.ndarray, int]:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise MissingDependencyError(
            "the reference voice needs espeak-ng: sudo apt-get install espeak-ng "
            "(or pass a coqui-tts model with --tts coqui --tts-model PATH)"
        )
    cmd = [exe, "-v", voice, "-p", str(pitch), "-s", str(speed), "-a", str(amplitude), "-z", "--stdout", text]
    proc = subprocess.run(cmd, capture_output=True, timeout=60)
    if proc.returncode != 0 or len(proc.stdout) < 100:
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise VoicetoolsError(f"espeak-ng could not say {text!r} with voice {voice}: {msg[-1] if msg else 'no audio'}")
    # espeak-ng writes an unknown length into the streamed WAV header; soundfile reads to the end
    data = proc.stdout
    x, sr = sf.read(
        io.BytesIO(
            data[:4]
            + (len(data) - 8).to_bytes(4, "little")
            + data[8:40]
            + (len(data) - 44).to_bytes(4, "little")
            + data[44:]
        ),
        dtype="float32",
    )
    x = x if x.ndim == 1 else x.mean(1)
    x.setflags(write=False)  # cached: never modified in place
    return x, int(sr)


class CoquiTTS(TTSBackend):
    """A coqui-tts model from a local path (a folder with ``config.json`` and the model file, or the
    model file with ``config.json`` beside it). Nothing is downloaded. The model must read pinyin with
    tone numbers (or Chinese characters, with ``hanzi=True``: then the syllable's character is sent)."""

    name = "coqui-tts"

    def __init__(self, model_path: str | Path, *, speaker: str | None = None, device: str = "cpu"):
        try:
            from TTS.api import TTS  # coqui-tts installs the ``TTS`` package
        except ImportError:
            raise MissingDependencyError(
                "the coqui backend needs coqui-tts: pip install coqui-tts "
                "(then give a local model with --tts-model PATH)"
            ) from None
        p = Path(model_path).expanduser()
        if not p.exists():
            raise ParameterError(
                f"coqui-tts model {p} does not exist; give a local model folder or file (nothing is downloaded)"
            )
        folder = p if p.is_dir() else p.parent
        config = folder / "config.json"
        if not config.is_file():
            raise ParameterError(f"coqui-tts model {p} has no config.json beside it")
        model_file = (
            p
            if p.is_file()
            else next((q for q in sorted(folder.iterdir()) if q.suffix in (".pth", ".pt", ".safetensors")), None)
        )
        if model_file is None:
            raise ParameterError(f"no .pth/.pt model file in {folder}")
        try:
            self.tts = TTS(model_path=str(model_file), config_path=str(config), progress_bar=False).to(device)
        except Exception as exc:  # noqa: BLE001 -- coqui raises many types for a bad model
            raise VoicetoolsError(f"coqui-tts could not load {p}: {str(exc).splitlines()[0][:160]}") from None
        self.speaker = speaker
        self.sample_rate = int(getattr(self.tts.synthesizer, "output_sample_rate", 22050))

    def syllable(self, pinyin: str) -> tuple[np.ndarray, int]:
        wav = self.tts.tts(text=pinyin, speaker=self.speaker) if self.speaker else self.tts.tts(text=pinyin)
        return np.asarray(wav, np.float32), self.sample_rate


BACKENDS = ("espeak", "coqui")


def get_backend(name: str | TTSBackend = "espeak", *, model_path: str | None = None, **options) -> TTSBackend:
    """A backend by name (``"espeak"`` or ``"coqui"``, which needs ``model_path``), or the one given."""
    if isinstance(name, TTSBackend):
        return name
    if name in ("espeak", "espeak-ng"):
        return EspeakNG(**options)
    if name in ("coqui", "coqui-tts"):
        if not model_path:
            raise ParameterError("the coqui backend needs a local model: --tts-model PATH (nothing is downloaded)")
        return CoquiTTS(model_path, **options)
    raise ParameterError(f"unknown TTS backend {name!r}; choose one of {list(BACKENDS)}")


def trim_silence(x: np.ndarray, sample_rate: int, *, threshold_db: float = -40.0) -> np.ndarray:
    """Cut leading and trailing stretches quieter than ``threshold_db`` below the peak (10 ms frames)."""
    hop = max(1, sample_rate // 100)
    n = len(x) // hop
    if n == 0:
        return x
    rms = np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(20 * np.log10(rms / (rms.max() + 1e-12)) > threshold_db)
    if len(loud) == 0:
        return x[:0]
    return x[loud[0] * hop : min(len(x), (loud[-1] + 1) * hop)]


@dataclass
class Reference:
    """Reference speech and where each syllable is: ``spans_s[i] = (start_s, end_s)``."""

    samples: np.ndarray
    sample_rate: int
    spans_s: list[tuple[float, float]]
    backend: str

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


def synthesize_reference(
    syllables,
    backend: TTSBackend | str = "espeak",
    *,
    sample_rate: int = SAMPLE_RATE,
    gap_s: float = GAP_S,
    phrase_gap_s: float = PHRASE_GAP_S,
    edge_s: float = EDGE_S,
    gaps_s: list[float] | None = None,
) -> Reference:
    """Say each syllable alone and join them: ``edge_s`` of silence, then the syllables with
    ``gap_s`` between them (``phrase_gap_s`` at a punctuation mark), then ``edge_s`` again.

    ``gaps_s`` (one value per syllable boundary) overrides the gaps, e.g. to synthesize a speaker
    who pauses. Syllables are peak-normalised to the same loudness.
    """
    tts = get_backend(backend)
    pieces, spans, t = [np.zeros(int(edge_s * sample_rate), np.float32)], [], edge_s
    for i, syl in enumerate(syllables):
        if i:
            g = (
                gaps_s[i - 1]
                if gaps_s is not None
                else (phrase_gap_s if syl.phrase != syllables[i - 1].phrase else gap_s)
            )
            pieces.append(np.zeros(int(round(g * sample_rate)), np.float32))
            t += len(pieces[-1]) / sample_rate
        x, sr = tts.syllable(syl.pinyin)
        x = trim_silence(np.array(x, np.float32), sr)
        if len(x) == 0:
            raise VoicetoolsError(f"{tts.describe()} produced silence for {syl.pinyin!r}")
        if sr != sample_rate:
            x = resample(torch.from_numpy(np.ascontiguousarray(x))[None], sr, sample_rate)[0].numpy()
        x = (0.5 * x / (np.abs(x).max() + 1e-9)).astype(np.float32)
        pieces.append(x)
        spans.append((t, t + len(x) / sample_rate))
        t += len(x) / sample_rate
    pieces.append(np.zeros(int(edge_s * sample_rate), np.float32))
    return Reference(np.concatenate(pieces), sample_rate, spans, tts.describe())
