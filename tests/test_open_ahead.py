"""`newswh ingest` takes the lock, opens the warehouse and plans while it imports Prefect
(newswh.open_ahead): the flow must use what it made only for its own settings, and an
opening that fails or is never taken must let go of the lock and leave no copy behind."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from newswh import open_ahead, walk_ahead
from newswh.integrity import verify
from newswh.locking import IngestAlreadyRunning, WriterLock
from newswh.open_ahead import LocalParse, PlanSettings
from newswh.parse import DEFAULT_MAX_BYTES
from newswh.records import PARSER_VERSION
from newswh.settings import DataPaths
from newswh.synth import write_corpus
from tests.helpers import harness_api_env, newswh, run_ingest

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def ingested(tmp_path):
    """A source of 30 files, ingested, and 5 more added since."""
    source, paths = tmp_path / "source", DataPaths(tmp_path / "data")
    write_corpus(source, 30, noise=0.1, seed=21)
    run_ingest(source, paths.root)
    write_corpus(source / "later", 5, noise=0.0, seed=22)
    return source.resolve(), paths


def _settings(source, rehash: bool = False) -> PlanSettings:
    return PlanSettings(source, PARSER_VERSION, DEFAULT_MAX_BYTES, rehash)


def _lock_is_free(paths: DataPaths) -> bool:
    try:
        WriterLock.acquire(paths.lock).release()
    except IngestAlreadyRunning:
        return False
    return True


def _left(paths: DataPaths) -> list[str]:
    return sorted(path.name for path in paths.root.iterdir() if path.name.startswith("warehouse"))


def test_the_cli_opens_and_plans_while_it_starts(ingested):
    source, paths = ingested
    run = newswh("ingest", str(source), "--data", str(paths.root), env=harness_api_env())

    assert run.returncode == 0, run.stderr
    output = " ".join((run.stderr + run.stdout).split())
    assert "open: run 2 on a copy of the" in output and "s, opened while newswh started" in output
    assert "plan: 5 new, 0 to read again (size or mtime changed), 30 unchanged (not read) in" in output
    assert "s, planned while newswh started" in output
    assert "processes started" not in output  # five files are one batch, parsed in the flow's process
    assert "every file accounted for" in output
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        assert con.execute("select run_id, files_new, files_unchanged from ingest_runs order by run_id").fetchall() == [
            (1, 30, 0), (2, 5, 30),
        ]
    assert _left(paths) == ["warehouse.duckdb"]
    assert _lock_is_free(paths)


def test_the_flow_uses_the_plan_made_ahead_only_for_its_own_settings(ingested):
    source, paths = ingested
    walk_ahead.start(source)
    other_parser = PlanSettings(source, "0.0.1", DEFAULT_MAX_BYTES, False)  # would re-read every file
    assert open_ahead.start(paths, other_parser)
    assert not _lock_is_free(paths)  # held from the start

    summary = run_ingest(source, paths.root)

    assert (summary.counts["files_new"], summary.counts["files_changed"], summary.counts["files_unchanged"]) == (5, 0, 30)
    assert summary.parse_tasks == 1
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from source_files where last_changed_run_id = 2").fetchall() == [(5,)]
    assert _left(paths) == ["warehouse.duckdb"]
    assert _lock_is_free(paths)


def test_a_plan_answers_only_the_settings_it_was_made_for(ingested):
    source, paths = ingested
    walk_ahead.start(source)
    assert open_ahead.start(paths, _settings(source))
    opened = open_ahead.take(paths)
    try:
        assert opened is not None and opened.walk is not None
        assert opened.plan_for(_settings(source)) == {"new": 5, "changed": 0, "unchanged": 30}
        assert opened.plan_for(_settings(source, rehash=True)) is None
        assert opened.plan_for(_settings(source / "later")) is None
        assert opened.copy.con.execute("select count(*) from plan where status = 'new'").fetchall() == [(5,)]
    finally:
        opened.abandon()
    assert _left(paths) == ["warehouse.duckdb"]
    assert _lock_is_free(paths)


def test_without_a_walk_the_warehouse_is_opened_but_not_planned(ingested):
    source, paths = ingested
    assert open_ahead.start(paths, _settings(source))  # no walk_ahead.start: a walk failed, say
    opened = open_ahead.take(paths)
    try:
        assert opened is not None and opened.planned is None and opened.plan_for(_settings(source)) is None
        assert opened.copy.con.execute("select run_id from run_context").fetchall() == [(2,)]
    finally:
        opened.abandon()
    assert _lock_is_free(paths)


def test_an_opening_nobody_takes_lets_go_of_the_lock_and_its_copy_at_exit(ingested):
    source, paths = ingested
    assert open_ahead.start(paths, _settings(source))
    [opening] = open_ahead._openings.values()
    opening.thread.join()
    assert paths.next_warehouse.exists() and not _lock_is_free(paths)

    open_ahead._abandon_untaken()  # what runs at exit

    assert _left(paths) == ["warehouse.duckdb"]
    assert _lock_is_free(paths)


EXIT_DURING_OPENING = """
import sys
from pathlib import Path
from newswh import open_ahead
from newswh.open_ahead import PlanSettings
from newswh.settings import DataPaths
assert open_ahead.start(DataPaths(Path(sys.argv[1])), PlanSettings(Path(sys.argv[2]), "x", 1, False))
"""


def test_a_process_that_exits_while_opening_waits_for_it_and_leaves_nothing(ingested):
    """Exiting while the thread copies and opens (Ctrl-C 0.5 s into `newswh ingest`) used to
    stop the thread inside DuckDB: an abort or a segmentation fault, and the copy left."""
    source, paths = ingested
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", EXIT_DURING_OPENING, str(paths.root), str(source)],
            capture_output=True, text=True, timeout=120,
        )
        assert (done.returncode, done.stderr) == (0, "")
        assert _left(paths) == ["warehouse.duckdb"]
        assert _lock_is_free(paths)


def test_a_busy_lock_or_a_warehouse_to_restore_from_the_lake_means_no_opening(ingested, tmp_path):
    source, paths = ingested
    holder = WriterLock.acquire(paths.lock)
    try:
        assert not open_ahead.start(paths, _settings(source))
    finally:
        holder.release()
    paths.warehouse.unlink()  # the lake is the archive: the flow restores the warehouse from it first
    assert not open_ahead.start(paths, _settings(source))
    assert open_ahead.take(paths) is None


def test_a_first_run_opens_its_new_warehouse_while_the_cli_starts(corpus, tmp_path):
    data = tmp_path / "data"
    run = newswh("ingest", str(corpus), "--data", str(data), env=harness_api_env())

    assert run.returncode == 0, run.stderr
    output = " ".join((run.stderr + run.stdout).split())
    assert "open: run 1 on a new warehouse in" in output and "s, opened while newswh started" in output
    assert "s, planned while newswh started" in output and "every file accounted for" in output
    assert _left(DataPaths(data)) == ["warehouse.duckdb"]
    assert verify(DataPaths(data)).problems == []


def test_a_damaged_warehouse_is_left_to_the_flow_to_name(ingested):
    source, paths = ingested
    with open(paths.warehouse, "r+b") as warehouse:
        warehouse.write(b"\0" * 4096)  # the header gone

    assert open_ahead.start(paths, _settings(source))
    assert open_ahead.take(paths) is None
    assert _lock_is_free(paths)
    assert _left(paths) == ["warehouse.duckdb"]
    run = newswh("ingest", str(source), "--data", str(paths.root), env=harness_api_env())
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert str(paths.warehouse) in run.stderr.strip().splitlines()[-1]


def test_a_run_that_fails_before_it_opens_lets_go_of_the_copy(ingested):
    """The flow took the opening, then failed before its claim (here: the source folder is
    gone); the copy is removed and the lock let go, as by any failed run."""
    source, paths = ingested
    moved = source.with_name("moved")
    assert open_ahead.start(paths, _settings(source))
    shutil.move(source, moved)
    from newswh.ingest import ingest

    state = ingest(source=str(source), data=str(paths.root), return_state=True)

    assert not state.is_completed() and "does not exist" in state.message
    assert open_ahead.take(paths) is None  # the flow took it
    assert _left(paths) == ["warehouse.duckdb"]
    assert _lock_is_free(paths)


def _exit_codes(processes, timeout: float = 30.0) -> list[int | None]:
    """The processes' exit codes, once all have exited (None for any still running then)."""
    deadline = time.monotonic() + timeout
    while any(process.is_alive() for process in processes) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [process.exitcode for process in processes]


