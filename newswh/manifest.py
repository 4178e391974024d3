"""What is on disk versus what the manifest (`source_files`) knows: the plan of a run.

Shared by the ingest, which reads what the plan says changed, and by `newswh status`,
which only counts it: both must agree on what "waiting to be ingested" means.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from itertools import accumulate, islice
from pathlib import Path

import duckdb
import pyarrow as pa

from newswh.parse import DEFAULT_MAX_BYTES
from newswh.settings import SQL_DIR
from newswh.sources import discover_rows

DISCOVERED_SCHEMA = pa.schema(
    [("source_path", pa.string()), ("size_bytes", pa.int64()), ("mtime_ns", pa.int64()), ("problem", pa.string())]
)
"""One row per discovered entry; `problem` says why it cannot be read (null for a file to read)."""


_ROWS_PER_BATCH = 65_536


def discovered_table(source: Path) -> pa.Table:
    """Path, size and mtime of every raw file: all that is needed to skip unchanged ones."""
    return rows_table(discover_rows(source))


def rows_table(rows: Iterator[tuple[str, int, int, str | None]]) -> pa.Table:
    """Discovered rows (a folder's walk, or a bucket's listing) as the `discovered` table.

    Built a batch at a time: as Python objects a file's row costs ~10x its Arrow form.
    Built from buffers, not with pa.array: pyarrow's first conversion of a Python list
    imports pandas wherever it is installed (the dashboard extra brings it), only to ask
    whether the list is a pandas object; that cost every run 0.4 s and 45 MB.
    """
    batches = []
    while chunk := list(islice(rows, _ROWS_PER_BATCH)):
        paths, sizes, mtimes, problems = zip(*chunk)
        columns = [_strings(paths), _int64s(sizes), _int64s(mtimes), _strings(problems)]
        batches.append(pa.RecordBatch.from_arrays(columns, schema=DISCOVERED_SCHEMA))
    return pa.Table.from_batches(batches, schema=DISCOVERED_SCHEMA)


def _int64s(values: Sequence[int]) -> pa.Array:
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(array("q", values))])


def _strings(values: Sequence[str | None]) -> pa.Array:
    """A string array; null where a value is None (Arrow's validity bitmap, least bit first)."""
    encoded = [b"" if value is None else value.encode("utf-8") for value in values]
    offsets = array("i", accumulate(map(len, encoded), initial=0))
    validity = None
    if None in values:
        bits = bytearray((len(values) + 7) // 8)
        for index, value in enumerate(values):
            if value is not None:
                bits[index >> 3] |= 1 << (index & 7)
        validity = pa.py_buffer(bits)
    return pa.Array.from_buffers(pa.string(), len(values), [validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))])


def start_run_context(con: duckdb.DuckDBPyConnection, parser_version: str, max_bytes: int, rehash: bool) -> int:
    """The next run's id, and the temp table `run_context` holding it with the run's settings
    that decide outcomes (what plan.sql and sql/load/ read); returns the id."""
    [(run_id,)] = con.execute("select coalesce(max(run_id), 0) + 1 from ingest_runs").fetchall()
    con.execute(
        "create or replace temp table run_context as "
        "select ?::bigint as run_id, ?::varchar as parser_version, ?::bigint as max_bytes, ?::boolean as rehash",
        [run_id, parser_version, max_bytes, rehash],
    )
    return int(run_id)


def make_plan(
    con: duckdb.DuckDBPyConnection, discovered: pa.Table, parser_version: str, max_bytes: int = DEFAULT_MAX_BYTES
) -> dict[str, int]:
    """Create the temp table `plan` (see sql/plan.sql); return how many files are new, changed, unchanged.

    The run's settings that decide outcomes (parser version, size cap) come from the temp
    table `run_context`: the ingest's own, else one made here from the arguments. Only temp
    tables are written, so a read-only connection will do.
    """
    con.register("discovered_arrow", discovered)
    try:
        con.execute("create or replace temp table discovered as select * from discovered_arrow")
    finally:
        con.unregister("discovered_arrow")
    if not con.execute("select count(*) from duckdb_tables() where table_name = 'run_context'").fetchall()[0][0]:
        con.execute(
            "create temp table run_context as "
            "select ?::varchar as parser_version, ?::bigint as max_bytes, false as rehash",
            [parser_version, max_bytes],
        )
    con.execute((SQL_DIR / "plan.sql").read_text(encoding="utf-8"))
    counts = dict(con.execute("select status, count(*) from plan group by status").fetchall())
    return {status: counts.get(status, 0) for status in ("new", "changed", "unchanged")}
