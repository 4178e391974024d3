"""The archive survives what users and disks do to it (issue 12).

Each test does to a data folder what people and machines do to real ones: delete the
warehouse, damage it or the lake, write to it during a run, delete the lock, fill the
disk, name folders with glob characters. Afterwards nothing archived is lost, every
failure is one line naming the file and what to do, and `newswh verify` passes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from newswh.lake import DATASETS, expected_partitions
from newswh.locking import IngestAlreadyRunning, WriterLock, writer_lock
from newswh.settings import DataPaths
from newswh.synth import write_corpus
from newswh import warehouse
from newswh.warehouse import WarehouseChanged, commit, next_warehouse
from tests.conftest import SEED
from tests.helpers import NEWSWH, IngestedFolders, harness_api_env, newswh, query, run_ingest, table_fingerprints

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


def _ingest_cli(source: Path, data: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return newswh("ingest", str(source), "--data", str(data), *extra, env=harness_api_env())


def _one_line_error(result: subprocess.CompletedProcess[str], command: str) -> str:
    """The single line a failed command printed last, after checking nothing else alarms."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"newswh {command}: "), line
    return line


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("archive-corpus")
    write_corpus(folder, 120, noise=0.05, seed=12)
    return folder


@pytest.fixture(scope="module")
def archive(corpus, tmp_path_factory) -> tuple[IngestedFolders, dict]:
    """Made once for the module: a data folder whose warehouse archives 30 files that are
    gone from the source, and its table fingerprints."""
    folder = tmp_path_factory.mktemp("archive")
    source, data = folder / "source", folder / "data"
    shutil.copytree(corpus, source)
    run_ingest(source, data)
    for path in sorted(source.glob("*.txt"))[:30]:
        path.unlink()
    run_ingest(source, data)
    return IngestedFolders.keep(source, data), table_fingerprints(data)


@pytest.fixture
def archived(archive, tmp_path) -> tuple[Path, Path, dict]:
    """A data folder whose warehouse archives 30 files that are gone from the source:
    only the warehouse and the lake still hold their articles. The test's own."""
    folders, fingerprints = archive
    return *folders.for_test(tmp_path), fingerprints


# 1. A deleted warehouse is restored from the lake, never restarted from empty.


def test_an_ingest_after_the_warehouse_was_deleted_restores_it_from_the_lake(archived):
    source, data, before = archived
    missing = query(data, "select count(*) from source_files where not is_present")[0][0]
    assert missing == 30
    DataPaths(data).warehouse.unlink()

    result = _ingest_cli(source, data)
    assert result.returncode == 0, result.stderr
    assert table_fingerprints(data) == before  # the 30 archived files' articles are all still there
    assert query(data, "select count(*), max(run_id) from ingest_runs") == [(3, 3)]  # history goes on
    assert query(data, "select count(*) from source_files where not is_present") == [(30,)]
    assert newswh("verify", "--data", str(data)).returncode == 0


def test_an_ingest_refuses_when_the_warehouse_is_gone_and_the_lake_is_damaged(archived):
    source, data, _ = archived
    paths = DataPaths(data)
    paths.warehouse.unlink()
    victim = next((paths.lake / "articles").rglob("*.parquet"))
    victim.write_bytes(victim.read_bytes()[:300])
    lake_before = sorted((path, path.stat().st_size) for path in paths.lake.rglob("*") if path.is_file())

    line = _one_line_error(_ingest_cli(source, data), "ingest")
    assert f"{paths.warehouse} is missing and the lake cannot restore it" in line and str(victim) in line
    assert not paths.warehouse.exists()
    assert sorted((path, path.stat().st_size) for path in paths.lake.rglob("*") if path.is_file()) == lake_before


# 5b. A write-ahead log left beside the warehouse: folded in when DuckDB can replay it,
# else set aside, so that it neither blocks every run nor is replayed against a rebuild.


