"""Page objects: what a test can do on each tab, so selectors live in one place.

Every tab names its elements ``#vt-<key>-…`` (input, run button, players, file boxes): ``Tab`` holds
what the tabs share, and each tab's class adds its own.
"""

# what every tab says of an upload that is not audio (the ``broken`` file of the ``files`` fixture)
UNREADABLE = "“broken.wav” could not be read as audio. Upload a WAV, FLAC, OGG, MP3 or AIFF file."


class Tab:
    NAME: str | None = None  # the tab's label; None: the first tab, open on load
    KEY = ""
    RESULT = ""  # where the result (and its download links) appears; default #vt-<key>-players

    def __init__(self, page):
        self.page = page
        self.PLAYER = f"#vt-{self.KEY}-players .vt-player"
        self.RESULT = self.RESULT or f"#vt-{self.KEY}-players"
        if self.NAME:
            page.get_by_role("tab", name=self.NAME).click()
            page.wait_for_selector(f"#vt-{self.KEY}-run")

    def upload(self, path):
        self.page.locator(f"#vt-{self.KEY}-input input[type=file]").set_input_files(str(path))

    def run(self):
        self.page.click(f"#vt-{self.KEY}-run")

    def run_button(self):
        return self.page.locator(f"#vt-{self.KEY}-run")

    def link(self, name: str):
        """The download link for the file ``name`` in the tab's result."""
        return self.page.locator(f'{self.RESULT} a[download="{name}"]')

    def fetch(self, link):
        """Download what a link points to (its href is relative to the page), as the browser would."""
        from urllib.parse import urljoin

        return self.page.request.get(urljoin(self.page.url, link.get_attribute("href")))

    def examples(self) -> str:
        """The text of the tab's examples box (its example labels), once they are drawn: the box's
        header can be on the page a moment before its buttons."""
        box = f"#vt-{self.KEY}-examples"
        self.page.wait_for_selector(f"{box} button", timeout=30_000)
        return self.page.inner_text(box)

    def click_example(self, text: str):
        self.page.locator(f"#vt-{self.KEY}-examples").get_by_text(text).first.click()

    def watch_run_button(self):
        """From now on, remember whether the Run button was ever disabled (a job may be over quickly)."""
        self.page.evaluate(
            """(sel) => {
            window.vtRunWasDisabled = false;
            const look = () => {
                const b = document.querySelector(sel);
                if (b && b.disabled) window.vtRunWasDisabled = true;
            };
            new MutationObserver(look).observe(document.body, {attributes: true, subtree: true, childList: true});
        }""",
            f"#vt-{self.KEY}-run",
        )

    def watch_status(self):
        """From now on, remember every text the result area's status tracker shows (steps can flash by)."""
        self.page.evaluate(
            """(sel) => {
            window.vtStatusSeen = [];
            const look = () => {
                const t = document.querySelector(sel)?.innerText;
                if (t && window.vtStatusSeen.at(-1) !== t) window.vtStatusSeen.push(t);
            };
            new MutationObserver(look).observe(document.body, {characterData: true, subtree: true, childList: true});
        }""",
            f"#vt-{self.KEY}-players [data-testid=status-tracker]",
        )

    def wait_for_status(self, pattern: str, timeout_ms: int = 60_000):
        """Wait until the status tracker has shown a text matching the JS regex ``pattern``."""
        self.page.wait_for_function(
            "(p) => (window.vtStatusSeen || []).some(t => new RegExp(p).test(t))", arg=pattern, timeout=timeout_ms
        )

    def run_was_disabled(self) -> bool:
        return self.page.evaluate("() => window.vtRunWasDisabled")

    def toasts(self) -> list[dict]:
        """Every toast: its heading, and the text of each message in it."""
        return self.page.eval_on_selector_all(
            "[data-testid=toast-body]",
            "els => els.map(e => ({heading: e.querySelector('.toast-title').innerText.trim(),"
            " messages: [...e.querySelectorAll('[data-testid=toast-text]')].map(m => m.innerText.trim())}))",
        )

    def wait_for_error(self, title: str, timeout_ms: int = 30_000):
        self.page.locator("[data-testid=toast-text] .vt-error-title", has_text=title).first.wait_for(timeout=timeout_ms)

    def wait_for_only_error(self, title: str, timeout_ms: int = 30_000) -> str:
        """Wait until the page shows exactly one message, an error titled ``title``; returns its text."""
        self.page.wait_for_function(
            """(title) => { const m = document.querySelectorAll('[data-testid=toast-text]');
                           return m.length === 1 && m[0].querySelector('.vt-error-title')?.innerText === title; }""",
            arg=title,
            timeout=timeout_ms,
        )
        return self.page.inner_text("[data-testid=toast-text]").strip()

    def error_pills(self) -> int:
        """Red "Error" badges drawn over output components."""
        return self.page.locator("[data-testid=status-tracker] .error:visible").count()

    def input_has_audio(self) -> bool:
        box = f"#vt-{self.KEY}-input"
        return self.page.locator(f"{box} audio, {box} [data-testid=waveform-x]").count() > 0

    def wait_for_ready_players(self, n: int, timeout_ms: int = 90_000):
        """``n`` players whose audio has loaded its metadata."""
        self.page.wait_for_function(
            f"""() => [...document.querySelectorAll('{self.PLAYER} audio')].filter(a => a.readyState >= 1)
                .length === {n}""",
            timeout=timeout_ms,
        )

    def stems(self) -> list[str]:
        return self.page.eval_on_selector_all(self.PLAYER, "els => els.map(e => e.dataset.stem)")

    def durations(self) -> list[float]:
        return self.page.eval_on_selector_all(f"{self.PLAYER} audio", "els => els.map(a => a.duration)")

    def audio_labels(self) -> list[str]:
        return self.page.eval_on_selector_all(
            f"{self.PLAYER} audio", "els => els.map(a => a.getAttribute('aria-label'))"
        )

    def plots(self) -> list[dict]:
        """Each player's plot as the browser drew it: alt text and the image's own size."""
        return self.page.eval_on_selector_all(
            f"{self.PLAYER} img.vt-spec",
            "els => els.map(i => ({alt: i.alt, width: i.naturalWidth, height: i.naturalHeight, shown: i.height}))",
        )

    def play(self, i: int = 0):
        self.page.evaluate(f"() => document.querySelectorAll('{self.PLAYER} audio')[{i}].play()")

    def playhead(self, i: int = 0) -> float:
        """Where the playhead line is drawn, as a fraction of the plot's time axis."""
        return float(self.page.locator(f"{self.PLAYER} .vt-playhead").nth(i).get_attribute("data-fraction") or 0)

    def wait_for_message(self, text: str, timeout_ms: int = 30_000):
        self.page.get_by_text(text).first.wait_for(timeout=timeout_ms)


