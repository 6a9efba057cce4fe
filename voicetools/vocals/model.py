"""Demucs models for vocal extraction: our shipped HTDemucs checkpoints and official Demucs weights.

Two ways a model arrives, both ending in a ``LoadedModel`` whose ``.model`` is demucs' own class:

- a voicetools checkpoint (registry name, cache name, folder): safetensors weights and a
  ``config.json`` holding the ``HTDemucs`` keyword arguments; built by ``voicetools.nn.htdemucs.build_htdemucs``;
- official Demucs weights: a ``.th`` file as Demucs saves it (a dict with ``klass``, ``args``,
  ``kwargs``, ``state``), given by path or found by signature in the torch hub cache
  (``~/.cache/torch/hub/checkpoints/<sig>-<hash>.th``), or a bag-of-models ``.yaml`` listing
  signatures. Files are read with ``torch.load(weights_only=True)`` and an allow-list of exactly
  the Demucs model classes: a pickle naming any other class is refused, never executed.

Nothing is downloaded here; a missing official file is an error naming the command that gets it
(``voicetools models fetch NAME``, ``voicetools.official_weights``).
"""

from __future__ import annotations

import fractions
import hashlib
import inspect
import os
import pickle
import re
from pathlib import Path

import torch

from ..checkpoints import LoadedModel, resolve_model
from ..errors import ModelLoadError, ParameterError, first_line
from ..official_weights import demucs_remote, hub_dir

TASK = "vocals"


def _demucs_classes() -> tuple:
    from demucs.demucs import Demucs
    from demucs.hdemucs import HDemucs
    from demucs.htdemucs import HTDemucs

    return (HTDemucs, HDemucs, Demucs)


def save_demucs_file(model, folder: str | os.PathLike, *, sig: str) -> Path:
    """Save a Demucs model in Demucs' release format as ``<folder>/<sig>-<sha256 prefix>.th``.

    ``demucs -n <sig> --repo <folder>`` (and ``load_vocal_model(weights=...)``) then load it: how
    the benchmark runs the demucs CLI on exactly our shipped weights.
    """
    args, kwargs = model._init_args_kwargs  # recorded by demucs' capture_init
    package = {
        "klass": type(model),
        "args": list(args),
        "kwargs": dict(kwargs),
        "state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{sig}.tmp"
    torch.save(package, tmp)
    path = folder / f"{sig}-{hashlib.sha256(tmp.read_bytes()).hexdigest()[:8]}.th"
    tmp.replace(path)
    return path


def official_names() -> list[str]:
    """Official Demucs model names (bags in demucs' ``remote/*.yaml``) usable once their weights are local."""
    return sorted(p.stem for p in demucs_remote().glob("*.yaml"))


def _wrap(model, name: str, origin: str) -> LoadedModel:
    sources = [str(s) for s in model.sources]
    config = {
        "task": TASK,
        "model_name": type(model).__name__,
        "sources": sources,
        "model_args": {"sample_rate": int(model.samplerate), "audio_channels": int(model.audio_channels)},
        "segment_s": float(getattr(model, "max_allowed_segment", None) or model.segment),
        "origin": origin,
    }
    return LoadedModel(name, model.eval(), config)


def load_demucs_file(path: str | os.PathLike):
    """Build the model saved in an official Demucs ``.th`` file, without unpickling foreign code."""
    path = Path(path)
    classes = _demucs_classes()
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such weights file")
    try:
        with torch.serialization.safe_globals([*classes, fractions.Fraction]):
            package = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))  # a global outside the allow-list
        if found:
            raise ModelLoadError(
                f"{path}: refused to load: it names {found.group(1)}, which is not a Demucs model "
                "class (only Demucs checkpoints are read, and nothing in them is run)"
            ) from None
        raise ModelLoadError(f"{path}: not a Demucs checkpoint ({first_line(exc)[:160]})") from None
    except Exception as exc:  # any other byte soup: the restricted unpickler fails in many ways
        raise ModelLoadError(f"{path}: not a Demucs checkpoint ({first_line(exc)[:160]})") from None
    if not isinstance(package, dict) or not {"klass", "args", "kwargs", "state"} <= set(package):
        raise ModelLoadError(f"{path}: not a Demucs checkpoint (needs klass, args, kwargs and state)")
    klass, kwargs = package["klass"], dict(package["kwargs"])
    if klass not in classes:
        raise ModelLoadError(f"{path}: not a Demucs checkpoint ({klass!r} is not a Demucs model class)")
    if package["state"].get("__quantized"):
        raise ModelLoadError(
            f"{path}: quantized (diffq) Demucs weights are not supported; use the "
            "non-quantized model (e.g. htdemucs, not mdx_q)"
        )
    params = inspect.signature(klass).parameters
    kwargs = {k: v for k, v in kwargs.items() if k in params}  # as demucs does: drop stale arguments
    try:
        model = klass(*package["args"], **kwargs)
        model.load_state_dict(package["state"])
    except (TypeError, ValueError, RuntimeError, KeyError) as exc:
        raise ModelLoadError(f"{path}: weights do not fit the Demucs model ({first_line(exc)[:160]})") from None
    return model.eval()


