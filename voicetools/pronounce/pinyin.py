"""Chinese text → syllables with tone numbers, tone sandhi applied (3-3, 一, 不).

pypinyin gives each character its dictionary reading in context (polyphones such as 行, 了, 得 are
read from its phrase dictionary; neutral tones come out as 5). Its own ``tone_sandhi`` option only
looks inside one segmented word (so 我很好 stays wo3 hen3 hao3), so the sandhi rules are applied
here over each phrase (text between punctuation marks), as a learner speaks it:

* 3-3: in a run of third tones, every syllable but the last is said as tone 2
  (你好 ni3 hao3 → ni2 hao3; 我很好 → wo2 hen2 hao3, the usual classroom rule);
* 不 bu4 before a tone-4 syllable is bu2 (不是 bu2 shi4), otherwise bu4;
* 一 yi1 before tone 4 is yi2 (一个 yi2 ge4), before tones 1-3 yi4 (一天 yi4 tian1, 一千 yi4 qian1);
  at the end of a phrase, after 第 or a numeral, or before a digit it keeps tone 1 (第一, 十一, 一二三).

>>> [s.pinyin for s in text_to_syllables("你好，我很好。")]
['ni2', 'hao3', 'wo2', 'hen2', 'hao3']
>>> [s.pinyin for s in text_to_syllables("一个不是")]
['yi2', 'ge4', 'bu2', 'shi4']
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ..errors import ParameterError

MAX_SYLLABLES = 50  # one or two sentences: a reading of them fits well inside the 60 s a recording may last
NUMERALS = set("零〇一二两三四五六七八九十百千万亿")
DIGITS = set("零〇一二三四五六七八九十幺")  # counted one by one (一二三, 十一); 一千 and 一百 still change
# characters that end a phrase (a breath group): Chinese and ASCII punctuation
_PHRASE_BREAK = set("，。！？；：、,.!?;:…—～~（）()《》「」『』“”\"'‘’·-")


def is_han(ch: str) -> bool:
    """A CJK ideograph (the unified block and its extensions, compatibility ideographs)."""
    return unicodedata.category(ch) == "Lo" and (
        "\u3400" <= ch <= "\u4dbf"
        or "\u4e00" <= ch <= "\u9fff"
        or "\uf900" <= ch <= "\ufaff"
        or "\U00020000" <= ch <= "\U0003134f"
    )


@dataclass
class Syllable:
    """One character read as one syllable.

    ``pinyin`` is the spoken form with its tone number (after sandhi), ``base_pinyin`` the
    dictionary form; ``tone`` 1-4, or 5 for the neutral tone; ``phrase`` counts punctuation-separated
    phrases from 0; ``sandhi`` names the rule that changed the tone ("3-3", "yi", "bu") or is None.
    """

    hanzi: str
    pinyin: str
    base_pinyin: str
    phrase: int
    sandhi: str | None = None

    @property
    def tone(self) -> int:
        return tone_of(self.pinyin)

    @property
    def base_tone(self) -> int:
        return tone_of(self.base_pinyin)

    @property
    def marked(self) -> str:
        """The syllable with a tone mark (ní, hǎo), as a learner reads it in a textbook."""
        from pypinyin.contrib.tone_convert import to_tone

        return to_tone(self.pinyin) if self.tone != 5 else self.pinyin[:-1]

    def to_dict(self) -> dict:
        return {
            "hanzi": self.hanzi,
            "pinyin": self.pinyin,
            "tone": self.tone,
            "base_pinyin": self.base_pinyin,
            "phrase": self.phrase,
            "sandhi": self.sandhi,
        }


def tone_of(pinyin: str) -> int:
    m = re.search(r"([1-5])$", pinyin)
    return int(m.group(1)) if m else 5


def _with_tone(pinyin: str, tone: int) -> str:
    return re.sub(r"[1-5]?$", str(tone), pinyin, count=1)


def apply_sandhi(hanzi: list[str], pinyins: list[str]) -> list[tuple[str, str | None]]:
    """Sandhi over one phrase: dictionary readings (with tone numbers) → (spoken reading, rule)."""
    out: list[tuple[str, str | None]] = [(p, None) for p in pinyins]
    n = len(pinyins)
    tones = [tone_of(p) for p in pinyins]
    # 一 and 不 first: their new tones are what the 3-3 rule then sees
    for i, ch in enumerate(hanzi):
        nxt = tones[i + 1] if i + 1 < n else None
        if ch == "不" and tones[i] in (2, 4) and nxt is not None and nxt != 5:
            t = 2 if nxt == 4 else 4
            if t != tones[i]:
                tones[i], out[i] = t, (_with_tone(pinyins[i], t), "bu")
        elif ch == "一" and nxt is not None and nxt != 5:
            prev = hanzi[i - 1] if i else ""
            if prev == "第" or prev in NUMERALS or hanzi[i + 1] in DIGITS:
                continue  # ordinal or part of a number: yi1
            t = 2 if nxt == 4 else 4
            if t != tones[i]:
                tones[i], out[i] = t, (_with_tone(pinyins[i], t), "yi")
    i = 0
    while i < n:  # runs of third tones: all but the last become tone 2
        if tones[i] != 3:
            i += 1
            continue
        j = i
        while j + 1 < n and tones[j + 1] == 3:
            j += 1
        for k in range(i, j):
            tones[k], out[k] = 2, (_with_tone(out[k][0], 2), "3-3")
        i = j + 1
    return out


def text_to_syllables(text: str) -> list[Syllable]:
    """Syllables of a Chinese sentence, tone sandhi applied; punctuation splits phrases.

    Raises ``ParameterError`` for empty text, text with no Chinese characters, letters or digits
    (write numbers as characters: 三 not 3), or more than ``MAX_SYLLABLES`` syllables.
    """
    from pypinyin import Style, lazy_pinyin

    if text is None or not str(text).strip():
        raise ParameterError("the text is empty; type a Chinese sentence, e.g. --text '你好'")
    text = unicodedata.normalize("NFKC", str(text)).strip()
    if not any(is_han(ch) for ch in text):
        raise ParameterError(
            f"{text[:40]!r} has no Chinese characters; type the sentence in Chinese characters (汉字), e.g. '你好'"
        )
    bad = [ch for ch in text if not (is_han(ch) or ch.isspace() or ch in _PHRASE_BREAK)]
    if bad:
        shown = "".join(dict.fromkeys(bad))[:20]
        if all(ch.isdigit() for ch in bad):
            raise ParameterError(f"the text has digits ({shown!r}); write numbers in characters (三, not 3)")
        if all(ch.isascii() and ch.isalpha() for ch in bad):
            words = " ".join(re.findall(r"[A-Za-z]+", text))[:30]
            raise ParameterError(
                f"the text has Latin letters ({words!r}); the trainer reads Chinese characters "
                "only: write names in characters (汤姆 for Tom) or leave them out"
            )
        raise ParameterError(
            f"the text has characters that are not Chinese ({shown!r}); use Chinese characters "
            "(汉字) and punctuation only"
        )
    phrases, cur = [], []
    for ch in text:
        if is_han(ch):
            cur.append(ch)
        elif ch in _PHRASE_BREAK and cur:
            phrases.append(cur)
            cur = []
    if cur:
        phrases.append(cur)
    n = sum(len(p) for p in phrases)
    if n > MAX_SYLLABLES:
        raise ParameterError(
            f"the text has {n} syllables; practise at most {MAX_SYLLABLES} at a time (one or two sentences)"
        )
    out = []
    for k, chars in enumerate(phrases):
        base = lazy_pinyin("".join(chars), style=Style.TONE3, neutral_tone_with_five=True)
        if len(base) != len(chars):  # pypinyin gives one reading per ideograph; anything else is a bug
            raise ParameterError(f"could not read {''.join(chars)!r} as one syllable per character")
        unknown = [ch for ch, b in zip(chars, base) if not re.fullmatch(r"[a-zü]+[1-5]", b)]
        if unknown:
            raise ParameterError(f"no Mandarin reading is known for {''.join(unknown)!r}; use common characters")
        # 一 and 不 by their own tone: pypinyin's phrase dictionary already has some sandhi forms (一个 yi2)
        base = [
            {"一": "yi1", "不": "bu4"}.get(ch, b) if b[:-1] in ("yi", "bu") and b[-1] != "5" else b
            for ch, b in zip(chars, base)
        ]
        for ch, b, (p, rule) in zip(chars, base, apply_sandhi(chars, base)):
            out.append(Syllable(ch, p, b, k, rule))
    return out
