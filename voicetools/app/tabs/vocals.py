"""The Vocals tab: a song in, vocals and accompaniment out, each with a spectrogram player, a
download link, and a zip of both (the shared stems tab, ``tabs/stems.py``). The model is
``AppSettings.models["vocals"]`` when set, else the shipped ``vocals-htdemucs-small``."""

from ...vocals import DEFAULT_MODEL, extract_vocals
from ..registry import TabSpec
from .stems import StemsTab, build_stems_tab, run_stems

TASK = "vocals"


def _extract(path, *, model, callback):
    return extract_vocals(path, model=model, callback=callback)


VOCALS = StemsTab(
    key="vocals",
    task=TASK,
    run=_extract,
    titles={"vocals": "Vocals", "accompaniment": "Accompaniment"},
    input_label="Song",
    button="Extract vocals",
    help="Upload or record a song and press **Extract vocals**, or click the example: you get the vocals and the "
    "accompaniment (the song minus the vocals), in the song's sample rate and channels. {limits} "
    "Model: `{model}` (Demucs). Click a spectrogram, or focus it and use the arrow keys, to jump there.",
    zip_text="Download both stems",
    zip_suffix="vocals",
    placeholder=(
        "Vocals and accompaniment appear here, each with its spectrogram and a player: upload or record "
        "a song, or pick the example, then press Extract vocals."
    ),
    progress="Extracting vocals: segment {done} of {total}",
    done="vocals extracted",
    error_title="Cannot extract vocals from this audio",
    fake_stems="vocals are not real vocals",
)


def run_vocals(ctx, audio_path, *, session=None, progress=None):
    """Extract the vocals of one upload; returns ``(players_html, zip_path, notes)``."""
    return run_stems(ctx, VOCALS, audio_path, session=session, progress=progress)


def build(ctx):
    ctx.settings.models.setdefault(TASK, DEFAULT_MODEL)
    ctx.model(TASK)  # load now: a wrong model fails before the server starts
    build_stems_tab(ctx, VOCALS)


TAB = TabSpec(key="vocals", title="Vocals", build=build)
