"""benchmarks/transcription.py --data: a user's annotated singing (WAV + CSV or MIDI) is read and scored."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile as sf
from test_transcribe import SHIPPED, sung_melody

pytest.importorskip("mir_eval")
SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "transcription.py"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("transcription_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def folder(tmp_path):
    """Two sung melodies with their notes: one annotated as CSV (onset, offset, pitch), one as MIDI."""
    d = tmp_path / "my_songs"
    d.mkdir()
    x, notes = sung_melody(sample_rate=16000, seed=1)
    sf.write(d / "up-and-down.wav", x, 16000)
    (d / "up-and-down.csv").write_text("onset,offset,pitch\n" + "".join(f"{on},{off},{p}\n" for p, on, off in notes))
    x2, notes2 = sung_melody([60, 62, 64, 65, 67], sample_rate=16000, seed=2)
    sf.write(d / "scale.wav", x2, 16000)
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    inst.notes = [pretty_midi.Note(100, p, on, off) for p, on, off in notes2]
    pm.instruments.append(inst)
    pm.write(str(d / "scale.mid"))
    (d / "unannotated.wav").write_bytes((d / "scale.wav").read_bytes())  # skipped, with a message
    return d, {"up-and-down": notes, "scale": notes2}


def test_annotations_are_read_from_csv_and_midi(folder):
    bench = load_benchmark()
    d, truth = folder
    for name, ext in (("up-and-down", ".csv"), ("scale", ".mid")):
        got = bench.read_annotations(d / f"{name}{ext}")
        assert np.allclose(got, np.array(truth[name], float), atol=1e-3)
    items = bench.folder_items(d)
    assert [Path(i["file"]).stem for i in items] == ["scale", "up-and-down"]
    assert {i["set"] for i in items} == {"data:my_songs"}


@pytest.mark.skipif(not SHIPPED, reason="the voice2midi checkpoint is not shipped")
def test_user_folder_is_scored(folder, tmp_path):
    d, _ = folder
    out = tmp_path / "result.json"
    assert (
        load_benchmark().main(
            ["--data", str(d), "--no-chorales", "--systems", "voicetools", "--no-speed", "--out", str(out)]
        )
        == 0
    )
    report = json.loads(out.read_text())
    text = json.dumps(report)
    assert "data:my_songs" in text
    f1 = [v for v in _find(report, "f1")]
    assert f1 and min(f1) > 0.8, f1


def _find(obj, key):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == key and isinstance(v, (int, float)):
                yield v
            else:
                yield from _find(v, key)
    elif isinstance(obj, list):
        for v in obj:
            yield from _find(v, key)
