"""files.atomic_output: all or nothing, with ordinary file permissions."""

import os
import stat

import pytest

from voicetools.files import atomic_output, atomic_write_text


def test_output_gets_the_usual_permissions_and_failures_leave_nothing(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "a.txt", "hello")
    finally:
        os.umask(old)
    assert path.read_text() == "hello" and stat.S_IMODE(path.stat().st_mode) == 0o644
    with pytest.raises(RuntimeError):
        with atomic_output(tmp_path / "b.txt") as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
