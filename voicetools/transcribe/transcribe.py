"""``transcribe``: sung audio to notes, one track per voice (see the package docstring)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..audio.io import Audio, as_audio, resample, to_mono
from ..checkpoints import LoadedModel, resolve_model
from ..errors import ParameterError
from ..separation import separate
from .decoding import NoteEvent, decode, pitch_bends
from .midi import estimate_tempo, parse_grid, quantize_notes, to_pretty_midi, write_midi

DEFAULT_MODEL = "voice2midi"
CHUNK_S = 30.0
CONTEXT_S = 2.0
Callback = Callable[[str, int, int], None]


@dataclass
class TranscriptionResult:
    """Notes per track (``melody``, or ``soprano`` … ``bass`` with ``parts=True``), times in seconds.

    ``frames[track]`` keeps the pitch probabilities (frames, 1 + pitches; column 0 "no note") at
    ``frame_rate`` for plots.
    """

    tracks: dict[str, list[NoteEvent]]
    duration_s: float
    model: str
    tempo_bpm: float
    quantize: str | None = None
    bends: dict[str, list] = field(default_factory=dict)
    frames: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    frame_rate: float = 62.5
    min_pitch: int = 36
    warnings: list[str] = field(default_factory=list)

    @property
    def notes(self) -> list[NoteEvent]:
        """All notes of all tracks, by start time."""
        return sorted((n for t in self.tracks.values() for n in t), key=lambda n: (n.start_s, n.pitch))

    @property
    def midi(self):
        """The transcription as a ``pretty_midi.PrettyMIDI`` (one named instrument per track)."""
        return to_pretty_midi(self.tracks, tempo_bpm=self.tempo_bpm, bends=self.bends)

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the MIDI file (whole or not at all); refuses to overwrite unless asked."""
        return write_midi(self.midi, path, overwrite=overwrite)

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "duration_s": round(self.duration_s, 3),
            "tempo_bpm": self.tempo_bpm,
            "quantize": self.quantize,
            "warnings": self.warnings,
            "tracks": {k: [n.to_dict() for n in v] for k, v in self.tracks.items()},
        }


def activations(
    x: torch.Tensor,
    loaded: LoadedModel,
    *,
    chunk_s: float = CHUNK_S,
    context_s: float = CONTEXT_S,
    device: str = "cpu",
    callback: Callback | None = None,
) -> dict[str, np.ndarray]:
    """Mono audio (time,) at the model's rate → probabilities: ``pitch`` (frames, 1 + pitches), ``onset``
    and ``offset`` (frames,).

    Chunks of ``chunk_s`` are run with ``context_s`` of audio on each side, which is trimmed off.
    """
    net = loaded.model.to(device).eval()
    torch.set_flush_denormal(True)
    hop = int(net.model_args["hop_length"])
    n_frames = x.shape[-1] // hop + 1
    chunk = max(1, int(chunk_s * net.frame_rate))
    ctx = int(context_s * net.frame_rate)
    out = {h: [] for h in ("pitch", "onset", "offset")}
    starts = range(0, n_frames, chunk)
    for i, f0 in enumerate(starts):
        f1 = min(n_frames, f0 + chunk)
        a = max(0, f0 - ctx)
        seg = x[a * hop : (f1 + ctx) * hop]
        with torch.inference_mode():
            feats = net.features(seg[None].to(device))
            logits = net(feats)
        keep = slice(f0 - a, f0 - a + (f1 - f0))
        out["pitch"].append(torch.softmax(logits["pitch"][0, keep], -1).cpu().numpy())
        for h in ("onset", "offset"):
            out[h].append(torch.sigmoid(logits[h][0, keep]).cpu().numpy())
        if callback:
            callback("transcribe", i + 1, len(starts))
    return {h: np.concatenate(v) for h, v in out.items()}


def _velocities(notes: list[NoteEvent], x: np.ndarray, sample_rate: int) -> None:
    """MIDI velocity from each note's attack loudness (first 100 ms), relative to the loudest attack."""
    if not notes:
        return
    rms = np.array(
        [
            np.sqrt(np.mean(x[int(n.start_s * sample_rate) : int((n.start_s + 0.1) * sample_rate)] ** 2) + 1e-12)
            for n in notes
        ]
    )
    db = 20 * np.log10(rms / rms.max())
    for n, d in zip(notes, db):
        n.velocity = int(np.clip(round(110 + 2.0 * d), 20, 127))  # -30 dB → velocity 50


def transcribe_track(
    x: torch.Tensor,
    sample_rate: int,
    loaded: LoadedModel,
    *,
    onset_threshold: float,
    frame_threshold: float,
    pitch_bend: bool,
    device: str,
    callback: Callback | None,
) -> tuple[list[NoteEvent], list, np.ndarray]:
    """One voice (1, time) at ``sample_rate`` → (notes, pitch bends, pitch probabilities per frame)."""
    sr = loaded.sample_rate
    y = resample(x, sample_rate, sr)[0]
    probs = activations(y, loaded, device=device, callback=callback)
    args = loaded.config["model_args"]
    fr = sr / args["hop_length"]
    notes = decode(
        probs["pitch"],
        probs["onset"],
        probs["offset"],
        frame_rate=fr,
        min_pitch=args["min_pitch"],
        onset_threshold=onset_threshold,
        frame_threshold=frame_threshold,
    )
    _velocities(notes, y.numpy(), sr)
    bends = (
        [b for n in notes for b in pitch_bends(probs["pitch"], n, frame_rate=fr, min_pitch=args["min_pitch"])]
        if pitch_bend
        else []
    )
    return notes, bends, probs["pitch"]


