"""The Pronounce tab in a real (headless) Chromium: type a sentence → reference → upload a reading
with one wrong tone (instead of the microphone) → the table flags that syllable, the pitch plot and
the JSON/TextGrid downloads appear."""

import json

import numpy as np
import soundfile as sf
from pages import PronounceTab

from voicetools.pronounce import text_to_syllables
from voicetools.pronounce.data import VoiceSettings, synthesize
from voicetools.pronounce.pinyin import Syllable

TEXT = "我今天很高兴。"


def test_type_reference_upload_and_see_the_wrong_tone(page, tmp_path, screenshot):
    syl = text_to_syllables(TEXT)
    syl[5] = Syllable("兴", "xing1", "xing1", 0)  # xing4 said as xing1
    u = synthesize(syl, VoiceSettings("m3", pitch=40, speed=150), np.random.default_rng(0))
    path = tmp_path / "reading.wav"
    sf.write(path, u.samples, u.sample_rate)

    tab = PronounceTab(page)
    tab.type_text(TEXT)
    tab.reference()
    tab.wait_for_reference()
    assert tab.pinyin() == ["wo3", "jin1", "tian1", "hen3", "gao1", "xing4"]

    tab.upload(path)
    tab.run()
    tab.wait_for_table()
    rows = tab.rows()
    assert [ok for _, _, ok in rows] == [True] * 5 + [False]
    assert rows[5][:2] == (4, 1)
    tab.plot().wait_for()
    assert tab.plot().evaluate("img => img.naturalWidth") > 300
    link = tab.file_link("reading-pronunciation.json")
    link.wait_for()
    saved = json.loads(tab.fetch(link).body())
    assert [s["heard_tone"] for s in saved["syllables"]][5] == 1
    screenshot("pronounced")
