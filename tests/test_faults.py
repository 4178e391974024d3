"""Fault injection and hostile input, end to end: what storage systems test, tested here.

- SIGKILL at twenty points spread over a run: a normal re-run converges to a clean run's
  tables and `verify` passes;
- a file-size limit (the disk filling up) mid-run: a one-line error, the last state intact;
- odd file names and SQL-looking text travel through the whole pipeline untouched.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from newswh.integrity import verify
from newswh.settings import DataPaths
from newswh.synth import write_corpus
from tests.conftest import SEED
from tests.helpers import NEWSWH, harness_api_env, newswh, query, run_ingest, seeded_warehouse, table_fingerprints

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]
KILL_POINTS = 17
"""With the three named stages of test_ingest_processes, twenty kill points per suite run."""


def _api_env() -> dict[str, str]:
    return {**os.environ, **harness_api_env()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults")
    write_corpus(folder, 300, noise=0.1, seed=31)
    return folder


INGEST_FORKS = """
import json, os, sys
import prefect, newswh.cli, newswh.ingest  # once: each run is a fork of this process, already imported
print("ready", flush=True)
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:  # the run: a process group of its own (the test kills it whole), quiet
        os.setsid()
        quiet = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(quiet, fd)
        sys.argv = ["newswh", "ingest", *json.loads(line)]
        newswh.cli.main()  # exits this process the way `newswh` does, atexit handlers included
        sys.exit(0)
    print(pid, flush=True)
    print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
"""


class IngestForks:
    """`newswh ingest` runs, each a fork of one process that imported Prefect and newswh
    first: a run starts in milliseconds, where a process of its own imports for seconds
    (while nothing else runs, in the isolated test: tests/conftest.py). No thread runs in
    that process when it forks (Prefect starts none on import), and the parse workers a run
    starts are spawned, not forked."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", INGEST_FORKS], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_api_env(),
        )
        assert self.process.stdout.readline() == "ready\n"

    def start(self, corpus: Path, data: Path) -> tuple[int, float]:
        """Start a run; return its process group and when it began (its copy of the warehouse
        exists), or ended, if it ended first."""
        self.process.stdin.write(json.dumps([str(corpus), "--data", str(data), "--batch-files", "25"]) + "\n")
        self.process.stdin.flush()
        pid = int(self.process.stdout.readline())
        next_warehouse = DataPaths(data).next_warehouse
        deadline = time.monotonic() + 120
        while not next_warehouse.exists():
            try:
                os.kill(pid, 0)
            except ProcessLookupError:  # it ended before it began: exit_code() says how
                break
            assert time.monotonic() < deadline, "the ingest never started"
            time.sleep(0.005)
        return pid, time.monotonic()

    def exit_code(self) -> int:
        """The last run's exit code, once it has ended (negative: the signal that ended it)."""
        return int(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:  # a run that never ended (the test failed on it): not this one's
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def ingest_forks() -> Iterator[IngestForks]:
    forks = IngestForks()
    yield forks
    forks.close()


@pytest.fixture(scope="module")
def reference(corpus, ingest_forks, tmp_path_factory):
    """The tables of one clean run, and how long it took from its start (as a kill point
    sees it) to its exit: a run like the killed ones, so that their points spread over it."""
    data = tmp_path_factory.mktemp("reference") / "data"
    _, started = ingest_forks.start(corpus, data)
    assert ingest_forks.exit_code() == 0, "the reference run failed"
    return table_fingerprints(data), time.monotonic() - started


@pytest.fixture(scope="module")
def killed_runs(corpus, reference, ingest_forks, tmp_path_factory) -> list[tuple[Path, str]]:
    """KILL_POINTS runs, each killed at its point of a run (spread over discover, parse,
    load, lake and commit), with what became of it. Made by the isolated test below, so
    that its points are times into runs timed like the reference; re-running them is not
    timed, and runs beside other tests."""
    _, run_seconds = reference
    folders = tmp_path_factory.mktemp("killed")
    outcomes = []
    for point in range(KILL_POINTS):
        data = folders / f"data-{point}"
        group, started = ingest_forks.start(corpus, data)
        time.sleep(run_seconds * point / KILL_POINTS)
        with suppress(ProcessLookupError):  # it finished first, and is gone
            os.killpg(group, signal.SIGKILL)
        killed = ingest_forks.exit_code() == -signal.SIGKILL
        outcomes.append((data, "killed" if killed else "finished first"))
        if not killed:
            # Quicker than the reference: the machine's load changed since. The points
            # left spread over what this run took at most, so they still land inside runs.
            run_seconds = min(run_seconds, time.monotonic() - started)
    return outcomes


@pytest.mark.isolated  # kill points are times into a run, from a run measured before: other tests would skew both
def test_sigkill_at_twenty_points_lands_inside_runs(killed_runs):
    outcomes = [outcome for _, outcome in killed_runs]
    assert outcomes.count("killed") >= KILL_POINTS * 3 // 4, outcomes


def test_every_killed_run_converges_on_a_rerun(corpus, reference, killed_runs):
    fingerprints, _ = reference
    for point, (data, _) in enumerate(killed_runs):
        # The re-run in one batch, parsed in this process: the same rows whatever the
        # batches, without a worker pool's start-up (seconds) seventeen times over.
        run_ingest(corpus, data)
        assert table_fingerprints(data) == fingerprints, f"kill point {point} did not converge"
        assert verify(DataPaths(data)).problems == [], f"kill point {point}"


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


def test_a_write_that_failed_outside_the_data_folder_names_that_place(tmp_path):
    """`--staging /proc/x` said "could not write to data: … '/proc/x'": the wrong folder."""
    from newswh.failures import storage_failure

    paths = DataPaths(tmp_path / "data")
    paths.root.mkdir()
    outside = storage_failure(paths, FileNotFoundError(2, "No such file or directory", "/proc/x"))
    assert outside == "could not write to /proc/x: No such file or directory"
    inside = storage_failure(paths, PermissionError(13, "Permission denied", str(paths.root / ".ingest.lock")))
    assert inside == f"could not write to {paths.root}: [Errno 13] Permission denied: '{paths.root / '.ingest.lock'}'"
