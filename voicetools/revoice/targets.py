"""What each part becomes: the ``--map`` grammar, parsed and checked before any compute.

``PART=TARGET[:SHIFT]``

- PART: a part of the input — ``soprano``, ``alto``, ``tenor``, ``bass`` for a choir (the separation
  model's sources), or the ``voice`` named for a solo input.
- TARGET, one of
  - a voice type, ``soprano`` / ``alto`` / ``tenor`` / ``bass``: the same singer re-voiced by Praat
    (PSOLA) with that voice type's formant position (see ``VOICE_FORMANT_SCALE``), then each frame's
    envelope moved to that voice type's formant pattern for the vowel sung (``colour``) — the character;
  - a timbre model, ``synth-choir`` or ``timbre-synth-choir`` (``voicetools models --task timbre``),
    or a timbre checkpoint folder (``voicetools train timbre``): the learned DDSP decoder resynthesises
    the part from its F0 and loudness;
  - ``gm:PROGRAM``: the part is transcribed to notes and played by a General MIDI program
    (0–127 or a name such as ``gm:clarinet``) through FluidSynth;
  - ``singing``: the notes sung by the project's singing synthesizer in the part's voice type;
  - ``keep``: unchanged (the default for parts not mapped).
- SHIFT: the transposition, ``+3``, ``-12``, ``+0`` (semitones, decimals allowed) or ``-50c`` (cents).
  Without it a voice-type target moves the part by whole octaves into the target voice's range
  (soprano → tenor sings an octave down, as tenors sing a soprano line); every other target keeps
  the pitch. ``--pitch`` adds to every part's shift.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..checkpoints import available_models
from ..data.chorales import VOICE_RANGES  # comfortable ranges: the default octave of a voice-type target
from ..errors import ParameterError

VOICE_TYPES = ("soprano", "alto", "tenor", "bass")
# Formant position of each voice type relative to a bass: adult female formants lie some 15-20 %
# above male ones (Peterson & Barney 1952), and within a sex the higher voice type's formants are a
# few per cent higher (Cleveland 1977, Sundberg 1987). Re-voicing A → B scales the envelope by B / A.
VOICE_FORMANT_SCALE = {"soprano": 1.20, "alto": 1.15, "tenor": 1.05, "bass": 1.0}

KINDS = ("keep", "voice", "timbre", "gm", "singing")


@dataclass(frozen=True)
class Target:
    """One part's target: ``kind`` (keep, voice, timbre, gm, singing), its ``name`` (voice type, timbre
    model name or path, GM program number) and the explicit shift in semitones (None: the default)."""

    kind: str
    name: str | int | None = None
    semitones: float | None = None

    def label(self) -> str:
        base = {"keep": "keep", "singing": "singing", "gm": f"gm:{self.name}"}.get(self.kind, str(self.name))
        return base if self.semitones is None else f"{base}:{self.semitones:+g}"


def parse_shift(text: str) -> float:
    t = text.strip().lower()
    try:
        return float(t[:-1]) / 100.0 if t.endswith("c") else float(t)
    except ValueError:
        raise ParameterError(f"bad shift {text!r}: give semitones like +3, -12, +0.5 or cents like -50c") from None


GAIN_DB_RANGE = (-60.0, 24.0)  # a remix gain beyond these is a typo (and 10**(dB/20) overflows soon after)


def check_gain_db(part: str, value) -> float:
    g = float(value)
    lo, hi = GAIN_DB_RANGE
    if not lo <= g <= hi:  # also refuses nan
        raise ParameterError(f"gain {g:g} dB for {part} is outside {lo:g}..{hi:g} dB (--gain {part}=DB)")
    return g


def gm_program(text: str) -> int:
    """``"71"`` or ``"clarinet"`` / ``"Choir Aahs"`` → a 0-based General MIDI program."""
    import pretty_midi

    t = text.strip()
    if not t:
        raise ParameterError("gm: needs a program: 0-127 or a name such as gm:clarinet, gm:violin, gm:choir_aahs")
    if t.isdigit():
        p = int(t)
        if 0 <= p <= 127:
            return p
        raise ParameterError(f"gm:{t}: General MIDI programs are 0-127")
    names = [pretty_midi.program_to_instrument_name(i) for i in range(128)]
    for i, n in enumerate(names):
        if n.lower() == t.lower().replace("_", " ") or n.lower().replace(" ", "") == t.lower().replace("_", ""):
            return i
    # a part of a name (gm:sax, gm:trumpet) picks its first program; one or two letters match too much
    matches = [i for i, n in enumerate(names) if len(t) >= 3 and t.lower() in n.lower()]
    if matches:
        return matches[0]
    raise ParameterError(
        f"gm:{t}: no such General MIDI program; give 0-127 or a name such as gm:clarinet, gm:violin, gm:choir_aahs"
    )


def timbre_names() -> list[str]:
    return available_models("timbre")


def parse_target(text: str) -> Target:
    """``tenor:+0`` → Target("voice", "tenor", 0.0); checks names against what is installed."""
    body, shift = text, None
    if ":" in text and not text.lower().startswith("gm:") or text.lower().startswith("gm:") and text.count(":") > 1:
        body, _, s = text.rpartition(":")
        shift = parse_shift(s)
    name = body.strip()
    low = name.lower()
    if low in VOICE_TYPES:
        return Target("voice", low, shift)
    if low == "keep":
        return Target("keep", None, shift)
    if low == "singing":
        return Target("singing", None, shift)
    if low.startswith("gm:"):
        return Target("gm", gm_program(name[3:]), shift)
    timbres = timbre_names()
    for candidate in (name, f"timbre-{name}"):
        if candidate in timbres:
            return Target("timbre", candidate, shift)
    if name and Path(name).expanduser().is_dir():
        return Target("timbre", str(Path(name).expanduser()), shift)
    raise ParameterError(
        f"unknown target {name!r}; choose a voice type ({', '.join(VOICE_TYPES)}), a timbre "
        f"({', '.join(timbres) or 'none installed'}), gm:<program>, singing or keep"
    )


def parse_map(specs, parts: list[str]) -> dict[str, Target]:
    """``["soprano=tenor:+0", ...]`` or ``{"soprano": "tenor:+0"}`` → ``{part: Target}``; unknown parts or
    targets raise ``ParameterError`` naming the valid ones."""
    items = list(specs.items()) if isinstance(specs, dict) else []
    if not isinstance(specs, dict):
        for spec in specs or []:
            part, eq, target = str(spec).partition("=")
            if not eq or not part.strip() or not target.strip():
                raise ParameterError(f"bad --map {spec!r}: write PART=TARGET[:SHIFT], e.g. soprano=tenor:+0")
            items.append((part, target))
    out = {}
    for part, target in items:
        p = str(part).strip().lower()
        if p not in parts:
            raise ParameterError(f"unknown part {part!r}; this input's parts are: {', '.join(parts)}")
        if p in out:
            raise ParameterError(f"part {p!r} is mapped twice")
        out[p] = target if isinstance(target, Target) else parse_target(str(target))
    return out


def default_octaves(part_median_midi: float | None, target_voice: str) -> float:
    """Whole octaves that move a part's median pitch closest to the middle of ``target_voice``'s range."""
    if part_median_midi is None:
        return 0.0
    lo, hi = VOICE_RANGES[target_voice]
    return 12.0 * round(((lo + hi) / 2 - part_median_midi) / 12.0)


def formant_factor(source_voice: str | None, target_voice: str) -> float:
    """Envelope scale for ``source_voice`` → ``target_voice`` (1.0 when the source's type is unknown)."""
    if source_voice not in VOICE_FORMANT_SCALE:
        return 1.0
    return VOICE_FORMANT_SCALE[target_voice] / VOICE_FORMANT_SCALE[source_voice]
