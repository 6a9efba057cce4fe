"""Simulated far-field meetings (``voicetools.data.meetings``) and DER's three parts.

The meetings need the real speech in ``../shared/data`` and skip without it; the scoring test
builds its own turns.
"""

import numpy as np
import pytest

from voicetools.data import meetings
from voicetools.diarize import DiarizationResult, Turn
from voicetools.diarize.evaluate import Scorer

HAVE_DATA = all(root.is_dir() for root in meetings.CORPORA.values())


def test_no_speaker_is_in_two_splits():
    seen = [set(meetings.speakers(split)) for split in meetings.SPLITS]
    assert all(not (a & b) for i, a in enumerate(seen) for b in seen[i + 1 :])
    assert all(len({c for c, _ in s}) >= 2 for s in seen)  # two corpora in every split


@pytest.mark.skipif(not HAVE_DATA, reason="needs ../shared/data (RAVDESS, EmoDB, AISHELL)")
def test_a_meeting_is_far_unequal_and_overlapped():
    pools = meetings.Pools("test")
    conv = meetings.meeting(pools, np.random.default_rng(3), n_speakers=3)
    talkers = {spk for _, _, spk in conv.turns}
    assert len(talkers) == 3 and talkers <= set(pools.names())
    levels = conv.info["levels_db"]
    assert max(levels.values()) - min(levels.values()) >= 10.0  # a quiet talker far from the loudest
    assert 0.05 < meetings.overlap_fraction(conv.turns, conv.duration_s) < 0.6
    assert conv.turns[-1][1] <= conv.duration_s and np.isfinite(conv.audio).all()
    speech_db = 20 * np.log10(np.sqrt(np.mean(conv.audio**2)))
    assert -50 < speech_db < -15  # at the level drawn, not normalised to full scale


def test_der_is_missed_plus_false_alarm_plus_confusion():
    ref = [Turn(0.0, 4.0, "A"), Turn(3.0, 6.0, "B"), Turn(8.0, 10.0, "A")]
    hyp = [Turn(0.0, 5.0, "x"), Turn(5.0, 6.0, "y"), Turn(6.5, 7.5, "y")]  # B's first second goes to x
    scorer = Scorer()
    row = scorer.add("f", ref, DiarizationResult(hyp, 10.0, 6.0, "test"), 1.0)
    for c in ("0", "0.25"):
        parts = row[f"missed_collar_{c}"] + row[f"false_collar_{c}"] + row[f"confusion_collar_{c}"]
        assert parts == pytest.approx(row[f"der_collar_{c}"], abs=1e-6)
    assert row["missed_collar_0"] == pytest.approx(3.0 / 9.0)  # the overlap's second second + 8-10 s
    assert row["false_collar_0"] == pytest.approx(1.0 / 9.0)
    overall = scorer.overall()
    assert overall["missed_collar_0"] == pytest.approx(row["missed_collar_0"])
