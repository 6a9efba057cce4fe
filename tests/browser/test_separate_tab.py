"""The Separate tab in a real (headless) Chromium: upload → four players → playhead moves."""

import time

import pytest

PLAYERS = "#vt-separate-players .vt-player"
# gradio's queue calls a pandas API that pandas 3 deprecates; not ours to fix
pytestmark = [pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]


def fraction(page, i=0):
    return float(page.locator(f"{PLAYERS} .vt-playhead").nth(i).get_attribute("data-fraction") or 0)


def wait_for_players(page):
    page.wait_for_function(
        f"() => document.querySelectorAll('{PLAYERS} audio').length === 4", timeout=90_000)


def test_upload_separate_play(page, files, screenshot):
    page.locator("#vt-separate-input input[type=file]").set_input_files(str(files["choir"]))
    page.wait_for_selector("#vt-separate-input audio, #vt-separate-input .waveform-container", state="attached")
    page.click("#vt-separate-run")
    wait_for_players(page)

    stems = page.eval_on_selector_all(f"{PLAYERS}", "els => els.map(e => e.dataset.stem)")
    assert stems == ["soprano", "alto", "tenor", "bass"]
    # every player has a source the server really serves: metadata loads, duration is the input's
    page.wait_for_function(f"""() => [...document.querySelectorAll('{PLAYERS} audio')]
                                     .every(a => a.currentSrc && a.readyState >= 1)""", timeout=30_000)
    audio = page.eval_on_selector_all(f"{PLAYERS} audio", "els => els.map(a => [a.currentSrc, a.duration])")
    assert all(src.startswith("http://127.0.0.1") and "gradio_api/file=" in src for src, _ in audio)
    assert all(abs(d - 3.0) < 0.05 for _, d in audio)
    assert page.locator(f"{PLAYERS} img.vt-spec").count() == 4
    assert page.eval_on_selector_all(f"{PLAYERS} img.vt-spec", "els => els.every(i => i.naturalWidth > 50)")

    # per-stem download and the zip
    href = page.locator(f"{PLAYERS} a.vt-download").first.get_attribute("href")
    r = page.request.get(page.url.rstrip("/") + "/" + href)
    assert r.ok and r.body()[:4] == b"RIFF"
    zip_link = page.locator('#vt-separate-zip a[download="choir-stems.zip"]')
    zip_link.wait_for()
    zip_href = zip_link.get_attribute("href")
    r = page.request.get(zip_href if zip_href.startswith("http") else page.url.rstrip("/") + "/" + zip_href.lstrip("/"))
    assert r.ok and r.body()[:2] == b"PK"

    # the playhead follows the audio while it plays
    assert fraction(page) == 0.0
    page.evaluate(f"() => document.querySelector('{PLAYERS} audio').play()")
    page.wait_for_function(f"() => !document.querySelector('{PLAYERS} audio').paused")
    time.sleep(0.6)
    first = fraction(page)
    time.sleep(0.6)
    second = fraction(page)
    current = page.evaluate(f"() => document.querySelector('{PLAYERS} audio').currentTime")
    assert 0.0 < first < second <= 1.0, (first, second)
    assert abs(second - current / 3.0) < 0.15  # in step with the audio's own clock
    left = page.eval_on_selector(f"{PLAYERS} .vt-playhead", "e => parseFloat(e.style.left)")
    assert left > 0
    screenshot("playing")
    page.evaluate(f"() => document.querySelector('{PLAYERS} audio').pause()")

    # clicking the spectrogram seeks: 75 % of the way in
    box = page.locator(f"{PLAYERS} .vt-spec-wrap").nth(2).bounding_box()
    page.mouse.click(box["x"] + 0.75 * box["width"], box["y"] + box["height"] / 2)
    page.wait_for_function(f"() => document.querySelectorAll('{PLAYERS} audio')[2].currentTime > 2.0")
    assert abs(fraction(page, 2) - 0.75) < 0.05


def test_unreadable_upload_shows_the_message(page, files, screenshot):
    page.locator("#vt-separate-input input[type=file]").set_input_files(str(files["broken"]))
    msg = "“broken.wav” could not be read as audio. Upload a WAV, FLAC, OGG, MP3 or AIFF file."
    page.get_by_text(msg).first.wait_for(timeout=30_000)
    screenshot("error")
    # pressing Separate anyway gives the same message, and no players
    page.click("#vt-separate-run")
    page.wait_for_function(f"() => [...document.querySelectorAll('.toast-body, [data-testid=\"toast-body\"]')]"
                           f".length >= 1", timeout=30_000)
    assert page.locator(f"{PLAYERS}").count() == 0


def test_non_audio_file_is_refused(page, files):
    # the upload box itself refuses a file that is not audio by type, with a visible message
    page.locator("#vt-separate-input input[type=file]").set_input_files(str(files["text"]))
    page.get_by_text("notes.txt", exact=False).first.wait_for(timeout=30_000)
    page.click("#vt-separate-run")
    page.get_by_text("No audio yet: upload a file or record with the microphone").first.wait_for(timeout=30_000)
    assert page.locator(f"{PLAYERS}").count() == 0


def test_example_is_one_click_away(page, screenshot):
    examples = page.locator("#vt-separate-examples")
    if examples.count() == 0:
        pytest.fail("no examples shown")
    examples.get_by_text("choir.wav").first.click()
    wait_for_players(page)
    assert page.locator(f"{PLAYERS} audio").count() == 4
    screenshot("example")
