"""The Transcribe tab in a real (headless) Chromium: sung melody → piano roll, MIDI file, MIDI playback."""

import time

import numpy as np
import pytest
import soundfile as sf
from pages import UNREADABLE, TranscribeTab


@pytest.fixture(scope="module")
def melody(tmp_path_factory):
    """Five sung notes (the synthetic singer), 3 s at 16 kHz."""
    from voicetools.data.chorales import Note
    from voicetools.data.singing import sing

    notes = [Note(0.5 + i, 1.0, p, "la") for i, p in enumerate([62, 64, 66, 67, 69])]
    x = sing(
        notes, voice="alto", sample_rate=16000, length_s=3.0, seconds_per_quarter=0.5, rng=np.random.default_rng(0)
    )
    path = tmp_path_factory.mktemp("transcribe") / "melody.wav"
    sf.write(str(path), 0.3 * x / np.abs(x).max(), 16000)
    return path


@pytest.fixture
def tab(page):
    return TranscribeTab(page)


def test_transcribe_shows_roll_plays_midi_and_downloads_it(tab, page, melody, screenshot):
    tab.upload(melody)
    tab.run()
    tab.wait_for_player()
    assert "melody notes" in tab.summary()
    assert int(tab.summary().split(" melody notes")[0].split()[-1]) >= 4  # five sung notes

    src, duration = tab.audio()
    assert src.startswith("http://127.0.0.1") and abs(duration - 3.0) < 0.05
    assert tab.roll().evaluate("i => i.complete && i.naturalWidth > 200")

    link = tab.midi_link("melody.mid")
    link.wait_for()
    r = tab.fetch(link)
    assert r.ok and r.body()[:4] == b"MThd"

    tab.play()  # the MIDI played back, with the playhead moving over the piano roll
    time.sleep(0.8)
    assert 0.0 < tab.playhead() <= 1.0
    screenshot("playing")


def test_choir_gives_four_tracks(tab, melody):
    tab.upload(melody)
    tab.choir(True)
    tab.run()
    tab.wait_for_player()
    text = tab.summary()
    assert all(f"{v} notes" in text for v in ("soprano", "alto", "tenor", "bass")), text


def test_unreadable_upload_shows_the_message(tab, files):
    tab.upload(files["broken"])
    tab.wait_for_message(UNREADABLE)