def _processes_started_ahead(source, paths: DataPaths) -> list:
    """The CLI's head start for a plan of three batches (five files, two a batch): its
    parse processes, once each has answered, left for the flow to take."""
    walk_ahead.start(source)
    assert open_ahead.start(paths, _settings(source), LocalParse(workers=2, batch_files=2))
    [opening] = open_ahead._openings.values()
    opening.thread.join()
    pool = opening.done.pool
    assert pool is not None
    for _ in range(pool.workers):
        pool.submit(int).result(timeout=60)
    return list(pool._executor._processes.values())


def test_the_cli_starts_the_parse_processes_while_it_starts(ingested):
    """Five new files in batches of two: three batches, so two processes, started before
    Prefect was imported; the parse stage then waits for no process to import anything."""
    source, paths = ingested
    run = newswh(
        "ingest", str(source), "--data", str(paths.root), "--workers", "2", "--batch-files", "2", env=harness_api_env(),
    )

    assert run.returncode == 0, run.stderr
    output = " ".join((run.stderr + run.stdout).split())
    assert "parse: 5 files in" in output and "s, on 2 processes started while newswh started" in output
    assert "5 articles written" in output and "every file accounted for" in output
    assert _left(paths) == ["warehouse.duckdb"] and _lock_is_free(paths)


