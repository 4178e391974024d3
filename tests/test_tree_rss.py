"""The memory figures of bench/run.py and tests/test_memory.py: each process's own, and the
tree's sum, never the memory of whatever started the run."""

from __future__ import annotations

import subprocess
import sys
import time

from newswh.tree_rss import PeakTreeRss, cpu_seconds, high_water_bytes

MB = 2**20
_REPORT_OWN_HIGH_WATER = "from newswh.tree_rss import high_water_bytes; print(high_water_bytes())"
_HOLD_200_MB = "import time; block = bytearray(200 * 2**20); block[::4096] = b'x' * len(block[::4096]); time.sleep(0.5)"


def test_a_process_started_by_a_big_one_reports_its_own_high_water_mark():
    """ru_maxrss would say 300 MB or more here: on Linux it survives exec."""
    held = bytearray(300 * MB)
    held[::4096] = b"x" * len(held[::4096])  # resident, not just reserved
    assert high_water_bytes() >= 300 * MB
    own = int(subprocess.run([sys.executable, "-c", _REPORT_OWN_HIGH_WATER], capture_output=True, text=True, check=True).stdout)
    assert 0 < own < 150 * MB


def test_the_tree_poll_sees_a_child_that_holds_memory_for_a_moment():
    child = subprocess.Popen([sys.executable, "-c", _HOLD_200_MB])
    with PeakTreeRss(child.pid) as tree:
        child.wait(timeout=30)
    assert tree.largest >= 200 * MB
    assert tree.peak >= 200 * MB
    assert high_water_bytes(child.pid) == 0  # gone


def test_a_live_process_cpu_is_read_while_it_runs():
    """What bench/run.py reads of the temporary server, which outlives the flow it measures."""
    burn = "import sys, time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\nsys.stdin.read()"
    child = subprocess.Popen([sys.executable, "-c", burn], stdin=subprocess.PIPE)
    deadline = time.monotonic() + 30
    try:
        while cpu_seconds(child.pid) < 0.3:
            assert child.poll() is None and time.monotonic() < deadline
    finally:
        child.communicate(b"", timeout=30)
    assert cpu_seconds(child.pid) == 0.0  # gone
