#!/usr/bin/env python
"""Make examples/reading.wav and examples/reading.txt: the Pronounce tab's example.

A synthetic learner (espeak-ng's Mandarin voice through the project's tone synthesizer, seeded)
reads 我今天很高兴。 with one tone wrong: 兴 (xìng, tone 4) said as xīng (tone 1), so the
example shows one red syllable. The sentence is written beside the recording, where the app
looks for it.

    python examples/make_reading_example.py
"""

from pathlib import Path

import numpy as np
import soundfile as sf

from voicetools.pronounce import text_to_syllables
from voicetools.pronounce.data import VoiceSettings, synthesize
from voicetools.pronounce.pinyin import Syllable

HERE = Path(__file__).resolve().parent
TEXT = "我今天很高兴。"


def main():
    syllables = text_to_syllables(TEXT)
    syllables[5] = Syllable("兴", "xing1", "xing1", syllables[5].phrase)  # xing4 said as xing1
    u = synthesize(syllables, VoiceSettings("m3", pitch=40, speed=150), np.random.default_rng(0))
    sf.write(HERE / "reading.wav", u.samples, u.sample_rate, subtype="PCM_16")
    (HERE / "reading.txt").write_text(TEXT + "\n", encoding="utf-8")
    print(f"reading.wav: {len(u.samples) / u.sample_rate:.1f} s, {TEXT} with 兴 read in tone 1")


if __name__ == "__main__":
    main()
