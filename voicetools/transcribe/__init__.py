"""Voice to MIDI: a sung melody in, notes out — or a choir in, one MIDI track per voice.

The model (``Voice2Midi``, 8 kHz mono log-mel → per-frame pitch, onset and offset activations)
runs over fixed chunks with context on both sides that is trimmed away, so memory does not grow
with the input's length. Activations are decoded into notes (``decoding.decode``), velocities
come from the loudness of each note's attack, and ``parts=True`` first separates a choir with the
SATB model and transcribes each voice on its own.
"""

from .decoding import NoteEvent
from .midi import write_midi
from .transcribe import (
    CHUNK_S,
    CONTEXT_S,
    DEFAULT_MODEL,
    Callback,
    TranscriptionResult,
    activations,
    transcribe,
    transcribe_track,
)

__all__ = [
    "transcribe",
    "TranscriptionResult",
    "NoteEvent",
    "write_midi",
    "DEFAULT_MODEL",
    "transcribe_track",
    "activations",
    "CHUNK_S",
    "CONTEXT_S",
    "Callback",
]