def _find_signature(sig: str, folders, name: str | None = None) -> Path:
    for folder in folders:
        hits = sorted(Path(folder).glob(f"{sig}-*.th")) + sorted(Path(folder).glob(f"{sig}.th"))
        if hits:
            path = hits[0]
            stem_hash = path.stem.split("-", 1)[1] if "-" in path.stem else ""
            if stem_hash:  # demucs names files <sig>-<first hex digits of their sha256>.th
                h = hashlib.sha256(path.read_bytes()).hexdigest()
                if not h.startswith(stem_hash):
                    raise ModelLoadError(f"{path}: checksum does not match its name; the download is corrupt")
            return path
    where = " or ".join(str(f) for f in folders)
    raise ModelLoadError(
        f"official Demucs weights {sig}-*.th not found in {where}; get them with voicetools models fetch {name}"
        if name
        else f"official Demucs weights {sig}-*.th not found in {where}; copy the file there "
        "or pass --weights /path/to/file.th"
    )


def load_bag(yaml_path: str | os.PathLike, *, folders=None, name: str | None = None):
    """A Demucs bag of models from its ``.yaml`` (signatures, weights, segment) and local ``.th`` files."""
    import yaml
    from demucs.apply import BagOfModels

    yaml_path = Path(yaml_path)
    try:
        bag = yaml.safe_load(yaml_path.read_text())
        sigs = [str(s) for s in bag["models"]]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"{yaml_path}: not a Demucs bag of models ({first_line(exc)[:120]})") from None
    folders = folders or [yaml_path.parent, hub_dir()]
    models = [load_demucs_file(_find_signature(s, folders, name)) for s in sigs]
    try:
        return BagOfModels(models, bag.get("weights"), bag.get("segment"))
    except AssertionError:
        raise ModelLoadError(f"{yaml_path}: its models disagree on sources, rate or channels") from None


def load_vocal_model(model="vocals-htdemucs-small", *, weights: str | os.PathLike | None = None) -> LoadedModel:
    """A vocal-extraction model: ``weights`` (an official ``.th`` / bag ``.yaml``) if given, else ``model``.

    ``model`` is a voicetools name or checkpoint (``available_models("vocals")``), an official
    Demucs name such as ``htdemucs`` (weights from the torch hub cache), or a ``LoadedModel``.
    """
    if isinstance(model, LoadedModel) and weights is None:
        return model
    if weights is not None:
        p = Path(weights).expanduser()
        if p.suffix in (".yaml", ".yml"):
            return _wrap(load_bag(p), p.stem, str(p))
        return _wrap(load_demucs_file(p), p.stem.split("-")[0], str(p))
    name = str(model)
    if name in official_names():
        return _wrap(load_bag(demucs_remote() / f"{name}.yaml", folders=[hub_dir()], name=name), name, str(hub_dir()))
    p = Path(name).expanduser()
    if p.suffix in (".th", ".yaml", ".yml") and p.is_file():
        return load_vocal_model(weights=p)
    try:
        return resolve_model(name, TASK)
    except ParameterError as exc:
        raise ParameterError(
            f"{exc}; official Demucs names (weights from {hub_dir()}): {', '.join(official_names())}"
        ) from None
