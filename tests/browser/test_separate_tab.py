"""The Separate tab in a real (headless) Chromium: upload → four players → playhead moves."""

import time

import pytest
from browser_helpers import write_choir
from pages import UNREADABLE, SeparateTab

PlaywrightTimeoutError = pytest.importorskip("playwright.sync_api").TimeoutError

# gradio's queue calls a pandas API that pandas 3 deprecates; not ours to fix


@pytest.fixture
def tab(page):
    return SeparateTab(page)


def test_upload_separate_play(tab, page, files, screenshot):
    tab.upload(files["choir"])
    tab.run()
    tab.wait_for_players()
    assert tab.stems() == ["soprano", "alto", "tenor", "bass"]

    # every player has a source the server really serves: metadata loads, duration is the input's
    tab.wait_for_audio_ready()
    audio = tab.audio()
    assert all(src.startswith("http://127.0.0.1") and "gradio_api/file=" in src for src, _ in audio)
    assert all(abs(d - 3.0) < 0.05 for _, d in audio)
    assert tab.spectrograms().count() == 4
    assert tab.spectrograms().evaluate_all("els => els.every(i => i.complete && i.naturalWidth > 50)")

    # per-stem download and the zip of all four
    r = page.request.get(page.url.rstrip("/") + "/" + tab.download_href(0))
    assert r.ok and r.body()[:4] == b"RIFF"
    link = tab.zip_link("choir-stems.zip")
    link.wait_for()
    r = tab.fetch(link)
    assert r.ok and r.body()[:2] == b"PK"

    # the playhead follows the audio while it plays
    assert tab.playhead(0) == 0.0
    tab.play(0)
    time.sleep(0.6)
    first = tab.playhead(0)
    time.sleep(0.6)
    second = tab.playhead(0)
    assert 0.0 < first < second <= 1.0, (first, second)
    assert abs(second - tab.current_time(0) / 3.0) < 0.15  # in step with the audio's own clock
    assert tab.playhead_left_percent(0) > 0
    screenshot("playing")
    tab.pause(0)

    # clicking a spectrogram seeks there: 75 % of the way into the tenor
    tab.click_spectrogram(2, 0.75)
    page.wait_for_function("() => document.querySelectorAll('#vt-separate-players audio')[2].currentTime > 2.0")
    # the playhead is redrawn on the next 'seeked'/animation frame: wait for it rather than race it
    page.wait_for_function(
        "() => parseFloat(document.querySelectorAll('#vt-separate-players .vt-playhead')[2]"
        ".dataset.fraction || 0) > 0.5",
        timeout=10_000,
    )
    assert abs(tab.playhead(2) - 0.75) < 0.05


def test_record_from_microphone_then_separate(tab, page):
    tab.record(2.0)
    for _attempt in range(5):  # the recording is uploaded just after it shows: retry an early click
        tab.run()
        try:
            tab.wait_for_players(timeout_ms=10_000)
            break
        except PlaywrightTimeoutError:
            time.sleep(0.5)
    tab.wait_for_players()
    assert "audio.wav" in page.inner_text("#vt-separate-players")


def test_unreadable_upload_gives_one_titled_error_and_is_cleared(tab, files, screenshot):
    tab.upload(files["broken"])
    assert tab.wait_for_only_error("Cannot use this audio") == "Cannot use this audio\n" + UNREADABLE  # at once
    tab.page.wait_for_function("() => !document.querySelector('#vt-separate-input audio')")  # no dead 0:00 player
    assert not tab.input_has_audio()
    screenshot("error")
    tab.run()  # pressing Separate anyway: the earlier toast closes, one new message says what to do
    text = tab.wait_for_only_error("Cannot separate this audio")
    assert text.startswith("Cannot separate this audio\nNo audio yet: upload a file or record")
    assert [t["heading"] for t in tab.toasts()] == ["Error"]  # one toast, not "Error (2)"
    assert tab.error_pills() == 0 and tab.player_count() == 0  # no red badges over the outputs


def test_non_audio_file_is_refused(tab, files):
    # the upload box itself refuses a file that is not audio by type ("Invalid file type: notes.txt ...")
    tab.upload(files["text"])
    tab.wait_for_message("notes.txt")
    tab.run()
    tab.wait_for_message("No audio yet: upload a file or record with the microphone")
    assert tab.player_count() == 0


def test_example_is_one_click_away(tab, screenshot):
    tab.click_example("choir.wav")
    tab.wait_for_players()
    tab.wait_for_audio_ready()
    screenshot("example")


def test_upload_limits(strict_page, files, tmp_path, screenshot):
    tab = SeparateTab(strict_page)
    assert "Up to 0.0625 MB and 2 s per file" in strict_page.inner_text("#vt-separate-help")
    # too large: refused while uploading, by the server's size limit
    tab.upload(files["choir"])  # 3 s at 16 kHz: 96 kB
    tab.wait_for_message("exceed the maximum allowed size")
    # small enough but too long: our message, with the limit and what to do instead
    strict_page.reload()
    strict_page.wait_for_selector("#vt-separate-run")
    long = write_choir(tmp_path / "long.wav", seconds=3.0, sample_rate=8000)  # 48 kB
    tab.upload(long)
    tab.wait_for_message("“long.wav” is 3 s long; this app takes up to 2 s.")
    screenshot("too-long")
