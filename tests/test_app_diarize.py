"""The Diarize tab without a browser: its timeline and RTTM say what ``vt.diarize`` says."""

import re
from pathlib import Path

import pytest

gr = pytest.importorskip("gradio")
pytestmark = pytest.mark.filterwarnings("ignore:Tiny-satb is a random-weight:UserWarning")

import voicetools as vt  # noqa: E402
from voicetools.app import build_app  # noqa: E402
from voicetools.app.tabs.diarize import run_diarization  # noqa: E402
from voicetools.diarize import Turn, read_rttm  # noqa: E402
from voicetools.errors import VoicetoolsError  # noqa: E402

MEETING = Path(__file__).resolve().parents[1] / "examples" / "meeting.wav"


@pytest.fixture(scope="module")
def app():
    demo = build_app(model="tiny-satb", tabs=["diarize"], examples=[MEETING])
    yield demo
    demo.voicetools.store.close()


def test_timeline_rows_and_rttm_match_diarize(app):
    page, rttm, notes = run_diarization(app.voicetools, str(MEETING))
    expected = vt.diarize(MEETING)
    rows = re.findall(r'class="vt-speaker-row" data-speaker="([^"]+)"', page)
    assert rows == expected.speakers == ["SPEAKER_00", "SPEAKER_01", "SPEAKER_02"]
    bars = [
        (m[0], float(m[1]), float(m[2]))
        for m in re.findall(r'class="vt-turn" data-speaker="([^"]+)" data-start="([\d.]+)" data-end="([\d.]+)"', page)
    ]
    assert sorted(bars) == sorted((t.speaker, round(t.start_s, 3), round(t.end_s, 3)) for t in expected.turns)
    saved = read_rttm(rttm)["meeting"]
    assert [(t.speaker, t.start_s) for t in saved] == [(t.speaker, round(t.start_s, 3)) for t in expected.turns]
    # the timeline sits inside the player, under the spectrogram, on the same time axis
    assert page.index('class="vt-spec"') < page.index('id="vt-diarize-timeline"') < page.index("<audio")


def test_overlapped_speech_has_a_row_of_its_own(app, monkeypatch):
    from voicetools.app.tabs import diarize as tab

    real = vt.diarize(MEETING)
    a, b = real.turns[1].start_s - 0.8, real.turns[1].start_s  # the second talker cuts in 0.8 s early
    turns = [*real.turns, Turn(a, b, real.turns[1].speaker)]
    monkeypatch.setattr(tab, "diarize", lambda *args, **kw: vt.DiarizationResult(turns, real.duration_s, 0.0, "x"))
    page, _, _ = run_diarization(app.voicetools, str(MEETING))
    found = vt.DiarizationResult(turns, real.duration_s, 0.0, "x").overlaps()
    assert found and found[0][1] - found[0][0] > 0.5
    bars = [
        (float(x), float(y))
        for x, y in re.findall(r'class="vt-overlap" data-start="([\d.]+)" data-end="([\d.]+)"', page)
    ]
    assert bars == [(round(x, 3), round(y, 3)) for x, y in found]
    assert page.count('class="vt-overlap-row"') == 1 and f"{sum(y - x for x, y in found):.1f} s overlapped." in page


def test_a_given_count_and_a_bad_upload(app, tmp_path):
    page, _, _ = run_diarization(app.voicetools, str(MEETING), speakers="2")
    assert len(set(re.findall(r'class="vt-speaker-row" data-speaker="([^"]+)"', page))) == 2
    with pytest.raises(VoicetoolsError, match="did not come through the upload box"):
        run_diarization(app.voicetools, str(tmp_path / "elsewhere.wav"))


def test_the_downloads_are_the_turns_not_the_input(app):
    page, _, _ = run_diarization(app.voicetools, str(MEETING))
    links = re.findall(r'<a class="vt-download" href="([^"]+)" download="([^"]+)">([^<]+)</a>', page)
    assert [name for _, name, _ in links] == ["meeting.rttm", "meeting-turns.csv"]
    assert links[0][2].startswith("Download who spoke when (RTTM, ") and links[1][2].startswith("Download turns (CSV, ")
    store = app.voicetools.store
    csv = (store.root / links[1][0].split(str(store.root))[1].lstrip("/")).read_text().splitlines()
    expected = vt.diarize(MEETING)
    assert csv[0] == "speaker,start_s,end_s,duration_s" and len(csv) == 1 + len(expected.turns)
    # the speaker rows share the spectrogram's time axis, named on the left, with their own playhead
    assert page.count('class="vt-playhead"') == 2 and 'class="vt-speaker-name">SPEAKER_00<' in page
