"""The Vocals tab in a real (headless) Chromium: upload a song → vocals + accompaniment players → play."""

import time

import numpy as np
import pytest
import soundfile as sf
from pages import UNREADABLE, VocalsTab


@pytest.fixture
def tab(page):
    return VocalsTab(page)


def test_upload_extract_play(tab, page, tmp_path, screenshot):
    t = np.arange(int(2.5 * 22050)) / 22050
    song = tmp_path / "song.wav"
    sf.write(str(song), np.stack([0.2 * np.sin(2 * np.pi * 330 * t), 0.2 * np.sin(2 * np.pi * 110 * t)], 1), 22050)
    tab.upload(song)
    tab.run()
    tab.wait_for_players()
    assert tab.stems() == ["vocals", "accompaniment"]
    assert all(abs(d - 2.5) < 0.05 for d in tab.durations())
    link = tab.zip_link("song-vocals.zip")
    link.wait_for()
    r = tab.fetch(link)
    assert r.ok and r.body()[:2] == b"PK"
    tab.play(0)
    time.sleep(0.8)
    assert tab.playhead(0) > 0.0
    screenshot("playing")


def test_unreadable_upload_shows_the_message(tab, files):
    tab.upload(files["broken"])
    tab.wait_for_message(UNREADABLE)
