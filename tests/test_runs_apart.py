"""A warehouse and a lake at different runs: whichever holds more, nothing of it is lost.

A lake is published only after the warehouse commits, so the two part ways in two
ways: a run that stopped between its commit and its lake sync leaves the warehouse a
run ahead; a warehouse put back from a backup leaves the lake ahead. Each test does one
to a real data folder, then runs what a user would, `rebuild`, `ingest` and `verify
--repair` among them, and checks that every archived article is still there.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from newswh.settings import DataPaths
from newswh.synth import write_corpus
from tests.helpers import newswh, query, run_ingest, table_fingerprints
from tests.test_archive import _ingest_cli, _one_line_error

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


@pytest.fixture
def two_runs(tmp_path) -> tuple[Path, DataPaths, Path, Path]:
    return _two_runs(tmp_path)


def _two_runs(tmp_path: Path) -> tuple[Path, DataPaths, Path, Path]:
    """Run 1 over 40 files, then run 2 over 20 more, whose files the crawl then drops: after
    that only the warehouse and the lake hold run 2's articles. Returns the source, the data
    folder, and copies of the warehouse and of the lake as run 1 left them."""
    corpus, source = tmp_path / "corpus", tmp_path / "source"
    write_corpus(corpus, 60, noise=0.0, seed=3)
    files = sorted(corpus.glob("*.txt"))
    source.mkdir()
    for path in files[:40]:
        shutil.copy2(path, source / path.name)
    paths = DataPaths(tmp_path / "data")
    run_ingest(source, paths.root)
    warehouse_after_1, lake_after_1 = tmp_path / "warehouse-run-1.duckdb", tmp_path / "lake-run-1"
    shutil.copy2(paths.warehouse, warehouse_after_1)
    shutil.copytree(paths.lake, lake_after_1)
    (source / "batch2").mkdir()
    for path in files[40:]:
        shutil.copy2(path, source / "batch2" / path.name)
    run_ingest(source, paths.root)
    shutil.rmtree(source / "batch2")
    return source, paths, warehouse_after_1, lake_after_1


def _batch2_articles(data: Path) -> int:
    return query(data, "select count(*) from articles where source_path like '%/batch2/%'")[0][0]


def test_rebuild_refuses_a_warehouse_a_run_ahead_of_the_lake(two_runs):
    """A run stopped after its commit, before its lake sync: the lake is as run 1 left it.
    A rebuild replaced the warehouse with the lake's older tables, and run 2 was gone."""
    source, paths, _, lake_after_1 = two_runs
    shutil.rmtree(paths.lake)
    shutil.copytree(lake_after_1, paths.lake)
    held = table_fingerprints(paths.root)
    assert _batch2_articles(paths.root) == 20

    line = _one_line_error(newswh("rebuild", "--data", str(paths.root)), "rebuild")
    assert f"{paths.warehouse} holds run 2, which the lake does not: " in line, line
    assert "`newswh ingest` brings the lake up to date" in line and line.endswith("The warehouse was not changed")
    (paths.lake / "_warehouse" / "synced.json").unlink()  # the lake's own ingest_runs still tells
    assert _one_line_error(newswh("rebuild", "--data", str(paths.root)), "rebuild") == line
    assert table_fingerprints(paths.root) == held
    assert not list(paths.root.glob("warehouse.duckdb.*-*"))

    assert _ingest_cli(source, paths.root).returncode == 0  # as the message says
    assert _batch2_articles(paths.root) == 20
    checked = newswh("verify", "--data", str(paths.root))
    assert checked.returncode == 0, checked.stderr