class SeparateTab(Tab):
    KEY = "separate"

    def record(self, seconds: float):
        """Record from the microphone (Chromium's fake device in tests) for ``seconds``."""
        import time

        box = self.page.locator("#vt-separate-input")
        box.locator("button[aria-label='Record audio']").click()
        box.locator("button:visible", has_text="Record").first.click()
        time.sleep(seconds)
        box.locator("button:visible", has_text="Stop").first.click()
        box.locator("audio[src^='blob:']").first.wait_for(state="attached")

    def wait_for_players(self, n: int = 4, timeout_ms: int = 90_000):
        self.page.wait_for_function(
            f"() => document.querySelectorAll('{self.PLAYER} audio').length === {n}", timeout=timeout_ms
        )

    def wait_for_audio_ready(self, timeout_ms: int = 30_000):
        """Every player's source loaded its metadata (so the server really serves it)."""
        self.page.wait_for_function(
            f"""() => [...document.querySelectorAll('{self.PLAYER} audio')]
                                        .every(a => a.currentSrc && a.readyState >= 1)""",
            timeout=timeout_ms,
        )

    def player_count(self) -> int:
        return self.page.locator(self.PLAYER).count()

    def audio(self) -> list[tuple[str, float]]:
        return self.page.eval_on_selector_all(f"{self.PLAYER} audio", "els => els.map(a => [a.currentSrc, a.duration])")

    def spectrograms(self):
        return self.page.locator(f"{self.PLAYER} img.vt-spec")

    def download_href(self, i: int = 0) -> str:
        return self.page.locator(f"{self.PLAYER} a.vt-download").nth(i).get_attribute("href")

    def zip_link(self, name: str):
        return self.link(name)

    def play(self, i: int = 0):
        self.page.evaluate(f"() => document.querySelectorAll('{self.PLAYER} audio')[{i}].play()")
        self.page.wait_for_function(f"() => !document.querySelectorAll('{self.PLAYER} audio')[{i}].paused")

    def pause(self, i: int = 0):
        self.page.evaluate(f"() => document.querySelectorAll('{self.PLAYER} audio')[{i}].pause()")

    def current_time(self, i: int = 0) -> float:
        return self.page.evaluate(f"() => document.querySelectorAll('{self.PLAYER} audio')[{i}].currentTime")

    def playhead_left_percent(self, i: int = 0) -> float:
        return self.page.locator(f"{self.PLAYER} .vt-playhead").nth(i).evaluate("e => parseFloat(e.style.left)")

    def click_spectrogram(self, i: int, fraction: float):
        """Click ``fraction`` of the way along the time axis of player ``i``'s spectrogram."""
        plot = self.page.locator(f"{self.PLAYER}").nth(i).locator(".vt-plot")
        plot.scroll_into_view_if_needed()
        box = plot.locator(".vt-track").bounding_box()
        self.page.mouse.click(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)