def _leave_a_log(warehouse_file: Path, torn: bool, table: str = "my_notes") -> bytes:
    """What a writer killed before its checkpoint leaves: a log of a committed table; cut
    short (a torn write), DuckDB replays none of it. Returns the log's bytes."""
    killed = "import duckdb, os; c = duckdb.connect(os.environ['W']); c.execute(os.environ['SQL']); os._exit(0)"
    sql = f"create table {table} as select 'keep me' as note"
    subprocess.run([sys.executable, "-c", killed], check=True, env={**os.environ, "W": str(warehouse_file), "SQL": sql})
    log = warehouse_file.with_name(warehouse_file.name + ".wal")
    if torn:
        os.truncate(log, log.stat().st_size // 2)
    return log.read_bytes()


def test_an_intact_log_is_folded_in_and_a_torn_one_set_aside_not_refused_forever(archived):
    """A torn log used to fail every ingest and rebuild after it with "was changed by
    another process during this run (a write-ahead log appeared beside it)"."""
    source, data, before = archived
    paths = DataPaths(data)
    _leave_a_log(paths.warehouse, torn=False)
    (source / "new.txt").write_bytes(SEED.read_bytes())
    result = _ingest_cli(source, data)
    assert result.returncode == 0, result.stderr
    assert query(data, "select note from my_notes") == [("keep me",)]  # what the writer committed is kept
    assert not list(data.glob("*.unreplayed-*"))

    torn = _leave_a_log(paths.warehouse, torn=True, table="torn_notes")
    (source / "newer.txt").write_bytes(SEED.read_bytes().replace(b"Russia", b"Russland"))
    result = _ingest_cli(source, data)
    assert result.returncode == 0, result.stderr
    [kept] = data.glob("warehouse.duckdb.wal.unreplayed-*")
    assert kept.read_bytes() == torn
    said = "".join(result.stderr.split())  # the display wraps long lines
    assert "DuckDBcouldnotreplay" in said and kept.name in said, result.stderr
    assert not (data / "warehouse.duckdb.wal").exists()
    assert query(data, "select count(*) from source_files where source_path like '%newer.txt'") == [(1,)]
    assert newswh("verify", "--data", str(data)).returncode == 0

    torn_again = _leave_a_log(paths.warehouse, torn=True, table="torn_again")
    rebuilt = newswh("rebuild", "--data", str(data))
    assert rebuilt.returncode == 0, rebuilt.stderr
    kept_again = set(data.glob("warehouse.duckdb.wal.unreplayed-*")) - {kept}
    assert len(kept_again) == 1 and next(iter(kept_again)).read_bytes() == torn_again
    assert next(iter(kept_again)).name in rebuilt.stdout and kept.read_bytes() == torn
    assert not (data / "warehouse.duckdb.wal").exists()
    assert newswh("verify", "--data", str(data)).returncode == 0
    assert table_fingerprints(data) != before  # the two new files' rows are there as well


def test_a_log_beside_a_deleted_warehouse_is_never_replayed_into_its_restored_one(archived):
    source, data, before = archived
    paths = DataPaths(data)
    log = _leave_a_log(paths.warehouse, torn=False)
    paths.warehouse.unlink()
    result = _ingest_cli(source, data)
    assert result.returncode == 0, result.stderr
    [kept] = data.glob("warehouse.duckdb.wal.unreplayed-*")
    assert kept.read_bytes() == log
    assert table_fingerprints(data) == before
    assert query(data, "select count(*) from duckdb_tables() where table_name = 'my_notes'") == [(0,)]
    assert newswh("verify", "--data", str(data)).returncode == 0


# 6. A damaged warehouse is named as damaged; rebuild replaces it, keeping it aside.


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "garbled header":
        path.write_bytes(data[:100] + b"\xff" * 8000 + data[8100:])
    elif how == "garbled middle":  # headers intact, a few bytes of every 256 KiB block garbled
        raw = bytearray(data)
        for offset in range(3 * 4096 + 1000, len(raw), 256 * 1024):
            raw[offset : offset + 16] = bytes(16)
        path.write_bytes(bytes(raw))
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 3])
    else:
        path.write_bytes(b"")


