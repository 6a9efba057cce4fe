"""The page as a first-time visitor meets it, in a real (headless) Chromium: every tab runs its own
example, every plot has axes, Run is disabled while its job runs, progress and a waiting job's place
are told in words, players and downloads have names, seeking works from the keyboard, and the frame
is the app's own (a heading, model cards, no "Built with Gradio")."""

import re
from pathlib import Path

import pytest
from browser_helpers import write_choir
from pages import ClassifyTab, DiarizeTab, PronounceTab, RevoiceTab, SeparateTab, TranscribeTab, VocalsTab

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FILES = ("choir.wav", "song.wav", "meeting.wav", "reading.wav")
# each tab, its example's label, the players it shows and the width of their plots (px)
TABS = [
    (SeparateTab, "choir.wav", "choir.wav", 4, 640),
    (TranscribeTab, "choir.wav (one track per voice)", "choir.wav", 1, 1180),
    (VocalsTab, "song.wav", "song.wav", 2, 640),
    (RevoiceTab, "choir.wav: soprano → clarinet", "choir.wav", 2, 640),
    (ClassifyTab, "meeting.wav", "meeting.wav", 0, 0),
    (DiarizeTab, "meeting.wav", "meeting.wav", 1, 1180),
    (PronounceTab, "(reading.wav)", "reading.wav", 0, 0),
]


@pytest.fixture(autouse=True)
def bundled_examples():
    if not all((EXAMPLES / name).exists() for name in FILES):
        pytest.skip("the repository's examples/ are not all there")


def test_every_tab_runs_its_own_example(page, screenshot):
    for cls, label, own, n_players, plot_width in TABS:
        tab = cls(page)
        offered = tab.examples()
        assert label in offered, (tab.KEY, offered)
        assert not any(name in offered for name in FILES if name != own), (tab.KEY, offered)  # only what fits
        tab.click_example(label)
        if cls is ClassifyTab:
            tab.wait_for_bars(timeout_ms=240_000)
            assert page.locator("#vt-classify-timeline .vt-ruler").count() == 1  # time in s under the windows
        elif cls is PronounceTab:
            tab.wait_for_table(timeout_ms=240_000)
            assert [ok for _, _, ok in tab.rows()] == [True] * 5 + [False]  # 兴 read in tone 1
            assert tab.plot().get_attribute("alt").endswith("1 of 6 wrong: 兴 (xìng).")
        else:
            tab.wait_for_ready_players(n_players, timeout_ms=240_000)
            for plot in tab.plots():  # drawn with axes: the image is the figure, not a bare spectrogram
                assert plot["width"] == plot_width and plot["shown"] >= 150, (tab.KEY, plot)
                assert re.match(r"(Spectrogram|Piano roll) of .+ time from 0 to \d+\.\d s", plot["alt"]), plot["alt"]
            assert all(tab.audio_labels()), (tab.KEY, tab.audio_labels())  # every player is named
        if cls is TranscribeTab:
            assert tab.plots()[0]["shown"] >= 300  # the piano roll is tall enough to read its notes
        screenshot(tab.KEY)


def test_run_is_disabled_while_its_job_runs_and_progress_is_told(page, tmp_path):
    tab = SeparateTab(page)
    tab.upload(write_choir(tmp_path / "long.wav", seconds=60.0))
    tab.watch_run_button()
    tab.watch_status()
    tab.run()
    tab.wait_for_players()
    # the steps the code reports, over the result area: per chunk, not just a spinner
    tab.wait_for_status(r"Separating voices: chunk \d+ of \d+")
    assert tab.run_was_disabled()
    page.wait_for_function("() => !document.querySelector('#vt-separate-run').disabled")


def test_a_waiting_job_is_told_its_place_in_words(page, other_page, tmp_path):
    first, second = SeparateTab(page), SeparateTab(other_page)
    first.upload(write_choir(tmp_path / "long.wav", seconds=150.0))
    second.upload(write_choir(tmp_path / "short.wav", seconds=2.0))
    first.run()
    page.wait_for_function(
        """() => /Separating voices/.test(
        document.querySelector('#vt-separate-players [data-testid=status-tracker]')?.innerText || '')""",
        polling="raf",
        timeout=60_000,
    )
    second.run()  # one job at a time (--concurrency 1): this one waits
    other_page.wait_for_function(
        """() => /Next in line|Waiting in line: \\d+ jobs? ahead of yours/.test(
        document.querySelector('#vt-separate-players [data-testid=status-tracker]')?.innerText || '')""",
        polling="raf",
        timeout=30_000,
    )
    assert "queue:" not in other_page.inner_text("#vt-separate-players")
    first.wait_for_players()
    second.wait_for_players()


def test_players_and_downloads_are_named_and_seeking_works_by_keyboard(page):
    tab = SeparateTab(page)
    tab.click_example("choir.wav")
    tab.wait_for_players()
    tab.wait_for_audio_ready()
    assert tab.audio_labels() == ["Soprano stem", "Alto stem", "Tenor stem", "Bass stem"]
    assert page.get_by_role("link", name=re.compile(r"^Download all stems \(zip, [\d.]+ (KB|MB)\)$")).count() == 1
    assert page.get_by_role("link", name=re.compile(r"^Download alto \(WAV, [\d.]+ (KB|MB)\)$")).count() == 1

    seek = page.get_by_role("slider", name="Playback position: Alto")
    seek.focus()
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(
        "() => Math.abs(document.querySelectorAll('#vt-separate-players audio')[1].currentTime - 18) < 0.05"
    )
    assert seek.get_attribute("aria-valuenow") == "18.0"
    assert abs(tab.playhead(1) - 0.9) < 0.01
    page.keyboard.press("Home")
    page.wait_for_function("() => document.querySelectorAll('#vt-separate-players audio')[1].currentTime === 0")


def test_the_frame_is_the_apps_own(page):
    assert page.locator("h1").inner_text() == "voicetools"
    assert "runs on this server" in page.inner_text("#vt-header")
    for gradio_link in ("Use via API", "Built with Gradio"):
        assert not page.get_by_text(gradio_link).is_visible()
    # a calm blue theme, not gradio's orange
    r, g, b = map(
        int,
        re.findall(r"\d+", page.eval_on_selector("#vt-separate-run", "e => getComputedStyle(e).backgroundColor"))[:3],
    )
    assert b > r, (r, g, b)
    # nothing but the upload box and the help before a result: no large empty dashed boxes
    dashed = page.evaluate("""() => [...document.querySelectorAll('#vt-tab-separate *')].filter((e) => {
        const s = getComputedStyle(e), r = e.getBoundingClientRect();
        return s.borderStyle.includes('dashed') && r.height > 100 && s.visibility !== 'hidden' && r.width > 0;
    }).length""")
    assert dashed == 0
    # each model's card, served by the app, with its known limits beside it
    card = page.locator("#vt-footer a", has_text="voice2midi")
    assert SeparateTab(page).fetch(card).text().startswith("# voice2midi")
    assert "one voice at a time" in page.inner_text("#vt-footer")
