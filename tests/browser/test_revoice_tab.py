"""The Re-voice tab in a real (headless) Chromium: upload a choir → pick targets → before/after players → play."""

import time

import pytest
from pages import UNREADABLE, RevoiceTab


@pytest.fixture
def tab(page):
    return RevoiceTab(page)


def test_upload_pick_targets_revoice_play(tab, page, files, screenshot):
    tab.upload(files["choir"])
    tab.set_target("soprano", "tenor")
    tab.set_target("bass", "keep")
    tab.run()
    tab.wait_for_players()
    assert tab.stems() == ["before", "after"]
    assert tab.titles() == ["Before", "After"]  # short headings; the targets are a one-line caption
    assert tab.captions()[1].startswith("soprano → tenor:")
    heads = tab.page.eval_on_selector_all(
        f"{tab.PLAYER} .vt-spec", "els => els.map(e => e.getBoundingClientRect().top)"
    )
    assert abs(heads[0] - heads[1]) < 2  # Before and After side by side, spectrograms level
    d = tab.durations()
    assert abs(d[0] - d[1]) < 0.05
    link = tab.file_link("choir-revoiced.wav")
    link.wait_for()
    r = tab.fetch(link)
    assert r.ok and r.body()[:4] == b"RIFF"
    tab.play(1)
    time.sleep(0.8)
    assert tab.playhead(1) > 0.0
    screenshot("revoiced")


def test_unreadable_upload_shows_the_message(tab, files):
    tab.upload(files["broken"])
    tab.wait_for_message(UNREADABLE)