def test_a_plan_of_one_batch_or_a_run_parsed_elsewhere_starts_no_process(ingested):
    source, paths = ingested
    for parse in (LocalParse(workers=2, batch_files=None), None):  # 5 files: one batch; None: a Dask cluster parses
        walk_ahead.start(source)
        assert open_ahead.start(paths, _settings(source), parse)
        opened = open_ahead.take(paths)
        try:
            assert opened is not None and opened.planned is not None and opened.pool is None
        finally:
            opened.abandon()


def test_parse_processes_the_flow_does_not_want_are_stopped(ingested):
    """Started for two processes, taken by a flow that parses on three: it starts its own,
    and those started ahead are stopped, not left to idle until the command exits."""
    source, paths = ingested
    processes = _processes_started_ahead(source, paths)

    summary = run_ingest(source, paths.root, workers=3, batch_files=2)

    assert summary.counts["files_new"] == 5 and summary.parse_tasks == 3
    assert _exit_codes(processes) == [-signal.SIGTERM] * 2
    assert _left(paths) == ["warehouse.duckdb"] and _lock_is_free(paths)


def test_parse_processes_nobody_takes_are_stopped_with_the_opening(ingested):
    """A run stopped before its flow took them (Ctrl-C while Prefect is imported): at exit
    the copy is removed, the lock let go and the processes stopped."""
    source, paths = ingested
    processes = _processes_started_ahead(source, paths)

    open_ahead._abandon_untaken()  # what runs at exit

    assert _exit_codes(processes) == [-signal.SIGTERM] * 2
    assert _left(paths) == ["warehouse.duckdb"] and _lock_is_free(paths)


def test_the_flow_parses_on_the_processes_started_ahead_and_leaves_them_as_its_own(ingested):
    source, paths = ingested
    processes = _processes_started_ahead(source, paths)

    summary = run_ingest(source, paths.root, workers=2, batch_files=2)

    assert summary.counts["files_new"] == 5 and summary.parse_tasks == 3
    assert _exit_codes(processes) == [0, 0]  # shut down when the parse was done, not killed
    assert _left(paths) == ["warehouse.duckdb"] and _lock_is_free(paths)
