"""Mandarin pronunciation trainer: per-syllable tone and timing feedback on a learner's recording.

    text ──pypinyin + sandhi──▶ syllables ──▶ initials and finals (``units``)
    learner audio ──log-mel (shared front-end) ──mandarin-aligner + forced alignment──▶ syllable spans,
        and whether the recording is a reading of the text at all (``acoustic``)
    learner audio ──Praat F0 (semitones re. the speaker's median) and energy──▶ per-syllable features
        ──tone-net over the utterance's syllables──▶ tone probabilities (``tones``)
    text ──TTS, one syllable at a time──▶ reference to listen to; its spans ──▶ timing against the learner's
    tone probability + timing ──▶ scores and hints

>>> import voicetools as vt
>>> res = vt.pronounce("你好", "me.wav")            # doctest: +SKIP
>>> print(res.format_table())                       # doctest: +SKIP
"""

from .pinyin import Syllable, text_to_syllables
from .pronounce import (
    DEFAULT_ALIGNER,
    DEFAULT_MODEL,
    MAX_DURATION_S,
    PronunciationResult,
    SyllableFeedback,
    cached_model,
    is_reading,
    pronounce,
    reference_voice,
)
from .tts import EspeakNG, TTSBackend, get_backend, synthesize_reference

__all__ = [
    "pronounce",
    "PronunciationResult",
    "SyllableFeedback",
    "Syllable",
    "text_to_syllables",
    "TTSBackend",
    "EspeakNG",
    "get_backend",
    "synthesize_reference",
    "DEFAULT_MODEL",
    "DEFAULT_ALIGNER",
    "MAX_DURATION_S",
    "cached_model",
    "is_reading",
    "reference_voice",
]
