"""Dataset readers in their distributed layouts, with clear errors naming the bad file."""

import csv

import numpy as np
import pytest

from voicetools.data.labelled import DatasetError, detect_layout, read_dataset
from voicetools.data.toy import LAYOUTS, make_toy_dataset

SMALL = dict(n_classes=3, n_groups=3, clips_per_group=1, seconds=0.25)


@pytest.fixture(scope="module")
def toys(tmp_path_factory):
    root = tmp_path_factory.mktemp("toys")
    return {layout: make_toy_dataset(root / layout, layout, **SMALL) for layout in LAYOUTS}


EXPECTED = {
    "urbansound8k": ("predefined", ["air_conditioner", "car_horn", "siren"]),
    "esc50": ("predefined", ["dog", "rain", "siren"]),
    "ravdess": ("group", ["neutral", "calm", "happy"]),
    "cremad": ("group", ["angry", "disgust", "fearful"]),
    "gtzan": ("group", ["blues", "classical", "country"]),  # artists.csv beside the genre folders
    "folder": ("predefined", ["high", "noise", "tone"]),
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_layout_reads_back(toys, layout):
    assert detect_layout(toys[layout]) == layout
    ds = read_dataset(toys[layout])
    kind, labels = EXPECTED[layout]
    assert ds.name == layout and ds.fold_kind == kind and ds.labels == labels
    assert len(ds) == 9 and all(c.path.is_file() for c in ds.clips)
    assert ds.summary()["counts"] == {label: 3 for label in labels}
    if kind == "predefined":
        assert sorted({c.fold for c in ds.clips}) == [1, 2, 3]
    else:
        assert len({c.group for c in ds.clips}) == 3


def test_ravdess_codes(toys):
    ds = read_dataset(toys["ravdess"])
    c = next(c for c in ds.clips if c.path.name.startswith("03-01-03"))
    assert c.label == "happy" and c.group == "actor" + c.path.stem[-2:]


def test_real_ravdess_folder_if_present():
    from pathlib import Path

    root = Path("/work/shared/data/ravdess-actors-01-12")
    if not root.is_dir():
        pytest.skip("RAVDESS actors 01-12 not on this machine")
    ds = read_dataset(root)
    assert len(ds) == 720 and len({c.group for c in ds.clips}) == 12
    assert ds.summary()["counts"]["neutral"] == 48 and ds.summary()["counts"]["angry"] == 96


def _rewrite_csv(path, edit):
    rows = list(csv.DictReader(open(path)))
    edit(rows)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return rows


def test_urbansound8k_missing_file_is_named(tmp_path):
    root = make_toy_dataset(tmp_path / "us", "urbansound8k", **SMALL)
    victim = next((root / "audio" / "fold2").iterdir())
    victim.unlink()
    with pytest.raises(DatasetError, match=victim.name) as e:
        read_dataset(root)
    assert "UrbanSound8K.csv line" in str(e.value)


def test_urbansound8k_unknown_class_names_the_line(tmp_path):
    root = make_toy_dataset(tmp_path / "us", "urbansound8k", **SMALL)

    def edit(rows):
        rows[3]["class"] = "spaceship"

    _rewrite_csv(root / "metadata" / "UrbanSound8K.csv", edit)
    with pytest.raises(DatasetError, match=r"line 5: unknown class 'spaceship'"):
        read_dataset(root)


def test_esc50_missing_column(tmp_path):
    root = make_toy_dataset(tmp_path / "esc", "esc50", **SMALL)

    def edit(rows):
        for r in rows:
            del r["fold"]

    _rewrite_csv(root / "meta" / "esc50.csv", edit)
    with pytest.raises(DatasetError, match=r"esc50.csv: missing column\(s\) \['fold'\]"):
        read_dataset(root)


def test_ravdess_bad_names_are_named(tmp_path, write_wav):
    root = make_toy_dataset(tmp_path / "rav", "ravdess", **SMALL)
    bad = root / "Actor_02" / "hello.wav"
    bad.write_bytes((root / "Actor_01").iterdir().__next__().read_bytes())
    with pytest.raises(DatasetError, match="hello.wav: not a RAVDESS file name"):
        read_dataset(root)
    bad.rename(root / "Actor_02" / "03-01-09-01-01-01-02.wav")
    with pytest.raises(DatasetError, match="03-01-09-01-01-01-02.wav: unknown emotion code '09'"):
        read_dataset(root)


def test_cremad_unknown_emotion(tmp_path):
    root = make_toy_dataset(tmp_path / "cd", "cremad", **SMALL)
    f = next((root / "AudioWAV").iterdir())
    f.rename(f.parent / "1001_DFA_XYZ_XX.wav")
    with pytest.raises(DatasetError, match="1001_DFA_XYZ_XX.wav: unknown emotion 'XYZ'"):
        read_dataset(root, layout="cremad")


def test_gtzan_unknown_genre_and_filtered_split(tmp_path):
    root = make_toy_dataset(tmp_path / "gt", "gtzan", **SMALL)
    (root / "artists.csv").unlink()
    ds = read_dataset(root)
    assert ds.fold_kind == "stratified" and "optimistic" in ds.notes[0]
    # the artist-filtered lists define train / valid / test
    names = sorted(p.relative_to(root / "genres_original") for p in (root / "genres_original").rglob("*.wav"))
    for k, fname in enumerate(("train_filtered.txt", "valid_filtered.txt", "test_filtered.txt")):
        (root / fname).write_text("\n".join(str(n) for n in names[k::3]) + "\n")
    ds = read_dataset(root)
    assert ds.fold_kind == "predefined" and sorted({c.fold for c in ds.clips}) == [1, 2, 3]
    (root / "genres_original" / "polka").mkdir()
    with pytest.raises(DatasetError, match="unknown GTZAN genre folder 'polka'"):
        read_dataset(root, layout="gtzan")


def test_folder_layout_errors(tmp_path):
    root = make_toy_dataset(tmp_path / "f", "folder", **SMALL)

    def drop_first(rows):
        del rows[0]

    rows = _rewrite_csv(root / "folds.csv", drop_first)
    with pytest.raises(DatasetError, match=r"folds.csv: no fold for .*(tone|high|noise)-0-0.wav"):
        read_dataset(root)

    def bad_fold(rows):
        rows[0]["fold"] = "one"

    _rewrite_csv(root / "folds.csv", bad_fold)
    with pytest.raises(DatasetError, match=r"line 2: fold must be an integer, got 'one'"):
        read_dataset(root)
    (root / "folds.csv").unlink()
    assert read_dataset(root).fold_kind == "stratified"
    (root / "empty").mkdir()
    with pytest.raises(DatasetError, match="empty: label folder holds no audio"):
        read_dataset(root)
    assert rows  # the CSV had rows to edit


def test_missing_root_and_unknown_layout(tmp_path):
    with pytest.raises(DatasetError, match="no such dataset folder"):
        read_dataset(tmp_path / "nope")
    with pytest.raises(DatasetError, match="unknown dataset layout 'kaggle'"):
        read_dataset(tmp_path, layout="kaggle")


def test_fix_length_pads_short_and_centres_long():
    from voicetools.classify.features import fix_length

    x = np.arange(10, dtype=np.float32)
    assert fix_length(x, 14).tolist() == list(range(10)) + [0] * 4  # zero-padded at the end
    assert fix_length(x, 4).tolist() == [3, 4, 5, 6]  # centre kept


def test_corrupt_clips_are_skipped_with_a_count(tmp_path):
    from voicetools.classify.features import FeatureConfig, extract

    root = make_toy_dataset(tmp_path / "f", "folder", **SMALL)
    (root / "folds.csv").unlink()
    bad = root / "tone" / "broken.wav"
    bad.write_bytes(b"RIFF not really a wav file")
    ds = read_dataset(root)
    cfg = FeatureConfig(sample_rate=8000, clip_s=0.25, n_fft=256, hop_length=64, n_mels=16)
    feats = extract([c.path for c in ds.clips], cfg)
    assert feats.ok.sum() == 9 and len(feats.errors) == 1 and feats.errors[0][0] == str(bad)
    assert "broken.wav" in feats.errors[0][1]
    # cached features come back identical, errors included
    a = extract([c.path for c in ds.clips], cfg, cache_dir=tmp_path / "cache")
    b = extract([c.path for c in ds.clips], cfg, cache_dir=tmp_path / "cache")
    assert np.array_equal(a.mels, b.mels) and b.errors == a.errors and len(list((tmp_path / "cache").iterdir())) == 1


def test_a_training_run_reports_skipped_clips(tmp_path):
    import json

    from voicetools.classify.train import Recipe, run

    root = make_toy_dataset(tmp_path / "f", "folder", **SMALL)
    (root / "noise" / "truncated.wav").write_bytes(b"RIFF\x00\x00")
    with open(root / "folds.csv", "a") as f:
        f.write("noise/truncated.wav,1\n")
    r = Recipe(
        task="events",
        epochs=1,
        batch_size=4,
        scheduler="plateau",
        features=dict(sample_rate=8000, clip_s=0.25, n_fft=256, hop_length=64, n_mels=16),
    )
    with pytest.warns(UserWarning, match=r"1 of 10 clips could not be read and were skipped \(first: .*truncated.wav"):
        summary = run(read_dataset(root), r, tmp_path / "run")
    assert summary["skipped"] == 1 and summary["clips"] == 9
    skipped = json.loads((tmp_path / "run" / "dataset.json").read_text())["skipped"]
    assert len(skipped) == 1 and skipped[0]["path"].endswith("truncated.wav")