class TranscribeTab(Tab):
    """The Transcribe tab: one player (the MIDI played back over the piano roll) and the MIDI file."""

    NAME, KEY = "Transcribe", "transcribe"

    def choir(self, on: bool = True):
        box = self.page.locator("#vt-transcribe-parts input[type=checkbox]")
        box.set_checked(on)

    def wait_for_player(self, timeout_ms: int = 90_000):
        self.page.wait_for_function(f"() => document.querySelector('{self.PLAYER} audio') !== null", timeout=timeout_ms)
        self.page.wait_for_function(
            f"() => document.querySelector('{self.PLAYER} audio').readyState >= 1", timeout=timeout_ms
        )

    def summary(self) -> str:
        return self.page.inner_text("#vt-transcribe-players .vt-note")

    def audio(self):
        return self.page.eval_on_selector(f"{self.PLAYER} audio", "a => [a.currentSrc, a.duration]")

    def roll(self):
        return self.page.locator(f"{self.PLAYER} img.vt-spec")

    def midi_link(self, name: str):
        return self.link(name)


class ClassifyTab(Tab):
    """The Classify tab: top-k bars and, for long clips, a timeline of the label per window."""

    NAME, KEY, RESULT = "Classify", "classify", "#vt-classify-result"

    def wait_for_bars(self, timeout_ms: int = 60_000):
        self.page.wait_for_selector("#vt-classify-bars .vt-bar", timeout=timeout_ms)

    def bars(self) -> list[tuple[str, float, float]]:
        """(label, probability, drawn bar width in px) per bar, top first."""
        return self.page.eval_on_selector_all(
            "#vt-classify-bars .vt-bar",
            "els => els.map(e => [e.dataset.label, parseFloat(e.dataset.p),"
            " e.querySelector('.vt-bar-fill').getBoundingClientRect().width])",
        )

    def segments(self) -> list[tuple[str, float, float]]:
        """(label, start, drawn left edge in px) per timeline cell."""
        return self.page.eval_on_selector_all(
            "#vt-classify-timeline .vt-segment",
            "els => els.map(e => [e.dataset.label, parseFloat(e.dataset.start), e.getBoundingClientRect().left])",
        )

    def json_link(self, name: str):
        return self.link(name)


class VocalsTab(Tab):
    """The Vocals tab: two players (vocals, accompaniment) and a zip of both."""

    NAME, KEY = "Vocals", "vocals"

    def wait_for_players(self, timeout_ms: int = 90_000):
        self.wait_for_ready_players(2, timeout_ms)

    def zip_link(self, name: str):
        return self.link(name)


