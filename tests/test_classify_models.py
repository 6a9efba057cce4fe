"""Classifier models by name, seeded train-time augmentations, the classify API/CLI and emotion tokens."""

import json

import numpy as np
import pytest
import torch

import voicetools as vt
from voicetools.audio import augment
from voicetools.nn.classifiers import BACKBONES, POOLINGS, AttentionPool, AudioClassifier


@pytest.mark.parametrize("backbone", BACKBONES)
@pytest.mark.parametrize("pooling", POOLINGS)
def test_models_by_name_any_length(backbone, pooling):
    torch.manual_seed(0)
    m = AudioClassifier(backbone=backbone, n_classes=5, n_mels=32, pooling=pooling).eval()
    for frames in (40, 77):
        assert m(torch.randn(2, 32, frames)).shape == (2, 5)
    rebuilt = AudioClassifier.from_model_args(json.loads(json.dumps(m.model_args)))
    rebuilt.load_state_dict(m.state_dict())


def test_the_notes_architectures():
    m = AudioClassifier(backbone="cnn", n_classes=10, n_mels=64)
    convs = [x for x in m.backbone.conv if isinstance(x, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 32, 64] and m.backbone.fc1.out_features == 128
    t = AudioClassifier(backbone="transformer", n_classes=10, n_mels=64)
    assert len(t.backbone.encoder.layers) == 4
    assert [c.out_channels for c in t.backbone.conv if isinstance(c, torch.nn.Conv2d)] == [32, 64, 128]


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="unknown classifier backbone 'resnet'"):
        AudioClassifier(backbone="resnet", n_classes=2)
    with pytest.raises(ValueError, match="unknown pooling 'max'"):
        AudioClassifier(n_classes=2, pooling="max")


def test_attention_pooling_weights_frames():
    pool = AttentionPool(4)
    h = torch.zeros(1, 3, 4)
    h[0, 1] = 1.0  # frames that are all the same → the mean; one weighted frame moves the result
    out = pool(h)
    assert out.shape == (1, 4) and torch.all(out > 0) and torch.all(out < 1)


def test_augmentations_are_seeded_and_do_what_they_say(tone, peak_hz):
    sr = 8000
    x = tone(500.0, seconds=1.0, sample_rate=sr)
    a = augment.time_shift(x, 0.2, sr, np.random.default_rng(1))
    b = augment.time_shift(x, 0.2, sr, np.random.default_rng(1))
    assert np.array_equal(a, b) and not np.array_equal(a, x)
    noisy = augment.add_noise(x, 10.0, np.random.default_rng(0))
    assert 10 * np.log10(np.mean(x**2) / np.mean((noisy - x) ** 2)) == pytest.approx(10.0, abs=0.01)
    bg = np.random.default_rng(5).standard_normal(3000).astype(np.float32)  # shorter than x: looped
    assert augment.add_noise(x, 0.0, np.random.default_rng(0), noise=bg).shape == x.shape
    up = augment.pitch_shift(x, 2.0)
    assert up.shape == x.shape and peak_hz(up[1000:7000], sr) == pytest.approx(500 * 2 ** (2 / 12), rel=0.01)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    mel = torch.randn(2, 32, 50)
    m1, m2 = augment.spec_augment(mel, g1), augment.spec_augment(mel, g2)
    assert torch.equal(m1, m2) and not torch.equal(m1, mel) and torch.equal(mel, mel.clone())
    mixed, y, y2, lam = augment.mixup(mel, torch.tensor([0, 1]), 0.4, np.random.default_rng(0))
    assert 0 <= lam <= 1 and mixed.shape == mel.shape and sorted(y2.tolist()) == [0, 1]