def test_a_warehouse_restored_from_an_older_backup_never_shrinks_the_lake(two_runs):
    """The lake was synced to the restored warehouse, deleting run 2's articles from it:
    both copies then lacked them, and verify passed."""
    source, paths, warehouse_after_1, _ = two_runs
    shutil.copy2(warehouse_after_1, paths.warehouse)
    lake_before = {path: path.read_bytes() for path in paths.lake.rglob("*") if path.is_file()}

    line = _one_line_error(_ingest_cli(source, paths.root), "ingest")
    assert f"the lake was published by run 2, but the last run in {paths.warehouse} is 1" in line, line
    assert "`newswh rebuild" in line and line.endswith("the warehouse is as it was before this run")

    # Without the record of the last publish, the lake's own ingest_runs tells the same.
    (paths.lake / "_warehouse" / "synced.json").unlink()
    lake_before = {path: path.read_bytes() for path in paths.lake.rglob("*") if path.is_file()}
    lacks = f"the lake holds run 2, which {paths.warehouse} lacks"
    assert lacks in _one_line_error(_ingest_cli(source, paths.root), "ingest")
    verified = newswh("verify", "--data", str(paths.root))
    assert verified.returncode == 1 and "Traceback" not in verified.stderr
    assert lacks in verified.stderr
    assert "verify --repair` rewrites the lake" not in verified.stderr  # the advice that would have lost run 2
    repair = _one_line_error(newswh("verify", "--repair", "--data", str(paths.root)), "verify")
    assert lacks in repair and repair.endswith("nothing was changed")
    assert {path: path.read_bytes() for path in paths.lake.rglob("*") if path.is_file()} == lake_before

    rebuilt = newswh("rebuild", "--data", str(paths.root))
    assert rebuilt.returncode == 0, rebuilt.stderr
    [kept] = paths.root.glob("warehouse.duckdb.replaced-*")  # a rebuild never deletes the warehouse it replaces
    assert kept.read_bytes() == warehouse_after_1.read_bytes()
    assert f"the file it replaced is kept as {kept.name}" in rebuilt.stdout
    # and a writer refused meanwhile is told it was a rebuild (newswh.locking), not "another ingest"
    assert json.loads(paths.lock.read_text(encoding="utf-8"))["doing"] == "rebuild"
    assert _batch2_articles(paths.root) == 20
    assert _ingest_cli(source, paths.root).returncode == 0
    assert _batch2_articles(paths.root) == 20
    assert newswh("verify", "--data", str(paths.root)).returncode == 0


def test_a_lake_publish_that_fails_after_the_commit_says_the_run_committed(tmp_path, monkeypatch):
    """It said "the warehouse is as it was before this run" of a run that had committed."""
    from newswh import lake
    from newswh.ingest import ingest

    source = tmp_path / "source"
    write_corpus(source, 30, noise=0.0, seed=4)
    data = tmp_path / "data"
    run_ingest(source, data)
    shutil.copy2(sorted(source.glob("*.txt"))[0], source / "extra.txt")
    shutil.copy2(sorted(source.glob("*.txt"))[1], source / "another.txt")

    def refuse(*_: object) -> None:
        raise PermissionError(1, "Operation not permitted", str(data / "lake" / "_warehouse" / ".synced.json.tmp"))

    monkeypatch.setattr(lake, "_write_sync_mark", refuse)
    state = ingest(source=str(source), data=str(data), return_state=True)
    assert not state.is_completed()
    assert state.message.startswith("run 2 committed, but its lake files could not be published (could not write to "), state.message
    assert state.message.endswith("the warehouse holds the run, and the next `newswh ingest` brings the lake up to date")
    assert query(data, "select max(run_id) from ingest_runs")[0][0] == 2
    monkeypatch.undo()
    assert run_ingest(source, data).counts["files_seen"] == 32
    checked = newswh("verify", "--data", str(data))
    assert checked.returncode == 0, checked.stderr