class DiarizeTab(Tab):
    """The Diarize tab: the conversation's player with one coloured row per speaker under it."""

    NAME, KEY = "Diarize", "diarize"

    def wait_for_timeline(self, timeout_ms: int = 90_000):
        self.page.wait_for_selector(f"{self.PLAYER} #vt-diarize-timeline .vt-speaker-row", timeout=timeout_ms)

    def rows(self) -> list[str]:
        return self.page.eval_on_selector_all(
            "#vt-diarize-timeline .vt-speaker-row", "els => els.map(e => e.dataset.speaker)"
        )

    def turns(self) -> list[tuple[str, float, str]]:
        """(speaker, start s, drawn colour) per bar."""
        return self.page.eval_on_selector_all(
            "#vt-diarize-timeline .vt-turn",
            "els => els.map(e => [e.dataset.speaker, parseFloat(e.dataset.start), "
            "getComputedStyle(e).backgroundColor])",
        )

    def bar_box(self, i: int):
        return self.page.locator("#vt-diarize-timeline .vt-turn").nth(i).bounding_box()

    def spectrogram_box(self):
        """The spectrogram's time axis (the plot area inside the image)."""
        return self.page.locator(f"{self.PLAYER} .vt-plot .vt-track").bounding_box()

    def rows_box(self):
        return self.page.locator(f"{self.PLAYER} .vt-rows").bounding_box()

    def rttm_link(self, name: str):
        return self.link(name)


class PronounceTab(Tab):
    """The Pronounce tab: a sentence, its reference, the learner's upload, the per-syllable table."""

    NAME, KEY, RESULT = "Pronounce", "pronounce", "#vt-pronounce-result"

    def type_text(self, text: str):
        box = self.page.locator("#vt-pronounce-text textarea")
        box.fill(text)

    def reference(self):
        self.page.click("#vt-pronounce-reference-run")

    def wait_for_reference(self, timeout_ms: int = 60_000):
        self.page.wait_for_selector("#vt-pronounce-pinyin .vt-pinyin", timeout=timeout_ms)
        self.page.wait_for_selector(
            "#vt-pronounce-reference audio, #vt-pronounce-reference [data-testid='waveform-x']",
            state="attached",
            timeout=timeout_ms,
        )

    def pinyin(self) -> list[str]:
        return self.page.eval_on_selector_all(
            "#vt-pronounce-pinyin .vt-pinyin", "els => els.map(e => e.dataset.pinyin)"
        )

    def upload(self, path):
        """The microphone is the box's first source; switch it to upload, then give the file."""
        box = self.page.locator("#vt-pronounce-input")
        box.locator("button[aria-label='Upload file']").click()
        box.locator("input[type=file]").set_input_files(str(path))

    def wait_for_table(self, timeout_ms: int = 90_000):
        self.page.wait_for_selector("#vt-pronounce-table .vt-syllable", timeout=timeout_ms)

    def rows(self) -> list[tuple[int, int, bool]]:
        """(expected tone, heard tone, ok) per syllable row."""
        return [
            (int(e), int(h), o == "1")
            for e, h, o in self.page.eval_on_selector_all(
                "#vt-pronounce-table .vt-syllable",
                "els => els.map(e => [e.dataset.expected, e.dataset.heard, e.dataset.ok])",
            )
        ]

    def plot(self):
        return self.page.locator("#vt-pronounce-plot img")

    def file_link(self, name: str):
        return self.link(name)


class RevoiceTab(Tab):
    """The Re-voice tab: a target per part, two players (before, after) and the re-voiced WAV."""

    NAME, KEY = "Re-voice", "revoice"

    def set_target(self, part: str, target: str):
        box = self.page.locator(f"#vt-revoice-{part} input")
        box.click()
        box.fill(target)
        box.press("Enter")

    def wait_for_players(self, timeout_ms: int = 90_000):
        self.wait_for_ready_players(2, timeout_ms)

    def titles(self) -> list[str]:
        return self.page.eval_on_selector_all(f"{self.PLAYER} .vt-name", "els => els.map(e => e.textContent)")

    def captions(self) -> list[str]:
        return self.page.eval_on_selector_all(f"{self.PLAYER} .vt-caption", "els => els.map(e => e.textContent)")

    def file_link(self, name: str):
        return self.link(name)
