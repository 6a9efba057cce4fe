"""Audio in and out: the one place where files, arrays and tensors become ``(channels, time)`` float32.

Reading uses soundfile (libsndfile: WAV, FLAC, OGG/Vorbis, MP3 with libsndfile ≥ 1.1, AIFF, …);
resampling uses soxr. Every problem a user's file can have becomes one ``AudioLoadError`` line.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import AudioLoadError, ParameterError

# Refuse absurd inputs before decoding them: 6 hours of 48 kHz stereo is ~8 GB of float32.
MAX_DURATION_S = 6 * 3600.0


@dataclass
class Audio:
    """Audio as the library sees it: ``samples`` shaped (channels, time), float32, and its rate."""

    samples: torch.Tensor
    sample_rate: int
    path: Path | None = None

    @property
    def channels(self) -> int:
        return self.samples.shape[0]

    @property
    def duration_s(self) -> float:
        return self.samples.shape[-1] / self.sample_rate


def _check_finite_and_nonempty(x: np.ndarray, what: str) -> None:
    if x.size == 0 or x.shape[-1] == 0:
        raise AudioLoadError(f"{what} contains no audio samples (zero length)")
    if not np.isfinite(x).all():
        raise AudioLoadError(f"{what} contains NaN or infinite samples; fix or re-export the audio")


def load_audio(path: str | os.PathLike, *, max_duration_s: float = MAX_DURATION_S) -> Audio:
    """Read a file as (channels, time) float32 at its own sample rate.

    Raises ``AudioLoadError`` for a missing path, a directory, an empty or non-audio file, a corrupt
    header, zero-length or non-finite audio, or audio longer than ``max_duration_s``.
    """
    import soundfile as sf

    p = Path(path)
    if not p.exists():
        raise AudioLoadError(f"{p}: no such file")
    if p.is_dir():
        raise AudioLoadError(f"{p}: is a directory, not an audio file")
    if p.stat().st_size == 0:
        raise AudioLoadError(f"{p}: file is empty")
    try:
        info = sf.info(str(p))
        if info.frames and info.samplerate and info.frames / info.samplerate > max_duration_s:
            raise AudioLoadError(
                f"{p}: {info.frames / info.samplerate / 3600:.1f} h of audio is over the "
                f"{max_duration_s / 3600:.1f} h limit; split the file first")
        data, sr = sf.read(str(p), dtype="float32", always_2d=True)
    except AudioLoadError:
        raise
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        fmts = "WAV, FLAC, OGG, MP3, AIFF"
        raise AudioLoadError(f"{p}: not a readable audio file ({str(exc).strip()[:120]}); "
                             f"supported formats: {fmts}") from None
    _check_finite_and_nonempty(data.T, str(p))
    return Audio(torch.from_numpy(np.ascontiguousarray(data.T)), int(sr), p)


def audio_info(path: str | os.PathLike, *, max_duration_s: float = MAX_DURATION_S):
    """The header (``soundfile.info``) of a readable audio file, checked without decoding it.

    Anything else — missing, a folder, empty, not audio, no frames, too long — raises the same
    one-line ``AudioLoadError`` that ``load_audio`` gives.
    """
    import soundfile as sf

    p = Path(path)
    try:
        info = sf.info(str(p)) if p.is_file() and p.stat().st_size else None
    except (sf.LibsndfileError, RuntimeError):
        info = None
    if info is None or not info.frames or info.frames / info.samplerate > max_duration_s:
        load_audio(p, max_duration_s=max_duration_s)  # raises the precise error
    return info


def read_blocks(path: str | os.PathLike, sample_rate: int, block_s: float):
    """Yield the file as (time, channels) float32 blocks of ``block_s`` seconds (the last shorter)."""
    import soundfile as sf

    with sf.SoundFile(str(path)) as f:
        while True:
            b = f.read(int(block_s * sample_rate), dtype="float32", always_2d=True)
            if not len(b):
                return
            yield b


def mono_blocks(path: str | os.PathLike, sample_rate: int, *, block_s: float = 30.0, info=None):
    """Yield the file as mono float32 blocks at ``sample_rate``, about ``block_s`` seconds each.

    A resampling stream carries state across blocks, so the blocks join seamlessly. NaN/inf
    samples raise the same one-line ``AudioLoadError`` as ``load_audio``. Pass the file's
    ``audio_info`` as ``info`` when it is already checked.
    """
    import soxr

    info = info or audio_info(path)
    stream = soxr.ResampleStream(info.samplerate, sample_rate, 1, dtype="float32", quality="HQ") \
        if info.samplerate != sample_rate else None
    for b in read_blocks(path, info.samplerate, block_s):
        _check_finite_and_nonempty(b.T, str(path))
        mono = b.mean(1)
        y = stream.resample_chunk(mono) if stream else mono
        if len(y):
            yield y
    if stream:
        tail = stream.resample_chunk(np.zeros(0, np.float32), last=True)
        if len(tail):
            yield tail


def load_mono(path: str | os.PathLike, sample_rate: int, *, block_s: float = 30.0,
              max_duration_s: float = MAX_DURATION_S) -> tuple[np.ndarray, int]:
    """Read a file block by block as mono float32 at ``sample_rate``; returns (samples, channels).

    Memory is the output's size only, however long, wide or high-rate the file is. Errors are the
    same one-line ``AudioLoadError``s as ``load_audio``'s.
    """
    info = audio_info(path, max_duration_s=max_duration_s)
    # one preallocated output, filled block by block: the audio is held once, never twice
    out = np.zeros(int(np.ceil(info.frames * sample_rate / info.samplerate)) + 64, np.float32)
    n = 0
    for y in mono_blocks(path, sample_rate, block_s=block_s, info=info):
        if n + len(y) > len(out):
            out = np.concatenate([out, np.zeros(n + len(y) - len(out), np.float32)])
        out[n : n + len(y)] = y
        n += len(y)
    return out[:n], int(info.channels)


def as_audio(audio, sample_rate: int | None = None) -> Audio:
    """Normalise any supported input to ``Audio``.

    Accepts a path, an ``Audio``, a ``{"waveform", "sample_rate"}`` dict, or a numpy array / torch
    tensor shaped (time,) or (channels, time) together with ``sample_rate``.
    """
    if isinstance(audio, Audio):
        return audio
    if isinstance(audio, (str, os.PathLike)):
        return load_audio(audio)
    if isinstance(audio, dict):
        if "waveform" not in audio or "sample_rate" not in audio:
            raise ParameterError("an audio dict needs the keys 'waveform' and 'sample_rate'")
        return as_audio(audio["waveform"], audio["sample_rate"])
    if isinstance(audio, (np.ndarray, torch.Tensor)):
        if sample_rate is None:
            raise ParameterError("sample_rate is required when audio is an array or tensor")
        if int(sample_rate) <= 0:
            raise ParameterError(f"sample_rate must be positive, got {sample_rate}")
        x = torch.as_tensor(np.asarray(audio) if isinstance(audio, np.ndarray) else audio).detach().cpu().float()
        if x.dim() == 1:
            x = x[None]
        if x.dim() != 2:
            raise ParameterError(f"audio must be shaped (time,) or (channels, time), got {tuple(x.shape)}")
        _check_finite_and_nonempty(x.numpy(), "input audio")  # before the shape guess: (1, 0) is empty
        if x.shape[0] > x.shape[1]:
            raise ParameterError(
                f"audio shaped {tuple(x.shape)} looks like (time, channels); pass (channels, time)")
        return Audio(x.contiguous(), int(sample_rate))
    raise ParameterError(f"unsupported audio input of type {type(audio).__name__}; "
                         "give a path, an array/tensor with sample_rate, or a {'waveform', 'sample_rate'} dict")


def resample(x: torch.Tensor, orig_sr: int, target_sr: int) -> torch.Tensor:
    """Resample (channels, time) with soxr (high quality); a no-op when the rates match."""
    if orig_sr == target_sr:
        return x
    import soxr

    y = soxr.resample(x.T.numpy().astype(np.float32), orig_sr, target_sr, quality="HQ")
    return torch.from_numpy(np.ascontiguousarray(np.atleast_2d(y.T if y.ndim == 2 else y[None])))


def to_mono(x: torch.Tensor, *, warn_for: str | None = None) -> torch.Tensor:
    """Average channels: (channels, time) → (1, time); warns once when it actually downmixes."""
    if x.shape[0] == 1:
        return x
    if warn_for:
        warnings.warn(f"{warn_for}: {x.shape[0]} channels downmixed to mono for a mono model", stacklevel=3)
    return x.mean(0, keepdim=True)


def save_audio(path: str | os.PathLike, x: torch.Tensor, sample_rate: int, *, subtype: str = "PCM_16") -> Path:
    """Write (channels, time) audio; format from the suffix (.wav, .flac, .ogg). Clips to [-1, 1]."""
    import soundfile as sf

    p = Path(path)
    data = torch.clamp(x, -1.0, 1.0).T.numpy()
    if p.suffix.lower() == ".ogg":
        subtype = "VORBIS"
    sf.write(str(p), data, sample_rate, subtype=subtype)
    return p
