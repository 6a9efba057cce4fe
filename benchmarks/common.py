"""What every benchmark shares: the provenance of its numbers, the machine, Markdown tables, progress.

Every script in ``benchmarks/`` writes a results JSON with a ``provenance`` entry made here::

    results["provenance"] = provenance(["satb-convtasnet"])

    "provenance": {
      "git": {"commit": "d27b465…", "dirty": false},   # HEAD, and whether tracked files had changes
      "models": {"satb-convtasnet": {"sha256": "e73c…", "source": "registry"}}
    }

so a number can always be tied to the code and the exact weights that made it. A model's sha256 is
the registry's (``checkpoints/registry.json``, checked when the model loads) for a shipped model; for
a user-cache name (``$VOICETOOLS_CACHE/<name>/``, e.g. the ``tiny-*`` models of
``python tests/tiny_models.py``), a checkpoint folder, a run folder or a weights file it is computed
from the weights file itself. Weights that ship inside another package's wheel (Silero VAD, Basic
Pitch) are recorded with ``package_file``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = ROOT / "checkpoints" / "registry.json"
WEIGHTS = "model.safetensors"

# Runs a command and prints its exit code, wall time and rusage as JSON: ``python -c MEASURE cmd args…``.
# A middleman is needed: a child's peak RSS counts the memory of the process it was forked from, and
# a benchmark holds torch and its test audio.
MEASURE = """
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
kb = 1024 if sys.platform == "darwin" else 1
cpu = ru.ru_utime + ru.ru_stime
print(json.dumps({"exit_code": code, "wall_s": wall, "cpu_s": cpu, "peak_rss_mb": ru.ru_maxrss / kb / 1024}))
"""


# ---------------------------------------------------------------------------------------- provenance


def git_state() -> dict:
    """``{"commit": HEAD, "dirty": tracked files differ from it}``; both None outside a git checkout."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _registry() -> dict:
    try:
        return json.loads(REGISTRY.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def _cache_dir() -> Path:
    return Path(os.environ.get("VOICETOOLS_CACHE", Path.home() / ".cache" / "voicetools"))


def model_sha256(name_or_path) -> dict:
    """``{"sha256", "source"}`` of a model given as voicetools' loaders take it (name, folder or file).

    Resolved in the loaders' order: the shipped registry, the user cache, then a path (a checkpoint
    folder, a ``voicetools train`` run folder's ``best/``, or a single weights file). A model that
    cannot be found gets ``sha256: None`` and says so, rather than failing the benchmark.
    """
    name = getattr(name_or_path, "name", name_or_path)  # a LoadedModel: its name
    key = str(name)
    entry = _registry().get(key)
    if entry is not None:
        return {"sha256": entry.get("sha256"), "source": "registry"}
    cached = _cache_dir() / key / WEIGHTS
    if os.sep not in key and cached.is_file():
        return {"sha256": sha256_file(cached), "source": f"user cache: {cached}"}
    path = Path(key).expanduser()
    for candidate in (path / WEIGHTS, path / "best" / WEIGHTS, path):
        if candidate.is_file():
            return {"sha256": sha256_file(candidate), "source": str(candidate)}
    return {"sha256": None, "source": "not found"}


def package_file(module: str, relative: str) -> tuple[str, dict]:
    """(label, ``{"sha256", "source"}``) of weights shipped inside another package, e.g. Silero VAD's."""
    try:
        import importlib

        mod = importlib.import_module(module)
        path = Path(mod.__file__).parent / relative
        try:
            from importlib.metadata import version

            ver = version(module.replace("_", "-"))
        except Exception:  # noqa: BLE001 - the version is a courtesy
            ver = "?"
        return f"{module}:{relative}", {"sha256": sha256_file(path), "source": f"{module} {ver} wheel: {path}"}
    except (ImportError, OSError) as exc:
        return f"{module}:{relative}", {"sha256": None, "source": f"not available ({exc.__class__.__name__})"}


def provenance(models=(), extra: dict | None = None) -> dict:
    """The commit this run is on and the sha256 of every model it used (names, paths or LoadedModels).

    ``extra`` adds already-resolved entries, such as ``dict([package_file(...)])``.
    """
    used = {str(getattr(m, "name", m)): model_sha256(m) for m in dict.fromkeys(models)}
    return {"git": git_state(), "models": used | (extra or {})}


# ---------------------------------------------------------------------------------------- machine, output


def machine_info(threads: int) -> dict:
    """CPU, cores, library versions and the load average at the start (other jobs slow every number)."""
    import torch

    import voicetools as vt

    cpu = platform.processor()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": threads,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "voicetools": vt.__version__,
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def model_info(loaded) -> dict:
    """A loaded model's name, sha256, sources, rate, size, architecture arguments and training summary."""
    return {
        "name": loaded.name,
        "sha256": model_sha256(loaded.name)["sha256"],
        "sources": loaded.sources,
        "sample_rate": loaded.sample_rate,
        "parameters": sum(p.numel() for p in loaded.model.parameters()),
        "model_args": loaded.config.get("model_args"),
        "training": loaded.config.get("training"),
    }


def md_table(header: list[str], rows: list[list]) -> str:
    cell = lambda v: f"{v:.2f}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = [header, ["---"] * len(header), *[[cell(v) for v in r] for r in rows]]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def progress(iterable=None, **kw):
    from tqdm import tqdm

    return tqdm(iterable, file=sys.stderr, leave=False, **kw)
