"""The checkpoint registry: a model name → weights (safetensors) + config (JSON) + model card.

Where a name is looked up, in order:
1. ``checkpoints/registry.json`` shipped with voicetools (weights checked against its sha256);
2. the user cache, ``$VOICETOOLS_CACHE`` or ``~/.cache/voicetools``: a folder ``<name>/`` holding
   ``config.json`` and ``model.safetensors`` (for weights a user trained or copied there).
An explicit path works too: such a folder, or an asteroid checkpoint (``.pth``/``.pt`` with
``model_name``, ``model_args``, ``state_dict``), read with ``weights_only=True``.
Nothing is ever downloaded.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .errors import ModelLoadError, ParameterError, first_line
from .files import sha256_of
from .nn.classifiers import AudioClassifier
from .nn.convtasnet import ConvTasNet
from .nn.ddsp import DDSPDecoder
from .nn.htdemucs import build_htdemucs
from .nn.phones import PhoneNet
from .nn.speaker import SpeakerLSTM
from .nn.tones import ToneNet
from .nn.voice2midi import Voice2Midi
from .version import __version__

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"
REGISTRY_FILE = CHECKPOINT_DIR / "registry.json"
WEIGHTS, CONFIG = "model.safetensors", "config.json"


# How each ``model_name`` of a config.json is built from its ``model_args``: the networks of ``voicetools.nn``.
# Another network is added with ``register_architecture``; nothing here imports a task package.
ARCHITECTURES: dict[str, Callable[[dict], torch.nn.Module]] = {
    "ConvTasNet": ConvTasNet.from_model_args,
    "AudioClassifier": AudioClassifier.from_model_args,
    "Voice2Midi": Voice2Midi.from_model_args,
    "SpeakerLSTM": SpeakerLSTM.from_model_args,
    "HTDemucs": build_htdemucs,
    "DDSPDecoder": DDSPDecoder.from_model_args,
    "PhoneNet": PhoneNet.from_model_args,
    "ToneNet": ToneNet.from_model_args,
}


def register_architecture(name: str, build: Callable[[dict], torch.nn.Module]) -> None:
    """Let checkpoints whose config names ``model_name: name`` be built by ``build(model_args)``."""
    ARCHITECTURES[name] = build


@dataclass
class LoadedModel:
    """A model ready for inference, with what the task needs to know about it."""

    name: str
    model: torch.nn.Module
    config: dict = field(default_factory=dict)

    @property
    def sample_rate(self) -> int:
        return int(self.config["model_args"]["sample_rate"])

    @property
    def sources(self) -> list[str]:
        return list(self.config.get("sources", []))


def cache_dir() -> Path:
    return Path(os.environ.get("VOICETOOLS_CACHE", Path.home() / ".cache" / "voicetools"))


def registry() -> dict:
    if not REGISTRY_FILE.exists():
        return {}
    return json.loads(REGISTRY_FILE.read_text())


def available_models(task: str | None = None) -> list[str]:
    """Names a user can pass as ``model=``: shipped and in the user cache."""
    names = {n for n, e in registry().items() if task in (None, e.get("task"))}
    if cache_dir().is_dir():
        for d in cache_dir().iterdir():
            cfg = d / CONFIG
            if not cfg.is_file():
                continue
            try:  # one broken folder in the user cache must not break every command
                entry = json.loads(cfg.read_text())
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                continue
            if isinstance(entry, dict) and task in (None, entry.get("task")):
                names.add(d.name)
    return sorted(names)


def _build(config: dict, state_dict: dict | None, origin: str) -> torch.nn.Module:
    arch = config.get("model_name")
    if arch not in ARCHITECTURES:
        raise ModelLoadError(f"{origin}: unknown model type {arch!r}; supported: {sorted(ARCHITECTURES)}")
    try:
        model = ARCHITECTURES[arch](config["model_args"])
        if state_dict is not None:
            model.load_state_dict(state_dict)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelLoadError(f"{origin}: weights do not fit the model ({first_line(exc)})") from None
    return model.eval()


def _load_folder(folder: Path, name: str, sha256: str | None = None) -> LoadedModel:
    cfg_path, weights = folder / CONFIG, folder / WEIGHTS
    if not cfg_path.exists() or not weights.exists():
        raise ModelLoadError(f"checkpoint {name!r} is incomplete: {folder} needs {CONFIG} and {WEIGHTS}")
    if sha256 is not None and sha256_of(weights) != sha256:
        raise ModelLoadError(f"checkpoint {name!r} failed its sha256 check ({weights}); reinstall voicetools")
    try:
        config = json.loads(cfg_path.read_text())
        state = load_file(str(weights))
    except (json.JSONDecodeError, SafetensorError, OSError) as exc:
        raise ModelLoadError(f"checkpoint {name!r} is unreadable: {exc}") from None
    return LoadedModel(name, _build(config, state, name), config)


def _load_asteroid(path: Path) -> LoadedModel:
    try:
        package = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as exc:
        raise ModelLoadError(f"{path}: not a loadable weights file ({first_line(exc)[:160]})") from None
    if not isinstance(package, dict) or not {"model_name", "model_args", "state_dict"} <= set(package):
        raise ModelLoadError(f"{path}: not an asteroid checkpoint (needs model_name, model_args, state_dict)")
    args = package["model_args"]
    config = {
        "model_name": package["model_name"],
        "model_args": args,
        "task": "separation",
        "sources": [f"source{i + 1}" for i in range(int(args.get("n_src", 0)))],
    }
    return LoadedModel(path.stem, _build(config, package["state_dict"], str(path)), config)


def load_model(name_or_path: str | os.PathLike, *, task: str | None = None) -> LoadedModel:
    """Load a model by registry name, user-cache name, or path (never downloads).

    A path is a checkpoint folder, a `voicetools train` run folder (its ``best/``), or an asteroid
    ``.pth`` file.
    """
    key = str(name_or_path)
    entries = registry()
    if key in entries:
        entry = entries[key]
        return _load_folder(CHECKPOINT_DIR / entry["path"], key, entry["sha256"])
    if (cache_dir() / key / CONFIG).exists() and os.sep not in key:
        return _load_folder(cache_dir() / key, key)
    path = Path(key).expanduser()
    if path.is_dir() and not (path / CONFIG).exists() and (path / "best" / CONFIG).exists():
        path = path / "best"  # a `voicetools train` run folder: its best model
    if path.is_dir():
        return _load_folder(path, key)
    if path.is_file():
        return _load_asteroid(path)
    choices = ", ".join(available_models(task)) or "none installed"
    raise ParameterError(f"unknown model {key!r}; choose one of: {choices} (or give a checkpoint path)")


def resolve_model(model, task: str) -> LoadedModel:
    """``model`` as a loaded model of ``task``: a ``LoadedModel`` as it is, a name or path loaded here.

    Raises ``ParameterError`` when the model is of another task.
    """
    if isinstance(model, LoadedModel):
        return model
    loaded = load_model(model, task=task)
    if loaded.config.get("task") != task:
        raise ParameterError(f"model {loaded.name!r} is a {loaded.config.get('task')} model, not a {task} model")
    return loaded


def save_checkpoint(
    model: torch.nn.Module,
    out_dir: str | os.PathLike,
    *,
    task: str,
    architecture: str,
    sources: list[str] | None = None,
    **meta,
) -> str:
    """Write ``model.safetensors`` + ``config.json`` into ``out_dir``; returns the weights' sha256."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / WEIGHTS))
    (out / WEIGHTS).chmod(0o644)  # safetensors writes 0600; shipped weights are read by everyone
    config = {
        "model_name": architecture,
        "task": task,
        "model_args": model.model_args,
        "sources": sources or [],
        "voicetools_version": __version__,
        "torch_version": torch.__version__,
        **meta,
    }
    (out / CONFIG).write_text(json.dumps(config, indent=1) + "\n")
    return sha256_of(out / WEIGHTS)


