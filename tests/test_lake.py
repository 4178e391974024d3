"""The lake's partition splitter: a sorted stream in, one table per partition out."""

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from flows.lake import _partitions

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
