"""Audio in and out: the one place where files, arrays and tensors become ``(channels, time)`` float32.

Reading uses soundfile (libsndfile: WAV, FLAC, OGG/Vorbis, MP3 with libsndfile ≥ 1.1, AIFF, …);
resampling uses soxr. Every problem a user's file can have becomes one ``AudioLoadError`` line, and
what no verb accepts (under 0.1 s, below 8 kHz, a header promising more audio than the file holds) is
decided here, once, for every verb: ``check_usable`` and ``_check_header``.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch

from ..errors import AudioLoadError, ParameterError

# Refuse absurd inputs before decoding them: 6 hours of 48 kHz stereo is ~8 GB of float32.
MAX_DURATION_S = 6 * 3600.0
# What every verb refuses, decided here once (README: "Input audio"). Below 8 kHz (the lowest model
# rate) the voices' harmonics are gone and Praat's pitch search hangs; under 0.1 s there is not one
# analysis frame (transcription's and re-voicing's are 64 ms).
MIN_SAMPLE_RATE = 8000
MIN_DURATION_S = 0.1
# WAV/AIFF data sizes meaning "unknown, read to the end": written by encoders streaming to a pipe
# (ffmpeg, sox), so not a sign of a file cut short
_STREAMING_SIZES = {0xFFFFFFFF, 0x7FFFFFFF, 0x7FFFF000}
# libsndfile clamps a data chunk longer than the file to what is there, and only logs it
_CUT_SHORT = re.compile(r"^\s*(?:data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


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


def check_usable(frames: int, sample_rate: int, what: str, *, min_duration_s: float = MIN_DURATION_S) -> None:
    """Refuse audio no verb can use: sampled below ``MIN_SAMPLE_RATE`` or shorter than ``min_duration_s``."""
    if sample_rate < MIN_SAMPLE_RATE:
        raise AudioLoadError(
            f"{what}: the sample rate is {sample_rate} Hz; voicetools needs at least "
            f"{MIN_SAMPLE_RATE} Hz (record or export it at 8 kHz or more)"
        )
    if frames < min_duration_s * sample_rate:
        raise AudioLoadError(
            f"{what}: {frames / sample_rate * 1000:.3g} ms of audio is too short; voicetools "
            f"needs at least {min_duration_s:g} s"
        )


def _span(seconds: float) -> str:
    return (
        f"{seconds:.2f} s"
        if seconds < 120
        else f"{seconds / 60:.1f} min"
        if seconds < 7200
        else f"{seconds / 3600:.1f} h"
    )


def _check_header(info, p: Path, max_duration_s: float, min_duration_s: float) -> None:
    """The checks ``soundfile.info`` allows before decoding: cut short, too long, too short, too low a rate."""
    if not info.frames or info.samplerate <= 0:  # load_audio's "zero length" or libsndfile's own error says it
        return
    cut = _CUT_SHORT.search(info.extra_info or "")
    promised = info.duration * int(cut.group(1)) / max(int(cut.group(2)), 1) if cut else info.duration
    # a few bytes short (a sloppy writer, a missing pad byte) is no loss; "length unknown" is no lie
    if promised - info.duration > 0.01 and int(cut.group(1)) not in _STREAMING_SIZES:
        # refused, not read in part: which length the outputs should have would be a guess
        raise AudioLoadError(
            f"{p}: the header promises {_span(promised)} but the file holds {_span(info.duration)} "
            "(cut short by an interrupted copy or recording, or a wrong header); re-export or "
            "repair the file"
        )
    if info.duration > max_duration_s:
        raise AudioLoadError(
            f"{p}: {info.duration / 3600:.1f} h of audio is over the "
            f"{max_duration_s / 3600:.1f} h limit; split the file first"
        )
    check_usable(info.frames, info.samplerate, str(p), min_duration_s=min_duration_s)


def load_audio(
    path: str | os.PathLike, *, max_duration_s: float = MAX_DURATION_S, min_duration_s: float = MIN_DURATION_S
) -> Audio:
    """Read a file as (channels, time) float32 at its own sample rate.

    Raises ``AudioLoadError`` for a missing path, a directory, an empty or non-audio file, a corrupt
    header or one promising more audio than the file holds, zero-length or non-finite audio, audio
    longer than ``max_duration_s`` or shorter than ``min_duration_s``, or sampled below 8 kHz.
    """
    p = Path(path)
    if not p.exists():
        raise AudioLoadError(f"{p}: no such file")
    if p.is_dir():
        raise AudioLoadError(f"{p}: is a directory, not an audio file")
    if p.stat().st_size == 0:
        raise AudioLoadError(f"{p}: file is empty")
    try:
        info = sf.info(str(p))
        _check_header(info, p, max_duration_s, min_duration_s)
        data, sr = sf.read(str(p), dtype="float32", always_2d=True)
    except AudioLoadError:
        raise
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        fmts = "WAV, FLAC, OGG, MP3, AIFF"
        raise AudioLoadError(
            f"{p}: not a readable audio file ({str(exc).strip()[:120]}); supported formats: {fmts}"
        ) from None
    _check_finite_and_nonempty(data.T, str(p))
    return Audio(torch.from_numpy(np.ascontiguousarray(data.T)), int(sr), p)


def audio_info(path: str | os.PathLike, *, max_duration_s: float = MAX_DURATION_S):
    """The header (``soundfile.info``) of a readable audio file, checked without decoding it.

    Anything else — missing, a folder, empty, not audio, no frames, cut short, too long, too short,
    too low a rate — raises the same one-line ``AudioLoadError`` that ``load_audio`` gives.
    """
    p = Path(path)
    try:
        info = sf.info(str(p)) if p.is_file() and p.stat().st_size else None
    except (sf.LibsndfileError, RuntimeError):
        info = None
    if info is None or not info.frames:
        load_audio(p, max_duration_s=max_duration_s)  # raises the precise error
    _check_header(info, p, max_duration_s, MIN_DURATION_S)
    return info


def read_blocks(path: str | os.PathLike, sample_rate: int, block_s: float):
    """Yield the file as (time, channels) float32 blocks of ``block_s`` seconds (the last shorter)."""
    with sf.SoundFile(str(path)) as f:
        while True:
            try:
                b = f.read(int(block_s * sample_rate), dtype="float32", always_2d=True)
            except (sf.LibsndfileError, RuntimeError) as exc:  # e.g. a FLAC cut short: its header reads fine
                raise AudioLoadError(
                    f"{path}: unreadable after {f.tell() / sample_rate:.1f} s "
                    f"({str(exc).strip()[:120]}); re-export or repair the file"
                ) from None
            if not len(b):
                return
            yield b


def mono_blocks(path: str | os.PathLike, sample_rate: int, *, block_s: float = 30.0, info=None):
    """Yield the file as mono float32 blocks at ``sample_rate``, about ``block_s`` seconds each.

    A resampling stream carries state across blocks, so the blocks join seamlessly. NaN/inf
    samples raise the same one-line ``AudioLoadError`` as ``load_audio``. Pass the file's
    ``audio_info`` as ``info`` when it is already checked.
    """
    info = info or audio_info(path)
    stream = (
        soxr.ResampleStream(info.samplerate, sample_rate, 1, dtype="float32", quality="HQ")
        if info.samplerate != sample_rate
        else None
    )
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


def load_mono(
    path: str | os.PathLike, sample_rate: int, *, block_s: float = 30.0, max_duration_s: float = MAX_DURATION_S
) -> tuple[np.ndarray, int]:
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
    tensor shaped (time,), (channels, time) or (time, channels) — as ``soundfile.read`` returns it —
    together with ``sample_rate``. The shorter axis of a 2-D array is its channels: audio long enough
    to use (``MIN_DURATION_S``, 800 samples at 8 kHz) has more samples than any file has channels.
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
            raise ParameterError(
                f"audio must be shaped (time,), (channels, time) or (time, channels), got {tuple(x.shape)}"
            )
        _check_finite_and_nonempty(x.numpy(), "input audio")  # before the shape guess: (1, 0) is empty
        if x.shape[0] > x.shape[1]:
            x = x.T  # (time, channels), as soundfile.read gives it
        check_usable(x.shape[1], int(sample_rate), "input audio")
        return Audio(x.contiguous(), int(sample_rate))
    raise ParameterError(
        f"unsupported audio input of type {type(audio).__name__}; "
        "give a path, an array/tensor with sample_rate, or a {'waveform', 'sample_rate'} dict"
    )


def resample(x: torch.Tensor, orig_sr: int, target_sr: int) -> torch.Tensor:
    """Resample (channels, time) with soxr (high quality); a no-op when the rates match."""
    if orig_sr == target_sr:
        return x
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
    p = Path(path)
    data = torch.clamp(x, -1.0, 1.0).T.numpy()
    if p.suffix.lower() == ".ogg":
        subtype = "VORBIS"
    sf.write(str(p), data, sample_rate, subtype=subtype)
    return p
