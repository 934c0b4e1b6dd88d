"""Kill tests: a process killed while writing leaves the old or the new output, never neither,
and the next run removes every temporary copy it left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from riskscreen._files import atomic_path, recover
from riskscreen.data import LinkedHistories

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

SAVER = textwrap.dedent(
    """
    import sys
    import pandas as pd
    sys.path.insert(0, {tests!r})
    from _linked_histories import risky_histories
    h = risky_histories(300)
    big = pd.concat([h.attendance] * 4, ignore_index=True)
    big["period_start"] = big["period_start"] + pd.to_timedelta(big.index // len(h.attendance), "D")
    h.attendance = big
    i = 0
    print("ready", flush=True)
    while True:
        h.exclusions = h.exclusions.iloc[: 100 + i % 2]  # two versions, told apart by rows
        h.save({target!r})
        i += 1
    """
)

WRITER = textwrap.dedent(
    """
    import numpy as np, pandas as pd
    from riskscreen._files import atomic_path
    frame = pd.DataFrame(np.random.default_rng(0).random((200_000, 5)))
    print("ready", flush=True)
    i = 0
    while True:
        with atomic_path({target!r}) as tmp:
            frame.iloc[: 100_000 + i % 2].to_csv(tmp)
        i += 1
    """
)


def _kill_during(script: str, delays) -> None:
    for delay in delays:
        proc = subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=os.environ
        )
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        yield


def _leftovers(folder, name) -> list:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(f".{name}."))


def test_a_killed_save_or_overwrite_leaves_a_whole_folder(tmp_path):
    target = tmp_path / "la"
    tests = os.path.dirname(__file__)
    script = SAVER.format(tests=tests, target=str(target))
    rng = np.random.default_rng(1)
    seen = set()
    for _ in _kill_during(script, rng.uniform(0.5, 2.5, 4)):
        if not target.exists() and not _leftovers(tmp_path, "la"):
            continue  # killed before the first save began
        loaded = LinkedHistories.load(target)  # recovers first, then checks every checksum
        seen.add(len(loaded.exclusions))
        assert len(loaded.exclusions) in (100, 101)
        assert _leftovers(tmp_path, "la") == []
    assert seen, "no kill landed after the first save"


def test_a_killed_output_write_leaves_the_old_or_the_new_file(tmp_path):
    target = tmp_path / "screening.csv"
    script = WRITER.format(target=str(target))
    rng = np.random.default_rng(2)
    for _ in _kill_during(script, rng.uniform(0.3, 1.5, 4)):
        recover(target)
        assert _leftovers(tmp_path, "screening.csv") == []
        if target.exists():
            assert len(pd.read_csv(target)) in (100_000, 100_001)


def test_an_interrupted_swap_is_undone_on_the_next_access(tmp_path, linked):
    target = linked.save(tmp_path / "la")
    # the state a kill between the two renames of an overwrite leaves behind
    os.replace(target, tmp_path / ".la.old-abc123")
    (tmp_path / ".la.tmp-def456").mkdir()
    (tmp_path / ".la.tmp-def456" / "pupils.parquet").write_bytes(b"half a copy of pupil data")
    assert not target.exists()
    LinkedHistories.open(target).validate()
    assert _leftovers(tmp_path, "la") == []
    with atomic_path(tmp_path / "x.csv") as tmp:
        tmp.write_text("a,b\n1,2\n")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
