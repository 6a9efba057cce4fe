"""``revoice``: keep the music of a choir or a solo and change who sings each part (see the package docstring)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..audio.io import Audio, as_audio, save_audio
from ..checkpoints import LoadedModel, resolve_model
from ..errors import ParameterError
from ..files import atomic_output, write_all_or_nothing
from ..separation import DEFAULT_MODEL as DEFAULT_SEPARATION_MODEL
from ..separation import separate
from . import colour, orchestrate, separation_loss, vocoder
from .analysis import PartAnalysis, analyse, pieces, with_context
from .targets import VOICE_TYPES, Target, check_gain_db, default_octaves, formant_factor, parse_map, parse_target
from .timbre import TASK as TIMBRE_TASK
from .timbre import apply_timbre, cached_timbre
from .vocoder import check_transform

DEFAULT_TRANSCRIPTION_MODEL = "voice2midi"
Callback = Callable[[str, int, int], None]


@dataclass
class RevoiceResult:
    """The re-voiced mix ``audio`` (1, time) and each part before (``originals``) and after (``parts``),
    all at ``sample_rate``; ``targets[part]`` is what the part became, ``shifts`` its transposition
    in semitones. Numpy in → numpy out."""

    audio: np.ndarray | torch.Tensor
    sample_rate: int
    parts: dict
    originals: dict
    targets: dict[str, str]
    shifts: dict[str, float]
    analysis: dict[str, PartAnalysis] = field(default_factory=dict, repr=False)
    separation_model: str | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        n = self.audio.shape[-1]
        return {
            "sample_rate": self.sample_rate,
            "duration_s": round(n / self.sample_rate, 3),
            "separation_model": self.separation_model,
            "targets": self.targets,
            "shifts_semitones": self.shifts,
            "analysis": {k: v.to_dict() for k, v in self.analysis.items()},
            "warnings": self.warnings,
        }

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the re-voiced mix (WAV/FLAC/OGG by suffix), whole or not at all."""
        p = Path(path)
        with atomic_output(p, overwrite=overwrite) as tmp:
            save_audio(tmp, torch.as_tensor(self.audio), self.sample_rate)
        return p

    def save_parts(self, out_dir: str | os.PathLike, *, overwrite: bool = False) -> dict[str, Path]:
        """Write each re-voiced part as ``out_dir/<part>.wav`` (all or nothing)."""
        targets = {name: Path(out_dir) / f"{name}.wav" for name in self.parts}

        def write(tmp: Path) -> None:
            for name, x in self.parts.items():
                save_audio(tmp / f"{name}.wav", torch.as_tensor(x), self.sample_rate)

        write_all_or_nothing(targets, write, format="wav", overwrite=overwrite)
        return targets


def _active_rms(x: np.ndarray) -> float:
    a = np.abs(x) > 1e-3 * (np.abs(x).max() + 1e-12)
    return float(np.sqrt(np.mean(x[a] ** 2))) if a.any() else 0.0


def _median_midi(an: PartAnalysis) -> float | None:
    f = an.f0_hz[an.voiced]
    return float(69 + 12 * np.log2(np.median(f) / 440.0)) if len(f) else None


def plan(parts: list[str], *, map=None, voice: str | None = None, timbre=None) -> dict[str, Target]:
    """Every part's ``Target`` from ``map`` (parts not mapped: ``timbre`` if given, else keep)."""
    targets = parse_map(map or {}, parts)
    for p in parts:
        if p not in targets:
            targets[p] = Target("timbre", timbre, None) if timbre is not None else Target("keep")
    return targets


