"""verify and rebuild: the lake and the warehouse check each other, and either restores the other."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from newswh.dictionary import EXAMPLE_CORPUS
from newswh.settings import DataPaths
from tests.helpers import DATA_TABLES, newswh, query, run_ingest, table_fingerprints

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def data(example_data, tmp_path):
    """A private copy of the example warehouse and lake, free to damage."""
    copy = tmp_path / "data"
    shutil.copytree(example_data, copy)
    return copy


def test_verify_passes_on_a_clean_run(data):
    result = newswh("verify", "--data", str(data))
    assert result.returncode == 0, result.stderr
    assert "articles: 7 rows" in result.stdout and "source_files: 11 rows" in result.stdout
    assert result.stdout.strip().endswith("every data check passes")


def test_rebuild_recreates_a_deleted_warehouse_exactly(data):
    before = table_fingerprints(data)
    runs = query(data, "select * from ingest_runs")
    DataPaths(data).warehouse.unlink()

    missing = newswh("verify", "--data", str(data))
    assert missing.returncode == 1 and "`newswh rebuild` recreates it" in missing.stderr

    rebuilt = newswh("rebuild", "--data", str(data))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert table_fingerprints(data) == before
    assert query(data, "select * from ingest_runs") == runs
    assert newswh("verify", "--data", str(data)).returncode == 0
    # The manifest came back too: the next run reads nothing.
    summary = run_ingest(EXAMPLE_CORPUS, data)
    assert summary.counts["files_unchanged"] == 11 and summary.counts["files_new"] == 0


def test_a_damaged_lake_file_is_named_and_the_next_ingest_repairs_it(data):
    lake = DataPaths(data).lake
    truncated = lake / "articles" / "year=2015" / "month=11" / "part-0.parquet"
    truncated.write_bytes(truncated.read_bytes()[:200])
    deleted = lake / "rejects" / "part-0.parquet"
    deleted.unlink()
    news_items = sorted((lake / "news_items").rglob("part-0.parquet"))[0]
    stray = news_items.with_name("part-1.parquet")
    shutil.copy(news_items, stray)

    result = newswh("verify", "--data", str(data))
    assert result.returncode == 1
    problems = result.stderr.splitlines()
    assert problems[0] == "3 problems:"
    assert any(str(truncated) in line and "unreadable" in line for line in problems)
    assert any(str(deleted) in line and "missing (the warehouse has 3 rejects rows for it)" in line for line in problems)
    assert any(str(stray) in line and "not backed by the warehouse" in line for line in problems)

    refused = newswh("rebuild", "--data", str(data))
    assert refused.returncode == 1
    assert "`newswh ingest` rewrites" in refused.stderr and refused.stderr.count("\n") == 1

    run_ingest(EXAMPLE_CORPUS, data)
    assert newswh("verify", "--data", str(data)).returncode == 0


def test_verify_names_a_warehouse_that_disagrees_with_the_lake(data):
    import duckdb

    with duckdb.connect(str(DataPaths(data).warehouse)) as con:
        con.execute(
            "update captures set title = 'Edited by hand' where attribution = 'FNA' "
            "and source_path in (select source_path from articles)"
        )
    result = newswh("verify", "--data", str(data))
    assert result.returncode == 1
    assert "year=2015/month=11/part-0.parquet: differs from the warehouse (6 rows in the file, 6 in the warehouse)" in result.stderr


@pytest.mark.parametrize("lost", ["every bucket", "one bucket"])
def test_rebuild_refuses_a_lake_whose_manifest_lost_files(data, lost, tmp_path):
    """The manifest's lake dataset is 64 bucket files, any of which may be deleted: rebuilt
    without them, the next ingest counted the files they listed as new, and verify passed.
    (A bucket per run that first saw its files: a second run makes a second bucket.)"""
    from newswh.synth import write_corpus

    write_corpus(tmp_path / "more", 2, noise=0.0, seed=3)
    run_ingest(tmp_path / "more", data)
    paths = DataPaths(data)
    manifest = paths.lake / "_warehouse" / "source_files"
    buckets = sorted(manifest.glob("bucket=*"))
    assert len(buckets) > 1
    before = paths.warehouse.read_bytes()
    for bucket in buckets if lost == "every bucket" else buckets[:1]:
        shutil.rmtree(bucket)

    rebuilt = newswh("rebuild", "--data", str(data))

    assert rebuilt.returncode == 1 and "Traceback" not in rebuilt.stderr
    assert "source_files, the manifest, lacks the files of" in rebuilt.stderr
    assert f"files of {manifest} are missing; the warehouse was not changed" in rebuilt.stderr
    assert paths.warehouse.read_bytes() == before


def test_verify_names_a_warehouse_whose_manifest_lost_rows(data):
    import duckdb

    with duckdb.connect(str(DataPaths(data).warehouse)) as con:
        [(path,)] = con.execute("select min(source_path) from captures").fetchall()
        con.execute("delete from source_files where source_path = ?", [path])
    result = newswh("verify", "--data", str(data))
    assert result.returncode == 1
    assert f"source_files, the manifest, lacks the files of 1 captures rows (e.g. {path})" in result.stderr


def test_a_lake_laid_out_by_an_earlier_release_verifies_rebuilds_and_is_laid_out_afresh(data, tmp_path, monkeypatch):
    """Releases before this layout kept the manifest by a hash of the path: a user whose
    warehouse is lost after upgrading must still rebuild it from that lake."""
    import duckdb

    from newswh import lake
    from newswh.lake import PART_FILE
    from newswh.synth import write_corpus

    more = tmp_path / "more"
    write_corpus(more, 3, noise=0.0, seed=3)
    run_ingest(more, data)  # a second run: the layouts differ in more than their bucket numbers
    paths = DataPaths(data)
    [manifest] = [dataset for dataset in lake.DATASETS if dataset.name == "source_files"]
    [earlier] = manifest.earlier()
    with monkeypatch.context() as patched, duckdb.connect(str(paths.warehouse)) as con:
        patched.setattr(lake, "DATASETS", tuple(earlier if dataset is manifest else dataset for dataset in lake.DATASETS))
        [(run_id,)] = con.execute("select max(run_id) from ingest_runs").fetchall()
        lake.prepare_lake(con, paths.lake, run_id).publish()
    folder = paths.lake / manifest.folder
    as_earlier = {path.parent.name for path in folder.rglob(PART_FILE)}
    assert len(as_earlier) > 2, as_earlier  # a file per hash of the 14 paths, not 2 by their runs
    before = table_fingerprints(data)

    verified = newswh("verify", "--data", str(data))
    assert verified.returncode == 0, verified.stderr
    paths.warehouse.unlink()
    rebuilt = newswh("rebuild", "--data", str(data))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert table_fingerprints(data) == before

    run_ingest(more, data)
    assert {path.parent.name for path in folder.rglob(PART_FILE)} == {f"bucket={run}" for run in (1, 2)}
    assert newswh("verify", "--data", str(data)).returncode == 0


def test_rebuild_removes_what_a_killed_ingest_left_behind(data):
    """A commit's second name for the old warehouse holds its blocks until removed; an
    ingest killed mid-commit leaves it, and a rebuild (not only the next ingest) removes it."""
    paths = DataPaths(data)
    dead = subprocess.Popen(["true"])
    dead.wait()
    leftover = paths.retired(dead.pid, "0")
    os.link(paths.warehouse, leftover)

    rebuilt = newswh("rebuild", "--data", str(data))

    assert rebuilt.returncode == 0, rebuilt.stderr
    assert not leftover.exists()


def test_rebuild_tables_cover_every_data_table():
    from newswh.lake import DATASETS

    assert set(DATA_TABLES) | {"source_files", "ingest_runs"} == {dataset.table_name for dataset in DATASETS}


def test_repair_and_ingest_never_delete_files_newswh_did_not_write(data, tmp_path):
    """A data folder created inside a lake dataset by mistake (`--data lake/articles/…`)
    lost its warehouse and its own lake to `verify --repair`: every file under a dataset
    folder that the warehouse did not back was deleted."""
    lake = DataPaths(data).lake
    nested = lake / "articles" / "mine"
    run_ingest(EXAMPLE_CORPUS, nested)
    notes = lake / "rejects" / "NOTES.txt"
    notes.write_text("kept by a person", encoding="utf-8")
    theirs = sorted(path for path in nested.rglob("*") if path.is_file())
    stray = lake / "rejects" / "part-1.parquet"  # where a sync writes: removed, as before
    shutil.copy(lake / "rejects" / "part-0.parquet", stray)

    result = newswh("verify", "--data", str(data))
    assert result.returncode == 1
    nested_parquet = [line for line in result.stderr.splitlines() if str(nested) in line]
    assert nested_parquet and all("not where newswh writes" in line and "move it out of the lake" in line for line in nested_parquet)
    repaired = newswh("verify", "--repair", "--data", str(data))
    assert "repair: 0 lake files rewritten, 1 removed" in repaired.stdout, repaired.stdout + repaired.stderr
    assert not stray.exists()
    run_ingest(EXAMPLE_CORPUS, data)
    assert sorted(path for path in nested.rglob("*") if path.is_file()) == theirs
    assert notes.read_text(encoding="utf-8") == "kept by a person"
    # A rebuild read them as the lake's rows, and blamed the first for being "unreadable".
    held = table_fingerprints(data)
    rebuilt = newswh("rebuild", "--data", str(data))
    assert rebuilt.returncode == 1 and "Traceback" not in rebuilt.stderr
    assert f"newswh rebuild: {nested}/" in rebuilt.stderr and ": not where newswh writes" in rebuilt.stderr, rebuilt.stderr
    assert "move it out of the lake" in rebuilt.stderr and table_fingerprints(data) == held
    shutil.rmtree(nested)
    assert newswh("rebuild", "--data", str(data)).returncode == 0


@pytest.mark.parametrize("damage", ["garbled", "deleted"])
def test_verify_names_a_lost_publish_record_and_repair_writes_it_again(data, damage):
    """`synced.json` is what `sql --lake` and the dashboard check the lake's files against:
    overwritten (a profiler's output aimed at it) or gone, verify said "ok", and a copy of
    a part then counted twice unnoticed."""
    mark = DataPaths(data).lake / "_warehouse" / "synced.json"
    if damage == "garbled":
        mark.write_text('{"query_name": "select 1"}')
    else:
        mark.unlink()
    result = newswh("verify", "--data", str(data))
    assert result.returncode == 1
    assert result.stderr.splitlines()[:2] == [
        "1 problems:",
        f"  {mark}: missing or unreadable, so `sql --lake` and the dashboard cannot tell the lake's files from others put there",
    ]
    assert newswh("verify", "--repair", "--data", str(data)).returncode == 0
    assert newswh("verify", "--data", str(data)).returncode == 0
