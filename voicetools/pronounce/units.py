"""Pinyin syllables → the acoustic units the aligner hears: initials and toneless finals.

Mandarin syllables are an optional initial consonant and a final (pypinyin's strict split:
``zhang`` → ``zh`` + ``ang``, ``yue`` → ``üe``, ``wo`` → ``uo``). The apical vowels of zi/ci/si
and zhi/chi/shi/ri are spelled ``i`` but sound nothing like the ``i`` of ``ji``; they get their own
units (``ii``, ``iii``), as in the usual Mandarin phone sets. Tones are not part of the units: the
tone classifier reads them from F0, so a learner with a wrong tone still aligns.
"""

from __future__ import annotations

import functools
import re

from .data import syllable_inventory

SILENCE = "sil"  # unit 0: pauses, leading and trailing silence, and (for CTC) the blank
INITIALS = ["b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "zh", "ch", "sh", "r", "z", "c", "s"]


def syllable_units(pinyin: str) -> list[str]:
    """``"zhang1"`` → ``["zh", "ang"]``; ``"a4"`` → ``["a"]`` (no initial). Tone digits are ignored."""
    from pypinyin.contrib.tone_convert import to_finals, to_initials

    base = re.sub(r"[1-5]$", "", pinyin).replace("ü", "v")
    initial = to_initials(base, strict=True)
    final = to_finals(base, strict=True).replace("ü", "v")
    if not final:  # syllabic nasals pypinyin reads for a few interjections (m, n, ng, hm): one unit for each place
        return ["syl_n" if base in ("n", "ng") else "syl_m"]
    if final == "i" and initial in ("z", "c", "s"):
        final = "ii"
    elif final == "i" and initial in ("zh", "ch", "sh", "r"):
        final = "iii"
    return [initial, final] if initial else [final]


@functools.lru_cache(maxsize=1)
def unit_inventory() -> list[str]:
    """Every unit, silence first: the initials, then the finals of every syllable pypinyin reads
    in the common CJK block (sorted, so the list is the same on every machine)."""
    finals = sorted({syllable_units(s)[-1] for s in syllable_inventory()} | {"syl_m", "syl_n"})
    return [SILENCE, *INITIALS, *finals]


def text_units(pinyins: list[str], inventory: list[str]) -> tuple[list[int], list[int]]:
    """Unit indices of a syllable sequence and, for each unit, the syllable it belongs to."""
    index = {u: i for i, u in enumerate(inventory)}
    units, owner = [], []
    for k, p in enumerate(pinyins):
        for u in syllable_units(p):
            units.append(index[u])
            owner.append(k)
    return units, owner
