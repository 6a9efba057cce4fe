"""Convert Resemblyzer's pretrained speaker encoder into a voicetools checkpoint (safetensors).

Resemblyzer (Apache-2.0) ships its weights inside its PyPI wheel, but its own package needs the
unbuildable ``webrtcvad`` and librosa, so voicetools reads the weights instead of importing it::

    pip download resemblyzer==0.1.4 --no-deps -d /tmp/whl
    python -m voicetools.diarize.convert /tmp/whl/Resemblyzer-0.1.4-py3-none-any.whl \\
        --out checkpoints/speaker-resemblyzer

The ``.pt`` inside is read with ``weights_only=True`` (tensors only, no code). If the resemblyzer
package is importable the script also checks that both encoders give the same embeddings.
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import numpy as np
import torch

from ..checkpoints import CHECKPOINT_DIR, register_checkpoint, save_checkpoint
from ..nn.speaker import SpeakerLSTM

MEMBER = "resemblyzer/pretrained.pt"


def read_state(source: Path) -> dict:
    """The encoder's tensors from a Resemblyzer wheel or its ``pretrained.pt``."""
    if source.suffix == ".whl":
        with zipfile.ZipFile(source) as z:
            raw = io.BytesIO(z.read(MEMBER))
    else:
        raw = source
    package = torch.load(raw, map_location="cpu", weights_only=True)
    return {k: v for k, v in package["model_state"].items() if k.startswith(("lstm.", "linear."))}


def compare_with_resemblyzer(model: SpeakerLSTM) -> float | None:
    """Largest embedding difference against Resemblyzer's own encoder on noise-excited vowels."""
    try:
        from resemblyzer import VoiceEncoder
    except ImportError:
        return None
    theirs = VoiceEncoder("cpu", verbose=False)
    rng = np.random.default_rng(0)
    windows = torch.from_numpy(rng.standard_normal((4, model.window_samples)).astype(np.float32) * 0.1)
    from resemblyzer.audio import wav_to_mel_spectrogram

    mels = torch.from_numpy(np.stack([wav_to_mel_spectrogram(w.numpy())[: model.partial_frames] for w in windows]))
    with torch.inference_mode():
        return float((theirs(mels) - model.embed(windows)).abs().max())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", type=Path, help="Resemblyzer wheel (.whl) or its pretrained.pt")
    ap.add_argument("--out", type=Path, default=CHECKPOINT_DIR / "speaker-resemblyzer")
    args = ap.parse_args(argv)
    model = SpeakerLSTM()
    model.load_state_dict(read_state(args.source))
    model.eval()
    save_checkpoint(
        model,
        args.out,
        task="speaker-embedding",
        architecture="SpeakerLSTM",
        origin="Resemblyzer 0.1.4 pretrained.pt (GE2E d-vector encoder), Apache-2.0",
        license="Apache-2.0",
    )
    if args.out.resolve().parent == CHECKPOINT_DIR:
        register_checkpoint(args.out.name)
    diff = compare_with_resemblyzer(model)
    print(f"wrote {args.out}" + ("" if diff is None else f"; max embedding difference vs resemblyzer: {diff:.2e}"))


if __name__ == "__main__":
    main()