def transcribe(
    audio,
    *,
    sample_rate: int | None = None,
    model=DEFAULT_MODEL,
    parts: bool = False,
    separation_model="satb-convtasnet",
    onset_threshold: float = 0.5,
    frame_threshold: float = 0.5,
    quantize: str | None = None,
    tempo_bpm: float | None = None,
    pitch_bend: bool = False,
    device: str | None = None,
    callback: Callback | None = None,
) -> TranscriptionResult:
    """Transcribe singing to notes: one ``melody`` track, or with ``parts=True`` one track per SATB voice.

    Parameters
    ----------
    audio : path, numpy array / torch tensor shaped (time,), (channels, time) or (time, channels), or
        ``{"waveform", "sample_rate"}``. Any rate; channels are averaged (with a warning).
    sample_rate : int, required for arrays and tensors.
    model : registry name (``voicetools.available_models("transcription")``), checkpoint folder, or a
        ``LoadedModel`` already in memory.
    parts : separate the choir first (``separation_model``) and transcribe soprano, alto, tenor, bass.
    onset_threshold, frame_threshold : decoding thresholds in (0, 1); lower finds more notes.
        Each track is one voice: one note at a time.
    quantize : snap notes to a grid such as ``"1/16"`` at ``tempo_bpm`` (estimated from the onsets
        when not given).
    tempo_bpm : the tempo written to the MIDI file (and used by ``quantize``).
    pitch_bend : add pitch-bend events that follow vibrato and glides (±2 semitone range).
    callback : ``callback(stage, done, total)`` after every chunk.

    Returns
    -------
    TranscriptionResult; ``.midi`` is a ``pretty_midi.PrettyMIDI``, ``.save(path)`` writes it.
    Silence gives a valid result without notes, and says so in ``warnings``.

    Examples
    --------
    >>> import numpy as np, voicetools as vt
    >>> t = np.arange(8000) / 8000
    >>> res = vt.transcribe(np.sin(2 * np.pi * 440 * t), sample_rate=8000)
    >>> list(res.tracks), type(res.midi).__name__
    (['melody'], 'PrettyMIDI')
    """
    for name, v in (("onset_threshold", onset_threshold), ("frame_threshold", frame_threshold)):
        if not 0.0 < float(v) < 1.0:
            raise ParameterError(
                f"--{name.replace('_', '-')} ({name} in Python) must be between 0 and 1 (exclusive), got {v}"
            )
    if tempo_bpm is not None and not 20.0 <= float(tempo_bpm) <= 400.0:
        raise ParameterError(f"--tempo (tempo_bpm in Python) must be between 20 and 400 BPM, got {tempo_bpm}")
    grid = parse_grid(quantize) if quantize else None
    loaded = resolve_model(model, "transcription")
    a: Audio = as_audio(audio, sample_rate)
    device = device or "cpu"
    notes_out: list[str] = []
    silent = float(a.samples.abs().max()) == 0.0
    if a.channels > 1:
        notes_out.append(
            f"{a.channels} channels were downmixed to mono " + ("before separation" if parts else "(the model is mono)")
        )
    if silent:  # nothing to hear: no model output could be a note
        names = resolve_model(separation_model, "separation").sources if parts else ["melody"]
        inputs = {}
    elif parts:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the stereo / silence warnings are given once, below
            sep = separate(
                a.samples, sample_rate=a.sample_rate, model=separation_model, device=device, callback=callback
            )
        inputs = {name: torch.as_tensor(s) for name, s in sep.stems.items()}
    else:
        inputs = {"melody": to_mono(a.samples)}
    tracks, bends, frames = {name: [] for name in names} if silent else {}, {}, {}
    for name, x in inputs.items():
        tracks[name], bends[name], frames[name] = transcribe_track(
            x,
            a.sample_rate,
            loaded,
            onset_threshold=onset_threshold,
            frame_threshold=frame_threshold,
            pitch_bend=pitch_bend,
            device=device,
            callback=callback,
        )
    all_notes = [n for t in tracks.values() for n in t]
    tempo = float(tempo_bpm) if tempo_bpm else estimate_tempo(all_notes)
    if grid is not None:
        tracks = {k: quantize_notes(v, tempo_bpm=tempo, grid=grid) for k, v in tracks.items()}
    if silent:
        notes_out.append("the input is silent: the transcription has no notes (the MIDI file is empty but valid)")
    elif not all_notes:
        notes_out.append("no notes were found: the MIDI file is empty but valid")
    for n in notes_out:
        warnings.warn(n, stacklevel=2)
    args = loaded.config["model_args"]
    return TranscriptionResult(
        tracks,
        a.duration_s,
        loaded.name,
        tempo,
        quantize,
        bends if pitch_bend else {},
        frames,
        args["sample_rate"] / args["hop_length"],
        args["min_pitch"],
        notes_out,
    )
