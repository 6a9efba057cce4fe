"""Cross-validation that cannot leak: no test clip or speaker in training, a fresh model per fold,
normalisation from the training folds only, and an end-to-end run that actually learns."""

import json

import numpy as np
import pytest
import torch

from voicetools.classify import train as ctrain
from voicetools.data.labelled import read_dataset
from voicetools.data.toy import make_toy_dataset
from voicetools.train.cv import (
    FreshModelGuard,
    LeakageError,
    Split,
    assign_folds,
    check_splits,
    fingerprint,
    make_splits,
)

FEATURES = dict(sample_rate=8000, clip_s=0.5, n_fft=256, hop_length=64, n_mels=32)


def recipe(**kw):
    base = dict(
        task="emotion",
        model="cnn",
        epochs=5,
        batch_size=8,
        lr=3e-3,
        patience=None,
        time_shift_s=0.05,
        features=FEATURES,
    )
    return ctrain.Recipe(**{**base, **kw})


@pytest.fixture(scope="module")
def cv_run(tmp_path_factory):
    """One speaker-independent CV run on a toy RAVDESS (4 actors x 3 emotions x 3 clips), shared."""
    tmp = tmp_path_factory.mktemp("cv")
    root = make_toy_dataset(tmp / "ravdess", "ravdess", n_classes=3, n_groups=4, clips_per_group=3, seconds=0.5)
    ds = read_dataset(root)
    summary = ctrain.run(ds, recipe(), tmp / "run", cv=True, cache_dir=tmp / "cache")
    return ds, summary, tmp / "run"


def _folds(run):
    return [json.loads(p.read_text()) for p in sorted(run.glob("fold-*/fold.json"))]


def test_cv_learns_tones_vs_noise(cv_run):
    _, summary, run = cv_run
    assert summary["accuracy"]["n"] == 4 and summary["fold_kind"] == "group"
    assert summary["accuracy"]["mean"] >= 0.8, summary["folds"]
    assert (run / "confusion.png").stat().st_size > 1000 and (run / "mean_mel.png").is_file()
    assert (run / "cv.json").is_file() and (run / "best" / "model.safetensors").is_file()
    for f in _folds(run):
        assert {"accuracy", "macro_f1", "loss"} <= set(f["test"]) and (run / f["fold"] / "curves.png").is_file()


def test_no_test_clip_or_speaker_is_trained_on(cv_run):
    _, _, run = cv_run
    folds = _folds(run)
    tested = []
    for f in folds:
        assert not set(f["train_clips"]) & set(f["test_clips"]), f["fold"]
        assert not set(f["valid_clips"]) & set(f["test_clips"]), f["fold"]
        assert not set(f["train_groups"]) & set(f["test_groups"]), f["fold"]
        assert not set(f["valid_groups"]) & set(f["test_groups"]), f["fold"]
        assert len(f["test_groups"]) == 1  # 4 actors, 4 folds: one unseen actor per fold
        tested += f["test_clips"]
    assert len(tested) == len(set(tested)) == 36  # every clip tested exactly once


def test_every_fold_starts_from_a_fresh_model(cv_run):
    _, _, run = cv_run
    folds = _folds(run)
    for prev, cur in zip(folds, folds[1:]):
        assert cur["start_fingerprint"] != prev["end_fingerprint"]
    for k, f in enumerate(folds):  # and it is exactly a new initialisation with that fold's seed
        assert f["seed"] == k
        assert fingerprint(ctrain.build_model(recipe(), 3, seed=f["seed"])) == f["start_fingerprint"]


def test_normalisation_comes_from_training_folds_only(cv_run):
    ds, _, run = cv_run
    from voicetools.classify.features import extract

    r = recipe()
    feats = extract([c.path for c in ds.clips], r.feature_config(), cache_dir=run.parent / "cache")
    row = {c.clip_id: i for i, c in enumerate(ds.clips)}
    for f in _folds(run):
        best = torch.load(run / f["fold"] / "best.pt", weights_only=True)["model"]
        train = feats.mels[[row[c] for c in f["train_clips"]]]
        np.testing.assert_allclose(best["norm_mean"].numpy(), train.mean(axis=(0, 2)), rtol=1e-4, atol=1e-3)
        everything = feats.mels.mean(axis=(0, 2))
        assert not np.allclose(best["norm_mean"].numpy(), everything, atol=1e-3)


def test_generalization_gap_is_eval_mode_train_loss_vs_valid_loss(cv_run):
    _, _, run = cv_run
    rows = [json.loads(line) for line in (run / "fold-01" / "log.jsonl").read_text().splitlines()]
    for r in rows:
        assert r["generalization_gap"] == pytest.approx(r["valid_loss"] - r["train_eval_loss"])


def test_reusing_a_model_across_folds_is_refused(tmp_path, monkeypatch):
    """The notes' mistake — one model trained fold after fold — must fail, not report numbers."""
    root = make_toy_dataset(tmp_path / "ravdess", "ravdess", n_classes=2, n_groups=3, clips_per_group=1, seconds=0.5)
    shared = {}
    real_build = ctrain.build_model

    def build_once(r, n_classes, *, seed):
        if "m" not in shared:
            shared["m"] = real_build(r, n_classes, seed=seed)
        return shared["m"]

    monkeypatch.setattr(ctrain, "build_model", build_once)
    with pytest.raises(LeakageError, match="fold-02 starts from the weights fold-01"):
        ctrain.run(read_dataset(root), recipe(epochs=1), tmp_path / "run", cv=True)

    def warm_start(r, n_classes, *, seed):  # a new object, but loaded with the last fold's weights
        model = real_build(r, n_classes, seed=seed)
        if "m" in shared:
            model.load_state_dict(shared["m"].state_dict())
        shared["m"] = model
        return model

    shared.clear()
    monkeypatch.setattr(ctrain, "build_model", warm_start)
    with pytest.raises(LeakageError, match="fold-02 starts from the weights fold-01"):
        ctrain.run(read_dataset(root), recipe(epochs=1), tmp_path / "run2", cv=True)


