"""The same tables and views over the Parquet lake as over the warehouse: `newswh sql --lake`."""

from __future__ import annotations

import json
import re
import os
import shutil
import threading

import duckdb
import pytest

from newswh.lake import SYNC_MARK
from newswh.lake_views import find_lake, lake_state, open_lake, snapshot
from newswh.settings import DataPaths
from tests.helpers import newswh, run_ingest


def _catalog(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        name
        for (name,) in con.execute(
            "select table_name from duckdb_tables() where database_name = current_database() "
            "union select view_name from duckdb_views() where not internal and database_name = current_database() "
            "order by 1"
        ).fetchall()
    ]


def _rows(con: duckdb.DuckDBPyConnection, query: str) -> tuple[list[tuple[str, str]], list[tuple[object, ...]]]:
    result = con.execute(query)
    columns = [(column[0], str(column[1])) for column in result.description]
    return columns, sorted(result.fetchall(), key=repr)


@pytest.fixture(scope="module")
def generated_data(prefect_harness, corpus, tmp_path_factory):
    """The generated corpus with every kind of damage (undated pages, rejects of every
    reason, duplicate captures), ingested."""
    data = tmp_path_factory.mktemp("generated") / "data"
    run_ingest(corpus, data)
    return data


@pytest.mark.parametrize("corpus_data", ["example_data", "generated_data"])
def test_every_table_and_view_gives_the_same_rows_over_the_lake(corpus_data, request):
    data = request.getfixturevalue(corpus_data)
    with duckdb.connect(str(DataPaths(data).warehouse), read_only=True) as warehouse:
        names = _catalog(warehouse)
        lake = open_lake(DataPaths(data).lake)
        assert set(names) <= set(_catalog(lake))
        assert {"article_facts", "daily_volume", "story_ids", "related_links", "most_related", "media_mix",
                "outlets", "crawl_quality", "captures"} <= set(names)
        for name in names:
            over_warehouse = _rows(warehouse, f"select * from {name}")
            assert over_warehouse[1], f"{name} is empty over the warehouse: the comparison would prove nothing"
            assert _rows(lake, f"select * from {name}") == over_warehouse, name
        search = "select * from search_articles('aleppo')"
        assert _rows(lake, search) == _rows(warehouse, search)
        lake.close()


def test_sql_lake_needs_only_the_lake_folder(example_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DataPaths(example_data).lake, data / "lake")
    for folder in (data, data / "lake"):  # --data names the data folder, or the lake itself
        result = newswh("sql", "--lake", "select outlet, articles from outlets", "--data", str(folder), "-f", "csv")
        assert result.returncode == 0, result.stderr
        assert result.stdout == "outlet,articles\nPress TV,3\nFNA,1\nSana,1\n"
    assert not DataPaths(data).warehouse.exists()


