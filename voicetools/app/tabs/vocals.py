"""The Vocals tab: a song in, vocals and accompaniment out, each with a spectrogram player, a
download link, and a zip of both (the shared stems tab, ``tabs/stems.py``). The model is
``AppSettings.models["vocals"]`` when set, else the shipped ``vocals-htdemucs-small``."""

from ..registry import TabSpec
from .stems import StemsTab, build_stems_tab, run_stems

TASK = "vocals"


def _extract(path, *, model, callback):
    from ...vocals import extract_vocals

    return extract_vocals(path, model=model, callback=callback)


VOCALS = StemsTab(
    key="vocals", task=TASK, run=_extract, titles={"vocals": "Vocals", "accompaniment": "Accompaniment"},
    input_label="Song", button="Extract vocals", examples_label="Examples: one click extracts the vocals",
    help="Upload or record a song and press **Extract vocals**: you get the vocals and the accompaniment "
         "(the song minus the vocals), in the song's sample rate and channels. {limits} "
         "Model: `{model}` (Demucs). Click a spectrogram to jump there.",
    zip_label="Vocals and accompaniment (zip)", zip_suffix="vocals",
    placeholder=('<p class="vt-note">Vocals and accompaniment appear here, each with its spectrogram and a '
                 'player: upload or record a song, or pick an example, then press Extract vocals.</p>'),
    progress="Extracting vocals: segment {done} of {total}", done="vocals extracted",
    error_title="Cannot extract vocals from this audio", fake_stems="vocals are not real vocals")


def run_vocals(ctx, audio_path, *, session=None, progress=None):
    """Extract the vocals of one upload; returns ``(players_html, zip_path, notes)``."""
    return run_stems(ctx, VOCALS, audio_path, session=session, progress=progress)


def build(ctx):
    from ...vocals import DEFAULT_MODEL

    ctx.settings.models.setdefault(TASK, DEFAULT_MODEL)
    ctx.model(TASK)  # load now: a wrong model fails before the server starts
    build_stems_tab(ctx, VOCALS)


TAB = TabSpec(key="vocals", title="Vocals", build=build)
