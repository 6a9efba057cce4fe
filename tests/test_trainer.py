"""train.trainer.Trainer on a tiny regression problem: learning, resuming, early stopping, logs."""

import csv
import json

import pytest
import torch

from voicetools.train.trainer import TrainConfig, Trainer

STEPS = 5


def _problem(seed=0, n_batches=STEPS):
    """y = x @ w_true + 0.5: a fixed list of batches, one epoch's worth."""
    g = torch.Generator().manual_seed(seed)
    w_true = torch.randn(4, 1, generator=g)
    batches = []
    for _ in range(n_batches):
        x = torch.randn(32, 4, generator=g)
        batches.append((x, x @ w_true + 0.5))
    return batches


def _loss(model, batch):
    x, y = batch
    return torch.nn.functional.mse_loss(model(x), y)


def _model(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Linear(4, 1)


def _config(**kw):
    base = dict(lr=0.05, weight_decay=0.0, epochs=6, steps_per_epoch=STEPS, warmup_steps=2)
    return TrainConfig(**{**base, **kw})


def _log(run):
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


def test_loss_falls(tmp_path):
    batches = _problem()
    model = _model()
    with torch.no_grad():
        before = sum(_loss(model, b) for b in batches) / len(batches)
    result = Trainer(model, _loss, tmp_path / "run", _config(epochs=8, lr=0.3)).fit(batches)
    assert result["epoch"] == 8 and result["step"] == 8 * STEPS
    rows = _log(tmp_path / "run")
    assert [r["epoch"] for r in rows] == list(range(1, 9))
    losses = [r["train_loss"] for r in rows]
    assert losses[-1] < 0.1 * losses[0]
    with torch.no_grad():
        after = sum(_loss(model, b) for b in batches) / len(batches)
    assert after < 0.05 * before
    assert result["best"] == pytest.approx(min(losses))
    # the learning rate warmed up and then annealed
    assert rows[0]["lr"] > rows[-1]["lr"] >= 0.3 * 0.05 - 1e-12


class _Stop(Exception):
    pass


def test_interrupted_run_resumes_where_it_stopped(tmp_path):
    batches = _problem()
    run = tmp_path / "run"
    cfg = _config(epochs=4)

    def stop_after_two(stage, done, total):
        if done == 2:
            raise _Stop  # like a kill right after the epoch-2 checkpoint

    with pytest.raises(_Stop):
        Trainer(_model(), _loss, run, cfg).fit(batches, callback=stop_after_two)
    assert [r["epoch"] for r in _log(run)] == [1, 2]
    assert torch.load(run / "last.pt", weights_only=True)["step"] == 2 * STEPS

    resumed_model = _model(seed=99)  # a fresh process: different initial weights, overwritten by resume
    resumed = Trainer(resumed_model, _loss, run, cfg)
    result = resumed.fit(batches)
    assert result["epoch"] == 4 and result["step"] == 4 * STEPS  # steps continue, not restart
    rows = _log(run)
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    assert [r["step"] for r in rows] == [STEPS, 2 * STEPS, 3 * STEPS, 4 * STEPS]
    with open(run / "log.csv") as f:
        assert [int(r["epoch"]) for r in csv.DictReader(f)] == [1, 2, 3, 4]
    assert (run / "best.pt").exists() and (run / "last.pt").exists()
    assert not list(run.glob(".*.tmp"))

    # resuming is exact: the same weights as a run that was never interrupted
    straight = _model()
    Trainer(straight, _loss, tmp_path / "straight", cfg).fit(batches)
    for k, v in straight.state_dict().items():
        torch.testing.assert_close(resumed_model.state_dict()[k], v)
    assert _log(tmp_path / "straight")[-1]["train_loss"] == pytest.approx(rows[-1]["train_loss"], rel=1e-6)

    # a finished run called again does nothing more
    again = Trainer(_model(), _loss, run, cfg).fit(batches)
    assert again["epoch"] == 4 and len(_log(run)) == 4


def test_time_limit_stops_at_an_epoch_end_and_fit_continues(tmp_path):
    batches = _problem()
    run = tmp_path / "run"
    cfg = _config(epochs=3, max_minutes=0.0)  # any time at all is over the limit
    assert Trainer(_model(), _loss, run, cfg).fit(batches)["epoch"] == 1
    assert Trainer(_model(), _loss, run, cfg).fit(batches)["epoch"] == 2
    assert [r["epoch"] for r in _log(run)] == [1, 2]


def test_best_checkpoint_follows_the_validation_metric(tmp_path):
    scores = iter([0.3, 0.9, 0.5, 0.7])
    run = tmp_path / "run"
    trainer = Trainer(
        _model(), _loss, run, _config(epochs=4), validate=lambda m: {"acc": next(scores)}, monitor="acc", mode="max"
    )
    result = trainer.fit(_problem())
    assert result["best"] == 0.9
    best = torch.load(run / "best.pt", weights_only=True)
    assert best["epoch"] == 2 and best["score"] == 0.9
    assert [r["valid_acc"] for r in _log(run)] == [0.3, 0.9, 0.5, 0.7]
    assert [r["best"] for r in _log(run)] == [0.3, 0.9, 0.9, 0.9]


def test_early_stopping_with_patience(tmp_path):
    epochs_seen = []

    def getting_worse(model):
        epochs_seen.append(None)
        return {"loss": float(len(epochs_seen))}  # 1, 2, 3, ...: never better than the first

    run = tmp_path / "run"
    trainer = Trainer(_model(), _loss, run, _config(epochs=20, patience=2), validate=getting_worse)
    result = trainer.fit(_problem())
    assert result["epoch"] == 3 and len(epochs_seen) == 3  # best at 1, then 2 bad epochs
    assert torch.load(run / "best.pt", weights_only=True)["epoch"] == 1
    assert len(_log(run)) == 3


def test_plateau_scheduler_halves_the_rate(tmp_path):
    trainer = Trainer(
        _model(), _loss, tmp_path / "run", _config(epochs=6, scheduler="plateau"), validate=lambda m: {"loss": 1.0}
    )  # never improves
    trainer.fit(_problem())
    lrs = [r["lr"] for r in _log(tmp_path / "run")]
    assert lrs[0] == pytest.approx(0.05) and lrs[-1] < lrs[0]


def test_unknown_scheduler():
    with pytest.raises(ValueError, match="cosine or plateau"):
        Trainer(_model(), _loss, "unused", _config(scheduler="linear"))


def test_resuming_with_a_new_peak_lr_scales_the_rest_of_the_schedule(tmp_path):
    batches = _problem()
    run = tmp_path / "run"
    Trainer(_model(), _loss, run, _config(epochs=2)).fit(batches)
    resumed = Trainer(_model(), _loss, run, _config(epochs=4, lr=0.01))
    resumed.fit(batches)
    rows = _log(run)
    # the same cosine position as a run that had lr=0.01 all along (not the saved 0.05)
    straight = Trainer(_model(), _loss, tmp_path / "straight", _config(epochs=4, lr=0.01))
    straight.fit(batches)
    assert [r["lr"] for r in rows[2:]] == pytest.approx([r["lr"] for r in _log(tmp_path / "straight")[2:]])
    assert rows[0]["lr"] > 0.02  # the first run had the old peak
