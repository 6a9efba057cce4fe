"""Vocal extraction with Demucs: ``extract_vocals`` (arrays) and ``extract_vocals_file`` (streaming file → files)."""

from .extract import DEFAULT_MODEL, STEMS, extract_vocals, extract_vocals_file
from .model import load_vocal_model, official_names

__all__ = ["DEFAULT_MODEL", "STEMS", "extract_vocals", "extract_vocals_file", "load_vocal_model", "official_names"]
