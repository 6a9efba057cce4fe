"""RAVDESS + EmoDB with shared labels, speaker-safe folds, and the features + logistic-regression baseline."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from voicetools.classify import baseline
from voicetools.classify.cli import _train_data
from voicetools.classify.train import Recipe, dataset_splits, default_folds, prepare_dataset
from voicetools.data.labelled import (
    SHARED_EMOTIONS,
    TO_SHARED,
    DatasetError,
    read_dataset,
    read_emodb,
    read_emotion_union,
)
from voicetools.errors import ParameterError
from voicetools.train.cv import assign_folds, check_splits

DATA = Path("/work/shared/data")
RAVDESS_CODES = {"neutral": "01", "calm": "02", "happy": "03", "angry": "05", "surprised": "08"}
EMODB_LETTERS = {"anger": "W", "boredom": "L", "happiness": "F", "neutral": "N", "sadness": "T"}


def tone(f0: float, seconds: float, sr: int, *, level: float = 0.3, seed: int = 0) -> np.ndarray:
    """A voiced-like harmonic tone (5 partials) with a little noise, so Praat finds its pitch."""
    t = np.arange(int(seconds * sr)) / sr
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
    x = x + 0.01 * np.random.default_rng(seed).standard_normal(len(t))
    return (level * x / np.abs(x).max()).astype(np.float32)


def write_ravdess(root: Path, actors=(1, 2, 3, 4), emotions=("neutral", "calm", "happy", "angry", "surprised")):
    for a in actors:
        d = root / f"Actor_{a:02d}"
        d.mkdir(parents=True, exist_ok=True)
        for i, e in enumerate(emotions):
            name = f"03-01-{RAVDESS_CODES[e]}-01-01-01-{a:02d}.wav"
            sf.write(d / name, tone(120 + 20 * i, 0.4, 16000, seed=a * 10 + i), 16000)
    return root


def write_emodb(root: Path, speakers=("03", "08"), emotions=("anger", "boredom", "happiness", "neutral", "sadness")):
    (root / "audio").mkdir(parents=True, exist_ok=True)
    lines = ["file,speaker,speaker_info,emotion"]
    for s in speakers:
        for i, e in enumerate(emotions):
            name = f"{s}a0{i}{EMODB_LETTERS[e]}a.flac"
            sf.write(root / "audio" / name, tone(150 + 20 * i, 0.4, 22050, seed=int(s) * 10 + i), 22050)
            lines.append(f'{name},{s},"male, 30 years old",{e}')
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def corpora(tmp_path):
    return write_ravdess(tmp_path / "ravdess"), write_emodb(tmp_path / "emodb")


# ------------------------------------------------------------------------------------------ readers


def test_emodb_reader_groups_by_the_speaker_digits(corpora):
    _, emodb = corpora
    ds = read_dataset(emodb)  # detected from labels.csv + audio/
    assert ds.name == "emodb" and ds.fold_kind == "group"
    assert {c.group for c in ds.clips} == {"emodb-03", "emodb-08"}
    assert ds.labels == ["anger", "boredom", "happiness", "neutral", "sadness"]


def test_shared_label_mapping():
    emodb = TO_SHARED["emodb"]
    assert (emodb["anger"], emodb["anxiety"], emodb["boredom"]) == ("angry", "fearful", "neutral")
    assert TO_SHARED["ravdess"]["calm"] == "neutral" and TO_SHARED["ravdess"]["surprised"] is None
    for corpus in TO_SHARED.values():
        assert {v for v in corpus.values() if v is not None} == set(SHARED_EMOTIONS)


def test_union_has_shared_labels_corpus_and_speaker(corpora):
    ravdess, emodb = corpora
    ds = read_emotion_union([ravdess, emodb])
    assert ds.name == "ravdess+emodb"
    assert set(ds.labels) <= set(SHARED_EMOTIONS)
    by_file = {c.path.name: c for c in ds.clips}
    assert by_file["03-01-02-01-01-01-01.wav"].label == "neutral"  # calm merged
    assert by_file["08a01La.flac"].label == "neutral"  # boredom merged
    assert by_file["03a00Wa.flac"].label == "angry"
    assert not any("-08-" in c.path.name[5:9] for c in ds.clips)  # surprised left out
    assert len(ds) == 4 * 4 + 2 * 5 and any("surprised" in n for n in ds.notes)
    assert {c.corpus for c in ds.clips} == {"ravdess", "emodb"}
    assert by_file["03-01-02-01-01-01-01.wav"].group == "ravdess-01"
    assert by_file["08a01La.flac"].group == "emodb-08"


def test_missing_or_wrong_folders_are_dataset_errors(tmp_path, corpora):
    ravdess, emodb = corpora
    with pytest.raises(DatasetError):
        read_emotion_union([ravdess, tmp_path / "nowhere"])
    with pytest.raises(DatasetError):
        read_emodb(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="same corpus twice"):
        read_emotion_union([ravdess, ravdess])
    (emodb / "audio" / "03a00Wa.flac").unlink()
    with pytest.raises(DatasetError, match="03a00Wa.flac"):
        read_emodb(emodb)


def test_cli_joins_several_data_folders_for_emotion_only(corpora):
    ravdess, emodb = corpora
    args = SimpleNamespace(data=[str(ravdess), str(emodb)], task="emotion", layout="auto", folds_csv=None)
    assert _train_data(args).name == "ravdess+emodb"
    with pytest.raises(ParameterError):
        _train_data(SimpleNamespace(**{**vars(args), "task": "events"}))
    assert _train_data(SimpleNamespace(**{**vars(args), "data": [str(emodb)]})).name == "emodb"


def test_no_speaker_is_split_across_folds(corpora, tmp_path):
    ds = read_emotion_union(list(corpora))
    r = Recipe(task="emotion", features=dict(clip_s=0.5))
    p = prepare_dataset(ds, r, cache_dir=tmp_path / "cache")
    splits = dataset_splits(p, r)
    assert len(splits) == default_folds(ds.name, 6) == 6  # min(6 + 5, six speakers)
    check_splits(splits, p.clip_ids, groups=p.groups, content=p.content)  # raises LeakageError on a leak
    for s in splits:
        test = {p.groups[i] for i in s.test}
        assert len(test) == 1
        assert not test & {p.groups[i] for i in np.concatenate([s.train, s.valid])}


# ------------------------------------------------------------------------------------------ baseline


def test_baseline_learns_pitch_and_loudness_on_unseen_speakers():
    # two classes (low and quiet / high and loud), four "speakers" each with its own pitch register
    tracks, y, groups = [], [], []
    for spk, register in enumerate((0.8, 0.9, 1.1, 1.25)):
        for k in range(6):
            for cls, (f0, level) in enumerate(((110.0, 0.05), (220.0, 0.5))):
                x = tone(f0 * register * (1 + 0.02 * k), 0.5, 16000, level=level, seed=100 * spk + 10 * k + cls)
                tracks.append(baseline.tracks_of(x))
                y.append(cls)
                groups.append(f"s{spk}")
    X, y, groups = baseline.summarise(tracks), np.array(y), np.array(groups)
    assert X.shape[1] == len(baseline.feature_names()) and np.isfinite(X).all()
    assert np.array_equal(X, baseline.summarise(tracks))  # deterministic
    for speaker_norm in (False, True):
        for held_out in np.unique(groups):
            test = groups == held_out
            model = baseline.Baseline(speaker_norm=speaker_norm).fit(X[~test], y[~test], groups[~test])
            assert (model.predict(X[test], groups[test]) == y[test]).mean() >= 0.9


def test_speaker_standardisation_removes_what_a_speaker_adds():
    rng = np.random.default_rng(0)
    n_spk, per = 6, 20
    groups = np.repeat([f"s{i}" for i in range(n_spk)], per)
    y = np.tile([0, 1], n_spk * per // 2)
    offsets = rng.normal(0, 5.0, (n_spk, 4))  # speakers differ far more than the classes do
    X = np.repeat(offsets, per, axis=0) + 0.8 * y[:, None] + rng.normal(0, 0.3, (len(y), 4))
    Z = baseline.speaker_standardise(X, groups)
    for g in np.unique(groups):
        assert np.allclose(Z[groups == g].mean(0), 0) and np.allclose(Z[groups == g].std(0), 1)
    shifted = X + np.repeat(rng.normal(0, 10, (n_spk, 4)), per, axis=0)
    assert np.allclose(baseline.speaker_standardise(shifted, groups), Z)
    test = np.isin(groups, ["s4", "s5"])
    plain = baseline.Baseline().fit(X[~test], y[~test]).predict(X[test])
    norm = baseline.Baseline(speaker_norm=True).fit(X[~test], y[~test], groups[~test]).predict(X[test], groups[test])
    assert (norm == y[test]).mean() > 0.9 > (plain == y[test]).mean()
    with pytest.raises(baseline.BaselineError):
        baseline.Baseline(speaker_norm=True).fit(X, y)


def test_baseline_refuses_a_single_class():
    with pytest.raises(baseline.BaselineError):
        baseline.Baseline().fit(np.zeros((4, 3)), np.zeros(4))


# ------------------------------------------------------------------------------------------ real data


needs_data = pytest.mark.skipif(
    not ((DATA / "emodb").is_dir() and (DATA / "ravdess-actors-01-12").is_dir()),
    reason="needs /work/shared/data/emodb and ravdess-actors-01-12",
)


@needs_data
def test_real_union_folds_are_pairs_of_one_corpus():
    ds = read_emotion_union([DATA / "ravdess-actors-01-12", DATA / "emodb"])
    assert len(ds) == 624 + 535 and ds.labels == list(SHARED_EMOTIONS)
    groups = sorted({c.group for c in ds.clips})
    assert len(groups) == 22 and default_folds(ds.name, len(groups)) == 11
    g = [c.group for c in ds.clips]
    fold_of = assign_folds(labels=ds.label_index(), groups=g, n_folds=11)
    for k in range(11):
        in_fold = {g[i] for i in np.flatnonzero(fold_of == k)}
        assert len(in_fold) == 2 and len({x.split("-")[0] for x in in_fold}) == 1
    emodb = read_emodb(DATA / "emodb")
    assert len(emodb) == 535 and len({c.group for c in emodb.clips}) == 10
