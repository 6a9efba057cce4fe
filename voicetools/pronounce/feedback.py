"""Plain-language feedback: what each tone should sound like, timing notes, and the scores.

>>> tone_hint(3, 1)
'tone 3 should dip low before rising; yours stayed high and level (like tone 1)'
"""

from __future__ import annotations

import numpy as np

TONE_NAMES = {1: "high and level", 2: "rising", 3: "low, dipping", 4: "falling", 5: "neutral (short and light)"}
SHOULD = {
    1: "tone 1 should stay high and level",
    2: "tone 2 should rise from the middle to the top of your voice",
    3: "tone 3 should dip low before rising",
    4: "tone 4 should fall sharply from high to low",
    5: "a neutral tone should be short and light, with no contour of its own",
}
HEARD = {1: "stayed high and level", 2: "rose", 3: "dipped", 4: "fell", 5: "was short and flat"}
# a syllable's duration relative to the reference (after removing the overall tempo difference):
# wide, because espeak-ng's syllable-by-syllable rhythm is far from a native's (benchmarks/pronounce.py
# reports how often native syllables still get a note)
TOO_SHORT, TOO_LONG = 0.25, 2.0
PAUSE_S = 0.25  # a silence this long inside a phrase is a pause the reference does not have


def tone_hint(expected: int, heard: int) -> str:
    if expected == heard:
        return ""
    return (
        f"{SHOULD[expected]}; yours {HEARD[heard]} (like tone {heard})"
        if heard != 5
        else f"{SHOULD[expected]}; yours was short and flat (like a neutral tone)"
    )


def tone_score(probabilities: np.ndarray, expected: int) -> float:
    """0-100: the classifier's probability of the expected tone, with the neutral tone forgiving —
    a neutral syllable takes its pitch from its neighbours, so any short light syllable will do."""
    p = float(probabilities[expected - 1])
    if expected == 5:
        p = max(p, 0.5 * (1.0 - float(np.max(probabilities[:4]))) + 0.5 * p)
    return 100.0 * p


def timing_notes(ratios: list[float], gaps_before_s: list[float], same_phrase: list[bool]) -> list[str]:
    """One note per syllable: too short / too long against the reference, or a pause before it."""
    notes = []
    for r, g, same in zip(ratios, gaps_before_s, same_phrase):
        parts = []
        if same and g > PAUSE_S:
            parts.append(f"pause of {g:.2f} s before it")
        if r < TOO_SHORT:
            parts.append("too short")
        elif r > TOO_LONG:
            parts.append("too long")
        notes.append(", ".join(parts))
    return notes


def timing_score(ratio: float, gap_before_s: float, same_phrase: bool) -> float:
    """0-100: 100 when the syllable's relative duration matches the reference, less for each factor
    of two off, and less for a pause inside a phrase."""
    s = 100.0 * float(np.exp(-1.2 * abs(np.log(max(ratio, 1e-3)))))
    if same_phrase and gap_before_s > PAUSE_S:
        s *= max(0.5, 1.0 - (gap_before_s - PAUSE_S))
    return s
