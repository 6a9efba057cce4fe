"""The Classify tab without a browser: its bars and timeline say what ``vt.classify`` says."""

import json
import re

import numpy as np
import pytest
import soundfile as sf

gr = pytest.importorskip("gradio")
pytestmark = pytest.mark.filterwarnings("ignore:Tiny-satb is a random-weight:UserWarning")

import voicetools as vt  # noqa: E402
from voicetools.app import build_app  # noqa: E402
from voicetools.app.tabs.classify import run_classification  # noqa: E402
from voicetools.errors import ParameterError, VoicetoolsError  # noqa: E402

SR = 16000


def vowel(seconds, f0, seed=0):
    """A buzzy voiced sound with formants near /a/: speech-like input for the emotion model."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f = f0 * (1 + 0.03 * np.sin(2 * np.pi * 4 * t))
    phase = 2 * np.pi * np.cumsum(f) / SR
    x = sum(np.sin(k * phase) / k * np.exp(-(((k * f0 - 800) / 600) ** 2)) for k in range(1, 30))
    return (0.3 * x / np.abs(x).max() + 0.003 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.fixture(scope="module")
def app(upload_dir):
    demo = build_app(model="tiny-satb", tabs=["classify"], examples=[])
    yield demo
    demo.voicetools.store.close()


def bars(page):
    return [(m[0], float(m[1])) for m in re.findall(r'class="vt-bar" data-label="([^"]+)" data-p="([\d.]+)"', page)]


def segments(page):
    return [
        (m[0], float(m[1])) for m in re.findall(r'class="vt-segment" data-label="([^"]+)" data-start="([\d.]+)"', page)
    ]


def test_the_shipped_emotion_model_is_the_default(app):
    assert app.voicetools.settings.models["classify"] == "emotion-ravdess-cnn"
    assert "classify" in {fn.api_name for fn in app.fns.values()}


def test_bars_and_json_are_what_classify_says(app, upload_dir):
    path = upload_dir / "voice.wav"
    sf.write(path, vowel(2.0, 180), SR)
    page, json_path, notes = run_classification(app.voicetools, str(path), top_k=4)
    expected = vt.classify(path, model="emotion-ravdess-cnn", top_k=4)
    shown = bars(page)
    assert [lab for lab, _ in shown] == [lab for lab, _ in expected.top_k]
    assert np.allclose([p for _, p in shown], [p for _, p in expected.top_k], atol=1e-4)
    assert all(a >= b for (_, a), (_, b) in zip(shown, shown[1:]))
    saved = json.loads(open(json_path).read())
    assert saved["input"] == "voice.wav" and saved["label"] == expected.label
    # 2 s is shorter than the model's 3 s window: one window, so no timeline, and a padding note
    assert segments(page) == [] and any("zero-padded" in n for n in notes)


def test_timeline_follows_the_labels_over_time(app, upload_dir):
    """Two sounds the model labels differently, one after the other: the timeline switches label
    where the sound changes, and every window's label is the one classify gives that window."""
    loaded = vt.load_model("emotion-ravdess-cnn")
    candidates = [vowel(6.0, f0, seed=i) for i, f0 in enumerate((110, 300))]
    candidates.append((0.2 * np.random.default_rng(5).standard_normal(6 * SR)).astype(np.float32))
    labels = [vt.classify(c, sample_rate=SR, model=loaded).label for c in candidates]
    pair = next((i, j) for i in range(len(labels)) for j in range(len(labels)) if labels[i] != labels[j])
    x = np.concatenate([candidates[pair[0]], candidates[pair[1]]])
    path = upload_dir / "two-sounds.wav"
    sf.write(path, x, SR)
    page, _, _ = run_classification(app.voicetools, str(path))
    shown = segments(page)
    expected = vt.classify(path, model=loaded, segments=True).segments
    assert [(lab, round(t, 3)) for lab, t in shown] == [(s.label, round(s.start_s, 3)) for s in expected]
    assert [t for _, t in shown] == [0.0, 1.5, 3.0, 4.5, 6.0, 7.5, 9.0]  # 3 s windows, half overlapping
    assert shown[0][0] == labels[pair[0]] and shown[-1][0] == labels[pair[1]]


def test_bad_upload_is_one_line(app, upload_dir):
    bad = upload_dir / "notes.wav"
    bad.write_text("not audio")
    with pytest.raises(VoicetoolsError, match="^“notes.wav” could not be read as audio"):
        run_classification(app.voicetools, str(bad))


def test_a_separation_model_is_refused_before_serving():
    with pytest.raises(ParameterError, match="not a classifier"):
        build_app(model="tiny-satb", tabs=["classify"], models={"classify": "tiny-satb"}, examples=[])


def test_a_training_run_folder_is_accepted(tmp_path):
    from voicetools.checkpoints import save_checkpoint

    tiny = vt.load_model("tiny-emotion")
    save_checkpoint(
        tiny.model,
        tmp_path / "run" / "best",
        task="emotion",
        architecture="AudioClassifier",
        labels=tiny.config["labels"],
    )
    demo = build_app(model="tiny-satb", tabs=["classify"], models={"classify": str(tmp_path / "run")}, examples=[])
    try:
        assert demo.voicetools.model("classify").config["labels"] == tiny.config["labels"]
    finally:
        demo.voicetools.store.close()


def test_the_result_links_its_json_and_the_timeline_has_a_time_ruler(app, upload_dir):
    path = upload_dir / "long.wav"
    sf.write(path, vowel(8.0, 180), SR)
    page, json_path, _ = run_classification(app.voicetools, str(path))
    assert re.search(r'download="long-emotion.json">Download all probabilities \(JSON, \d+ KB\)</a>', page)
    ruler = re.search(r'<div class="vt-ruler"[^>]*>(.*?)</div>', page).group(1)
    assert re.findall(r">([\d.]+ s)<", ruler) == [f"{t} s" for t in range(9)]  # time in s under the windows
