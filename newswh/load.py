"""Load the staged records into the warehouse copy in pieces that fit in DuckDB's memory.

What DuckDB (2.0) cannot spill sets the shape of the load:
- long strings (page text) a transaction has committed stay in memory until a checkpoint
  writes them to the file; uncommitted ones spill. So a load in one transaction needs
  memory for every page the run read, however it is cut into statements;
- a checkpoint (like any full scan) holds a vector of 2048 rows of a column at a time, so
  it needs memory for the widest 2048 consecutive rows it writes.
So the one statement that carries page text (`captures` from the staged parts; `articles`
is a view that reads it there: sql/schema/06_articles.sql) runs once per piece, each piece
its own transaction, and a checkpoint follows whenever the committed text DuckDB holds
passes a share of its limit (row groups of 2048 rows keep each checkpoint to the newest
rows: newswh/warehouse.py). Before it, the run makes sure the limit holds the widest
window of 2048 rows it will write, unless
NEWSWH_DUCKDB_MEMORY_LIMIT fixes the limit; for ordinary pages, and for large pages among
them, that is far below the default, and only a run of thousands of large pages in a row
needs more. Committing piece by piece changes nothing for readers: the run writes a copy
of the warehouse, which becomes the warehouse only once the whole run has succeeded.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from newswh.lake import duckdb_path
from newswh.settings import DUCKDB_MEMORY_LIMIT_FIXED, SQL_DIR
from newswh.staging import STAGE_SCHEMAS
from newswh.warehouse import (
    VECTOR_ROWS, CheckScope, failed_checks, limit_bytes, out_of_memory, reattach, run_sql_file, set_limit_bytes, sql_files,
)

PINNED_SHARE = 3
"""Checkpoint when committed text held in memory passes 1/PINNED_SHARE of the limit."""
WINDOW_HEADROOM = 1.0
"""Memory DuckDB needs for a window of text it checkpoints, per byte of that text."""
BASE_MEMORY = 96 * 10**6
"""Memory DuckDB needs beside the widest window: the piece at hand, hash tables, caches."""
PINNED_TAGS = ("OVERFLOW_STRINGS",)
"""duckdb_memory() tags of what a commit pins until the next checkpoint: long strings
(page text); the rest of a table's new rows are small, and DuckDB can spill them."""
_PIECEWISE = re.compile(r"\.per_piece\.sql$")


def load_staged(
    con: duckdb.DuckDBPyConnection, staging: Path, changed: frozenset[str] | None, scope: CheckScope = "whole"
) -> dict[str, list[tuple[object, ...]]]:
    """Apply `sql/load/` to the staged records; return the data checks (over `scope`) that failed.

    A file named `*.per_piece.sql` runs once per piece (see PIECES), the others once.
    """
    stage_views(con, staging)
    limit = limit_bytes(con)
    for path in sql_files(SQL_DIR / "load"):
        if not _PIECEWISE.search(path.name):
            run_sql_file(con, path)
            continue
        pieces, widest = PIECES[path.name.split(".")[0]](con, staging)
        make_room(con, widest)
        for params in pieces:
            run_sql_file(con, path, params)
            checkpoint_if_pinned(con)
        checkpoint(con)
        reattach(con)  # so that what follows reads this table's page text a piece at a time
        set_limit_bytes(con, limit)  # and so needs no more than before
    return failed_checks(con, changed=changed, scope=scope)


def stage_views(con: duckdb.DuckDBPyConnection, staging: Path) -> None:
    """A view per staged table over its part files (an empty table if it has none): the load
    reads each staged column where it needs it, and reads page text a piece at a time."""
    for name, schema in STAGE_SCHEMAS.items():
        files = staged_parts(staging, name)
        if files:
            con.execute(f"create or replace temp view {name} as select * from read_parquet([{_listed(files)}])")
        else:
            # Not schema.empty_table(): it converts an empty list per column, and pyarrow's first
            # conversion imports pandas where installed (newswh.discovered.rows_table says why not).
            con.register("empty_stage", pa.Table.from_batches([], schema=schema))
            con.execute(f"create or replace temp table {name} as select * from empty_stage")
            con.unregister("empty_stage")


def staged_parts(staging: Path, table: str) -> list[Path]:
    return sorted((staging / table).glob("*.parquet"))


def _listed(files: list[Path]) -> str:
    return ", ".join("'" + duckdb_path(file).replace("'", "''") + "'" for file in files)


Pieces = tuple[Iterator[dict[str, object]], int]
"""The parameters of each run of a per-piece file, and the widest window of 2048 rows of
text (in bytes) the pieces write, counting the table's last rows they join."""


