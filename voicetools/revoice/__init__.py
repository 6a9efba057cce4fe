"""Re-voicing: keep the music — pitch, timing, dynamics — and change who sings it.

Pipeline: separate the choir into soprano/alto/tenor/bass (``vt.separate``; a solo named with
``voice=`` is taken as it is) → analyse each part (F0, voicing, loudness, spectral envelope:
``analysis``) → transform each part to its target (``targets`` documents the ``map`` grammar):
Praat PSOLA pitch/formant/breathiness (``vocoder``; a separated part is first combed on its own
F0 so that the other voices' bleed is not moved with it, and the separator's measured loss of that
voice type's upper harmonics is undone: ``separation_loss``) plus the target voice type's formant
pattern (``colour``), a learned DDSP timbre (``timbre``), or MIDI re-orchestration
(``orchestrate``) → match each new part's loudness to the original part's →
remix with per-part gains.
"""

from .revoice import (
    DEFAULT_SEPARATION_MODEL,
    DEFAULT_TRANSCRIPTION_MODEL,
    Callback,
    RevoiceResult,
    load_timbre,
    plan,
    revoice,
    timbre_target,
)
from .targets import VOICE_TYPES, Target, parse_target

__all__ = [
    "revoice",
    "RevoiceResult",
    "Target",
    "parse_target",
    "VOICE_TYPES",
    "plan",
    "timbre_target",
    "load_timbre",
    "DEFAULT_SEPARATION_MODEL",
    "DEFAULT_TRANSCRIPTION_MODEL",
    "Callback",
]
