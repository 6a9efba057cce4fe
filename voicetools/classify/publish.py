"""Ship a trained classifier: copy a run's ``best/`` into ``checkpoints/<name>/`` and register it.

    python -m voicetools.classify.publish --run runs/emotion-ravdess-cnn --name emotion-ravdess-cnn

``checkpoints.register_checkpoint`` adds (or refreshes) the one registry entry with the weights'
sha256 and keeps every other entry. The model card is written by hand beside the weights.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from ..checkpoints import CHECKPOINT_DIR, CONFIG, WEIGHTS, register_checkpoint
from ..errors import VoicetoolsError


def publish(run_dir: str | Path, name: str, *, checkpoint_dir: Path = CHECKPOINT_DIR) -> dict:
    src = Path(run_dir) / "best"
    if not (src / CONFIG).is_file() or not (src / WEIGHTS).is_file():
        raise VoicetoolsError(f"{src}: no exported model ({CONFIG} + {WEIGHTS}); train with `voicetools train` first")
    dst = checkpoint_dir / name
    dst.mkdir(parents=True, exist_ok=True)
    for f in (CONFIG, WEIGHTS):
        shutil.copy2(src / f, dst / f)
    return register_checkpoint(name, checkpoint_dir=checkpoint_dir)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Copy a run's best model into checkpoints/ and register it.")
    ap.add_argument("--run", required=True)
    ap.add_argument("--name", required=True)
    a = ap.parse_args(argv)
    print(json.dumps(publish(a.run, a.name), indent=1))


if __name__ == "__main__":
    main()