def publish_checkpoint(
    model: torch.nn.Module,
    out_dir: str | os.PathLike,
    *,
    task: str,
    architecture: str,
    sources: list[str] | None = None,
    **meta,
) -> str:
    """``save_checkpoint``, and when ``out_dir`` is a folder of the shipped ``checkpoints/``, also
    ``register_checkpoint`` it; returns the weights' sha256."""
    sha = save_checkpoint(model, out_dir, task=task, architecture=architecture, sources=sources, **meta)
    if Path(out_dir).resolve().parent == CHECKPOINT_DIR:
        register_checkpoint(Path(out_dir).name)
    return sha


def register_checkpoint(name: str, *, checkpoint_dir: Path | None = None) -> dict:
    """Add (or refresh) ``<checkpoint_dir>/<name>/`` in the shipped registry with its sha256.

    The folder must hold ``config.json`` and ``model.safetensors``; other entries are kept.
    """
    checkpoint_dir = Path(checkpoint_dir or CHECKPOINT_DIR)
    folder = checkpoint_dir / name
    config = json.loads((folder / CONFIG).read_text())
    entry = {
        "path": name,
        "sha256": sha256_of(folder / WEIGHTS),
        "task": config["task"],
        "model_name": config["model_name"],
        "sample_rate": config["model_args"]["sample_rate"],
        "card": f"{name}/MODEL_CARD.md",
    }
    for key in ("labels", "sources"):
        if config.get(key):
            entry[key] = config[key]
    registry_file = checkpoint_dir / REGISTRY_FILE.name
    entries = json.loads(registry_file.read_text()) if registry_file.exists() else {}
    entries[name] = entry
    tmp = registry_file.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(entries, indent=1, sort_keys=True) + "\n")
    tmp.replace(registry_file)  # atomic: a crash never leaves a half-written registry
    return entry
