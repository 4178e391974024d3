"""`newswh ingest` copies the warehouse while it imports Prefect (newswh.copy_ahead): a run
must use that copy only if the warehouse is still what was copied, and no copy may be
left behind in the data folder."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import duckdb
import pytest

from newswh import copy_ahead
from newswh.locking import WriterLock, writer_lock
from newswh.settings import DataPaths
from newswh.warehouse import file_state, next_warehouse, remove_left_behind
from tests.helpers import NEWSWH, harness_api_env, newswh


@pytest.fixture
def paths(tmp_path):
    paths = DataPaths(tmp_path / "data")
    paths.root.mkdir()
    with duckdb.connect(str(paths.warehouse)) as con:
        con.execute("create table notes as select 'before' as note")
    return paths


def _notes(con: duckdb.DuckDBPyConnection) -> list[tuple[str]]:
    return con.execute("select note from notes").fetchall()


def test_a_run_takes_the_copy_made_ahead(paths):
    copy_ahead.start(paths)
    ahead = copy_ahead.take(paths)

    assert ahead is not None and ahead.path == paths.copied_ahead(os.getpid())
    assert ahead.path.read_bytes() == paths.warehouse.read_bytes()
    assert ahead.state == file_state(paths.warehouse)
    copied = os.stat(ahead.path).st_ino
    with writer_lock(paths.lock), next_warehouse(paths, ahead=ahead) as copy:
        assert copy.copied_ahead
        assert os.stat(paths.next_warehouse).st_ino == copied  # renamed into place, not copied again
        assert _notes(copy.con) == [("before",)]
    assert not ahead.path.exists()
    assert copy_ahead.take(paths) is None  # taken once


def test_a_copy_of_a_warehouse_changed_since_is_not_used(paths):
    """Another run committed, or a writer came and went, while this one started up."""
    copy_ahead.start(paths)
    ahead = copy_ahead.take(paths)
    assert ahead is not None
    with duckdb.connect(str(paths.warehouse)) as other:
        other.execute("update notes set note = 'after'")

    with writer_lock(paths.lock), next_warehouse(paths, ahead=ahead) as copy:
        assert not copy.copied_ahead
        assert _notes(copy.con) == [("after",)]
    assert not ahead.path.exists()


def test_nothing_is_copied_ahead_without_a_warehouse_or_beside_a_log(tmp_path, paths):
    empty = DataPaths(tmp_path / "empty")
    copy_ahead.start(empty)
    assert copy_ahead.take(empty) is None

    paths.warehouse.with_name(paths.warehouse.name + ".wal").write_bytes(b"")  # the run folds it in first
    copy_ahead.start(paths)
    assert copy_ahead.take(paths) is None
    assert list(paths.root.glob(paths.copied_ahead_glob)) == []


def test_files_of_processes_that_are_gone_are_removed(paths):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    left_by_the_dead = [paths.copied_ahead(int(gone.stdout)), paths.retired(int(gone.stdout), "0a1b2c3d")]
    for path in left_by_the_dead:
        path.write_bytes(b"a killed run's copy, or the warehouse its commit replaced")
    ours = [paths.copied_ahead(os.getpid()), paths.retired(os.getpid(), "0a1b2c3d")]
    for path in ours:
        path.write_bytes(b"a live run's copy, still to be taken, or an old warehouse being removed")

    remove_left_behind(paths)

    assert not any(path.exists() for path in left_by_the_dead)
    assert all(path.exists() for path in ours)


def test_a_copy_nobody_took_is_removed_at_exit(paths):
    """A run refused before it opened the warehouse (another run holds the lock)."""
    started = subprocess.run(
        [sys.executable, "-c", "import sys; from pathlib import Path; from newswh import copy_ahead; "
         "from newswh.settings import DataPaths; paths = DataPaths(Path(sys.argv[1])); copy_ahead.start(paths); "
         "copy_ahead._copies[paths.warehouse.resolve()].thread.join(); "
         "print(paths.copied_ahead(__import__('os').getpid()).exists())", str(paths.root)],
        capture_output=True, text=True,
    )

    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "True"  # it was made, and then removed
    assert list(paths.root.glob(paths.copied_ahead_glob)) == []


def test_the_cli_commits_what_it_copied_ahead_while_another_run_held_the_lock(prefect_harness, corpus, tmp_path):
    """With the lock free, the CLI opens the warehouse ahead (tests/test_open_ahead.py); with
    it busy, it copies ahead, waits for the lock (--wait), and uses the copy."""
    data = tmp_path / "data"
    paths = DataPaths(data)
    first = newswh("ingest", str(corpus), "--data", str(data), env=harness_api_env())
    assert first.returncode == 0, first.stderr
    assert "on a new warehouse" in " ".join((first.stderr + first.stdout).split())

    holder = WriterLock.acquire(paths.lock)
    try:
        again = subprocess.Popen(
            [NEWSWH, "ingest", str(corpus), "--data", str(data), "--wait", "60"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **harness_api_env()},
        )
        deadline = time.monotonic() + 60
        while not list(data.glob(paths.copied_ahead_glob)):  # copied while the lock is held
            assert again.poll() is None and time.monotonic() < deadline, again.communicate()
            time.sleep(0.05)
    finally:
        holder.release()
    stdout, stderr = again.communicate(timeout=300)

    assert again.returncode == 0, stderr
    output = " ".join((stderr + stdout).split())
    assert "open: run 2 on a copy of the" in output and "MB warehouse in" in output
    assert "s, copied while newswh started" in output
    assert "every file accounted for" in output
    assert duckdb.connect(str(paths.warehouse), read_only=True).execute(
        "select count(*) from ingest_runs"
    ).fetchall() == [(2,)]
    assert sorted(path.name for path in data.iterdir() if path.name.startswith("warehouse")) == ["warehouse.duckdb"]


def test_nothing_is_copied_while_a_process_has_the_warehouse_open_to_write(paths):
    with duckdb.connect(str(paths.warehouse)):  # a DuckDB CLI opened without -readonly
        copy_ahead.start(paths)
        assert copy_ahead.take(paths) is None  # the run's claim then names that process
    assert list(paths.root.glob(paths.copied_ahead_glob)) == []


def test_the_claim_trusts_the_check_made_ahead_only_while_the_warehouse_is_unchanged(paths):
    """The copy's thread made sure nobody wrote the warehouse and that it opens; the claim
    does not open it again while its (inode, size, mtime) is what that check saw."""
    from newswh.ingest import claim_data_folder

    checked = file_state(paths.warehouse)
    stat = paths.warehouse.stat()
    raw = bytearray(paths.warehouse.read_bytes())
    raw[100:8100] = b"\xff" * 8000  # damaged in place, same inode, size and mtime: only an open would tell
    paths.warehouse.write_bytes(bytes(raw))
    os.utime(paths.warehouse, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert file_state(paths.warehouse) == checked

    trusted = claim_data_folder.fn(paths, 0, 0, checked)
    assert trusted.lock is not None
    trusted.lock.release()
    checked_again = claim_data_folder.fn(paths, 0, 0, None)
    assert checked_again.lock is None and "is damaged" in checked_again.refusal
    changed_since = claim_data_folder.fn(paths, 0, 0, (checked[0], checked[1], checked[2] - 1))
    assert changed_since.lock is None and "is damaged" in changed_since.refusal