@pytest.mark.parametrize("how", ["garbled header", "garbled middle", "truncated", "empty"])
def test_a_damaged_warehouse_is_named_and_rebuild_restores_it(archived, how):
    source, data, before = archived
    paths = DataPaths(data)
    _damage(paths.warehouse, how)

    verify_line = _one_line_error(newswh("verify", "--data", str(data)), "verify")
    assert f"{paths.warehouse} is damaged" in verify_line and "`newswh rebuild" in verify_line
    (source / "new.txt").write_bytes(SEED.read_bytes())  # a run with something to read, so it reads the tables
    ingest_line = _one_line_error(_ingest_cli(source, data), "ingest")
    assert f"{paths.warehouse} is damaged" in ingest_line and "`newswh rebuild" in ingest_line

    rebuilt = newswh("rebuild", "--data", str(data))
    assert rebuilt.returncode == 0, rebuilt.stderr
    kept = list(data.glob("warehouse.duckdb.damaged-*"))
    assert len(kept) == 1 and kept[0].name in rebuilt.stdout
    assert table_fingerprints(data) == before
    assert newswh("verify", "--data", str(data)).returncode == 0
    if how == "garbled middle":  # and ingests go on from the rebuilt warehouse
        assert run_ingest(source, data).counts["articles_written"] == 1
        assert newswh("verify", "--data", str(data)).returncode == 0


