"""The one trainer under torchrun: 2 CPU processes (gloo, DistributedDataParallel) train to the same
weights as 1 process on the same data and seed."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

SCRIPT = """
import sys, torch
torch.set_num_threads(1)
sys.path.insert(0, {tests!r})
from test_classify_ddp import train_small
train_small(sys.argv[1])
"""


def train_small(out_dir):
    """SimpleCNN without batch norm or dropout (their per-slice statistics and RNG are the only
    legitimate differences between 1 and N processes), 2 epochs of 4 fixed batches of 16."""
    from voicetools.classify.train import loss_fn
    from voicetools.nn.classifiers import AudioClassifier
    from voicetools.train.trainer import TrainConfig, Trainer

    g = torch.Generator().manual_seed(0)
    batches = []
    for _ in range(4):
        x = torch.randn(16, 16, 24, generator=g)
        y = torch.randint(0, 3, (16,), generator=g)
        x[y == 1, :8] += 2.0
        batches.append((x, y, y, torch.ones(16)))
    torch.manual_seed(0)
    model = AudioClassifier(backbone="cnn", n_classes=3, n_mels=16, backbone_args={"batchnorm": False, "dropout": 0.0})
    trainer = Trainer(
        model, loss_fn, out_dir, TrainConfig(lr=1e-2, epochs=2, steps_per_epoch=4, warmup_steps=1, plot=False)
    )
    trainer.fit(batches)
    if trainer.rank == 0:
        torch.save(model.state_dict(), Path(out_dir) / "final.pt")
    return trainer.world_size


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="no gloo backend")
def test_two_processes_match_one(tmp_path):
    assert train_small(tmp_path / "one") == 1
    script = tmp_path / "ddp_script.py"
    script.write_text(SCRIPT.format(tests=str(Path(__file__).parent)))
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    env["OMP_NUM_THREADS"] = "1"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_addr",
            "127.0.0.1",
            "--master_port",
            str(_free_port()),
            str(script),
            str(tmp_path / "two"),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    one = torch.load(tmp_path / "one" / "final.pt", weights_only=True)
    two = torch.load(tmp_path / "two" / "final.pt", weights_only=True)
    diff = max(float((one[k] - two[k]).abs().max()) for k in one)
    assert diff < 1e-4, diff
    moved = max(
        float((one[k] - torch.load(tmp_path / "one" / "last.pt", weights_only=True)["model"][k]).abs().max())
        for k in one
    )
    assert moved == 0.0  # last.pt holds the final weights
    logs = [(tmp_path / d / "log.jsonl").read_text().splitlines() for d in ("one", "two")]
    assert len(logs[0]) == len(logs[1]) == 2  # rank 0 alone wrote the log
