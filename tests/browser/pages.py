"""Page objects: what a test can do on each tab, so selectors live in one place.

A later tab adds its own class here (e.g. ``TranscribeTab``) next to ``SeparateTab``.
"""

PLAYERS = "#vt-separate-players .vt-player"


class SeparateTab:
    def __init__(self, page):
        self.page = page

    def upload(self, path):
        self.page.locator("#vt-separate-input input[type=file]").set_input_files(str(path))

    def record(self, seconds: float):
        """Record from the microphone (Chromium's fake device in tests) for ``seconds``."""
        import time

        box = self.page.locator("#vt-separate-input")
        box.locator("button[aria-label='Record audio']").click()
        box.locator("button:visible", has_text="Record").first.click()
        time.sleep(seconds)
        box.locator("button:visible", has_text="Stop").first.click()
        box.locator("audio[src^='blob:']").first.wait_for(state="attached")

    def run(self):
        self.page.click("#vt-separate-run")

    def click_example(self, name: str):
        self.page.locator("#vt-separate-examples").get_by_text(name).first.click()

    def wait_for_players(self, n: int = 4, timeout_ms: int = 90_000):
        self.page.wait_for_function(f"() => document.querySelectorAll('{PLAYERS} audio').length === {n}",
                                    timeout=timeout_ms)

    def wait_for_audio_ready(self, timeout_ms: int = 30_000):
        """Every player's source loaded its metadata (so the server really serves it)."""
        self.page.wait_for_function(f"""() => [...document.querySelectorAll('{PLAYERS} audio')]
                                        .every(a => a.currentSrc && a.readyState >= 1)""", timeout=timeout_ms)

    def stems(self) -> list[str]:
        return self.page.eval_on_selector_all(PLAYERS, "els => els.map(e => e.dataset.stem)")

    def player_count(self) -> int:
        return self.page.locator(PLAYERS).count()

    def audio(self) -> list[tuple[str, float]]:
        return self.page.eval_on_selector_all(f"{PLAYERS} audio", "els => els.map(a => [a.currentSrc, a.duration])")

    def spectrograms(self):
        return self.page.locator(f"{PLAYERS} img.vt-spec")

    def download_href(self, i: int = 0) -> str:
        return self.page.locator(f"{PLAYERS} a.vt-download").nth(i).get_attribute("href")

    def zip_link(self, name: str):
        return self.page.locator(f'#vt-separate-zip a[download="{name}"]')

    def play(self, i: int = 0):
        self.page.evaluate(f"() => document.querySelectorAll('{PLAYERS} audio')[{i}].play()")
        self.page.wait_for_function(f"() => !document.querySelectorAll('{PLAYERS} audio')[{i}].paused")

    def pause(self, i: int = 0):
        self.page.evaluate(f"() => document.querySelectorAll('{PLAYERS} audio')[{i}].pause()")

    def current_time(self, i: int = 0) -> float:
        return self.page.evaluate(f"() => document.querySelectorAll('{PLAYERS} audio')[{i}].currentTime")

    def playhead(self, i: int = 0) -> float:
        """Where the playhead line is drawn, as a fraction of the spectrogram's width."""
        return float(self.page.locator(f"{PLAYERS} .vt-playhead").nth(i).get_attribute("data-fraction") or 0)

    def playhead_left_percent(self, i: int = 0) -> float:
        return self.page.locator(f"{PLAYERS} .vt-playhead").nth(i).evaluate("e => parseFloat(e.style.left)")

    def click_spectrogram(self, i: int, fraction: float):
        box = self.page.locator(f"{PLAYERS} .vt-spec-wrap").nth(i).bounding_box()
        self.page.mouse.click(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)

    def wait_for_message(self, text: str, timeout_ms: int = 30_000):
        self.page.get_by_text(text).first.wait_for(timeout=timeout_ms)

class TranscribeTab:
    """The Transcribe tab: one player (the MIDI played back over the piano roll) and the MIDI file."""

    PLAYER = "#vt-transcribe-players .vt-player"

    def __init__(self, page):
        self.page = page
        page.get_by_role("tab", name="Transcribe").click()
        page.wait_for_selector("#vt-transcribe-run")

    def upload(self, path):
        self.page.locator("#vt-transcribe-input input[type=file]").set_input_files(str(path))

    def choir(self, on: bool = True):
        box = self.page.locator("#vt-transcribe-parts input[type=checkbox]")
        box.set_checked(on)

    def run(self):
        self.page.click("#vt-transcribe-run")

    def wait_for_player(self, timeout_ms: int = 90_000):
        self.page.wait_for_function(f"() => document.querySelector('{self.PLAYER} audio') !== null", timeout=timeout_ms)
        self.page.wait_for_function(f"() => document.querySelector('{self.PLAYER} audio').readyState >= 1",
                                    timeout=timeout_ms)

    def summary(self) -> str:
        return self.page.inner_text("#vt-transcribe-players .vt-note")

    def audio(self):
        return self.page.eval_on_selector(f"{self.PLAYER} audio", "a => [a.currentSrc, a.duration]")

    def roll(self):
        return self.page.locator(f"{self.PLAYER} img.vt-spec")

    def midi_link(self, name: str):
        return self.page.locator(f'#vt-transcribe-midi a[download="{name}"]')

    def play(self):
        self.page.evaluate(f"() => document.querySelector('{self.PLAYER} audio').play()")

    def playhead(self) -> float:
        return float(self.page.locator(f"{self.PLAYER} .vt-playhead").get_attribute("data-fraction") or 0)

    def wait_for_message(self, text: str, timeout_ms: int = 30_000):
        self.page.get_by_text(text).first.wait_for(timeout=timeout_ms)


class VocalsTab:
    """The Vocals tab: two players (vocals, accompaniment) and a zip of both."""

    PLAYER = "#vt-vocals-players .vt-player"

    def __init__(self, page):
        self.page = page
        page.get_by_role("tab", name="Vocals").click()
        page.wait_for_selector("#vt-vocals-run")

    def upload(self, path):
        self.page.locator("#vt-vocals-input input[type=file]").set_input_files(str(path))

    def run(self):
        self.page.click("#vt-vocals-run")

    def wait_for_players(self, timeout_ms: int = 90_000):
        self.page.wait_for_function(
            f"""() => [...document.querySelectorAll('{self.PLAYER} audio')].filter(a => a.readyState >= 1)
                .length === 2""", timeout=timeout_ms)

    def stems(self) -> list[str]:
        return self.page.eval_on_selector_all(self.PLAYER, "els => els.map(e => e.dataset.stem)")

    def durations(self) -> list[float]:
        return self.page.eval_on_selector_all(f"{self.PLAYER} audio", "els => els.map(a => a.duration)")

    def zip_link(self, name: str):
        return self.page.locator(f'#vt-vocals-zip a[download="{name}"]')

    def play(self, i: int = 0):
        self.page.evaluate(f"() => document.querySelectorAll('{self.PLAYER} audio')[{i}].play()")

    def playhead(self, i: int = 0) -> float:
        return float(self.page.locator(f"{self.PLAYER} .vt-playhead").nth(i).get_attribute("data-fraction") or 0)

    def wait_for_message(self, text: str, timeout_ms: int = 30_000):
        self.page.get_by_text(text).first.wait_for(timeout=timeout_ms)