def test_sql_lake_answers_while_a_writer_holds_the_warehouse(example_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(example_data, data)
    # A process holding warehouse.duckdb read-write stops every reader of that file; not the lake's.
    with duckdb.connect(str(DataPaths(data).warehouse)):
        over_warehouse = newswh("sql", "select 1", "--data", str(data))
        over_lake = newswh("sql", "--lake", "select count(*) from article_facts", "--data", str(data), "-f", "csv")
    assert over_warehouse.returncode == 1
    assert over_lake.returncode == 0, over_lake.stderr
    assert over_lake.stdout == "count_star()\n7\n"


def test_sql_lake_errors_are_one_line(example_data, tmp_path):
    missing = newswh("sql", "--lake", "select 1", "--data", str(tmp_path / "nowhere"))
    assert missing.returncode == 1
    assert missing.stderr == f"newswh sql: no lake at {tmp_path / 'nowhere' / 'lake'}: run `newswh ingest --data {tmp_path / 'nowhere'}` first\n"
    write = newswh("sql", "--lake", "delete from articles", "--data", str(example_data))
    assert write.returncode == 1 and write.stderr.count("\n") == 1 and "delete" in write.stderr


def test_an_empty_lake_has_every_table_and_view_empty(tmp_path):
    (tmp_path / "lake").mkdir()
    with open_lake(find_lake(tmp_path)) as con:
        assert con.execute("select count(*) from articles").fetchall() == [(0,)]
        assert con.execute("select count(*) from daily_volume").fetchall() == [(0,)]
        assert con.execute("select count(*) from search_articles('x')").fetchall() == [(0,)]
        assert con.execute("select count(*) from captures").fetchall() == [(0,)]


def test_a_reader_waits_out_a_publish_under_way(example_data, tmp_path):
    lake = tmp_path / "lake"
    shutil.copytree(DataPaths(example_data).lake, lake, copy_function=shutil.copy2)
    assert snapshot(lake, wait_seconds=0).settled
    before = lake_state(lake)
    # Mid-publish, a renamed file is not yet the one synced.json records (the record comes last).
    part = snapshot(lake).files["articles"][0]
    recorded = part.stat().st_mtime_ns
    os.utime(part, ns=(recorded + 10**9, recorded + 10**9))
    assert not snapshot(lake, wait_seconds=0).settled
    assert lake_state(lake) != before
    publish_done = threading.Timer(0.3, lambda: os.utime(part, ns=(recorded, recorded)))
    publish_done.start()
    try:
        assert snapshot(lake, wait_seconds=10).settled
    finally:
        publish_done.cancel()
    assert lake_state(lake) == before


@pytest.mark.parametrize("folder", ["articles", "_warehouse/duplicate_captures"])
def test_a_dataset_without_files_reads_as_empty(example_data, tmp_path, folder):
    lake = tmp_path / "lake"
    shutil.copytree(DataPaths(example_data).lake, lake)
    shutil.rmtree(lake / folder)
    mark = lake / SYNC_MARK  # a publish that wrote no file there (a lake deleting files it wrote is refused)
    recorded = json.loads(mark.read_text(encoding="utf-8"))
    recorded["files"] = {name: files for name, files in recorded["files"].items() if not name.startswith(folder)}
    mark.write_text(json.dumps(recorded), encoding="utf-8")
    with open_lake(lake) as con:
        captures = con.execute("select count(*) from captures").fetchall()[0][0]
        assert captures == (1 if folder == "articles" else 7)


def test_a_read_during_which_the_lake_changed_is_read_again(example_data, tmp_path):
    """A view reads its files when queried: a publish that began after the lake was opened
    mixed two runs into one result (new articles beside the old manifest)."""
    from newswh.lake import _write_sync_mark
    from newswh.lake_views import READ_ATTEMPTS, LakeChangedDuringRead, read_consistently

    lake = tmp_path / "lake"
    shutil.copytree(DataPaths(example_data).lake, lake, copy_function=shutil.copy2)
    part = snapshot(lake).files["articles"][0]
    reads = []

    def read(con: duckdb.DuckDBPyConnection, publishes: int) -> int:
        reads.append(con.execute("select count(*) from articles").fetchall()[0][0])
        if len(reads) <= publishes:  # an ingest renames a file into place while this read runs
            stamp = part.stat().st_mtime_ns + 10**9
            os.utime(part, ns=(stamp, stamp))
            _write_sync_mark(lake, len(reads), {part})  # and records it: the publish is complete
        return len(reads)

    assert read_consistently(lake, lambda con: read(con, publishes=1)) == 2
    reads.clear()
    with pytest.raises(LakeChangedDuringRead, match="changed during each of"):
        read_consistently(lake, lambda con: read(con, publishes=READ_ATTEMPTS))
    assert len(reads) == READ_ATTEMPTS


@pytest.mark.parametrize("change", ["copied", "replaced", "copied without mtimes"])
def test_a_lake_file_the_last_publish_did_not_write_is_named_not_read(example_data, tmp_path, change):
    """A copy of a part beside it (`part-0 (copy).parquet`) counted its rows twice, and a
    part replaced by other rows was read as the lake, with exit 0 and no word: the reader
    waited for a publish to finish, then read whatever was there. A lake copied without its
    mtimes (`cp -r`) is the lake all the same."""
    from newswh.lake_views import LakeIncomplete

    lake = tmp_path / "lake"
    shutil.copytree(DataPaths(example_data).lake, lake, copy_function=shutil.copy2)
    part = next((lake / "articles").rglob("part-0.parquet"))
    if change == "copied":
        shutil.copy2(part, part.with_name("part-0 (copy).parquet"))
        said = f"{part.with_name('part-0 (copy).parquet')} is in the lake, but its last publish did not write it"
    elif change == "replaced":
        duckdb.sql(f"copy (select * from '{part}' limit 0) to '{part}' (format parquet)")
        said = f"{part} is damaged or was replaced: it is not the size the lake's last publish wrote"
    else:
        for path in lake.rglob("*"):
            os.utime(path, ns=(10**18, 10**18))
        assert part in snapshot(lake, wait_seconds=0.1).files["articles"]
        return
    with pytest.raises(LakeIncomplete, match=re.escape(said)):
        snapshot(lake, wait_seconds=0.1)
