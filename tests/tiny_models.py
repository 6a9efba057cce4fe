"""Random-weight models for tests: the real architectures at a toy size, seconds to run.

They are not installed with voicetools: the tests write them once per session as ordinary user-cache
folders (``<name>/config.json`` + ``model.safetensors``, see ``voicetools.checkpoints``) and every
test's ``$VOICETOOLS_CACHE`` links to them (``conftest.py``). For a quick demo or a benchmark smoke
run outside the tests, ``python tests/tiny_models.py`` installs them into your own cache.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TINY_MODELS = {
    "tiny-satb": {
        "task": "separation",
        "model_name": "ConvTasNet",
        "sources": ["soprano", "alto", "tenor", "bass"],
        "model_args": dict(
            n_src=4,
            n_filters=32,
            kernel_size=32,
            stride=16,
            bn_chan=16,
            hid_chan=32,
            skip_chan=16,
            n_blocks=3,
            n_repeats=1,
            sample_rate=8000,
        ),
    },
    "tiny-emotion": {
        "task": "emotion",
        "model_name": "AudioClassifier",
        "labels": ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"],
        "model_args": dict(
            backbone="cnn",
            n_classes=8,
            n_mels=32,
            pooling="avg",
            sample_rate=8000,
            n_fft=256,
            hop_length=128,
            clip_s=1.0,
            backbone_args={},
        ),
    },
    "tiny-vocals": {
        "task": "vocals",
        "model_name": "HTDemucs",
        "sources": ["vocals", "accompaniment"],
        "segment_s": 1.0,
        "model_args": dict(
            sources=["vocals", "accompaniment"],
            audio_channels=1,
            sample_rate=8000,
            segment=1.0,
            channels=8,
            depth=2,
            nfft=512,
            t_layers=1,
            t_heads=2,
            dconv_comp=4,
        ),
    },
    "tiny-timbre": {
        "task": "timbre",
        "model_name": "DDSPDecoder",
        "model_args": dict(sample_rate=16000, hop_length=128, n_harmonics=8, n_noise_bands=9, hidden=16),
    },
    "tiny-voice2midi": {
        "task": "transcription",
        "model_name": "Voice2Midi",
        "model_args": dict(
            sample_rate=8000,
            n_fft=256,
            hop_length=128,
            n_mels=32,
            f_min=40.0,
            f_max=4000.0,
            min_pitch=36,
            max_pitch=84,
            channels=[4, 4, 4],
            hidden=16,
            rnn_hidden=8,
            dropout=0.0,
        ),
    },
}


def small_demucs_package(*, seed: int = 0, sample_rate: int = 8000) -> dict:
    """A small random HTDemucs in Demucs' release format (what ``torch.save`` writes in an official
    ``.th`` file: klass, args, kwargs, state), four sources, stereo."""
    from fractions import Fraction

    import torch
    from demucs.htdemucs import HTDemucs
    from demucs.states import get_state

    torch.manual_seed(seed)
    model = HTDemucs(
        sources=["drums", "bass", "other", "vocals"],
        audio_channels=2,
        samplerate=sample_rate,
        segment=Fraction(3, 2),
        channels=8,
        depth=2,
        nfft=512,
        t_layers=1,
        t_heads=2,
        dconv_comp=4,
    )
    args, kwargs = model._init_args_kwargs  # what demucs.states.serialize_model stores
    return {"klass": HTDemucs, "args": args, "kwargs": kwargs, "state": get_state(model, None)}


def install(folder: str | Path) -> Path:
    """Write every tiny model into ``folder/<name>/``, weights drawn with seed 0 (the same every time)."""
    import torch
    from safetensors.torch import save_file

    from voicetools.checkpoints import CONFIG, WEIGHTS, _build

    folder = Path(folder)
    for name, spec in TINY_MODELS.items():
        torch.manual_seed(0)
        model = _build(spec, None, name)
        out = folder / name
        out.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / WEIGHTS))
        (out / CONFIG).write_text(json.dumps(spec, indent=1) + "\n")
    return folder


if __name__ == "__main__":
    from voicetools.checkpoints import cache_dir

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else cache_dir()
    install(target)
    print(f"{', '.join(TINY_MODELS)} -> {target}/ (use e.g. --model tiny-satb)")