def test_a_warehouse_of_another_data_folder_never_empties_the_lake(two_runs, tmp_path):
    """Its runs were numbered past the lake's, so it passed for newer: the next ingest synced
    the lake to it and deleted every article of this folder from their one other copy."""
    source, paths, _, _ = two_runs
    other_source, other = tmp_path / "other-source", tmp_path / "other"
    write_corpus(other_source, 4, noise=0.0, seed=5)
    for _ in range(3):
        (other_source / f"more-{_}.txt").write_bytes(next(other_source.glob("0*.txt")).read_bytes() + b" ")
        run_ingest(other_source, other)
    shutil.copy2(DataPaths(other).warehouse, paths.warehouse)  # run 3 of another folder
    lake_before = {path: path.read_bytes() for path in paths.lake.rglob("*") if path.is_file()}

    line = _one_line_error(_ingest_cli(source, paths.root), "ingest")
    assert f"the lake and {paths.warehouse} hold different runs (runs 1, 2 of the lake are not the warehouse's)" in line, line
    assert "hold different runs (runs 1, 2 of" in _one_line_error(newswh("verify", "--repair", "--data", str(paths.root)), "verify")
    assert {path: path.read_bytes() for path in paths.lake.rglob("*") if path.is_file()} == lake_before

    rebuilt = newswh("rebuild", "--data", str(paths.root))  # as the message says: the lake is this folder's archive
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert list(paths.root.glob("warehouse.duckdb.replaced-*"))
    assert _batch2_articles(paths.root) == 20 and query(paths.root, "select count(*) from articles")[0][0] >= 60


@pytest.mark.parametrize("release", ["this", "earlier"])
def test_a_lake_restored_in_part_keeps_the_newer_files(tmp_path, monkeypatch, release):
    """The warehouse and the lake's own folder (`_warehouse`: its run records) put back from
    run 1's backup, the article files left as run 2 wrote them: every record agreed on run 1,
    so the next ingest synced the newer files down to the old warehouse, and run 2's
    articles, whose raw files are gone, were lost from their one copy. A file of this
    release says which run wrote it; one of an earlier release, which did not, is read for
    articles the warehouse lacks."""
    from newswh import lake

    if release == "earlier":
        monkeypatch.setattr(lake, "_run_stamp", lambda con, run_id: None)
    source, paths, warehouse_after_1, lake_after_1 = _two_runs(tmp_path)
    monkeypatch.undo()
    internal_after_2 = tmp_path / "internal-run-2"
    shutil.copytree(paths.lake / "_warehouse", internal_after_2)
    shutil.copy2(warehouse_after_1, paths.warehouse)
    shutil.rmtree(paths.lake / "_warehouse")
    shutil.copytree(lake_after_1 / "_warehouse", paths.lake / "_warehouse")
    lake_before = {path: path.read_bytes() for path in paths.lake.rglob("*") if path.is_file()}

    why = ") was written by run 2, which " if release == "this" else " articles ("
    line = _one_line_error(_ingest_cli(source, paths.root), "ingest")
    assert line.startswith(f"newswh ingest: {paths.lake / 'articles'}/") and why in line, line
    assert "Put back the lake's _warehouse folder from when it was written, then `newswh rebuild" in line, line
    verified = newswh("verify", "--data", str(paths.root))
    assert verified.returncode == 1 and "Traceback" not in verified.stderr
    assert why in verified.stderr
    assert "verify --repair` rewrites the lake" not in verified.stderr
    assert {path: path.read_bytes() for path in paths.lake.rglob("*") if path.is_file()} == lake_before

    shutil.rmtree(paths.lake / "_warehouse")  # as the message says: the lake whole again, from one time
    shutil.copytree(internal_after_2, paths.lake / "_warehouse")
    rebuilt = newswh("rebuild", "--data", str(paths.root))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert _batch2_articles(paths.root) == 20
    assert run_ingest(source, paths.root).counts["files_seen"] == 40
    assert _batch2_articles(paths.root) == 20


def test_a_publish_stopped_before_its_record_leaves_a_lake_that_rebuilds(two_runs):
    """Run 2's lake files renamed into place, then the process killed before it wrote the
    record of that publish (`synced.json`, run 1's still): each file's digest differed from
    run 1's record, so `verify` called the intact lake damaged, and with the warehouse lost
    too, `rebuild` (and the ingest that restores first) refused the archive."""
    source, paths, _, lake_after_1 = two_runs
    shutil.copy2(lake_after_1 / "_warehouse" / "synced.json", paths.lake / "_warehouse" / "synced.json")
    verified = newswh("verify", "--data", str(paths.root))
    assert verified.returncode == 0 and "damage" not in verified.stdout + verified.stderr, verified.stdout + verified.stderr
    paths.warehouse.unlink()
    rebuilt = newswh("rebuild", "--data", str(paths.root))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert _batch2_articles(paths.root) == 20