def test_training_batches_are_seeded_and_evaluation_is_never_augmented(tmp_path):
    from voicetools.classify import train as ctrain
    from voicetools.classify.features import extract
    from voicetools.data.labelled import read_dataset
    from voicetools.data.toy import make_toy_dataset

    root = make_toy_dataset(tmp_path / "f", "folder", n_classes=2, n_groups=2, clips_per_group=2, seconds=0.5)
    ds = read_dataset(root)
    r = ctrain.Recipe(
        task="events",
        batch_size=4,
        noise_snr_db=(5, 20),
        pitch_semitones=1.0,
        mixup_alpha=0.2,
        features=dict(sample_rate=8000, clip_s=0.5, n_fft=256, hop_length=64, n_mels=16),
    )
    feats = extract([c.path for c in ds.clips], r.feature_config())
    idx, y = np.arange(len(ds)), np.array(ds.label_index())
    first = [b[0] for b in ctrain.Batches(feats, idx, y, r, seed=7)]
    again = [b[0] for b in ctrain.Batches(feats, idx, y, r, seed=7)]
    other = [b[0] for b in ctrain.Batches(feats, idx, y, r, seed=8)]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not all(torch.equal(a, b) for a, b in zip(first, other))
    model = ctrain.build_model(r, 2, seed=0)
    s1, p1 = ctrain.scores(model, feats.mels, y)
    s2, p2 = ctrain.scores(model, feats.mels, y)
    assert s1 == s2 and np.array_equal(p1, p2)  # evaluation: cached, unaugmented features


# --- the classify API --------------------------------------------------------------------------


def test_classify_returns_a_typed_result(tone):
    res = vt.classify(tone(300.0, seconds=0.5), sample_rate=8000, model="tiny-emotion", top_k=2)
    assert isinstance(res, vt.ClassificationResult) and res.task == "emotion" and res.model == "tiny-emotion"
    assert len(res.top_k) == 2 and res.top_k[0] == (res.label, res.score)
    assert sum(res.scores.values()) == pytest.approx(1.0, abs=1e-5)
    assert any("zero-padded" in w for w in res.warnings)  # 0.5 s < the model's 1 s window
    d = res.to_dict()
    assert json.loads(json.dumps(d))["label"] == res.label


def test_segments_cover_a_long_input(tone):
    x = np.concatenate([tone(300.0, seconds=2.0), tone(900.0, seconds=1.7)])
    res = vt.classify(x, sample_rate=8000, model="tiny-emotion", segments=True)
    assert res.segments[0].start_s == 0.0 and res.segments[-1].end_s == pytest.approx(3.7)
    assert all(b.start_s - a.start_s <= 0.5 + 1e-9 for a, b in zip(res.segments, res.segments[1:]))
    assert res.segments[0].token.startswith("<|emotion-") and res.segments[0].token.endswith("|>")
    assert vt.classify(x, sample_rate=8000, model="tiny-emotion").segments == []


def test_classify_errors_name_the_problem(tone):
    with pytest.raises(vt.ParameterError, match="unknown model 'nope'.*tiny-emotion"):
        vt.classify(tone(), sample_rate=8000, model="nope")
    with pytest.raises(vt.ParameterError, match="separation model, not a classifier"):
        vt.classify(tone(), sample_rate=8000, model="tiny-satb")
    with pytest.raises(vt.ParameterError, match="is a emotion model, but task='genre'"):
        vt.classify(tone(), sample_rate=8000, model="tiny-emotion", task="genre")
    with pytest.raises(vt.ParameterError, match="give model="):
        vt.classify(tone(), sample_rate=8000)
    with pytest.raises(vt.ParameterError, match="sample_rate is required"):
        vt.classify(tone(), model="tiny-emotion")


