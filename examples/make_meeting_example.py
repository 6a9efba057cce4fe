#!/usr/bin/env python
"""Regenerate examples/meeting.wav and its reference examples/meeting.rttm.

Three espeak-ng voices (apt-get install espeak-ng) read Harvard sentences in turn, with pauses and
one overlap (``voicetools.data.conversations``; seeded, so the file is the same every time).

    python examples/make_meeting_example.py
"""

from pathlib import Path

import numpy as np
import soundfile as sf

from voicetools.data.conversations import SAMPLE_RATE, build, espeak_pools

HERE = Path(__file__).resolve().parent
SEED = 2026


def main():
    rng = np.random.default_rng(SEED)
    conv = build(espeak_pools(3, 5, rng), 12, rng, overlap_p=0.1)
    sf.write(HERE / "meeting.wav", conv.audio, SAMPLE_RATE, subtype="PCM_16")
    (HERE / "meeting.rttm").write_text(conv.rttm("meeting"))
    print(f"meeting.wav: {conv.duration_s:.1f} s, {len({t[2] for t in conv.turns})} speakers, {len(conv.turns)} turns")


if __name__ == "__main__":
    main()