def revoice(
    audio,
    *,
    sample_rate: int | None = None,
    map=None,
    voice: str | None = None,
    pitch: float = 0.0,
    formant: float = 1.0,
    breathiness: float = 0.0,
    timbre=None,
    gains_db: dict | None = None,
    separation_model=DEFAULT_SEPARATION_MODEL,
    transcription_model=DEFAULT_TRANSCRIPTION_MODEL,
    timbre_minutes: float = 3.0,
    device: str | None = None,
    callback: Callback | None = None,
) -> RevoiceResult:
    """Re-voice a choir (or one voice): each part keeps its melody, timing and dynamics and takes a new voice.

    Parameters
    ----------
    audio : path, numpy array / torch tensor shaped (time,), (channels, time) or (time, channels), or
        ``{"waveform", "sample_rate"}``. Channels are averaged.
    sample_rate : int, required for arrays and tensors.
    map : ``{"soprano": "tenor:+0", "bass": "synth-choir"}`` or a list of ``"part=target[:shift]"``
        strings (the CLI's ``--map``); grammar in ``voicetools.revoice.targets``. Parts not mapped keep
        their voice (or take ``timbre``).
    voice : the voice type of a solo input (``soprano`` … ``bass``): no separation, one part of that name.
    pitch : semitones added to every part's transposition (``-12`` an octave down); decimals are cents.
    formant : extra spectral-envelope scale for every part re-voiced by Praat (``1.15`` brighter,
        smaller vocal tract; ``0.87`` darker), 0.5 … 2.
    breathiness : 0 … 1, breath noise mixed into every part re-voiced by Praat.
    timbre : a timbre model name (``voicetools.available_models("timbre")``), a timbre checkpoint
        folder, or a recording of the target voice/instrument (an audio file: a model is trained on it
        for ``timbre_minutes`` on first use and cached) — applied to every part not in ``map``.
    gains_db : per-part gain in dB for the remix, e.g. ``{"bass": -3}``.
    separation_model, transcription_model : models of ``vt.separate`` and of ``gm:``/``singing`` targets.
    callback : ``callback(stage, done, total)`` per part.

    Returns
    -------
    RevoiceResult: ``audio`` (1, time) at the input's rate, ``parts`` and ``originals`` per part.

    Examples
    --------
    >>> import numpy as np, voicetools as vt
    >>> t = np.arange(16000) / 16000
    >>> x = 0.3 * np.sign(np.sin(2 * np.pi * 220 * t))
    >>> res = vt.revoice(x, sample_rate=16000, voice="alto", pitch=-12)
    >>> res.targets, res.audio.shape
    ({'alto': 'keep:-12'}, (1, 16000))
    """
    if voice is not None and voice not in VOICE_TYPES:
        raise ParameterError(f"unknown voice {voice!r}; choose one of: {', '.join(VOICE_TYPES)}")
    check_transform(pitch, formant, breathiness)
    sep = None if voice else resolve_model(separation_model, "separation")
    names = [voice] if voice else list(sep.sources)
    preloaded = {}
    if isinstance(timbre, LoadedModel):  # loaded once by the CLI or the app, for many inputs
        preloaded[timbre.name] = timbre
        timbre = Target("timbre", timbre.name)
    elif timbre is not None and not isinstance(timbre, Target):
        timbre = timbre_target(timbre)
    targets = plan(names, map=map, voice=voice, timbre=timbre.name if isinstance(timbre, Target) else None)
    gains = {}
    for part, g in (gains_db or {}).items():
        if part not in names:
            raise ParameterError(f"unknown part {part!r} in gains; this input's parts are: {', '.join(names)}")
        gains[part] = check_gain_db(part, g)
    needs_notes = any(t.kind in ("gm", "singing") for t in targets.values())
    notes_model = None
    if needs_notes:
        notes_model = resolve_model(transcription_model, "transcription")
    timbre_models = dict(preloaded)
    for t in targets.values():
        if t.kind == "timbre" and t.name not in timbre_models:
            timbre_models[t.name] = load_timbre(t.name, minutes=timbre_minutes, callback=callback)

    numpy_in = isinstance(audio, np.ndarray)
    a: Audio = as_audio(audio, sample_rate)
    sr = a.sample_rate
    notes: list[str] = []
    if a.channels > 1:
        notes.append(f"{a.channels} channels were downmixed to mono")
    mono = a.samples.mean(0).numpy().astype(np.float32)
    if not np.any(mono):
        notes.append("the input is silent, so the output is silent")
    if voice:
        originals = {voice: mono}
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # stereo / silence are reported once, here
            res = separate(mono, sample_rate=sr, model=sep, device=device, callback=callback)
        originals = {k: np.asarray(v, np.float32)[0] for k, v in res.stems.items()}  # no copy of an hour's stems
        del res

    out_parts, shifts, analyses = {}, {}, {}
    for i, (part, x) in enumerate(originals.items()):
        t = targets[part]
        an = analyse(x, sr, voice=part if part in VOICE_TYPES else None)
        analyses[part] = an
        got, median = {}, _median_midi(an)  # the whole part's median: every piece moves by the same octaves

        def transform(seg, seg_an, part=part, t=t, median=median, got=got):
            y, got["shift"] = _transform_part(
                seg,
                sr,
                part,
                t,
                seg_an,
                pitch=pitch,
                formant=formant,
                breathiness=breathiness,
                timbre_models=timbre_models,
                notes_model=notes_model,
                notes=notes,
                separated_by=None if voice else sep.name,
                median_midi=median,
            )
            return y

        y = _in_pieces(x, sr, an, transform)
        shifts[part] = got["shift"]
        rms_in, rms_out = _active_rms(x), _active_rms(y)
        if rms_out > 0:  # the part's dynamics stay; its level is the original part's
            y = y * (rms_in / rms_out)
        out_parts[part] = (y * 10 ** (gains.get(part, 0.0) / 20)).astype(np.float32)
        if callback:
            callback("revoice", i + 1, len(originals))
    # A kept part is better heard in the input itself than in its separated stem, which lost all
    # above the separator's band: then the mix is the input plus each part's change.
    untouched = formant == 1.0 and breathiness == 0
    keep_input = any(targets[p].kind == "keep" and shifts[p] == 0 and untouched for p in out_parts)
    mix = mono.copy() if keep_input else np.zeros(len(mono), np.float32)
    for part, y in out_parts.items():  # summed in place: stacking the parts would copy them all
        mix += y
        if keep_input:
            mix -= originals[part]
    peak = float(np.abs(mix).max()) if mix.size else 0.0
    if peak > 0.99:
        mix *= 0.99 / peak
        for v in out_parts.values():
            v *= 0.99 / peak
    notes = list(dict.fromkeys(notes))  # once, not once per piece of a long part
    for n in notes:
        warnings.warn(n, stacklevel=2)
    wrap = (lambda v: v[None]) if numpy_in else (lambda v: torch.from_numpy(np.ascontiguousarray(v))[None])
    labels = {p: _label(t, shifts[p]) for p, t in targets.items()}
    return RevoiceResult(
        wrap(mix.astype(np.float32)),
        sr,
        {k: wrap(v) for k, v in out_parts.items()},
        {k: wrap(v) for k, v in originals.items()},
        labels,
        shifts,
        analyses,
        None if voice else sep.name,
        notes,
    )


