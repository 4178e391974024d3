"""The lake's sync: which datasets a run may trust unchanged, and the partition splitter."""

import os
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.lake import SYNC_MARK, LakeChanges, _partitions, prepare_lake
from flows.settings import DataPaths

BOOKKEEPING = frozenset({"source_files", "ingest_runs"})


@pytest.fixture
def paths(example_data, tmp_path) -> DataPaths:
    """A private copy of the example warehouse and its lake, whose articles the warehouse
    then loses one of behind the lake's back: a full sync would rewrite that partition."""
    copy = tmp_path / "data"
    shutil.copytree(example_data, copy)
    with duckdb.connect(str(DataPaths(copy).warehouse)) as con:
        con.execute("delete from articles where article_id = (select min(article_id) from articles)")
    return DataPaths(copy)


def _prepare(paths: DataPaths, changed: frozenset[str] | None) -> set[str]:
    """The datasets a run that wrote `changed` would rewrite (nothing is published)."""
    with duckdb.connect(str(paths.warehouse)) as con:
        run_id = con.execute("select max(run_id) + 1 from ingest_runs").fetchall()[0][0]
        changes: LakeChanges = prepare_lake(con, paths.lake, run_id, changed)
    changes.discard()
    return {path.relative_to(paths.lake).parts[0] for _, path in changes.staged}


def test_a_run_that_wrote_no_data_trusts_the_lake_the_last_run_left(paths):
    assert "articles" not in _prepare(paths, BOOKKEEPING)
    assert "articles" in _prepare(paths, None)  # a run that read files compares everything


def test_a_lake_file_touched_since_the_last_run_is_compared_again(paths):
    touched = next((paths.lake / "articles").rglob("*.parquet"))
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 1))
    assert "articles" in _prepare(paths, BOOKKEEPING)


@pytest.mark.parametrize("mark", ["missing", "from another run", "from another release", "garbled"])
def test_without_the_last_runs_mark_every_dataset_is_compared(paths, mark):
    path = paths.lake / SYNC_MARK
    if mark == "missing":
        path.unlink()
    elif mark == "from another run":
        path.write_text(path.read_text().replace('"run_id": ', '"run_id": 1000'))
    elif mark == "from another release":
        path.write_text(path.read_text().replace('"sql": "', '"sql": "0'))
    else:
        path.write_text("{not json")
    assert "articles" in _prepare(paths, BOOKKEEPING)

KEYS = st.tuples(st.one_of(st.none(), st.integers(2012, 2014)), st.one_of(st.none(), st.integers(1, 3)))


def _stream(rows: list[tuple[int | None, int | None]], batch_rows: int) -> pa.RecordBatchReader:
    table = pa.table({
        "year": pa.array([year for year, _ in rows], pa.int64()),
        "month": pa.array([month for _, month in rows], pa.int64()),
        "row": pa.array(range(len(rows)), pa.int64()),
    })
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=batch_rows))


def _sorted(rows):
    return sorted(rows, key=lambda key: (key[0] is None, key[0] or 0, key[1] is None, key[1] or 0))


@given(st.lists(KEYS, max_size=60), st.integers(1, 7))
def test_every_row_lands_in_its_partition_once_whatever_the_batches(keys, batch_rows):
    rows = _sorted(keys)
    parts = list(_partitions(_stream(rows, batch_rows), ("year", "month")))
    assert [key for key, _ in parts] == list(dict.fromkeys(rows))  # each partition once, in order
    for key, table in parts:
        assert set(zip(table["year"].to_pylist(), table["month"].to_pylist())) == {key}
    assert sorted(row for _, table in parts for row in table["row"].to_pylist()) == list(range(len(rows)))


def test_an_unpartitioned_dataset_is_one_table_even_when_empty():
    [(key, table)] = list(_partitions(_stream([], 4), ()))
    assert key == () and table.num_rows == 0 and table.column_names == ["year", "month", "row"]


def test_each_check_and_lake_dataset_knows_every_table_it_reads():
    """tables_read decides what a run may skip, so it must miss no table a query names."""
    import re

    from flows.lake import DATASETS
    from flows.settings import SQL_DIR
    from flows.warehouse import apply_schema, sql_files, tables_read

    with duckdb.connect() as con:
        apply_schema(con)
        tables = {name for (name,) in con.execute("select table_name from duckdb_tables()").fetchall()}
    queries = {path.stem: path.read_text() for path in sql_files(SQL_DIR / "checks")}
    queries |= {f"lake {dataset.name}": dataset.query for dataset in DATASETS}
    for name, query in queries.items():
        code = re.sub(r"--[^\n]*", "", query)
        named = {table for table in tables if re.search(rf"\b{table}\b", code)}
        assert named and tables_read(query) == named, name
