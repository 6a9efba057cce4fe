"""The Diarize tab in a real (headless) Chromium: upload → speaker rows under the spectrogram, in
step with the audio → RTTM download."""

import time
from pathlib import Path

from pages import DiarizeTab

import voicetools as vt
from voicetools.diarize import read_rttm

MEETING = Path(__file__).resolve().parents[2] / "examples" / "meeting.wav"


def test_upload_diarize_timeline_plays(page, tmp_path, screenshot):
    expected = vt.diarize(MEETING)
    tab = DiarizeTab(page)
    tab.upload(MEETING)
    tab.run()
    tab.wait_for_timeline()
    assert tab.rows() == expected.speakers
    turns = tab.turns()
    assert sorted((s, round(t, 2)) for s, t, _ in turns) == sorted(
        (t.speaker, round(t.start_s, 2)) for t in expected.turns
    )
    colours = {s: c for s, _, c in turns}
    assert len(set(colours.values())) == len(expected.speakers)  # one colour per speaker

    # bars share the spectrogram's time axis: a turn starting at t sits t/duration across it
    spec = tab.spectrogram_box()
    for i in (0, len(turns) - 1):
        box = tab.bar_box(i)
        assert abs((box["x"] - spec["x"]) / spec["width"] - turns[i][1] / expected.duration_s) < 0.01

    rows = tab.rows_box()
    assert abs(rows["x"] - spec["x"]) < 1 and abs(rows["width"] - spec["width"]) < 1  # one time axis

    # the downloads are the result (RTTM and CSV), not the input
    link = tab.rttm_link("meeting.rttm")
    link.wait_for()
    assert link.inner_text().startswith("Download who spoke when (RTTM, ")
    rttm = tmp_path / "got.rttm"
    rttm.write_bytes(tab.fetch(link).body())
    assert len({t.speaker for t in read_rttm(rttm)["meeting"]}) == len(expected.speakers)
    csv = tab.fetch(tab.rttm_link("meeting-turns.csv")).text()
    assert csv.splitlines()[0] == "speaker,start_s,end_s,duration_s"
    assert page.locator(f"{tab.PLAYER} a.vt-download[download$='.wav']").count() == 0

    tab.play()
    time.sleep(1.0)
    assert tab.playhead(0) > 0.0 and abs(tab.playhead(1) - tab.playhead(0)) < 0.05  # over the rows too
    screenshot("diarized")
