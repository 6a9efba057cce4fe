"""``classify``: label a clip or each window of a long input (see the package docstring)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from ..audio.io import as_audio
from ..checkpoints import LoadedModel, load_model
from ..errors import ParameterError
from .emotion import emotion_token
from .features import FeatureConfig, fix_length, logmel, prepare

TASKS = ("events", "emotion", "genre")
DEFAULT_MODELS = {"emotion": "emotion-ravdess-cnn"}


@dataclass
class SegmentLabel:
    """One window of a long input: its time span, top label and all class probabilities."""

    start_s: float
    end_s: float
    label: str
    score: float
    scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "start_s": self.start_s,
            "end_s": self.end_s,
            "label": self.label,
            "score": self.score,
            "scores": self.scores,
        }

    @property
    def token(self) -> str:
        return emotion_token(self.label)


@dataclass
class ClassificationResult:
    """Whole-input prediction: ``label`` and its ``score`` (probability), ``top_k`` as (label, p)
    pairs, ``scores`` for every class, and per-window ``segments`` when asked for."""

    label: str
    score: float
    top_k: list[tuple[str, float]]
    scores: dict[str, float]
    model: str
    task: str
    duration_s: float
    segments: list[SegmentLabel] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "score": self.score,
            "top_k": [[k, v] for k, v in self.top_k],
            "scores": self.scores,
            "model": self.model,
            "task": self.task,
            "duration_s": self.duration_s,
            "segments": [s.to_dict() for s in self.segments],
            "warnings": self.warnings,
        }


def resolve_model(model, *, task: str | None = None) -> LoadedModel:
    """A ``LoadedModel`` from a loaded model, a registry/cache name, a model folder, or a
    ``voicetools train`` run folder (its ``best/`` model)."""
    if isinstance(model, LoadedModel):
        loaded = model
    else:
        if model is None:
            if task is None:
                raise ParameterError(f"give model= (a name or run folder) or task= (one of {list(TASKS)})")
            if task not in DEFAULT_MODELS:
                raise ParameterError(
                    f"no shipped {task} model; train one with `voicetools train {task} ...` "
                    "and pass its run folder as model="
                )
            model = DEFAULT_MODELS[task]
        loaded = load_model(model, task=task)
    kind = loaded.config.get("task")
    if kind not in TASKS or "labels" not in loaded.config:
        raise ParameterError(f"model {loaded.name!r} is a {kind} model, not a classifier ({'/'.join(TASKS)})")
    if task is not None and kind != task:
        raise ParameterError(f"model {loaded.name!r} is a {kind} model, but task={task!r} was asked for")
    return loaded


def classify(
    audio,
    *,
    sample_rate: int | None = None,
    model=None,
    task: str | None = None,
    top_k: int = 3,
    segments: bool = False,
    hop_s: float | None = None,
    device: str | None = None,
    callback: Callable[[str, int, int], None] | None = None,
) -> ClassificationResult:
    """Classify a clip (sound event, emotion or genre, depending on the model).

    Parameters
    ----------
    audio : path, numpy array / torch tensor shaped (time,), (channels, time) or (time, channels), or
        ``{"waveform", "sample_rate"}``; any rate and channel count (channels are averaged).
    sample_rate : int, required for arrays and tensors.
    model : registry name (``voicetools.available_models("emotion")``), a model folder, a
        ``voicetools train`` run folder, or a ``LoadedModel``. Default: the shipped model of ``task``.
    task : "events", "emotion" or "genre"; checks the model's task, picks the default model.
    top_k : how many (label, probability) pairs to return, best first.
    segments : also return one ``SegmentLabel`` per window (window = the model's ``clip_s``).
    hop_s : window hop for long inputs (default: half a window).

    Returns
    -------
    ClassificationResult

    Examples
    --------
    >>> import numpy as np, voicetools as vt
    >>> res = vt.classify(np.zeros(8000, np.float32) + 0.01, sample_rate=8000)
    >>> res.label in res.scores and len(res.top_k) == 3
    True
    """
    if top_k < 1:
        raise ParameterError(f"--top-k (top_k in Python) must be at least 1, got {top_k}")
    loaded = resolve_model(model, task=task)
    fc = FeatureConfig.from_model_args(loaded.config["model_args"])
    labels = list(loaded.config["labels"])
    a = as_audio(audio, sample_rate)
    notes = []
    if a.channels > 1:
        notes.append(f"{a.channels} channels were averaged to mono")
    x = prepare(a, fc.sample_rate)
    win = fc.n_samples
    hop = int(round((hop_s if hop_s is not None else fc.clip_s / 2) * fc.sample_rate))
    if hop <= 0:
        raise ParameterError(f"--hop-s (hop_s in Python) must be positive, got {hop_s}")
    starts = [0] if len(x) <= win else list(range(0, len(x) - win + 1, hop))
    if len(x) > win and starts[-1] + win < len(x):
        starts.append(len(x) - win)  # the last window ends at the end of the input
    if len(x) < win:
        notes.append(f"input shorter than the model's {fc.clip_s:g} s window: zero-padded at the end")
    if not np.any(x):
        notes.append("the input is silent; the labels mean little")
    net = loaded.model.to(device or "cpu").eval()
    probs = []
    with torch.inference_mode():
        for b in range(0, len(starts), 16):
            chunk = np.stack([fix_length(x[s : s + win], win) for s in starts[b : b + 16]])
            probs.append(torch.softmax(net(logmel(chunk, fc).to(device or "cpu")), dim=1).cpu())
            if callback:
                callback("classify", min(b + 16, len(starts)), len(starts))
    p = torch.cat(probs).numpy()
    mean = p.mean(0)
    order = np.argsort(-mean)
    segs = []
    if segments:
        for s, row in zip(starts, p):
            k = int(np.argmax(row))
            segs.append(
                SegmentLabel(
                    s / fc.sample_rate,
                    min(len(x), s + win) / fc.sample_rate,
                    labels[k],
                    float(row[k]),
                    {lab: float(v) for lab, v in zip(labels, row)},
                )
            )
    return ClassificationResult(
        labels[order[0]],
        float(mean[order[0]]),
        [(labels[i], float(mean[i])) for i in order[:top_k]],
        {lab: float(v) for lab, v in zip(labels, mean)},
        loaded.name,
        loaded.config["task"],
        len(x) / fc.sample_rate,
        segs,
        notes,
    )
