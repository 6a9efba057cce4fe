#!/usr/bin/env python
"""Benchmark the Mandarin pronunciation trainer on REAL speech first, synthesized speech second.

    python benchmarks/pronounce.py                    # real held-out speaker + espeak-ng table (~15 min, 1 core)
    python benchmarks/pronounce.py --calibrate        # the score distributions the thresholds were chosen on
    python benchmarks/pronounce.py --quick            # a quarter of everything

Real speech: the AISHELL sample set in ``--corpus`` (default ``../shared/data/mandarin-aishell-sample``),
speaker S0252 — never heard by the aligner or the tone model (both trained on S0150). Its readings
are split by position: the odd ones calibrate (``--calibrate``: the thresholds in
``voicetools/pronounce/__init__.py`` were chosen from them), the even ones are reported. For each
reported reading, through ``vt.pronounce`` end to end:

* the reading with its own text: accepted? heard tone = the pypinyin+sandhi surface tone? flagged WRONG?
* the same recording with ONE syllable's F0 re-synthesised (Praat PSOLA) in another tone's shape:
  is exactly that syllable flagged?
* the recording given with another reading's text: refused?
Music and other sounds given as readings of the held-out sentences (refused?): MIR-1K clips
(``--mir1k``; real singing over real accompaniment at 0 dB, and the singing alone), Bach10's real
recorded quartets (``--bach10``), the bundled choir and song examples, white and pink noise.
Boundaries on real speech have no hand labels here: the table gives the agreement between the
aligner and the DTW-on-MFCC method it replaced; on espeak-ng speech (exact boundaries) both errors.

Without the corpus the real-speech part is skipped (said on stdout) and only the synthesized table runs.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, md_table, provenance  # noqa: E402

import voicetools as vt  # noqa: E402

pr = importlib.import_module("voicetools.pronounce.pronounce")  # the module (vt.pronounce is the verb)
from voicetools.audio.io import load_mono  # noqa: E402
from voicetools.pronounce import text_to_syllables  # noqa: E402
from voicetools.pronounce.data import VALID_SPEAKER as HELD_OUT  # noqa: E402
from voicetools.pronounce.tts import SAMPLE_RATE  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
SENTENCES = [
    "你好，我叫小明。",
    "我今天很高兴见到你。",
    "请问去火车站怎么走？",
    "他们明天要去北京旅游。",
    "这个菜太辣了，我不能吃。",
    "我们一起去看电影吧。",
    "你会说中文吗？",
    "昨天晚上下了一场大雨。",
    "妈妈在厨房做饭。",
    "学习汉语很有意思。",
    "他每天早上六点起床。",
    "请给我一杯热茶。",
]
# a tone's shape in semitones re. the speaker's median, over the syllable (t from 0 to 1)
SHAPES = {
    1: lambda t: 3.0 + 0 * t,
    2: lambda t: -1.5 + 5.0 * t**1.5,
    3: lambda t: -3.0 - 4.0 * np.sin(np.pi * t * 0.8),
    4: lambda t: 5.0 - 9.0 * t,
}


def percentiles(err) -> dict:
    e = np.asarray(err) * 1000
    return {
        "n_boundaries": int(len(e)),
        "median_ms": float(np.median(e)),
        "p90_ms": float(np.percentile(e, 90)),
        "within_20ms": float(np.mean(e <= 20)),
        "within_50ms": float(np.mean(e <= 50)),
    }


def run(text, x):
    """``vt.pronounce`` on samples; None when it refuses the reading."""
    try:
        return vt.pronounce(text, x, sample_rate=SAMPLE_RATE)
    except vt.VoicetoolsError:
        return None


def scores(text, x) -> dict:
    """The acceptance scores of a recording (whether or not it would be accepted)."""
    from voicetools.pronounce.acoustic import align_text

    syl = text_to_syllables(text)
    al = align_text(pr.cached_model(pr.DEFAULT_ALIGNER, "mandarin-aligner"), x, SAMPLE_RATE, [s.pinyin for s in syl])
    return {
        "mismatch": al.mismatch,
        "unexplained_s": al.unexplained_s,
        "longest_syllable_s": al.longest_syllable_s,
        "median_syllable_s": al.median_syllable_s,
    }


def swap_tone(x: np.ndarray, res, rng):
    """``x`` with one random toned syllable of ``res`` (at least 0.1 s) re-synthesised in another
    tone's shape around the speaker's median F0: (that syllable's row, audio), or None."""
    from voicetools.pronounce.data import replace_contour

    cand = [row for row in res.syllables if row.expected_tone != 5 and row.end_s - row.start_s >= 0.1]
    row = cand[int(rng.integers(len(cand)))]
    median_hz = float(np.exp(np.nanmedian(np.log(np.maximum(1.0, _f0(x))))))
    new = int(rng.choice([t for t in (1, 2, 3, 4) if t != row.expected_tone]))
    shape = SHAPES[new]
    try:
        y = replace_contour(
            x, SAMPLE_RATE, row.start_s, row.end_s, lambda t, f0: median_hz * 2 ** (float(shape(t)) / 12)
        )
    except ValueError:  # no voiced frame in the span
        return None
    return row, y


def overlap(a: str, b: str) -> float:
    sa, sb = [s.pinyin[:-1] for s in text_to_syllables(a)], [s.pinyin[:-1] for s in text_to_syllables(b)]
    return len(set(sa) & set(sb)) / max(1, min(len(set(sa)), len(set(sb))))


def held_out_readings(corpus: Path, quick: bool):
    from voicetools.data.mandarin import read_corpus

    readings = [r for r in read_corpus(corpus) if r.speaker == HELD_OUT]
    calib, report = readings[1::2], readings[0::2]
    return (calib[::4], report[::4]) if quick else (calib, report)


def other_sounds(half: int, quick: bool) -> list[tuple[str, np.ndarray]]:
    """(kind, 16 kHz mono samples): music, singing, instruments, noise; ``half`` 0 or 1 picks
    disjoint MIR-1K clips for calibration and report."""
    import soundfile as sf
    import soxr

    out = []
    mir = sorted((SHARED / "mir1k-dev" / "audio").glob("*.ogg"))[half::2][:: 6 if quick else 2][:60]
    for p in mir:
        y, sr = sf.read(p, dtype="float32")
        acc, voc = y[:, 0], y[:, 1]
        voc = voc * np.sqrt(np.mean(acc**2) / (np.mean(voc**2) + 1e-12))
        mix = soxr.resample(acc + voc, sr, SAMPLE_RATE)
        out += [
            ("song (MIR-1K)", 0.5 * mix / (np.abs(mix).max() + 1e-9)),
            ("singing alone (MIR-1K)", soxr.resample(0.5 * voc / (np.abs(voc).max() + 1e-9), sr, SAMPLE_RATE)),
        ]
    for folder in sorted((SHARED / "bach10-dev").glob("0*"))[half::2]:
        x, _ = load_mono(folder / f"{folder.name}.flac", SAMPLE_RATE)
        out += [("quartet (Bach10)", x[k * 12 * SAMPLE_RATE : (k + 1) * 12 * SAMPLE_RATE]) for k in (0, 1)]
    for name in ["choir.wav", "song.wav"][half::2] if not quick else []:
        x, _ = load_mono(ROOT / "examples" / name, SAMPLE_RATE)
        out.append((f"examples/{name}", x[: 15 * SAMPLE_RATE]))
    rng = np.random.default_rng(7 + half)
    for _ in range(2 if quick else 6):
        white = rng.standard_normal(5 * SAMPLE_RATE).astype(np.float32) * 0.05
        pink = np.cumsum(rng.standard_normal(5 * SAMPLE_RATE)).astype(np.float32)
        pink -= np.convolve(pink, np.ones(801) / 801, mode="same")
        out += [("noise", white), ("noise", 0.05 * pink / pink.std())]
    return out


def real_speech(corpus: Path, quick: bool, calibrate: bool) -> dict:
    calib, report = held_out_readings(corpus, quick)
    rng = np.random.default_rng(0)
    if calibrate:
        pos, neg, probs, ratios = [], [], [], []
        for k, r in enumerate(calib):
            x, _ = load_mono(r.path, SAMPLE_RATE)
            pos.append(scores(r.text, x))
            other = calib[(k + len(calib) // 2) % len(calib)]
            neg.append({"kind": "another sentence", **scores(other.text, x)})
        for i, (kind, x) in enumerate(other_sounds(0, quick)):
            neg.append({"kind": kind, **scores(["你好", SENTENCES[i % len(SENTENCES)]][i % 2], x)})
        saved = pr.is_reading
        pr.is_reading = lambda al: True
        swaps = []
        for r in calib:
            x, _ = load_mono(r.path, SAMPLE_RATE)
            res = run(r.text, x)
            if res is None:
                continue
            probs += [row.tone_score for row in res.syllables]
            ratios += [row.duration_ratio for row in res.syllables]
            swapped = swap_tone(x, res, rng)
            if swapped is not None:
                row, y = swapped
                bad = run(r.text, y)
                if bad is not None:
                    swaps.append(bad.syllables[row.index].tone_score)
        pr.is_reading = saved
        probs, swaps = np.array(probs), np.array(swaps)
        return {
            "positives": pos,
            "negatives": neg,
            "duration_ratio_percentiles": {str(q): float(np.percentile(ratios, q)) for q in (1, 2.5, 5, 95, 97.5, 99)},
            "wrong_below": {
                str(t): {"right_flagged": float(np.mean(probs < t)), "swaps_flagged": float(np.mean(swaps < t))}
                for t in (5, 10, 15, 20, 25, 30, 40, 50)
            },
        }

    out = {"speaker": HELD_OUT, "readings": len(report)}
    accepted = agree = n_syl = flagged = timing_noted = 0
    swap_n = swap_caught = swap_exact = 0
    results, conf = [], np.zeros((5, 5), int)
    for r in report:
        x, _ = load_mono(r.path, SAMPLE_RATE)
        res = run(r.text, x)
        results.append(res)
        if res is None:
            continue
        accepted += 1
        for row in res.syllables:
            n_syl += 1
            agree += row.heard_tone == row.expected_tone
            flagged += row.tone_ok is False
            timing_noted += bool(row.timing_note)
            conf[row.expected_tone - 1, row.heard_tone - 1] += 1
        swapped = swap_tone(x, res, rng)
        if swapped is None:
            continue
        row, y = swapped
        swap_n += 1
        bad = run(r.text, y)
        if bad is not None:
            wrong = [s.index for s in bad.wrong]
            swap_caught += row.index in wrong
            swap_exact += wrong == [row.index]
    refused_other = n_other = 0
    for k, r in enumerate(report):
        other = report[(k + len(report) // 2) % len(report)]
        if overlap(r.text, other.text) > 0.5:
            continue
        x, _ = load_mono(r.path, SAMPLE_RATE)
        n_other += 1
        refused_other += run(other.text, x) is None
    sounds = {}
    for i, (kind, x) in enumerate(other_sounds(1, quick)):
        text = ["你好", SENTENCES[i % len(SENTENCES)]][i % 2]
        n, refused = sounds.get(kind, (0, 0))
        sounds[kind] = (n + 1, refused + (run(text, x) is None))
    out.update(
        {
            "accepted": accepted / len(report),
            "tone_agreement": agree / max(1, n_syl),
            "syllables": n_syl,
            "right_syllables_flagged_wrong": flagged / max(1, n_syl),
            "syllables_with_a_timing_note": timing_noted / max(1, n_syl),
            "swaps": swap_n,
            "swap_caught_on_that_syllable": swap_caught / max(1, swap_n),
            "swap_only_that_syllable_flagged": swap_exact / max(1, swap_n),
            "other_sentence": {"n": n_other, "refused": refused_other / max(1, n_other)},
            "other_sounds": {k: {"n": n, "refused": f / n} for k, (n, f) in sounds.items()},
            "confusion": conf.tolist(),
        }
    )
    out["conditions"] = conditions(report[::5], np.random.default_rng(5))
    step = 1 if quick else 4
    out["boundaries_vs_dtw"] = dtw_agreement(report[::step][:40], results[::step][:40])
    return out


def conditions(readings, rng) -> dict:
    """The same readings as a phone or a room would record them: accepted? flagged?"""
    from scipy.signal import butter, sosfilt

    from voicetools.audio.augment import add_noise, reverberate, room_impulse_response

    phone = butter(4, [300, 3400], "bandpass", fs=SAMPLE_RATE, output="sos")
    make = {
        "white noise at 20 dB SNR": lambda x: add_noise(x, 20.0, rng),
        "white noise at 10 dB SNR": lambda x: add_noise(x, 10.0, rng),
        "room (RT60 0.6 s)": lambda x: reverberate(x, room_impulse_response(SAMPLE_RATE, rng, rt60_s=0.6)),
        "telephone band 300-3400 Hz": lambda x: sosfilt(phone, x).astype(np.float32),
    }
    out = {}
    for name, f in make.items():
        accepted = flagged = n = 0
        for r in readings:
            res = run(r.text, f(load_mono(r.path, SAMPLE_RATE)[0]))
            if res is not None:
                accepted += 1
                flagged += len(res.wrong)
                n += len(res.syllables)
        out[name] = {"n": len(readings), "accepted": accepted / len(readings), "flagged": flagged / max(1, n)}
    return out


def _f0(x):
    from voicetools.pronounce.pitch import f0_track

    f = f0_track(x, SAMPLE_RATE)
    return f[f > 0] if (f > 0).any() else np.array([150.0])


def dtw_agreement(readings, results) -> dict:
    """|aligner boundary − DTW boundary| on real readings (the DTW against the espeak reference)."""
    from voicetools.pronounce.align import align

    diffs = []
    for r, res in zip(readings, results):
        if res is None:
            continue
        x, _ = load_mono(r.path, SAMPLE_RATE)
        d = align(res.reference.samples, x, SAMPLE_RATE, res.reference.spans_s)
        for s, (da, db) in zip(res.syllables, d.spans_s):
            diffs += [abs(s.start_s - da), abs(s.end_s - db)]
    return percentiles(diffs) if diffs else {}


def synthesized(quick: bool) -> dict:
    """espeak-ng readers with held-out voices (``data.test_voice``): exact boundaries, wrong tones."""
    from voicetools.pronounce.acoustic import align_text
    from voicetools.pronounce.align import align
    from voicetools.pronounce.data import synthesize, test_voice
    from voicetools.pronounce.pinyin import Syllable

    rng = np.random.default_rng(300)
    aligner = pr.cached_model(pr.DEFAULT_ALIGNER, "mandarin-aligner")
    err_new, err_dtw = [], []
    n = accepted = agree = n_syl = flagged = caught = 0
    for text in SENTENCES[: 4 if quick else None]:
        syl = text_to_syllables(text)
        for _ in range(1 if quick else 2):
            voice = test_voice(rng)
            u = synthesize(syl, voice, rng)
            al = align_text(aligner, u.samples, SAMPLE_RATE, [s.pinyin for s in syl])
            err_new += [abs(a - b) for got, true in zip(al.spans_s, u.spans_s) for a, b in zip(got, true)]
            n += 1
            res = run(text, u.samples)
            if res is not None:
                accepted += 1
                d = align(res.reference.samples, u.samples, SAMPLE_RATE, res.reference.spans_s)
                err_dtw += [abs(a - b) for got, true in zip(d.spans_s, u.spans_s) for a, b in zip(got, true)]
                for row in res.syllables:
                    n_syl += 1
                    agree += row.heard_tone == row.expected_tone
                    flagged += row.tone_ok is False
            i = int(rng.integers(len(syl)))
            new = int(rng.choice([t for t in (1, 2, 3, 4) if t != syl[i].tone]))
            bad_syl = list(syl)
            p = syl[i].pinyin[:-1] + str(new)
            bad_syl[i] = Syllable(syl[i].hanzi, p, p, syl[i].phrase)
            bad = run(text, synthesize(bad_syl, voice, rng).samples)
            caught += bad is not None and i in [s.index for s in bad.wrong]
    return {
        "readings": n,
        "accepted": accepted / n,
        "tone_agreement": agree / max(1, n_syl),
        "right_syllables_flagged_wrong": flagged / max(1, n_syl),
        "wrong_tone_caught": caught / n,
        "boundaries_aligner": percentiles(err_new),
        "boundaries_dtw": percentiles(err_dtw) if err_dtw else {},
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=SHARED / "mandarin-aishell-sample")
    ap.add_argument("--calibrate", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "pronounce.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.time()
    if args.calibrate:
        c = real_speech(args.corpus, args.quick, True)
        for name, rows in (("readings of their own text", c["positives"]), ("everything else", c["negatives"])):
            for key in ("mismatch", "unexplained_s", "longest_syllable_s", "median_syllable_s"):
                v = np.array([r[key] for r in rows])
                print(
                    f"{name:28s} {key:22s} min {v.min():.3f} p1 {np.percentile(v, 1):.3f} "
                    f"median {np.median(v):.3f} p99 {np.percentile(v, 99):.3f} max {v.max():.3f}"
                )
        for r in c["negatives"]:
            print(f"  {r['kind']:24s} " + " ".join(f"{k} {v:.2f}" for k, v in r.items() if k != "kind"))
        print(
            "duration ratios of native syllables:", {k: round(v, 2) for k, v in c["duration_ratio_percentiles"].items()}
        )
        print(
            md_table(
                ["WRONG_BELOW", "right syllables flagged", "swapped syllables flagged"],
                [[t, v["right_flagged"], v["swaps_flagged"]] for t, v in c["wrong_below"].items()],
            )
        )
        return
    results = {
        "machine": machine_info(1),
        "provenance": provenance(["mandarin-aligner", "tone-net"]),
        "command": "python benchmarks/pronounce.py" + (" --quick" * args.quick),
        "thresholds": {
            k: getattr(pr, k)
            for k in (
                "MISMATCH_MAX",
                "UNEXPLAINED_MAX_S",
                "LONGEST_SYLLABLE_S",
                "SHORTEST_MEDIAN_SYLLABLE_S",
                "WRONG_BELOW",
            )
        },
    }
    if args.corpus.exists():
        results["real"] = real_speech(args.corpus, args.quick, False)
    else:
        print(f"{args.corpus} not found: the real-speech table is skipped")
    results["synthesized"] = synthesized(args.quick)
    results["seconds"] = time.time() - t0

    if "real" in results:
        r = results["real"]
        print(f"### Real speech: AISHELL speaker {r['speaker']} (never heard in training), {r['readings']} readings\n")
        print(
            md_table(
                [
                    "readings accepted",
                    "another sentence refused",
                    "tone agreement",
                    "right syllables flagged WRONG",
                    "swapped tone caught on that syllable",
                    "only that syllable flagged",
                    "timing notes",
                ],
                [
                    [
                        f"{r['accepted']:.3f}",
                        f"{r['other_sentence']['refused']:.3f} of {r['other_sentence']['n']}",
                        f"{r['tone_agreement']:.3f}",
                        f"{r['right_syllables_flagged_wrong']:.3f}",
                        f"{r['swap_caught_on_that_syllable']:.3f} of {r['swaps']}",
                        f"{r['swap_only_that_syllable_flagged']:.3f}",
                        f"{r['syllables_with_a_timing_note']:.3f}",
                    ]
                ],
            )
        )
        print(
            "\n"
            + md_table(
                ["given as a reading", "n", "refused"],
                [[k, v["n"], f"{v['refused']:.2f}"] for k, v in r["other_sounds"].items()],
            )
        )
        print(
            "\n"
            + md_table(
                ["the same readings, degraded", "n", "accepted", "right syllables flagged WRONG"],
                [[k, v["n"], f"{v['accepted']:.2f}", f"{v['flagged']:.3f}"] for k, v in r["conditions"].items()],
            )
        )
        print(
            "\n"
            + md_table(
                ["expected \\ heard", *[f"tone {t}" for t in range(1, 6)]],
                [[f"tone {i + 1}", *row] for i, row in enumerate(r["confusion"])],
            )
        )
        b = r["boundaries_vs_dtw"]
        if b:
            print(
                f"\nBoundaries, aligner vs. DTW on these readings ({b['n_boundaries']}): "
                f"median {b['median_ms']:.0f} ms, "
                f"90th pct {b['p90_ms']:.0f} ms, within 50 ms {b['within_50ms']:.2f}"
            )
    s = results["synthesized"]
    print(f"\n### Synthesized speech: espeak-ng, held-out voices, {s['readings']} readings\n")
    print(
        md_table(
            ["readings accepted", "tone agreement", "right syllables flagged WRONG", "wrong tone caught"],
            [
                [
                    f"{s['accepted']:.3f}",
                    f"{s['tone_agreement']:.3f}",
                    f"{s['right_syllables_flagged_wrong']:.3f}",
                    f"{s['wrong_tone_caught']:.3f}",
                ]
            ],
        )
    )
    keys = ("n_boundaries", "median_ms", "p90_ms", "within_20ms", "within_50ms")
    rows = [["aligner (mandarin-aligner)", *[s["boundaries_aligner"][k] for k in keys]]]
    if s["boundaries_dtw"]:
        rows.append(["DTW on MFCCs vs. espeak reference", *[s["boundaries_dtw"][k] for k in keys]])
    print("\n" + md_table(["exact boundaries", "n", "median ms", "90th pct ms", "≤ 20 ms", "≤ 50 ms"], rows))
    print(f"\n{results['seconds']:.0f} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