def test_guard_refuses_previous_weights_objects_and_optimizer_state():
    g = FreshModelGuard()
    torch.manual_seed(0)
    m1 = torch.nn.Linear(3, 2)
    g.check_start("fold-01", m1)
    g.record_end("fold-01", m1)
    m2 = torch.nn.Linear(3, 2)
    m2.load_state_dict(m1.state_dict())  # a copy of fold 1's final weights
    with pytest.raises(LeakageError, match="fold-02 starts from the weights fold-01 ended with"):
        g.check_start("fold-02", m2)
    with torch.no_grad():
        m1.weight += 1  # same object, different weights
    with pytest.raises(LeakageError, match="reuses the model object"):
        g.check_start("fold-02", m1)
    m3 = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(m3.parameters())
    m3(torch.randn(1, 3)).sum().backward()
    opt.step()
    with pytest.raises(LeakageError, match="optimizer that already holds state"):
        g.check_start("fold-02", m3, opt)


def test_check_splits_catches_clip_speaker_and_content_leaks():
    ids = [f"c{i}" for i in range(6)]
    ok = [Split("a", np.array([0, 1, 2, 3]), np.array([], int), np.array([4, 5]))]
    check_splits(ok, ids, cover_all=False)
    with pytest.raises(LeakageError, match="clip c3 is in both train and test"):
        check_splits([Split("a", np.array([0, 1, 2, 3]), np.array([], int), np.array([3, 4]))], ids, cover_all=False)
    groups = ["s1", "s1", "s2", "s2", "s3", "s1"]  # speaker s1 on both sides
    with pytest.raises(LeakageError, match="speaker/group 's1' of test clip c5 is also in train"):
        check_splits(ok, ids, groups=groups, cover_all=False)
    content = ["h0", "h1", "h2", "h3", "h4", "h0"]  # c5 is c0 under another name
    with pytest.raises(LeakageError, match="audio content 'h0' of test clip c5 is also in train"):
        check_splits(ok, ids, content=content, cover_all=False)


def test_duplicate_audio_is_never_trained_on_when_its_twin_is_tested(tmp_path):
    root = make_toy_dataset(tmp_path / "f", "folder", n_classes=2, n_groups=3, clips_per_group=1, seconds=0.5)
    # the same recording copied into another fold under a new name
    (root / "tone" / "copy.wav").write_bytes((root / "tone" / "tone-0-0.wav").read_bytes())
    with open(root / "folds.csv", "a") as f:
        f.write("tone/copy.wav,3\n")
    with pytest.warns(UserWarning) as caught:
        ctrain.run(read_dataset(root), recipe(epochs=1), tmp_path / "run", cv=True)
    twin = "fold-01: 1 training/validation clip(s) are identical to test or validation clips"
    assert any(str(w.message).startswith(twin) for w in caught), [str(w.message) for w in caught]
    for f in _folds(tmp_path / "run"):
        names = {c.rsplit("/", 1)[-1] for c in f["test_clips"]}
        others = {c.rsplit("/", 1)[-1] for c in f["train_clips"] + f["valid_clips"]}
        if names & {"copy.wav", "tone-0-0.wav"}:
            assert not others & {"copy.wav", "tone-0-0.wav"}, f["fold"]


def test_speaker_folds_keep_speakers_together():
    actors = [f"actor{a:02d}" for a in range(1, 13) for _ in range(5)]
    folds = assign_folds(labels=[0] * len(actors), groups=actors, n_folds=6)
    by_actor = {}
    for a, f in zip(actors, folds):
        by_actor.setdefault(a, set()).add(int(f))
    assert all(len(v) == 1 for v in by_actor.values())
    # RAVDESS: actors 1+2, 3+4, ... share a fold (one male, one female voice each)
    assert [next(iter(by_actor[f"actor{a:02d}"])) for a in range(1, 13)] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    splits = make_splits(folds)
    check_splits(splits, [str(i) for i in range(len(actors))], groups=actors)
    assert [len(s.test) for s in splits] == [10] * 6


def test_stratified_folds_balance_labels():
    labels = [0] * 10 + [1] * 10
    folds = assign_folds(labels=labels, n_folds=5, seed=3)
    for k in range(5):
        assert sorted(np.asarray(labels)[folds == k].tolist()) == [0, 0, 1, 1]


def test_an_interrupted_cv_run_resumes_without_retraining_finished_folds(cv_run):
    ds, summary, run = cv_run
    (run / "summary.json").rename(run / "summary.saved")  # as if killed before the end
    mtimes = {p: p.stat().st_mtime_ns for p in run.glob("*/best.pt")}
    try:
        again = ctrain.run(ds, recipe(), run, cv=True, cache_dir=run.parent / "cache")
    finally:
        (run / "summary.saved").replace(run / "summary.json")
    assert again["folds"] == summary["folds"]
    assert {p: p.stat().st_mtime_ns for p in run.glob("*/best.pt")} == mtimes
    with pytest.raises(Exception, match="finished run"):
        ctrain.run(ds, recipe(), run, cv=True)
    (run / "summary.json").rename(run / "summary.saved")
    try:
        with pytest.raises(Exception, match="unfinished run with other settings"):
            ctrain.run(ds, recipe(epochs=2), run, cv=True)
    finally:
        (run / "summary.saved").replace(run / "summary.json")
