"""Fault injection and hostile input, end to end: what storage systems test, tested here.

- SIGKILL at twenty points spread over a run: a normal re-run converges to a clean run's
  tables and `verify` passes;
- a file-size limit (the disk filling up) mid-run: a one-line error, the last state intact;
- odd file names and SQL-looking text travel through the whole pipeline untouched.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newswh.integrity import verify
from newswh.settings import DataPaths
from newswh.synth import write_corpus
from tests.conftest import SEED
from tests.helpers import NEWSWH, newswh, query, run_ingest, seeded_warehouse, table_fingerprints

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]
KILL_POINTS = 17
"""With the three named stages of test_ingest_processes, twenty kill points per suite run."""


def _api_env() -> dict[str, str]:
    from prefect.settings import get_current_settings

    return {**os.environ, "PREFECT_API_URL": get_current_settings().api.url}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults")
    write_corpus(folder, 300, noise=0.1, seed=31)
    return folder


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory):
    """The tables of one clean run, and how long it took from its start (as a kill point
    sees it) to its exit: a run like the killed ones, so that their points spread over it."""
    data = tmp_path_factory.mktemp("reference") / "data"
    child = _primed_ingest(corpus, data)
    started = _go(child, DataPaths(data))
    assert child.wait(timeout=300) == 0, "the reference run failed"
    return table_fingerprints(data), time.monotonic() - started


PRIMED_INGEST = """
import sys
import prefect, newswh.cli, newswh.ingest  # before the go: what is timed and killed is the run
sys.stdin.readline()
sys.argv = ["newswh", "ingest", *sys.argv[1:]]
newswh.cli.main()
"""


def _primed_ingest(corpus: Path, data: Path) -> subprocess.Popen[str]:
    """`newswh ingest` in a process of its own, imported and waiting for a line on stdin: it
    imports while the previous kill point's re-run is checked, on the other core."""
    return subprocess.Popen(
        [sys.executable, "-c", PRIMED_INGEST, str(corpus), "--data", str(data), "--batch-files", "25"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
        env=_api_env(), start_new_session=True,
    )


def _go(child: subprocess.Popen[str], paths: DataPaths) -> float:
    """Let a primed ingest run; returns when it has begun (its copy of the warehouse exists)."""
    child.stdin.write("go\n")
    child.stdin.close()
    deadline = time.monotonic() + 120
    while not paths.next_warehouse.exists() and child.poll() is None:
        assert time.monotonic() < deadline, "the ingest never started"
        time.sleep(0.005)
    return time.monotonic()


@pytest.mark.isolated  # kill points are times into a run, from a run measured before: other tests would skew both
def test_sigkill_at_twenty_points_then_rerun_converges(corpus, reference, tmp_path):
    fingerprints, run_seconds = reference
    outcomes = []
    child = _primed_ingest(corpus, tmp_path / "data-0")
    try:
        for point in range(KILL_POINTS):
            data = tmp_path / f"data-{point}"
            paths = DataPaths(data)
            started = _go(child, paths)
            time.sleep(run_seconds * point / KILL_POINTS)  # spread over discover, parse, load, lake, commit
            os.killpg(child.pid, signal.SIGKILL)
            killed = child.wait() == -signal.SIGKILL
            outcomes.append("killed" if killed else "finished first")
            if not killed:
                # Quicker than the reference: the machine's load changed since. The points
                # left spread over what this run took at most, so they still land inside runs.
                run_seconds = min(run_seconds, time.monotonic() - started)
            if point + 1 < KILL_POINTS:
                child = _primed_ingest(corpus, tmp_path / f"data-{point + 1}")
            # The re-run in one batch, parsed in this process: the same rows whatever the
            # batches, without a worker pool's start-up (seconds) seventeen times over.
            run_ingest(corpus, data)
            assert table_fingerprints(data) == fingerprints, f"kill point {point} did not converge"
            assert verify(paths).problems == [], f"kill point {point}"
    finally:
        if child.poll() is None:  # a failed point's next process, still waiting for its go
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    assert outcomes.count("killed") >= KILL_POINTS * 3 // 4, outcomes


def test_a_full_disk_fails_clearly_and_keeps_the_last_state(corpus, tmp_path):
    data, before = seeded_warehouse(tmp_path)
    limit = DataPaths(data).warehouse.stat().st_size + 256 * 1024

    def small_disk() -> None:  # runs in the child: writes past `limit` bytes fail with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(
        [NEWSWH, "ingest", str(corpus), "--data", str(data)],
        capture_output=True, text=True, env=_api_env(), preexec_fn=small_disk, timeout=300,
    )
    assert result.returncode == 1
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith(f"newswh ingest: could not write to {data}")
    assert last_line.endswith("the warehouse is as it was before this run")
    assert table_fingerprints(data) == before
    assert not DataPaths(data).next_warehouse.exists()
    assert newswh("verify", "--data", str(data)).returncode == 0


def test_odd_names_and_sql_looking_text_pass_through_untouched(tmp_path):
    source, data = tmp_path / "raw files", tmp_path / "data"
    source.mkdir()
    injection = "'); DROP TABLE articles; --"
    page = SEED.read_text(encoding="utf-8").replace(
        "Russia Deputy FM: 160 Russians Fighting for ISIS Killed in Syria", f"Robert{injection} \"quoted\" 50% off_"
    )
    names = ["with space.txt", "ünïcödé خبر.txt", "new\nline.txt", "'; select 1; --.txt"]
    for number, name in enumerate(names):
        (source / name).write_text(page.replace("Fri Nov 20, 2015", f"Fri Nov {10 + number}, 2015"), encoding="utf-8")
    summary = run_ingest(source, data)
    assert summary.counts["articles_written"] == 4
    assert sorted(path for (path,) in query(data, "select source_path from articles")) == sorted(
        str(source.resolve() / name) for name in names
    )
    assert {title for (title,) in query(data, "select title from articles")} == {f"Robert{injection} \"quoted\" 50% off_"}
    assert query(data, "select count(*) from search_articles(?)", [injection]) == [(4,)]
    assert query(data, "select count(*) from search_articles('50% off_')") == [(4,)]
    assert newswh("verify", "--data", str(data)).returncode == 0