def _in_pieces(x: np.ndarray, sr: int, an: PartAnalysis, transform) -> np.ndarray:
    """``transform(segment, its analysis)`` over the part's pieces (``analysis.pieces``: ~30 s, cut
    at quiet unvoiced frames where there are some), each given ``CONTEXT_S`` around it and joined by
    20 ms cross-fades at the cuts; a part of up to a minute is one piece."""
    ps = pieces(x, sr, hop_s=an.hop_s, f0_hz=an.f0_hz)
    if len(ps) == 1:
        return transform(x, an)
    n_frames, xf = len(an.f0_hz), 0.02 * sr
    out = np.zeros(len(x), np.float32)
    for a, b in ps:
        (lo, hi), seg = with_context(x, sr, a, b, n_frames, hop_s=an.hop_s)
        start = int(round(lo * an.hop_s * sr))
        y = transform(seg, an.frames(lo, hi))[: len(out) - start]
        at = np.arange(start, start + len(y), dtype=np.float64)
        w = np.ones(len(y))
        if a > 0:
            w *= np.clip((at - a * an.hop_s * sr) / xf + 0.5, 0.0, 1.0)
        if b < n_frames:
            w *= np.clip((b * an.hop_s * sr - at) / xf + 0.5, 0.0, 1.0)
        out[start : start + len(y)] += (w * y).astype(np.float32)
    return out


