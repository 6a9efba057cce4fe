"""Ship a trained classifier: copy a run's ``best/`` into ``checkpoints/<name>/`` and register it.

    python -m voicetools.classify.publish --run runs/emotion-ravdess-cnn --name emotion-ravdess-cnn

The registry (``checkpoints/registry.json``) is read, the one entry added or replaced, and written
back atomically: every other entry is kept. The model card is written by hand beside the weights.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from ..checkpoints import CHECKPOINT_DIR, CONFIG, REGISTRY_FILE, WEIGHTS, sha256_of
from ..errors import VoicetoolsError


def publish(run_dir: str | Path, name: str, *, checkpoint_dir: Path = CHECKPOINT_DIR) -> dict:
    src = Path(run_dir) / "best"
    if not (src / CONFIG).is_file() or not (src / WEIGHTS).is_file():
        raise VoicetoolsError(f"{src}: no exported model ({CONFIG} + {WEIGHTS}); train with `voicetools train` first")
    dst = checkpoint_dir / name
    dst.mkdir(parents=True, exist_ok=True)
    for f in (CONFIG, WEIGHTS):
        shutil.copy2(src / f, dst / f)
    config = json.loads((dst / CONFIG).read_text())
    entry = {"path": name, "sha256": sha256_of(dst / WEIGHTS), "task": config["task"],
             "model_name": config["model_name"], "sample_rate": config["model_args"]["sample_rate"],
             "labels": config["labels"], "card": f"{name}/MODEL_CARD.md"}
    registry_file = checkpoint_dir / REGISTRY_FILE.name
    entries = json.loads(registry_file.read_text()) if registry_file.exists() else {}
    entries[name] = entry
    tmp = registry_file.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(entries, indent=1, sort_keys=True) + "\n")
    tmp.replace(registry_file)
    return entry


def main(argv=None):
    ap = argparse.ArgumentParser(description="Copy a run's best model into checkpoints/ and register it.")
    ap.add_argument("--run", required=True)
    ap.add_argument("--name", required=True)
    a = ap.parse_args(argv)
    print(json.dumps(publish(a.run, a.name), indent=1))


if __name__ == "__main__":
    main()