def test_emotion_tokens_prefix_transcript_segments():
    from voicetools.classify import emotion_token, format_tagged, tag_transcript

    assert emotion_token("Happy") == "<|emotion-happy|>"
    transcript = [
        {"start": 0.0, "end": 2.0, "text": " I can't believe it! "},
        {"start_s": 2.0, "end_s": 4.0, "text": "Oh no."},
        {"start_s": 9.0, "end_s": 10.0, "text": "Hm."},
    ]
    emotions = [
        vt.classify.__globals__["SegmentLabel"](0.0, 1.5, "surprised", 0.8),
        {"start_s": 1.5, "end_s": 4.0, "label": "sad"},
    ]
    tagged = tag_transcript(transcript, emotions)
    assert [t["text"] for t in tagged] == ["<|emotion-surprised|> I can't believe it!", "<|emotion-sad|> Oh no.", "Hm."]
    assert format_tagged(transcript, emotions).splitlines()[1] == "[2.00-4.00] <|emotion-sad|> Oh no."


# --- the CLI ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    from voicetools.cli import main
    from voicetools.data.toy import make_toy_dataset

    tmp = tmp_path_factory.mktemp("clirun")
    root = make_toy_dataset(tmp / "esc", "esc50", n_classes=3, n_groups=3, clips_per_group=2, seconds=1.0)
    code = main(
        [
            "train",
            "events",
            "--data",
            str(root),
            "--run",
            str(tmp / "run"),
            "--epochs",
            "8",
            "--batch-size",
            "6",
            "--lr",
            "0.005",
            "--clip-s",
            "1.0",
            "--n-mels",
            "32",
            "-q",
            "--cache",
            str(tmp / "cache"),
        ]
    )
    assert code == 0
    return root, tmp / "run"


def test_cli_train_classify_evaluate(trained_run, cli):
    root, run = trained_run
    assert (run / "best" / "config.json").is_file() and (run / "split.json").is_file()
    siren = sorted((root / "audio").glob("*-2.wav"))[0]  # target 2 = siren (a rising chirp)
    code, out, err = cli("classify", siren, "--model", run, "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["label"] == "siren" and res["task"] == "events"
    code, out, err = cli("classify", siren, "--model", run / "best", "--segments", "--top-k", "2")
    assert code == 0 and out.startswith(f"{siren}: siren") and "0.00-" in out
    code, out, err = cli("evaluate", "--run", run)
    assert code == 0 and "fold-01" in out and "mean±std" in out and (run / "confusion.png").is_file()
    code, out, err = cli("evaluate", "--run", run, "--data", root, "--json")
    assert code == 0 and json.loads(out)["clips"] == 18


def test_cli_errors_are_one_line(trained_run, cli, tmp_path, assert_one_error_line):
    root, run = trained_run
    code, out, err = cli("classify", tmp_path / "missing.wav", "--model", run)
    assert_one_error_line(code, err)
    code, out, err = cli("train", "emotion", "--data", tmp_path, "--layout", "ravdess")
    assert_one_error_line(code, err)
    assert "no Actor_XX folders" in err
    code, out, err = cli("train", "events", "--data", root, "--model", "resnet", "--run", tmp_path / "r")
    assert_one_error_line(code, err)
    assert "unknown model 'resnet'" in err
    code, out, err = cli("train", "events", "--data", root, "--run", run)
    assert_one_error_line(code, err)
    assert "finished run" in err
    code, out, err = cli("evaluate", "--run", tmp_path)
    assert_one_error_line(code, err)


def test_publish_merges_the_registry(trained_run, tmp_path):
    from voicetools.checkpoints import _load_folder
    from voicetools.classify.publish import publish

    _, run = trained_run
    other = {"satb-convtasnet": {"path": "satb-convtasnet", "sha256": "ab" * 32, "task": "separation"}}
    (tmp_path / "registry.json").write_text(json.dumps(other))
    entry = publish(run, "events-toy", checkpoint_dir=tmp_path)
    reg = json.loads((tmp_path / "registry.json").read_text())
    assert reg["satb-convtasnet"] == other["satb-convtasnet"] and reg["events-toy"] == entry
    loaded = _load_folder(tmp_path / "events-toy", "events-toy", entry["sha256"])
    assert loaded.config["labels"] == ["dog", "rain", "siren"] and entry["task"] == "events"
