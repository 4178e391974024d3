"""Ingest against real processes: killed mid-run, run twice at once, read while running."""

import os
import signal
import subprocess
import sys
import time

import pytest

from newswh.settings import DataPaths
from newswh.synth import write_corpus
from tests.helpers import NEWSWH, query, run_ingest, table_fingerprints

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


@pytest.fixture(scope="module")
def big_source(tmp_path_factory):
    folder = tmp_path_factory.mktemp("big")
    write_corpus(folder, 3000, noise=0.05, seed=21)
    return folder


@pytest.fixture(scope="module")
def clean_run(big_source, tmp_path_factory):
    """The reference: one uninterrupted run over the same files, in one batch parsed in this
    process (the rows do not depend on the batches; a worker pool would only add its start-up)."""
    data = tmp_path_factory.mktemp("clean")
    run_ingest(big_source, data)
    return table_fingerprints(data)


def start_ingest(source, data, tmp_path, *extra):
    """The real CLI in its own process group, reporting to the session's Prefect server."""
    env = {**os.environ, "PREFECT_API_URL": _api_url()}
    return subprocess.Popen(
        [NEWSWH, "ingest", str(source), "--data", str(data), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True,
    )


def wait_for(condition, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


KILL_POINTS = {
    "after the warehouse copy": lambda paths: paths.next_warehouse.exists(),
    "while parsing": lambda paths: any(paths.staging.glob("run-*/stage_files/*.parquet")),
    "while writing the lake": lambda paths: (paths.lake / "related_items").exists(),
}


@pytest.mark.parametrize("point", KILL_POINTS)
def test_killed_ingest_converges_on_rerun(big_source, clean_run, tmp_path, point):
    data = tmp_path / "data"
    paths = DataPaths(data)
    process = start_ingest(big_source, data, tmp_path, "--batch-files", "200")  # batches, for the parsing point
    wait_for(lambda: KILL_POINTS[point](paths) or process.poll() is not None, timeout=120)
    os.killpg(process.pid, signal.SIGKILL)  # the CLI, its parse workers and any server it started
    assert process.wait() == -signal.SIGKILL, process.communicate()
    run_ingest(big_source, data)  # a plain re-run: one batch, whatever the killed run's were
    assert table_fingerprints(data) == clean_run
    assert not paths.next_warehouse.exists() and not paths.staging.exists()
    lake_counts = query(
        data, "select count(*) from read_parquet(?, hive_partitioning = true)", [str(paths.lake / "articles" / "**" / "*.parquet")]
    )
    assert lake_counts == query(data, "select count(*) from articles")


def test_ingest_refuses_while_another_holds_the_folder(tmp_path):
    from newswh.locking import writer_lock
    from tests.conftest import SEED

    data = tmp_path / "data"
    with writer_lock(DataPaths(data).lock):
        done = subprocess.run(
            [NEWSWH, "ingest", str(SEED.parent), "--data", str(data)],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "PREFECT_API_URL": _api_url()},
        )
        # At once, as the README says: before Prefect, which it refused only after it had
        # started (8-20 s on a busy machine). Nothing answers on port 9.
        at_once = subprocess.run(
            [NEWSWH, "ingest", str(SEED.parent), "--data", str(data)],
            capture_output=True, text=True, timeout=120, env={**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api"},
        )
    for run in (done, at_once):
        assert run.returncode == 1
        assert run.stderr.startswith(f"newswh ingest: another ingest (PID {os.getpid()}, running since")
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert not DataPaths(data).warehouse.exists()


def test_an_ingest_refused_during_a_rebuild_says_it_is_a_rebuild(tmp_path):
    """It said "another ingest (PID …) is writing" of a `newswh rebuild`."""
    from newswh.locking import writer_lock
    from tests.conftest import SEED

    data = tmp_path / "data"
    with writer_lock(DataPaths(data).lock, doing="rebuild"):
        refused = subprocess.run(
            [NEWSWH, "ingest", str(SEED.parent), "--data", str(data)],
            capture_output=True, text=True, timeout=120, env={**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api"},
        )
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"newswh ingest: a `newswh rebuild` (PID {os.getpid()}, running since"), refused.stderr


def _api_url():
    from prefect.settings import get_current_settings

    return get_current_settings().api.url


def test_two_ingests_at_once_do_not_corrupt(big_source, clean_run, tmp_path):
    data = tmp_path / "data"
    first = start_ingest(big_source, data, tmp_path)
    second = start_ingest(big_source, data, tmp_path)
    outcomes = [(process.wait(timeout=300), process.communicate()) for process in (first, second)]
    codes = sorted(code for code, _ in outcomes)
    assert codes[0] == 0
    for code, (_, stderr) in outcomes:
        if code != 0:
            assert "another ingest (PID" in stderr and "is writing to" in stderr
            assert "Traceback" not in stderr
    assert table_fingerprints(data) == clean_run


def test_second_ingest_can_wait_for_the_first(big_source, clean_run, tmp_path):
    data = tmp_path / "data"
    processes = [start_ingest(big_source, data, tmp_path, "--wait", "300") for _ in range(2)]
    assert [process.wait(timeout=300) for process in processes] == [0, 0]
    assert table_fingerprints(data) == clean_run
    assert query(data, "select count(*) from ingest_runs") == [(2,)]


def hold_warehouse(path, read_only):
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(path)!r}, read_only={read_only}); "
         "print(c.execute('select count(*) from articles').fetchone()[0], flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE, text=True,
    )
    return holder, int(holder.stdout.readline())


def test_reader_holding_the_warehouse_does_not_block_an_ingest(big_source, tmp_path):
    from tests.conftest import SEED

    data = tmp_path / "data"
    run_ingest(SEED.parent, data)
    reader, count_before = hold_warehouse(DataPaths(data).warehouse, read_only=True)
    try:
        summary = run_ingest(big_source, data)
        assert summary.counts["articles_written"] > 0
        assert query(data, "select count(*) from articles")[0][0] > count_before
        assert reader.poll() is None  # the reader is still there, on its snapshot
    finally:
        reader.kill()


def test_writer_holding_the_warehouse_is_named(tmp_path):
    from newswh.ingest import ingest
    from tests.conftest import SEED

    data = tmp_path / "data"
    run_ingest(SEED.parent, data)
    writer, _ = hold_warehouse(DataPaths(data).warehouse, read_only=False)
    try:
        state = ingest(source=str(SEED.parent), data=str(data), return_state=True)
    finally:
        writer.kill()
    assert state.is_failed()
    assert "is open for writing by" in state.message and f"(PID {writer.pid})" in state.message
    assert "-readonly" in state.message