def _label(t: Target, shift: float) -> str:
    base = Target(t.kind, t.name, None).label()
    if t.kind == "timbre" and isinstance(t.name, str) and os.sep in t.name:
        base = Path(t.name).name
    return base if t.kind == "keep" and shift == 0 else f"{base}:{shift:+g}"


def timbre_target(timbre) -> Target:
    """``timbre=`` as a Target: a model name / folder, or an audio file to train on."""
    p = Path(str(timbre)).expanduser()
    if p.is_file():
        return Target("timbre", str(p))
    t = parse_target(str(timbre))
    if t.kind != "timbre":
        raise ParameterError(
            f"timbre must be a timbre model or a recording, got {timbre!r}; use map= for voice types and gm: programs"
        )
    return t


def load_timbre(name, *, minutes: float, callback):
    """A timbre model by name or folder, or one trained on (and cached for) a recording of the target."""
    p = Path(str(name)).expanduser()
    if p.is_file():
        return cached_timbre(p, minutes=minutes, callback=callback)
    return resolve_model(name, TIMBRE_TASK)


def _transform_part(
    x,
    sr,
    part,
    t: Target,
    an: PartAnalysis,
    *,
    pitch,
    formant,
    breathiness,
    timbre_models,
    notes_model,
    notes,
    separated_by,
    median_midi,
):
    source_voice = part if part in VOICE_TYPES else None

    def psola_input():  # a separated part's bleed would be moved along with it: comb it out first
        if separated_by is None:
            return x
        return separation_loss.restore(
            vocoder.keep_harmonics(x, sr, an.f0_hz, hop_s=an.hop_s), sr, separated_by, source_voice
        )

    if t.kind == "voice":
        octave = default_octaves(median_midi, t.name) if t.semitones is None else t.semitones
        shift = float(octave + pitch)
        r = formant_factor(source_voice, t.name) * formant
        y = vocoder.transform(
            psola_input(), sr, semitones=shift, formant=r, voice=source_voice, f0_hz=an.f0_hz, hop_s=an.hop_s
        )
        if source_voice is not None:  # the formant shift moved the envelope; now its pattern
            moved = an.f0_hz * 2.0 ** (shift / 12.0)
            y = colour.recolour(
                y, sr, source_voice, t.name, source_scale=r, target_scale=formant, f0_hz=moved, f0_hop_s=an.hop_s
            )
            if separated_by is not None:  # the colour's boosts lift what bleed is left between harmonics: comb again
                y = vocoder.keep_harmonics(y, sr, moved, hop_s=an.hop_s)
        return (vocoder.add_breath(y, sr, breathiness) if breathiness > 0 else y), shift
    shift = float((t.semitones or 0.0) + pitch)
    if t.kind == "keep":
        if shift == 0 and formant == 1.0 and breathiness == 0:
            return x.copy(), 0.0
        return vocoder.transform(
            psola_input(),
            sr,
            semitones=shift,
            formant=formant,
            breathiness=breathiness,
            voice=source_voice,
            f0_hz=an.f0_hz,
            hop_s=an.hop_s,
        ), shift
    if t.kind == "timbre":
        return apply_timbre(
            timbre_models[t.name], x, sr, semitones=shift, voice=source_voice, f0_hz=an.f0_hz, hop_s=an.hop_s
        ), shift
    program = t.name if t.kind == "gm" else None
    y, n_notes = orchestrate.reorchestrate(
        x, sr, program=program, voice=source_voice, semitones=shift, model=notes_model, f0_hz=an.f0_hz, hop_s=an.hop_s
    )
    if not n_notes and np.any(x):
        notes.append(f"{part}: no notes were found to re-orchestrate, so the part is silent")
    return y, float(shift)  # the cents of the shift ride on the pitch bends
