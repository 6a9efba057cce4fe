"""voicetools: offline music and voice tools — one install, the same verbs in Python, CLI and app.

>>> import voicetools as vt
>>> stems = vt.separate("choir.wav")          # doctest: +SKIP
"""

from .checkpoints import available_models, load_model
from .classify import ClassificationResult, classify
from .diarize import DiarizationResult, diarize
from .errors import AudioLoadError, ModelLoadError, ParameterError, VoicetoolsError
from .pronounce import PronunciationResult, pronounce
from .revoice import RevoiceResult, revoice
from .separation import SeparationResult, separate, separate_file
from .transcribe import TranscriptionResult, transcribe
from .version import __version__
from .vocals import extract_vocals, extract_vocals_file

__all__ = [
    "__version__",
    "available_models",
    "load_model",
    "separate",
    "separate_file",
    "SeparationResult",
    "VoicetoolsError",
    "AudioLoadError",
    "ModelLoadError",
    "ParameterError",
    "classify",
    "ClassificationResult",
    "transcribe",
    "TranscriptionResult",
    "extract_vocals",
    "extract_vocals_file",
    "diarize",
    "DiarizationResult",
    "revoice",
    "RevoiceResult",
    "pronounce",
    "PronunciationResult",
]
