"""Speaker diarization — who spoke when — offline.

>>> import voicetools as vt
>>> result = vt.diarize("meeting.wav")                 # doctest: +SKIP
>>> for turn in result.turns: print(turn)              # doctest: +SKIP
Turn(start_s=0.5, end_s=3.03, speaker='SPEAKER_00')
>>> result.save_rttm("meeting.rttm")                   # doctest: +SKIP

Speech detection (Silero VAD, shipped in its wheel) and the speaker encoder (Resemblyzer's GE2E
d-vector model, converted to ``checkpoints/speaker-resemblyzer``) sit behind small interfaces:
``vad=`` takes any callable ``audio_16k -> [(start_s, end_s)]`` and ``encoder=`` any module with
``embed_variable(list of 16 kHz clips) -> (n, dim) unit embeddings``.
"""

from .diarize import BLOCK_S, DEFAULT_ENCODER, TARGET_DBFS, DiarizationResult, Turn, diarize, read_rttm
from .pipeline import Settings

__all__ = ["diarize", "DiarizationResult", "Turn", "read_rttm", "Settings", "DEFAULT_ENCODER", "BLOCK_S", "TARGET_DBFS"]