def capture_pieces(con: duckdb.DuckDBPyConnection, staging: Path) -> Pieces:
    """Consecutive staged parts of `stage_captures` (each a worker's STAGE_PART_BYTES of
    pages at most, bar one large page) up to `piece_bytes` of them a piece: DuckDB reads the
    files of a piece in parallel, a thread each, where a piece of one part kept one core
    busy and the other idle (a third of the load's time at 100,000 files)."""
    parts = staged_parts(staging, "stage_captures")
    sizes = [_part_size(part) for part in parts]
    widest = widest_window([_last_rows(con, "captures"), *sizes])
    groups = _grouped(parts, [size for _, size in sizes], piece_bytes(limit_bytes(con)))

    def pieces() -> Iterator[dict[str, object]]:
        for group in groups:
            con.execute(f"create or replace temp view piece_captures as select * from read_parquet([{_listed(group)}])")
            yield {}

    return pieces(), widest


PIECE_BYTES = 48 * 2**20
"""Arrow bytes of staged captures a piece holds at most, unless one part alone is more."""


def piece_bytes(limit: int) -> int:
    """PIECE_BYTES, or less under a low limit: a piece's text stays in memory once committed,
    beside what earlier pieces left there (up to 1/PINNED_SHARE of the limit)."""
    return min(PIECE_BYTES, limit // (2 * PINNED_SHARE))


def _grouped(parts: list[Path], sizes: list[int], budget: int) -> list[list[Path]]:
    groups: list[list[Path]] = []
    total = 0
    for part, size in zip(parts, sizes):
        if groups and total + size <= budget:
            groups[-1].append(part)
            total += size
        else:
            groups.append([part])
            total = size
    return groups


def _last_rows(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, int]:
    """The table's last VECTOR_ROWS rows and their files' bytes: new rows join their vector.

    Looked for among the last VECTOR_ROWS row ids first, a filter that reads only the
    table's last row groups (a third of the time at 100,000 captures, where sorting every
    row id took 0.04 s of each small run); the whole table only if rows were deleted there."""
    query = (
        f"select count(*), coalesce(sum(s.size_bytes), 0) from (select source_path from {table} {{where}} order by rowid desc limit ?) "
        "left join (select source_path, size_bytes from source_files) as s using (source_path)"
    )
    near = con.execute(query.format(where=f"where rowid > (select max(rowid) from {table}) - ?"), [VECTOR_ROWS, VECTOR_ROWS]).fetchall()[0]
    [(rows,)] = con.execute(f"select count(*) from {table}").fetchall()
    if near[0] == min(rows, VECTOR_ROWS):
        return near
    return con.execute(query.format(where=""), [VECTOR_ROWS]).fetchall()[0]


def _part_size(part: Path) -> tuple[int, int]:
    """Rows of a staged part and their bytes in memory, from its footer alone."""
    metadata = pq.read_metadata(part)
    text = 0
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        text += sum(row_group.column(column).total_uncompressed_size for column in range(row_group.num_columns))
    return metadata.num_rows, text


PIECES: dict[str, Callable[[duckdb.DuckDBPyConnection, Path], Pieces]] = {
    "25_captures": capture_pieces,
}


def widest_window(pieces: list[tuple[int, int]]) -> int:
    """The most bytes any window of VECTOR_ROWS consecutive rows can hold, given pieces of
    (rows, bytes) in the order they are written; a piece counts whole in every window that
    touches it, since its rows may be written in any order."""
    widest = 0
    for first in range(len(pieces)):
        rows = total = 0
        for count, size in pieces[first:]:
            total += size
            rows += count
            if rows >= VECTOR_ROWS:
                break
        widest = max(widest, total)
    return widest


def make_room(con: duckdb.DuckDBPyConnection, window_bytes: int) -> None:
    """Raise DuckDB's limit for this run if the widest window of text would not fit in it
    (never above half the machine's memory), unless the user fixed the limit."""
    needed = int(window_bytes * WINDOW_HEADROOM) + BASE_MEMORY
    if DUCKDB_MEMORY_LIMIT_FIXED or needed <= limit_bytes(con):
        return
    ceiling = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    set_limit_bytes(con, min(needed, ceiling))


def checkpoint_if_pinned(con: duckdb.DuckDBPyConnection) -> None:
    """Checkpoint when the committed text DuckDB must keep in memory passes its share."""
    tags = ", ".join(f"'{tag}'" for tag in PINNED_TAGS)
    pinned = con.execute(f"select coalesce(sum(memory_usage_bytes), 0) from duckdb_memory() where tag in ({tags})").fetchall()[0][0]
    if pinned * PINNED_SHARE > limit_bytes(con):
        checkpoint(con)


def checkpoint(con: duckdb.DuckDBPyConnection) -> None:
    """Write what the pieces committed to the file, where DuckDB may evict and reread it."""
    try:
        con.execute("checkpoint")
    except duckdb.Error as error:
        raise out_of_memory(error) or error from None

