"""SATB choir separation: a mixture in, soprano / alto / tenor / bass out (``separate``, ``separate_file``).

The model (ConvTasNet at 8 kHz, mono) runs over fixed chunks with overlap-add in a stream, so
memory stays flat for any input length. Input at any sample rate and channel count is downmixed
to mono (with a warning) and resampled once on the way in; stems come out at the input's rate.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soxr
import torch

from ..audio.frontend import istft, stft
from ..audio.io import Audio, as_audio, audio_info, save_audio
from ..checkpoints import LoadedModel, resolve_model
from ..chunking import OverlapAdd
from ..errors import AudioLoadError, ParameterError
from ..files import STEM_FORMATS, check_format, stream_file_to_stems, write_all_or_nothing

DEFAULT_MODEL = "satb-convtasnet"
SEGMENT_S = 8.0
OVERLAP_S = 1.0
Callback = Callable[[str, int, int], None]


@dataclass
class SeparationResult:
    """Separated stems, each shaped (1, time) at ``sample_rate``; numpy in → numpy out."""

    stems: dict
    sample_rate: int
    model: str
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        n = next(iter(self.stems.values())).shape[-1] if self.stems else 0
        return {
            "model": self.model,
            "sample_rate": self.sample_rate,
            "duration_s": n / self.sample_rate,
            "sources": list(self.stems),
            "warnings": self.warnings,
        }

    def save(self, out_dir: str | os.PathLike, *, format: str = "wav", overwrite: bool = False) -> dict[str, Path]:
        """Write ``<out_dir>/<source>.<format>``; all or nothing; refuses to overwrite unless asked."""
        out = Path(out_dir)
        targets = {name: out / f"{name}.{format}" for name in self.stems}

        def write(tmp: Path) -> None:
            for name, x in self.stems.items():
                save_audio(tmp / f"{name}.{format}", torch.as_tensor(x), self.sample_rate, subtype=STEM_FORMATS[format])

        write_all_or_nothing(targets, write, format=format, overwrite=overwrite)
        return targets


def _check_chunking(segment_s: float, overlap_s: float) -> None:
    """Before loading anything; messages name the CLI option first (most users meet them there)."""
    if not segment_s > 0:
        raise ParameterError(f"--segment-s (segment_s in Python) must be positive, got {segment_s}")
    if not 0 <= overlap_s < segment_s:
        raise ParameterError(
            f"--overlap-s must be >= 0 and less than --segment-s (overlap_s and segment_s in "
            f"Python), got {overlap_s} and {segment_s}"
        )


def refine(
    net: torch.nn.Module,
    chunk: torch.Tensor,
    *,
    shifts: int = 1,
    stride: int = 1,
    wiener_power: float | None = None,
    n_fft: int = 512,
) -> torch.Tensor:
    """The network's sources for one (1, time) chunk → (n_src, time), with two test-time refinements.

    ``shifts``: average the outputs for the input delayed by ``shifts`` evenly spaced offsets within
    one encoder stride (the learned filterbank sees each sample at different frame phases; the
    "shift trick" of Demucs). ``wiener_power``: re-derive every source from the mixture with soft
    masks ``|S_i|^p / sum_j |S_j|^p`` of the estimates (p = 2: a Wiener filter), so the sources add
    up to the mixture and each keeps only the mixture's own time-frequency content.
    """
    n = chunk.shape[-1]
    outs = []
    for k in range(max(1, shifts)):
        delay = k * stride // max(1, shifts)
        x = torch.nn.functional.pad(chunk, (delay, 0))
        outs.append(net(x[None])[0][:, delay : delay + n])
    est = torch.stack(outs).mean(0)
    if wiener_power is None:
        return est
    spec = stft(est, n_fft=n_fft).abs().pow(wiener_power)
    mask = spec / (spec.sum(0, keepdim=True) + 1e-8)
    return istft(mask * stft(chunk[0], n_fft=n_fft)[None], n_fft=n_fft, length=n)


def refinement(model: LoadedModel, shifts: int | None = None, wiener: bool | None = None) -> tuple[int, float | None]:
    """(shifts, wiener_power) for ``model``: the settings its config's ``"inference"`` entry names
    (chosen on its validation data when it was exported; none: the bare network), where the caller
    does not override them."""
    own = model.config.get("inference", {})
    shifts = int(own.get("shifts", 1)) if shifts is None else shifts
    power = own.get("wiener_power")
    if wiener is False:
        power = None
    elif wiener and power is None:
        power = 2.0  # a plain Wiener filter for a model that names none
    return shifts, power


def _stream(
    blocks: Iterator[np.ndarray],
    in_rate: int,
    model: LoadedModel,
    *,
    n_frames: int | None,
    segment_s: float,
    overlap_s: float,
    callback: Callback | None,
    device,
    shifts: int | None = None,
    wiener: bool | None = None,
) -> Iterator[np.ndarray]:
    """Separate a stream of (time, channels) float32 blocks; yields (time, n_src) blocks at ``in_rate``.

    Raises ``AudioLoadError`` for NaN/inf samples; the caller decides what happens to partial output.
    """
    sr = model.sample_rate
    net = model.model.to(device)
    # trained TCN weights produce denormal floats, which slow CPU inference several-fold
    torch.set_flush_denormal(True)
    n_src = len(model.sources)
    segment, overlap = int(segment_s * sr), int(overlap_s * sr)
    shifts, wiener_power = refinement(model, shifts, wiener)
    if shifts < 1:
        raise ParameterError(f"--shifts (shifts in Python) must be at least 1, got {shifts}")
    if wiener_power is not None and wiener_power <= 0:
        raise ParameterError(
            f"model {model.name!r} sets a Wiener power of {wiener_power}, which must be positive; "
            "use --no-wiener (wiener=False in Python)"
        )
    if not 0 <= overlap < segment:
        raise ParameterError(
            f"--overlap-s must be >= 0 and less than --segment-s (overlap_s and segment_s in "
            f"Python), got {overlap_s} and {segment_s}"
        )
    total = OverlapAdd.n_chunks(int(np.ceil(n_frames * sr / in_rate)), segment, overlap) if n_frames else 0
    done = [0]

    stride = int(model.config.get("model_args", {}).get("stride", 1))

    def run(chunk):
        with torch.inference_mode():
            out = refine(net, chunk.to(device), shifts=shifts, stride=stride, wiener_power=wiener_power).cpu()
        done[0] += 1
        if callback:
            callback("separate", done[0], max(total, done[0]))
        return out

    ola = OverlapAdd(run, segment=segment, overlap=overlap, n_out=n_src)
    down = soxr.ResampleStream(in_rate, sr, 1, dtype="float32", quality="HQ") if in_rate != sr else None
    up = soxr.ResampleStream(sr, in_rate, n_src, dtype="float32", quality="HQ") if in_rate != sr else None
    pushed = emitted = 0

    def emit(y: torch.Tensor, last: bool) -> np.ndarray:
        z = y.T.numpy().astype(np.float32)
        return up.resample_chunk(z, last=last) if up else z

    for block in blocks:
        if block.size and not np.isfinite(block).all():
            raise AudioLoadError("the audio contains NaN or infinite samples; fix or re-export it")
        pushed += block.shape[0]
        mono = block.mean(axis=1, dtype=np.float32)
        x = down.resample_chunk(mono, last=False) if down else mono
        out = emit(ola.push(torch.from_numpy(np.ascontiguousarray(x))[None]), last=False)
        emitted += out.shape[0]
        if out.size:
            yield out
    tail = down.resample_chunk(np.zeros(0, np.float32), last=True) if down else np.zeros(0, np.float32)
    ola.push(torch.from_numpy(np.ascontiguousarray(tail))[None])
    out = emit(ola.finish(), last=True)
    # resampling rounds lengths: trim or pad so the stems are exactly as long as the input
    out = out[: max(0, pushed - emitted)]
    if emitted + out.shape[0] < pushed:
        out = np.concatenate([out, np.zeros((pushed - emitted - out.shape[0], n_src), np.float32)])
    yield out


def _soft_warnings(channels: int, peak: float) -> list[str]:
    notes = []
    if channels > 1:
        notes.append(f"{channels} channels were downmixed to mono: the SATB model is mono, so the stems are mono")
    if peak == 0.0:
        notes.append("the input is silent, so every stem is silent")
    for n in notes:
        warnings.warn(n, stacklevel=3)
    return notes


def separate(
    audio,
    *,
    sample_rate: int | None = None,
    model=DEFAULT_MODEL,
    segment_s: float = SEGMENT_S,
    overlap_s: float = OVERLAP_S,
    shifts: int | None = None,
    wiener: bool | None = None,
    device: str | None = None,
    callback: Callback | None = None,
) -> SeparationResult:
    """Separate a choir recording into soprano, alto, tenor and bass.

    Parameters
    ----------
    audio : path, numpy array / torch tensor shaped (time,), (channels, time) or (time, channels), or
        ``{"waveform", "sample_rate"}``. Any rate and channel count; channels are averaged.
    sample_rate : int, required for arrays and tensors.
    model : registry name (``voicetools.available_models("separation")``), checkpoint path, or a
        ``LoadedModel`` already in memory (load once, separate many).
    segment_s, overlap_s : chunk length and cross-fade of the overlap-add, in seconds.
    shifts, wiener : test-time refinement (``refine``); None takes the model's own settings
        (``refinement``); ``shifts=1, wiener=False`` gives the bare network.
    callback : ``callback(stage, done, total)`` after every chunk.

    Returns
    -------
    SeparationResult with ``stems[name]`` shaped (1, time) at the input's sample rate
    (numpy arrays when the input was a numpy array).

    Examples
    --------
    >>> import numpy as np, voicetools as vt
    >>> t = np.arange(8000) / 8000
    >>> res = vt.separate(np.sin(2 * np.pi * 440 * t), sample_rate=8000)
    >>> sorted(res.stems), res.stems["soprano"].shape
    (['alto', 'bass', 'soprano', 'tenor'], (1, 8000))
    """
    numpy_in = isinstance(audio, np.ndarray)
    _check_chunking(segment_s, overlap_s)
    loaded = resolve_model(model, "separation")
    a: Audio = as_audio(audio, sample_rate)
    x = a.samples.T.numpy()
    stems = np.concatenate(
        list(
            _stream(
                iter([x]),
                a.sample_rate,
                loaded,
                n_frames=x.shape[0],
                segment_s=segment_s,
                overlap_s=overlap_s,
                callback=callback,
                device=device or "cpu",
                shifts=shifts,
                wiener=wiener,
            )
        )
    )
    notes = _soft_warnings(a.channels, float(np.abs(x).max()))
    out = {name: stems[:, i][None] for i, name in enumerate(loaded.sources)}
    if not numpy_in:
        out = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in out.items()}
    return SeparationResult(out, a.sample_rate, loaded.name, notes)


def separate_file(
    path: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    model=DEFAULT_MODEL,
    format: str = "wav",
    segment_s: float = SEGMENT_S,
    overlap_s: float = OVERLAP_S,
    shifts: int | None = None,
    wiener: bool | None = None,
    device: str | None = None,
    overwrite: bool = False,
    block_s: float = 30.0,
    callback: Callback | None = None,
) -> dict:
    """Separate a file of any length into ``out_dir/<source>.<format>``, streaming from disk to disk.

    Memory stays flat however long the file is. All stems are written or none: on any error the
    partial files (and a folder this call created) are removed. Returns a JSON-ready summary.
    """
    check_format(format)
    _check_chunking(segment_s, overlap_s)
    p = Path(path)
    info = audio_info(p, max_duration_s=float("inf"))  # header checked, nothing decoded; streams any length
    loaded = resolve_model(model, "separation")
    targets = {name: Path(out_dir) / f"{name}.{format}" for name in loaded.sources}
    peak = stream_file_to_stems(
        p,
        info,
        targets,
        lambda blocks: _stream(
            blocks,
            info.samplerate,
            loaded,
            n_frames=info.frames,
            segment_s=segment_s,
            overlap_s=overlap_s,
            callback=callback,
            device=device or "cpu",
            shifts=shifts,
            wiener=wiener,
        ),
        format=format,
        channels=1,
        overwrite=overwrite,
        block_s=block_s,
    )
    notes = _soft_warnings(info.channels, peak)
    return {
        "input": str(p),
        "model": loaded.name,
        "sample_rate": info.samplerate,
        "duration_s": info.frames / info.samplerate,
        "channels": info.channels,
        "stems": {k: str(v) for k, v in targets.items()},
        "warnings": notes,
    }
