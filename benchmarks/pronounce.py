#!/usr/bin/env python
"""Benchmark the Mandarin pronunciation trainer: alignment boundaries, tone classification on
held-out voices, wrong-tone detection end to end, and the text/audio mismatch check.

    python benchmarks/pronounce.py                      # everything on synthesized speech (~5 min, 1 core)
    python benchmarks/pronounce.py --data DIR           # also DIR/*.wav with same-named .TextGrid files
    python benchmarks/pronounce.py --quick              # fewer sentences

Sets (seeded, built here; nothing downloaded):
1. Alignment: ``SENTENCES`` read by held-out synthetic learners (``data.test_voice``: espeak-ng
   variants never used in training, pitch 15-88, speed 110-250 wpm, formant shift 0.85-1.16, pitch
   range 0.65-1.55, 20-40 dB noise) with random pauses; the reference is the default voice. Every
   syllable start and end is known; the error is |predicted - true| over all of them.
2. ``--data``: real recordings with annotated syllables: ``NAME.wav`` + ``NAME.TextGrid`` whose tier
   ``syllable`` (else the first tier) labels each syllable with its character; empty intervals are
   pauses. The text is the labels joined.
3. Tones: the classifier on ``data/tones/test.npz`` (held-out voices; made by the training recipe, or
   here if missing): accuracy and the confusion matrix.
4. End to end: each sentence read right, and with one random syllable in a wrong tone, by held-out
   voices; how often exactly that syllable is flagged, and how many right syllables are flagged.
5. Mismatch: the alignment cost of a reading of the same sentence vs. of another sentence.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from separation import machine_info, md_table  # noqa: E402

import voicetools as vt  # noqa: E402
from voicetools.pronounce import text_to_syllables  # noqa: E402
from voicetools.pronounce import reference_voice  # noqa: E402
from voicetools.pronounce.align import MISMATCH_COST, MISMATCH_ORDER_PENALTY, align  # noqa: E402
from voicetools.pronounce.pitch import f0_track  # noqa: E402
from voicetools.pronounce.tts import get_backend  # noqa: E402
from voicetools.pronounce.data import synthesize, test_voice  # noqa: E402
from voicetools.pronounce.model import LABELS, predict_tones  # noqa: E402
from voicetools.pronounce.pinyin import Syllable  # noqa: E402
from voicetools.pronounce.tts import SAMPLE_RATE, synthesize_reference  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SENTENCES = ["你好，我叫小明。", "我今天很高兴见到你。", "请问去火车站怎么走？", "他们明天要去北京旅游。",
             "这个菜太辣了，我不能吃。", "我们一起去看电影吧。", "你会说中文吗？", "昨天晚上下了一场大雨。",
             "妈妈在厨房做饭。", "学习汉语很有意思。", "他每天早上六点起床。", "请给我一杯热茶。"]


def percentiles(err: list[float]) -> dict:
    e = np.asarray(err) * 1000
    return {"n_boundaries": int(len(e)), "median_ms": float(np.median(e)), "p90_ms": float(np.percentile(e, 90)),
            "mean_ms": float(e.mean()), "within_20ms": float(np.mean(e <= 20)), "within_50ms": float(np.mean(e <= 50))}


def reference_for(syl, learner: np.ndarray):
    """The reference ``vt.pronounce`` would use for this learner (a higher voice for a higher one)."""
    return synthesize_reference(syl, reference_voice("espeak", f0_track(learner, SAMPLE_RATE), get_backend("espeak")))


def alignment_synth(sentences, readers: int, seed: int) -> tuple[dict, list]:
    rng = np.random.default_rng(seed)
    errors, same = [], []
    for text in sentences:
        syl = text_to_syllables(text)
        for _ in range(readers):
            u = synthesize(syl, test_voice(rng), rng)
            ref = reference_for(syl, u.samples)
            res = align(ref.samples, u.samples, SAMPLE_RATE, ref.spans_s)
            errors += [abs(a - b) for got, true in zip(res.spans_s, u.spans_s) for a, b in zip(got, true)]
            same.append(res)
    return percentiles(errors), same


def alignment_data(folder: Path) -> dict:
    from praatio import textgrid

    from voicetools.audio.io import load_mono

    errors, files = [], 0
    for tg_path in sorted(folder.glob("*.TextGrid")):
        wav = next((tg_path.with_suffix(s) for s in (".wav", ".flac") if tg_path.with_suffix(s).exists()), None)
        if wav is None:
            continue
        tg = textgrid.openTextgrid(str(tg_path), includeEmptyIntervals=False)
        tier = tg.getTier("syllable" if "syllable" in tg.tierNames else tg.tierNames[0])
        entries = [e for e in tier.entries if e.label.strip()]
        text = "".join(e.label.strip() for e in entries)
        syl = text_to_syllables(text)
        if len(syl) != len(entries):
            print(f"skipping {tg_path.name}: {len(entries)} intervals but {len(syl)} syllables", file=sys.stderr)
            continue
        x, _ = load_mono(wav, SAMPLE_RATE)
        ref = reference_for(syl, x)
        res = align(ref.samples, x, SAMPLE_RATE, ref.spans_s)
        errors += [abs(a - b) for got, e in zip(res.spans_s, entries) for a, b in zip(got, (e.start, e.end))]
        files += 1
    return {"files": files, **(percentiles(errors) if errors else {})}


def tones(data: Path) -> dict:
    from voicetools.pronounce.train import load_set

    x, y = load_set(data, "test")
    loaded = _model()
    pred = predict_tones(loaded.model, x).argmax(1)
    conf = np.zeros((len(LABELS), len(LABELS)), int)
    np.add.at(conf, (y, pred), 1)
    return {"n_syllables": int(len(y)), "accuracy": float((pred == y).mean()),
            "recall": {f"tone {lab}": float(conf[i, i] / max(1, conf[i].sum())) for i, lab in enumerate(LABELS)},
            "confusion": conf.tolist()}


def _model():
    from voicetools.pronounce import DEFAULT_MODEL, _load_tone_model

    return _load_tone_model(DEFAULT_MODEL)


def end_to_end(sentences, readers: int, seed: int) -> tuple[dict, list]:
    """Per sentence and reader (a held-out voice): a right reading, one with a random syllable in
    another tone, and a reading of the next sentence (for the mismatch check)."""
    rng = np.random.default_rng(seed)
    model = _model()
    exact = flagged_right = n_right = caught = rejected = n = 0
    others = []
    for k, text in enumerate(sentences):
        syl = text_to_syllables(text)
        for _ in range(readers):
            n += 1
            voice = test_voice(rng)
            good = synthesize(syl, voice, rng)
            try:
                res = vt.pronounce(text, good.samples, sample_rate=SAMPLE_RATE, model=model)
                flagged_right += len(res.wrong)
                n_right += len(syl)
            except vt.VoicetoolsError:
                rejected += 1
            i = int(rng.integers(len(syl)))
            new = int(rng.choice([t for t in (1, 2, 3, 4) if t != syl[i].tone]))
            bad_syl = list(syl)
            p = syl[i].pinyin[:-1] + str(new)
            bad_syl[i] = Syllable(syl[i].hanzi, p, p, syl[i].phrase)
            bad = synthesize(bad_syl, voice, rng)
            try:
                res = vt.pronounce(text, bad.samples, sample_rate=SAMPLE_RATE, model=model)
                wrong = [r.index for r in res.wrong]
                caught += i in wrong
                exact += wrong == [i]
            except vt.VoicetoolsError:
                rejected += 1
            u = synthesize(text_to_syllables(sentences[(k + 1) % len(sentences)]), voice, rng)
            ref = reference_for(syl, u.samples)
            others.append(align(ref.samples, u.samples, SAMPLE_RATE, ref.spans_s))
    return {"readings": n, "wrong_tone_caught": caught / n, "exactly_that_syllable_flagged": exact / n,
            "right_syllables_flagged": flagged_right / max(1, n_right), "readings_rejected_as_mismatch": rejected,
            "readings_scored": 2 * n}, others


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=None, help="folder of WAV + TextGrid with annotated syllables")
    ap.add_argument("--tones", type=Path, default=ROOT / "data" / "tones", help="tone data folder (test.npz)")
    ap.add_argument("--readers", type=int, default=3, help="synthetic readers per sentence for alignment")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "pronounce.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.time()
    sentences = SENTENCES[:4] if args.quick else SENTENCES
    results = {"machine": machine_info(1),
               "command": "python benchmarks/pronounce.py" + (" --quick" if args.quick else "")}
    align_synth, same_costs = alignment_synth(sentences, 1 if args.quick else args.readers, seed=300)
    results["alignment_synthesized"] = align_synth
    if args.data:
        results["alignment_data"] = {"folder": str(args.data), **alignment_data(args.data)}
    results["tones_held_out"] = tones(args.tones)
    # seeds 100 and 200 were used to choose the mismatch thresholds; these are fresh
    e2e, other_costs = end_to_end(sentences, 1 if args.quick else args.readers, seed=400)
    results["end_to_end"] = e2e
    same_c = np.array([r.cost for r in same_costs])
    same_p = np.array([r.order_penalty for r in same_costs])
    other_c = np.array([r.cost for r in other_costs])
    other_p = np.array([r.order_penalty for r in other_costs])
    results["mismatch"] = {"cost_limit": MISMATCH_COST, "order_penalty_limit": MISMATCH_ORDER_PENALTY,
                           "same": {"n": len(same_c), "cost_median": float(np.median(same_c)),
                                    "cost_max": float(same_c.max()), "order_penalty_median": float(np.median(same_p)),
                                    "order_penalty_max": float(same_p.max()),
                                    "refused": float(np.mean([r.mismatch for r in same_costs]))},
                           "other": {"n": len(other_c), "cost_median": float(np.median(other_c)),
                                     "cost_min": float(other_c.min()),
                                     "order_penalty_median": float(np.median(other_p)),
                                     "order_penalty_min": float(other_p.min()),
                                     "refused": float(np.mean([r.mismatch for r in other_costs]))}}
    results["seconds"] = time.time() - t0

    a = results["alignment_synthesized"]
    rows = [["synthesized, held-out voices", a["n_boundaries"], a["median_ms"], a["p90_ms"], a["within_20ms"]]]
    if "alignment_data" in results and "median_ms" in results["alignment_data"]:
        d = results["alignment_data"]
        rows.append([f"--data {args.data.name} ({d['files']} files)", d["n_boundaries"], d["median_ms"], d["p90_ms"],
                     d["within_20ms"]])
    print("### Alignment (syllable boundaries; target median ≤ 20 ms)\n")
    print(md_table(["set", "boundaries", "median ms", "90th pct ms", "share ≤ 20 ms"], rows))
    t = results["tones_held_out"]
    print(f"\n### Tone classification, held-out voices ({t['n_syllables']} syllables): accuracy {t['accuracy']:.3f}\n")
    print(md_table(["true \\ predicted", *[f"tone {lab}" for lab in LABELS], "recall"],
                   [[f"tone {lab}", *t["confusion"][i], f"{t['recall'][f'tone {lab}']:.2f}"]
                    for i, lab in enumerate(LABELS)]))
    e = results["end_to_end"]
    print(f"\n### Wrong-tone detection end to end ({e['readings']} readings with one wrong tone and "
          f"{e['readings']} right ones, held-out voices)\n")
    print(md_table(["wrong tone caught", "exactly that syllable flagged", "right syllables flagged",
                    "readings refused as mismatch"],
                   [[f"{e['wrong_tone_caught']:.2f}", f"{e['exactly_that_syllable_flagged']:.2f}",
                     f"{e['right_syllables_flagged']:.3f}",
                     f"{e['readings_rejected_as_mismatch']} of {e['readings_scored']}"]]))
    m = results["mismatch"]
    print(f"\n### Text/audio mismatch (refused when cost > {m['cost_limit']:.2f} or order penalty > "
          f"{m['order_penalty_limit']:.2f})\n")
    print(md_table(["reading", "n", "cost median", "cost extreme", "order penalty median", "order penalty extreme",
                    "refused"],
                   [["the same sentence", m["same"]["n"], m["same"]["cost_median"], f"max {m['same']['cost_max']:.2f}",
                     m["same"]["order_penalty_median"], f"max {m['same']['order_penalty_max']:.2f}",
                     f"{m['same']['refused']:.2f}"],
                    ["another sentence", m["other"]["n"], m["other"]["cost_median"],
                     f"min {m['other']['cost_min']:.2f}",
                     m["other"]["order_penalty_median"], f"min {m['other']['order_penalty_min']:.2f}",
                     f"{m['other']['refused']:.2f}"]]))
    print(f"\n{results['seconds']:.0f} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
