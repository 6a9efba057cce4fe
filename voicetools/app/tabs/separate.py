"""The Separate tab: a choir recording in, four stems out (S, A, T, B), each with a spectrogram
player, a download link, and a zip of all four (the shared stems tab, ``tabs/stems.py``)."""

from ...separation import separate
from ..registry import TabSpec
from .stems import StemsTab, build_stems_tab, run_stems


def _separate(path, *, model, callback):
    return separate(path, model=model, callback=callback)


SEPARATE = StemsTab(
    key="separate",
    task="separation",
    run=_separate,
    titles={"soprano": "Soprano", "alto": "Alto", "tenor": "Tenor", "bass": "Bass"},
    input_label="Choir recording",
    button="Separate",
    help="Upload or record a choir (soprano, alto, tenor, bass) and press **Separate**, or click the example. "
    "{limits} Model: `{model}`. Click a spectrogram, or focus it and use the arrow keys, to jump there.",
    zip_text="Download all stems",
    zip_suffix="stems",
    placeholder=(
        "The four voices appear here, each with its spectrogram and a player: upload or record a choir, "
        "or pick the example, then press Separate."
    ),
    progress="Separating voices: chunk {done} of {total}",
    done="separated",
    error_title="Cannot separate this audio",
    fake_stems="stems are not real voices",
)


def run_separation(ctx, audio_path, *, session=None, progress=None):
    """Separate one upload; returns ``(players_html, zip_path, notes)`` (gradio-free: tests call it)."""
    return run_stems(ctx, SEPARATE, audio_path, session=session, progress=progress)


def build(ctx):
    build_stems_tab(ctx, SEPARATE)


TAB = TabSpec(key="separate", title="Separate", build=build, task="separation")
