"""The Classify tab in a real (headless) Chromium: upload → bars sized by probability → timeline."""

import json

import numpy as np
import soundfile as sf
from pages import ClassifyTab

import voicetools as vt


def test_upload_classify_bars_and_timeline(page, tmp_path, screenshot):
    sr = 16000
    t = np.arange(8 * sr) / sr
    x = np.where(
        t < 4, 0.3 * np.sign(np.sin(2 * np.pi * 150 * t)), 0.1 * np.random.default_rng(0).standard_normal(len(t))
    )
    path = tmp_path / "clip.wav"
    sf.write(path, x.astype(np.float32), sr)
    expected = vt.classify(path, task="emotion", top_k=3, segments=True)

    tab = ClassifyTab(page)
    tab.upload(path)
    tab.run()
    tab.wait_for_bars()
    bars = tab.bars()
    assert [b[0] for b in bars] == [lab for lab, _ in expected.top_k]
    assert np.allclose([b[1] for b in bars], [p for _, p in expected.top_k], atol=1e-3)
    widths = [b[2] for b in bars]
    assert widths == sorted(widths, reverse=True) and widths[0] > 0  # drawn in proportion, top first
    assert abs(widths[1] / widths[0] - bars[1][1] / bars[0][1]) < 0.05

    segs = tab.segments()
    assert [(s[0], round(s[1], 2)) for s in segs] == [(s.label, round(s.start_s, 2)) for s in expected.segments]
    lefts = [s[2] for s in segs]
    assert lefts == sorted(lefts)  # left to right in time

    link = tab.json_link("clip-emotion.json")
    link.wait_for()
    saved = json.loads(tab.fetch(link).body())
    assert saved["label"] == expected.label
    screenshot("classified")
