"""Vocal extraction: a song in, vocals and accompaniment (or every Demucs stem) out.

The model (demucs' own HTDemucs / HDemucs / bag of models) runs through demucs' ``apply_model``
on fixed chunks of its training segment, joined by our streaming overlap-add, so memory stays
flat for any file length. Input is resampled once to the model's rate and stems are resampled
back: they come out at the input's rate and length. A mono model separates each input channel
(stereo in → stereo out); a stereo model takes stereo as it is and mono duplicated.

``stems="vocals"`` gives ``vocals`` and ``accompaniment = mixture − vocals`` (Demucs'
``--two-stems vocals --other-method minus``): the two always sum back to the input, and what lies
above the model's band stays in the accompaniment. ``stems="all"`` gives the model's own sources.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import soxr
import torch

from ..audio.io import as_audio, audio_info
from ..checkpoints import LoadedModel
from ..chunking import OverlapAdd
from ..errors import AudioLoadError, ParameterError
from ..files import check_format, stream_file_to_stems
from ..separation import SeparationResult
from .model import load_vocal_model

DEFAULT_MODEL = "vocals-htdemucs-small"
STEMS = ("vocals", "all")
OVERLAP = 0.25
Callback = Callable[[str, int, int], None]


def check_args(stems: str, overlap: float, jobs: int | None) -> None:
    """Usage errors in ``stems``, ``overlap`` and ``jobs``, before anything is loaded."""
    if stems not in STEMS:
        raise ParameterError(f"unknown stems {stems!r}; choose one of {list(STEMS)}")
    if not 0 <= overlap < 1:
        raise ParameterError(
            f"--overlap (overlap in Python) must be >= 0 and < 1 (a share of the segment), got {overlap}"
        )
    if jobs is not None and jobs < 1:
        raise ParameterError(f"--jobs (jobs in Python) must be at least 1, got {jobs}")


def _plan(loaded: LoadedModel, in_channels: int, stems: str) -> tuple[int, list[str]]:
    """(channels processed and written, names of the stems written)."""
    if stems == "vocals" and "vocals" not in loaded.sources:
        raise ParameterError(
            f"model {loaded.name!r} has no vocals source (it has {loaded.sources}); use --stems all "
            "(stems='all' in Python)"
        )
    model_channels = int(loaded.config["model_args"].get("audio_channels", 1))
    k = in_channels if model_channels == 1 else (2 if in_channels == 2 else 1)
    return k, (["vocals", "accompaniment"] if stems == "vocals" else list(loaded.sources))


def _stream(
    blocks: Iterator[np.ndarray],
    in_rate: int,
    in_channels: int,
    loaded: LoadedModel,
    *,
    stems: str,
    n_frames: int | None,
    overlap: float,
    callback: Callback | None,
    device,
) -> Iterator[np.ndarray]:
    """Separate a stream of (time, channels) float32 blocks; yields (time, n_stems, k) blocks at ``in_rate``."""
    from demucs.apply import apply_model  # heavy, and only needed once a model runs

    sr, sources = loaded.sample_rate, loaded.sources
    model_channels = int(loaded.config["model_args"].get("audio_channels", 1))
    k, names = _plan(loaded, in_channels, stems)
    n_src = len(sources)
    segment = int(round(float(loaded.config["segment_s"]) * sr))
    ov = int(overlap * segment)
    total = OverlapAdd.n_chunks(int(np.ceil(n_frames * sr / in_rate)), segment, ov) if n_frames else 0
    done = [0]
    net = loaded.model.to(device)
    torch.set_flush_denormal(True)

    def run(chunk: torch.Tensor) -> torch.Tensor:  # (k, segment) → (n_src * k, segment)
        x = chunk[:, None] if model_channels == 1 else (chunk.expand(model_channels, -1) if k == 1 else chunk)[None]
        with torch.inference_mode():
            y = apply_model(net, x, shifts=0, split=False, device=device).cpu()  # (batch, src, model ch, time)
        y = y[:, :, 0].transpose(0, 1) if model_channels == 1 else y[0].mean(1, keepdim=True) if k == 1 else y[0]
        done[0] += 1
        if callback:
            callback("vocals", done[0], max(total, done[0]))
        return y.reshape(n_src * k, segment)

    ola = OverlapAdd(run, segment=segment, overlap=ov, n_out=n_src * k, channels=k)
    down = soxr.ResampleStream(in_rate, sr, k, dtype="float32", quality="HQ") if in_rate != sr else None
    up = soxr.ResampleStream(sr, in_rate, n_src * k, dtype="float32", quality="HQ") if in_rate != sr else None
    pending = np.zeros((0, k), np.float32)  # input at in_rate not yet matched by output (for mixture − vocals)
    pushed = emitted = 0
    vocals = sources.index("vocals") if "vocals" in sources else 0

    def emit(y: torch.Tensor, last: bool, keep: int | None = None) -> np.ndarray:
        nonlocal pending, emitted
        z = y.T.numpy().astype(np.float32)
        z = up.resample_chunk(z, last=last) if up else z
        if keep is not None:  # resampling rounds lengths: exactly as long as the input
            z = np.concatenate([z[:keep], np.zeros((max(0, keep - len(z)), z.shape[1]), np.float32)])
        z = z.reshape(len(z), n_src, k)
        mix, pending = pending[: len(z)], pending[len(z) :]
        emitted += len(z)
        if stems == "vocals":
            z = np.stack([z[:, vocals], mix - z[:, vocals]], axis=1)
        return z

    for block in blocks:
        if block.size and not np.isfinite(block).all():
            raise AudioLoadError("the audio contains NaN or infinite samples; fix or re-export it")
        x = block if block.shape[1] == k else block.mean(axis=1, keepdims=True, dtype=np.float32)
        x = np.ascontiguousarray(x, dtype=np.float32)
        pending = np.concatenate([pending, x])
        pushed += len(x)
        x = down.resample_chunk(x, last=False) if down else x
        out = emit(ola.push(torch.from_numpy(np.ascontiguousarray(x.T))), last=False)
        if len(out):
            yield out
    tail = down.resample_chunk(np.zeros((0, k), np.float32), last=True) if down else np.zeros((0, k), np.float32)
    ola.push(torch.from_numpy(np.ascontiguousarray(tail.T)))
    yield emit(ola.finish(), last=True, keep=pushed - emitted)


def _soft_warnings(loaded: LoadedModel, channels: int, peak: float) -> list[str]:
    notes = []
    model_channels = int(loaded.config["model_args"].get("audio_channels", 1))
    if model_channels == 2 and channels > 2:
        notes.append(f"{channels} channels were downmixed to mono: the model takes stereo, so the stems are mono")
    if peak == 0.0:
        notes.append("the input is silent, so every stem is silent")
    for n in notes:
        warnings.warn(n, stacklevel=3)
    return notes


class _threads:
    """``jobs`` CPU threads for torch inside the block; the previous setting after it."""

    def __init__(self, jobs: int | None):
        self.jobs, self.before = jobs, torch.get_num_threads()

    def __enter__(self):
        if self.jobs:
            torch.set_num_threads(self.jobs)

    def __exit__(self, *exc):
        torch.set_num_threads(self.before)


def extract_vocals(
    audio,
    *,
    sample_rate: int | None = None,
    model=DEFAULT_MODEL,
    weights=None,
    stems: str = "vocals",
    overlap: float = OVERLAP,
    device: str | None = None,
    jobs: int | None = None,
    callback: Callback | None = None,
) -> SeparationResult:
    """Split a song into vocals and accompaniment (or every stem of the model).

    Parameters
    ----------
    audio : path, numpy array / torch tensor shaped (time,), (channels, time) or (time, channels), or
        ``{"waveform", "sample_rate"}``; any rate and channel count.
    sample_rate : int, required for arrays and tensors.
    model : voicetools name (``voicetools.available_models("vocals")``), checkpoint folder, official
        Demucs name whose weights are in the torch hub cache (``htdemucs``), or a loaded model.
    weights : path to official Demucs weights (``955717e8-8726e21a.th``) or a bag ``.yaml``; wins over ``model``.
    stems : ``"vocals"`` (vocals + accompaniment = mixture − vocals) or ``"all"`` (the model's sources).
    overlap : share of each segment cross-faded with the next, in [0, 1).
    jobs : CPU threads for inference (default: torch's setting).
    callback : ``callback(stage, done, total)`` after every chunk.

    Returns
    -------
    SeparationResult with ``stems[name]`` shaped (channels, time) at the input's rate and length.

    Examples
    --------
    >>> import numpy as np, voicetools as vt
    >>> t = np.arange(8000) / 8000
    >>> res = vt.extract_vocals(np.sin(2 * np.pi * 440 * t), sample_rate=8000)
    >>> sorted(res.stems), res.stems["vocals"].shape
    (['accompaniment', 'vocals'], (1, 8000))
    """
    check_args(stems, overlap, jobs)
    numpy_in = isinstance(audio, np.ndarray)
    loaded = load_vocal_model(model, weights=weights)
    a = as_audio(audio, sample_rate)
    x = a.samples.T.numpy()
    _plan(loaded, a.channels, stems)
    with _threads(jobs):
        out = np.concatenate(
            list(
                _stream(
                    iter([x]),
                    a.sample_rate,
                    a.channels,
                    loaded,
                    stems=stems,
                    n_frames=len(x),
                    overlap=overlap,
                    callback=callback,
                    device=device or "cpu",
                )
            )
        )
    notes = _soft_warnings(loaded, a.channels, float(np.abs(x).max()))
    names = _plan(loaded, a.channels, stems)[1]
    result = {name: np.ascontiguousarray(out[:, i].T) for i, name in enumerate(names)}
    if not numpy_in:
        result = {n: torch.from_numpy(v) for n, v in result.items()}
    return SeparationResult(result, a.sample_rate, loaded.name, notes)


def extract_vocals_file(
    path: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    model=DEFAULT_MODEL,
    weights=None,
    stems: str = "vocals",
    format: str = "wav",
    overlap: float = OVERLAP,
    device: str | None = None,
    jobs: int | None = None,
    overwrite: bool = False,
    block_s: float = 30.0,
    callback: Callback | None = None,
) -> dict:
    """Extract vocals from a file of any length into ``out_dir/<stem>.<format>``, streaming disk to disk.

    Memory stays flat however long the file is. All stems are written or none: on any error the
    partial files (and a folder this call created) are removed. Returns a JSON-ready summary.
    """
    check_format(format)
    check_args(stems, overlap, jobs)
    p = Path(path)
    info = audio_info(p, max_duration_s=float("inf"))  # header checked, nothing decoded; streams any length
    loaded = load_vocal_model(model, weights=weights)
    k, names = _plan(loaded, info.channels, stems)
    targets = {name: Path(out_dir) / f"{name}.{format}" for name in names}
    with _threads(jobs):
        peak = stream_file_to_stems(
            p,
            info,
            targets,
            lambda blocks: _stream(
                blocks,
                info.samplerate,
                info.channels,
                loaded,
                stems=stems,
                n_frames=info.frames,
                overlap=overlap,
                callback=callback,
                device=device or "cpu",
            ),
            format=format,
            channels=k,
            overwrite=overwrite,
            block_s=block_s,
        )
    notes = _soft_warnings(loaded, info.channels, peak)
    return {
        "input": str(p),
        "model": loaded.name,
        "sample_rate": info.samplerate,
        "duration_s": info.frames / info.samplerate,
        "channels": k,
        "stems": {n: str(t) for n, t in targets.items()},
        "warnings": notes,
    }