def test_a_damaged_lake_file_is_named_in_one_line_by_rebuild(archived):
    _, data, _ = archived
    paths = DataPaths(data)
    victim = max((paths.lake / "articles").rglob("*.parquet"), key=lambda path: path.stat().st_size)
    raw = bytearray(victim.read_bytes())
    for offset in range(200, len(raw) // 2, 997):  # garble pages, keep the footer readable
        raw[offset] ^= 0x5A
    victim.write_bytes(bytes(raw))
    paths.warehouse.unlink()
    line = _one_line_error(newswh("rebuild", "--data", str(data)), "rebuild")
    assert f"{victim} is unreadable" in line
    assert not paths.warehouse.exists()


@pytest.mark.parametrize("dataset", ["articles", "_warehouse/capture_related"])
def test_a_deleted_lake_file_is_named_by_rebuild_and_by_the_ingest_that_would_restore(archived, dataset):
    """Its rows gone, the rest no longer fit together: the line was the checks' raw dict of
    rows, naming a raw file but not the lake file that was gone. A capture_related file
    lost fitted with everything else (only the best captures' lists were checked), and the
    rebuild passed: those lists were lost, and the next run touching their stories failed."""
    source, data, _ = archived
    paths = DataPaths(data)
    victim = max((paths.lake / dataset).rglob("*.parquet"), key=lambda path: path.stat().st_size)
    victim.unlink()
    paths.warehouse.unlink()
    for line in (
        _one_line_error(newswh("rebuild", "--data", str(data)), "rebuild"),
        _one_line_error(_ingest_cli(source, data), "ingest"),
    ):
        assert f"{victim} is missing, though the last lake sync wrote it: put it back from a backup" in line, line
        assert "the lake's tables do not fit together, as " in line and " fails for " in line and "{" not in line, line
    assert not paths.warehouse.exists()


# 3. Another process writing the warehouse during a run: the run refuses to commit.


def test_commit_refuses_when_the_warehouse_changed_since_it_was_copied(archived):
    _, data, _ = archived
    paths = DataPaths(data)
    with writer_lock(paths.lock), next_warehouse(paths) as copy:
        copy.con.execute("create table run_work as select 1 as x")
        with duckdb.connect(str(paths.warehouse)) as other:
            other.execute("create table my_notes as select 'keep me' as note")
        with pytest.raises(WarehouseChanged, match="changed by another process during this run .*ATTACH"):
            commit(copy)
    assert query(data, "select note from my_notes") == [("keep me",)]
    assert not paths.next_warehouse.exists()


def test_commit_leaves_the_old_warehouse_to_be_removed_after_the_rename(archived, monkeypatch):
    _, data, _ = archived
    paths = DataPaths(data)
    before = paths.warehouse.stat()
    later: list[Path] = []
    monkeypatch.setattr(warehouse, "remove_later", later.append)
    with writer_lock(paths.lock), next_warehouse(paths) as copy:
        copy.con.execute("create table run_work as select 1 as x")
        commit(copy)
    assert query(data, "select x from run_work") == [(1,)]
    # The rename dropped one of the old file's two names, so it freed nothing; the old
    # warehouse, whole, is left to be removed once the commit is done.
    [retired] = later
    assert (retired.stat().st_ino, retired.stat().st_size) == (before.st_ino, before.st_size)
    assert retired.parent == data and retired.match(paths.retired_glob)

    monkeypatch.undo()
    with writer_lock(paths.lock), next_warehouse(paths) as copy:
        commit(copy)
    for thread in threading.enumerate():
        if thread.name == "newswh-remove-later":
            thread.join()
    assert sorted(data.glob(paths.retired_glob)) == [retired]  # only the one the test kept


def test_a_rebuild_never_overwrites_a_warehouse_an_earlier_one_kept(archived, monkeypatch):
    """The kept file is named by the second: a clock set back gave a second rebuild the name
    of the first one's kept warehouse, and the rename overwrote it."""
    from datetime import datetime as real_datetime

    from newswh.integrity import rebuild

    class StoppedClock(real_datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return real_datetime(2026, 11, 1, 1, 30, 0)

    _, data, fingerprints = archived
    paths = DataPaths(data)
    monkeypatch.setattr(warehouse, "datetime", StoppedClock)
    first = paths.warehouse.read_bytes()
    assert rebuild(paths).kept_as.name == "warehouse.duckdb.replaced-20261101T013000"
    second = paths.warehouse.read_bytes()
    assert rebuild(paths).kept_as.name == "warehouse.duckdb.replaced-20261101T013000-2"
    assert (data / "warehouse.duckdb.replaced-20261101T013000").read_bytes() == first
    assert (data / "warehouse.duckdb.replaced-20261101T013000-2").read_bytes() == second
    assert table_fingerprints(data) == fingerprints


def test_commit_where_the_file_system_makes_no_hard_links(archived, monkeypatch):
    _, data, _ = archived
    paths = DataPaths(data)

    def no_links(source: object, target: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    with writer_lock(paths.lock), next_warehouse(paths) as copy:
        copy.con.execute("create table run_work as select 1 as x")
        commit(copy)
    assert query(data, "select x from run_work") == [(1,)]
    assert list(data.glob(paths.retired_glob)) == []


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    """3,000 pages: a run that parses them long enough to be interfered with."""
    folder = tmp_path_factory.mktemp("big")
    write_corpus(folder, 3000, noise=0.02, seed=5)
    return folder


def _parsing_run(tmp_path: Path, big: Path) -> tuple[subprocess.Popen[str], DataPaths]:
    """A data folder holding the seed's article, and a `newswh ingest` of `big` into it
    that has copied the warehouse and is parsing."""
    data = tmp_path / "data"
    paths = DataPaths(data)
    seed_only = tmp_path / "seed"
    seed_only.mkdir()
    shutil.copy(SEED, seed_only)
    run_ingest(seed_only, data)
    run = subprocess.Popen(
        [NEWSWH, "ingest", str(big), "--data", str(data), "--batch-files", "100", "--workers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **harness_api_env()},
    )
    deadline = time.monotonic() + 120
    while not any(paths.staging.glob("run-*/stage_files/*.parquet")):  # copied, now parsing
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.02)
    return run, paths


def _error_line(run: subprocess.Popen[str]) -> str:
    out, err = run.communicate(timeout=300)
    return _one_line_error(subprocess.CompletedProcess(run.args, run.returncode, out, err), "ingest")


def test_a_writer_during_a_run_makes_the_run_fail_without_committing(tmp_path, big):
    run, paths = _parsing_run(tmp_path, big)
    with duckdb.connect(str(paths.warehouse)) as other:  # a DuckDB CLI opened read-write, mid-run
        other.execute("create table my_notes as select 'keep me' as note")
    line = _error_line(run)
    assert "was changed by another process during this run" in line and "ATTACH" in line
    assert query(paths.root, "select note from my_notes") == [("keep me",)]
    assert query(paths.root, "select count(*) from articles") == [(1,)]
    assert not paths.next_warehouse.exists() and not paths.staging.exists()


def test_a_warehouse_deleted_during_a_run_is_said_so_and_the_next_run_restores_it(tmp_path, big):
    run, paths = _parsing_run(tmp_path, big)
    paths.warehouse.unlink()
    line = _error_line(run)
    assert "was deleted by another process during this run; nothing was committed" in line, line
    assert "as it was before" not in line  # it is not: the next run restores it from the lake
    assert not paths.warehouse.exists() and not paths.next_warehouse.exists()
    seed_only = paths.root.parent / "seed"
    result = _ingest_cli(seed_only, paths.root)
    assert result.returncode == 0, result.stderr
    assert query(paths.root, "select count(*) from articles") == [(1,)]


# 4. Deleting the lock file does not let a second writer in.


def _immutable(folder: Path, on: bool) -> bool:
    """Make a folder read-only even for root (chattr +i: no entry made, renamed or removed
    in it), or writable again; False where the file system or the process cannot."""
    return subprocess.run(["chattr", "+i" if on else "-i", str(folder)], capture_output=True).returncode == 0


def test_a_data_folder_turned_read_only_during_a_run_is_one_line_and_the_next_run_cleans_up(tmp_path, big):
    run, paths = _parsing_run(tmp_path, big)
    if not _immutable(paths.root, True):
        run.kill()
        run.communicate()
        pytest.skip("chattr +i is not available here")
    try:
        line = _error_line(run)
    finally:
        _immutable(paths.root, False)
    assert f"could not write to {paths.root}" in line and line.endswith("the warehouse is as it was before this run"), line
    assert query(paths.root, "select count(*) from articles") == [(1,)]
    result = _ingest_cli(paths.root.parent / "seed", paths.root)  # writable again
    assert result.returncode == 0, result.stderr
    assert not paths.next_warehouse.exists() and not paths.staging.exists()
    assert newswh("verify", "--data", str(paths.root)).returncode == 0


def test_a_deleted_lock_file_does_not_let_a_second_writer_in(tmp_path):
    paths = DataPaths(tmp_path / "data")
    first = WriterLock.acquire(paths.lock)
    try:
        paths.lock.unlink()  # a cleanup script
        with pytest.raises(IngestAlreadyRunning):
            WriterLock.acquire(paths.lock)
        refused = _ingest_cli(SEED.parent, paths.root)
        line = _one_line_error(refused, "ingest")
        assert "another ingest" in line and f"is writing to {paths.root}" in line
    finally:
        first.release()
    WriterLock.acquire(paths.lock).release()  # free again once the holder is done


# 5. Fingerprints that cannot cancel, bit rot repaired, footers checked byte for byte.


def test_two_rows_changing_the_same_way_change_the_fingerprint():
    con = duckdb.connect()
    dataset = next(dataset for dataset in DATASETS if dataset.name == "ingest_runs")
    con.execute("create table ingest_runs as select * from (values (1, 1), (2, 1), (3, 7)) as t(run_id, files_seen)")
    con.execute("create view rows as select * from ingest_runs")
    before = expected_partitions(con, dataset)
    con.execute("update ingest_runs set files_seen = 2 where run_id in (1, 2)")
    assert expected_partitions(con, dataset) != before


def test_two_articles_that_gain_a_capture_in_one_run_are_rewritten_in_the_lake(tmp_path):
    source, data = tmp_path / "source", tmp_path / "data"
    write_corpus(source, 200, noise=0.0, seed=4)
    run_ingest(source, data)
    month_of_two = query(
        data,
        "select list(source_path order by source_path)[1:2] from articles "
        "where capture_count = 1 group by year(published_at), month(published_at) having count(*) >= 2 limit 1",
    )[0][0]
    for path in month_of_two:  # a second capture of each: both rows change capture_count from 1 to 2
        shutil.copy(path, Path(path).with_name("again-" + Path(path).name))
    run_ingest(source, data)
    lake = DataPaths(data).lake / "articles"
    counts = query(
        data,
        "select source_path, capture_count from read_parquet(?, hive_partitioning = true) where source_path in ?",
        [[str(path) for path in lake.rglob("*.parquet")], month_of_two],
    )
    assert sorted(counts) == sorted((path, 2) for path in month_of_two)
    assert newswh("verify", "--data", str(data)).returncode == 0


def _rot(path: Path, offsets: list[int]) -> None:
    """Flip bytes but keep the size and the mtime, as failing disks and bad copies do."""
    stat = path.stat()
    raw = bytearray(path.read_bytes())
    for offset in offsets:
        raw[offset] ^= 0xFF
    path.write_bytes(bytes(raw))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_bit_rot_in_pages_and_footers_is_found_by_verify_and_repaired(archived):
    source, data, _ = archived
    lake = DataPaths(data).lake
    pages = max((lake / "articles").rglob("*.parquet"), key=lambda path: path.stat().st_size)
    footer = lake / "rejects" / "part-0.parquet"
    footer_size = pq.read_metadata(footer).serialized_size
    footer_start = footer.stat().st_size - 8 - footer_size
    _rot(pages, [pages.stat().st_size // 3])
    _rot(footer, [footer_start + footer_size // 2, footer_start + footer_size // 3])

    found = newswh("verify", "--data", str(data))
    assert found.returncode == 1
    assert str(pages) in found.stderr and str(footer) in found.stderr
    assert "`newswh verify --repair`" in found.stderr
    run_ingest(source, data)  # an ingest trusts footers: it is not the repair
    repaired = newswh("verify", "--repair", "--data", str(data))
    assert repaired.returncode == 0, repaired.stderr
    assert "repair: 2 lake files rewritten" in repaired.stdout
    assert newswh("verify", "--data", str(data)).returncode == 0


# 8. Folder names with glob characters are names, not patterns.


@pytest.mark.parametrize("name", ["dat*", "[x]"])
def test_data_folders_named_like_glob_patterns_work(corpus, tmp_path, name):
    decoy = tmp_path / "data-x"  # what `dat*` would match as a pattern
    run_ingest(SEED.parent, decoy)
    data = tmp_path / name
    first = run_ingest(corpus, data)
    assert run_ingest(corpus, data).counts["files_unchanged"] == first.counts["files_seen"]
    assert newswh("verify", "--data", str(data)).returncode == 0
    before = table_fingerprints(data)
    DataPaths(data).warehouse.unlink()
    assert newswh("rebuild", "--data", str(data)).returncode == 0
    assert table_fingerprints(data) == before


def test_a_data_folder_with_a_question_mark_is_refused_in_one_line(tmp_path):
    """DuckDB reads what follows '?' in a database path as options, so it cannot commit there."""
    data = tmp_path / "data?x"
    line = _one_line_error(_ingest_cli(SEED.parent, data), "ingest")
    assert "choose a data folder whose path has no '?'" in line
    assert not data.exists()  # refused before anything was written, as README says


# 10. A full disk: one line that says so, and the run's files removed from it.


@pytest.fixture
def small_disk(tmp_path):
    """A 6 MB file system of its own (tmpfs, so root only): the disk a run fills up."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount_point)], capture_output=True)
    if mounted.returncode != 0:
        print("\n*** SKIPPING the real full-disk test: cannot mount a tmpfs here (not root) ***", file=sys.stderr)
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_is_said_in_one_line_and_the_run_cleans_up(small_disk, tmp_path):
    data = small_disk / "data"
    run_ingest(SEED.parent, data)
    before = table_fingerprints(data)
    big = tmp_path / "big"
    write_corpus(big, 3000, noise=0.02, seed=8)
    line = _one_line_error(_ingest_cli(big, data), "ingest")
    assert line.startswith(f"newswh ingest: the disk holding {data} is full: this run needed more than ")
    assert line.endswith("free some space and run again; the warehouse is as it was before this run")
    assert table_fingerprints(data) == before
    paths = DataPaths(data)
    assert not paths.next_warehouse.exists() and not paths.staging.exists() and not paths.spill.exists()
    assert not list(paths.lake.rglob("*.tmp"))
    assert newswh("verify", "--data", str(data)).returncode == 0



def _fill(disk: Path) -> None:
    """Leave no free byte on `disk`."""
    with open(disk / "filler", "wb") as filler:
        with pytest.raises(OSError):
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()


def test_sql_that_fills_the_disk_fails_as_the_disk_not_as_the_sql(small_disk, tmp_path):
    """A load statement that hit a full disk surfaced as a raw `sql/load/…: IO Error`."""
    from newswh.failures import says_disk_full
    from newswh.warehouse import run_sql_file

    fill = tmp_path / "fill.sql"
    fill.write_text("create table t as select repeat('x', 100) || i::varchar as s from range(2000000) r(i); checkpoint")
    with duckdb.connect(str(small_disk / "full.duckdb")) as con:
        with pytest.raises(duckdb.Error) as raised:
            run_sql_file(con, fill)
    assert says_disk_full(raised.value), raised.value


def test_a_rebuild_that_fills_the_disk_blames_the_disk_not_the_lake(archived, small_disk):
    """It named a healthy lake file `unreadable`, sending the user after the archive."""
    _, made, _ = archived
    data = small_disk / "data"
    data.mkdir()
    shutil.copytree(made / "lake", data / "lake")
    _fill(small_disk)
    line = _one_line_error(newswh("rebuild", "--data", str(data)), "rebuild")
    assert line.startswith(f"newswh rebuild: the disk holding {data} is full") and "unreadable" not in line, line
    assert line.endswith("the warehouse was not changed")
    assert not DataPaths(data).warehouse.exists() and not DataPaths(data).next_warehouse.exists()


def test_verify_repair_on_a_full_disk_is_one_line(small_disk):
    data = small_disk / "data"
    run_ingest(SEED.parent, data)
    next((data / "lake" / "articles").rglob("*.parquet")).unlink()
    _fill(small_disk)
    line = _one_line_error(newswh("verify", "--repair", "--data", str(data)), "verify")
    assert "the disk holding" in line and "is full" in line, line


def test_a_copied_lake_file_is_named_by_rebuild(archived):
    """A copy of a part beside it made the lake's tables not fit together, and the line named
    only the checks that failed, not the file to move out."""
    _, data, _ = archived
    paths = DataPaths(data)
    part = max((paths.lake / "articles").rglob("*.parquet"), key=lambda path: path.stat().st_size)
    copy = part.with_name("part-0 (copy).parquet")
    shutil.copy2(part, copy)
    paths.warehouse.unlink()
    line = _one_line_error(newswh("rebuild", "--data", str(data)), "rebuild")
    assert f"{copy} is there, though the last lake sync did not write it (a copy?): move it out of the lake" in line, line
    assert not paths.warehouse.exists()
