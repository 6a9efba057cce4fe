"""The load-check script runs end to end against a local server (small and bounded here)."""

import importlib.util
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.filterwarnings("ignore:Tiny-satb is a random-weight")
SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "app_load.py"


def load_script():
    spec = importlib.util.spec_from_file_location("app_load", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_load_check_small_run(tmp_path):
    pytest.importorskip("gradio_client")
    out = tmp_path / "app_load.json"
    mod = load_script()
    assert (
        mod.main(
            [
                "--requests",
                "3",
                "--clients",
                "2",
                "--page-requests",
                "4",
                "--audio-s",
                "1",
                "--timeout-s",
                "120",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads(out.read_text())
    sep = {r["scenario"]: r for r in report["scenarios"]}["separate"]
    assert sep["ok"] == 3 and sep["latency_s"]["p50"] > 0


def test_load_check_refuses_non_loopback():
    mod = load_script()
    with pytest.raises(SystemExit, match="only targets loopback"):
        mod.loopback_only("http://10.1.2.3:7860/")
    assert mod.loopback_only("http://127.0.0.1:7860") == "http://127.0.0.1:7860/"
