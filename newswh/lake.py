"""The Parquet lake: a projection of the warehouse tables that dashboards read directly.

Layout: `lake/<dataset>/year=YYYY/month=M/part-0.parquet` for datasets partitioned by
publication month (`__HIVE_DEFAULT_PARTITION__` where the date is unknown), and
`lake/<dataset>/part-0.parquet` for the others. Each file carries a fingerprint of its
rows in its Parquet metadata; a sync rewrites exactly the partitions whose fingerprint
differs from the warehouse's, so it is cheap when little changed and repairs whatever a
crash or a person left behind. A run that changed no data table skips even that for the
datasets it did not touch, and a run that read files for the months their stories are not
in, if the lake is as the previous run left it (SYNC_MARK). Files
are written under a temporary name and flushed before the warehouse commits, and renamed
into place after: a reader never sees half a file, nor a run the warehouse did not commit.
Tables dashboards do not need but a rebuild does live under `lake/_warehouse/`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from stat import S_ISREG
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from newswh.settings import DUCKDB_MEMORY_LIMIT_FIXED, INTERNAL_FOLDER, LAKE_MEMORY_LIMIT_BYTES, SQL_DIR
from newswh.warehouse import VECTOR_ROWS, fsync_path, limit_bytes, out_of_memory, set_limit_bytes, tables_read

FINGERPRINT_KEY = b"newswh.fingerprint"
RUN_KEY = b"newswh.run"
"""The run a lake file was written from, as `run_id:started_us` (RUN_STARTS): a file whose
run the warehouse lacks holds rows only the lake may have (`integrity.lake_ahead`)."""
PART_FILE = "part-0.parquet"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"


@dataclass(frozen=True)
class Dataset:
    name: str
    partition_by: tuple[str, ...]
    order_by: tuple[str, ...]
    internal: bool = False
    table: str = ""
    """The warehouse table the dataset's rows belong to, when it is not `name`."""
    page_text: bool = False
    """Whether its rows carry page text (up to --max-bytes each). Such a dataset is read a
    piece at a time (see `_pieces`): its year and month must come from its `published_at`,
    and it must have the `source_path` whose file size weighs its rows."""
    month_column: str = ""
    """The timestamp column of its rows that its (year, month) come from, if its rows carry
    one: picked months are then read as ranges of it, which DuckDB applies inside its scan
    of the table (`_months_filter`), not by year() and month() of every row. A dataset with
    page text must have one, `published_at` (see `page_text`)."""
    repeating: tuple[str, ...] = ()
    """Its columns whose values repeat (a status, a language, a position in a list): written
    with a dictionary, which readers group and filter by cheaply. The others are written
    plain, as a dictionary of values that never repeat (ids, paths, text) is built, found
    too big and dropped: dictionaries only where they pay took ~6 % off a cold run's lake
    stage and ~6 % off the lake's bytes (100,000 files, three runs of each, interleaved), where
    dashboard queries grouping by media kind or site kept their speed, as they did not
    with no dictionary at all (5 ms to 9 ms)."""
    months_are_publication: bool = True
    """Whether a month-partitioned dataset's (year, month) is its article's publication
    month, so a run changes only the months `touched_months` names. news_items's is the
    month a story was first linked: a new article linking an old story changes that
    story's month, whatever month the article is of (`first_linked_months` names them)."""

    earlier_layouts: tuple[str, ...] = ()
    """Files of sql/earlier_lake/ that lay its rows out as an earlier release did: a lake
    that release wrote still verifies and rebuilds (newswh/integrity.py), and the next
    ingest lays it out afresh."""
    layout: str = ""
    """The file of sql/earlier_lake/ its query comes from; "" for sql/lake/<name>.sql."""

    @property
    def table_name(self) -> str:
        return self.table or self.name

    @property
    def query(self) -> str:
        path = SQL_DIR / "earlier_lake" / f"{self.layout}.sql" if self.layout else SQL_DIR / "lake" / f"{self.name}.sql"
        return path.read_text(encoding="utf-8")

    def earlier(self) -> tuple[Dataset, ...]:
        """The dataset as each earlier release laid it out."""
        return tuple(replace(self, layout=name, earlier_layouts=()) for name in self.earlier_layouts)

    @property
    def folder(self) -> str:
        return f"{INTERNAL_FOLDER}/{self.name}" if self.internal else self.name

    @property
    def tables(self) -> frozenset[str]:
        """The warehouse tables its rows come from: if none changed, neither did it."""
        return tables_read(self.query)


CAPTURE_REPEATING = (
    "attribution", "sign_off", "paragraph_count", "related_status", "related_count", "source_encoding", "parser_version",
    "language", "site", "dateline",
)
RELATED_REPEATING = ("position", "content_type_id", "media_kind", "pic_date")

DATASETS = (
    # First: every run that reads a file rewrites some of its 64 files (its own bucket, by
    # the run that first saw each file, and those of the older files it read again), and
    # their compression then goes on while the others are compared and written.
    Dataset(
        "source_files", ("bucket",), ("source_path",), internal=True, earlier_layouts=("source_files.by_path_hash",),
        repeating=("outcome", "reject_reason", "parser_version", "first_seen_run_id", "last_changed_run_id", "missing_since_run_id"),
    ),
    Dataset(
        "articles", ("year", "month"), ("article_id",), page_text=True, month_column="published_at",
        repeating=(*CAPTURE_REPEATING, "capture_count"),
    ),
    Dataset("related_items", ("year", "month"), ("article_id", "position"), repeating=("position",)),
    # By first link, so a run that links recent stories rewrites their months, not every story.
    Dataset(
        "news_items", ("year", "month"), ("news_id",), month_column="first_linked_at", months_are_publication=False,
        repeating=("content_type_id", "media_kind", "pic_date", "link_count"),
    ),
    Dataset("rejects", (), ("source_path",), repeating=("reason", "detail", "parser_version")),
    # With these the lake holds the whole warehouse, so it can be rebuilt from the lake alone.
    Dataset(
        "duplicate_captures", ("year", "month"), ("source_path",), internal=True, table="captures", page_text=True,
        month_column="published_at", repeating=CAPTURE_REPEATING,
    ),
    Dataset("capture_related", ("year", "month"), ("source_path", "position"), internal=True, repeating=RELATED_REPEATING),
    Dataset("ingest_runs", (), ("run_id",), internal=True, repeating=("parser_version",)),
)


@dataclass
class SyncReport:
    written: int = 0
    removed: int = 0
    unchanged: int = 0


SYNC_MARK = f"{INTERNAL_FOLDER}/synced.json"
"""Which run (and release of sql/) the lake last matched, and its files (size, mtime)
then: what lets a run skip the datasets it did not change without trusting a lake
someone else touched."""


@dataclass
class LakeChanges:
    """Partition files written under temporary names, waiting for the warehouse to commit.

    Nothing a reader sees changes until `publish`, which only renames and deletes, so it
    needs no disk space and cannot half-fail on a full disk; `discard` undoes a prepare.
    """

    root: Path
    run_id: int
    stamp: bytes | None = None
    """RUN_KEY's value for each file written (`_run_stamp`)."""
    staged: list[tuple[Path, Path]] = field(default_factory=list)
    wanted: dict[Path, set[Path]] = field(default_factory=dict)
    report: SyncReport = field(default_factory=SyncReport)

    def publish(self) -> SyncReport:
        for temporary, path in self.staged:
            os.replace(temporary, path)
        for folder in {path.parent for _, path in self.staged}:
            fsync_path(folder)
        for folder, wanted in self.wanted.items():
            self.report.removed += _remove_unwanted(folder, wanted)
        _write_sync_mark(self.root, self.run_id, {path for _, path in self.staged})
        return self.report

    def stage(self, path: Path) -> Path:
        """Where this run writes `path`'s new content, which `publish` renames into place."""
        temporary = path.with_name(f".{path.name}.run-{self.run_id}.tmp")
        self.staged.append((temporary, path))
        return temporary

    def discard(self) -> None:
        for temporary, _ in self.staged:
            temporary.unlink(missing_ok=True)


ROW_CHECKSUM = "sum(hash(hash(rows))::hugeint)"
"""The content checksum of a set of rows, as SQL over a relation named `rows`.

DuckDB's hash of a whole row combines its columns' hashes linearly, so the same change
to one column of two rows changes both row hashes by the same bits, and a `bit_xor` of
them cancels out: two articles of a month that each gained a capture used to leave the
month's checksum as it was. Hashing the row hash again mixes each row's change with the
rest of that row, and summing (exact, in 128 bits) instead of xor-ing means two rows can
undo each other only if their changes are exact opposites: a 2^-64 coincidence.
"""
ROW_HASH = "__newswh_row_hash"
ROW_HASH_SQL = f"hash(hash(rows)) as {ROW_HASH}"
"""Each row's term of ROW_CHECKSUM, as a column of the rows a lake file is written from."""


def integer_scalar(value: int, type: pa.DataType) -> pa.Scalar:
    """An integer scalar built from its bytes, not with pa.scalar (nor a Python int handed
    to a pyarrow.compute function, which converts it so): pyarrow's first conversion of a
    Python value imports pandas where installed (newswh.discovered.rows_table says why not)."""
    signed = pa.types.is_signed_integer(type)
    data = value.to_bytes(type.bit_width // 8, "little", signed=signed)
    return pa.Array.from_buffers(type, 1, [None, pa.py_buffer(data)])[0]


_LOW_BITS = integer_scalar(0xFFFF_FFFF, pa.uint64())
_HALF = integer_scalar(32, pa.uint64())


def row_hash_sum(hashes: pa.Array | pa.ChunkedArray) -> int:
    """The exact sum of 64-bit row hashes, as ROW_CHECKSUM's 128-bit sum has it: summed as
    two halves of 32 bits, each of which fits 64 bits for up to 2^32 rows."""
    high = pc.sum(pc.shift_right(hashes, _HALF)).as_py() or 0
    low = pc.sum(pc.bit_wise_and(hashes, _LOW_BITS)).as_py() or 0
    return (high << 32) + low


FINGERPRINT_VERSION = "2"
"""Bump when the checksum changes, so no lake file written with the old one is trusted."""


def expected_partitions(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    only: frozenset[tuple[object, ...]] | None = None,
    memo: PiecesMemo | None = None,
) -> dict[tuple[object, ...], str]:
    """Partition key -> fingerprint (row count and a checksum of every row) per the warehouse;
    with `only`, of those partitions alone (a page-text dataset then reads no other month's text)."""
    where, params = ("", []) if only is None else _partitions_filter(dataset, only)
    if dataset.page_text and (only is not None or not _one_scan_fits(con, dataset)):
        return _expected_by_pieces(con, dataset, where, params, _pieces_of(con, dataset, only, memo))
    keys = ", ".join(dataset.partition_by)
    select_keys = f"{keys}, " if keys else ""
    group = "group by all" if keys else ""
    try:
        rows = con.execute(
            f"select {select_keys}count(*), {ROW_CHECKSUM} from ({dataset.query}) as rows {where} {group}", params
        ).fetchall()
    except duckdb.Error as error:
        raise out_of_memory(error) or error from None
    partitions = {tuple(row[:-2]): _fingerprint(row[-2], row[-1]) for row in rows if row[-2]}
    if not dataset.partition_by and not partitions:
        partitions[()] = _fingerprint(0, 0)  # an unpartitioned dataset always has its file, even empty
    return partitions


UNSUMMED = "?"
"""The checksum part of a fingerprint `_expected_or_counted` did not sum: the partition is
stale by its row count alone."""


def _expected_or_counted(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    dataset: Dataset,
    only: frozenset[tuple[object, ...]] | None,
    memo: PiecesMemo | None = None,
) -> dict[tuple[object, ...], str]:
    """`expected_partitions`, but rows are counted first: a partition whose lake file (its
    footer's fingerprint) holds another number of rows than the warehouse is stale whatever
    its checksum, so it is left unsummed (`v2:<rows>:?`), and only the others are checksummed.

    Every row of a stale partition is hashed as it is written anyway; hashing it first too
    is what the count spares. A run that adds stories changes the row count of every month
    it touches in articles, related_items and capture_related: a small run's fingerprints
    of those kept the fingerprint threads busy 0.44 s beside its writes, and a 1 % increment
    at 100,000 files now takes 0.5 CPU-s less (three interleaved pairs of runs)."""
    if not dataset.partition_by:
        return expected_partitions(con, dataset, only, memo)
    where, params = ("", []) if only is None else _partitions_filter(dataset, only)
    keys = ", ".join(dataset.partition_by)
    try:
        counts = con.execute(f"select {keys}, count(*) from ({dataset.query}) as rows {where} group by all", params).fetchall()
    except duckdb.Error as error:
        raise out_of_memory(error) or error from None
    expected: dict[tuple[object, ...], str] = {}
    same: set[tuple[object, ...]] = set()
    for *key, count in counts:
        if _rows_in_footer(partition_folder(root, dataset, tuple(key)) / PART_FILE) == count:
            same.add(tuple(key))
        else:
            expected[tuple(key)] = _fingerprint(count, UNSUMMED)
    if same:
        checked = None if only is None and len(same) == len(counts) else frozenset(same)
        expected.update(expected_partitions(con, dataset, checked, memo))
    return expected


def _rows_in_footer(path: Path) -> int | None:
    """The row count a lake file's footer fingerprint says, if it is a fingerprint of this
    version; None for no file, no footer, another version's or a foreign one (someone
    else's metadata under our key must make the file stale, not fail the run)."""
    version, _, rest = (read_fingerprint(path) or "").partition(":")
    rows, _, _ = rest.partition(":")
    return int(rows) if version == f"v{FINGERPRINT_VERSION}" and rows.isdigit() and rows.isascii() else None


def _as_written(expected: str, written: str) -> bool:
    """Whether a partition was written with the rows its expected fingerprint counted: the
    same fingerprint, or for an unsummed one, the same number of rows."""
    if expected.endswith(f":{UNSUMMED}"):
        return fingerprint_rows(expected) == fingerprint_rows(written)
    return expected == written


SCAN_SHARE = 4
"""A page-text dataset is checksummed in one scan when the rows its threads hold at once
(a vector of VECTOR_ROWS rows each, as wide as its largest file) fit in 1/SCAN_SHARE of
DuckDB's limit: ordinary pages, even by the million. A query per piece scans the narrow
columns of the whole dataset each time, so at 300,000 pages (a piece per month) the
pieces cost 22 s of a 74 s lake stage."""


def _one_scan_fits(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> bool:
    [(widest, threads)] = con.execute(
        f"select coalesce(max(f.size_bytes), 0), current_setting('threads') from ({dataset.query}) as rows "
        "left join (select source_path, size_bytes from source_files) as f using (source_path)"
    ).fetchall()
    return widest * VECTOR_ROWS * int(threads) * SCAN_SHARE <= limit_bytes(con)


def _keys_filter(columns: tuple[str, ...], keys: Iterable[tuple[object, ...]]) -> tuple[str, list[object]]:
    """A WHERE clause that keeps the rows of the given partitions (a null key is a partition too).

    A key of one column is an IN list: the manifest's ten buckets of a small run, as a chain
    of `is not distinct from`, took 52 ms of DuckDB's time over 100,000 rows, 28 ms as a list."""
    keys = list(keys)
    if not keys:
        return "where false", []
    if len(columns) == 1:
        values = [value for (value,) in keys if value is not None]
        clauses = [f"{columns[0]} in ({', '.join('?' * len(values))})"] if values else []
        if len(values) < len(keys):
            clauses.append(f"{columns[0]} is null")
        return "where " + " or ".join(clauses), values
    one_key = " and ".join(f"{column} is not distinct from ?" for column in columns)
    return "where " + " or ".join(f"({one_key})" for _ in keys), [value for key in keys for value in key]


def _also(where: str) -> str:
    """A `where` clause (from `_keys_filter`) as a further condition on a piece's filter, so
    a piece's query never returns rows of partitions the caller did not pick."""
    return f" and ({where.removeprefix('where ')})" if where else ""


def _expected_by_pieces(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, where: str, params: list[object], pieces: list[Piece]
) -> dict[tuple[object, ...], str]:
    """`expected_partitions` of a page-text dataset, summed over its `pieces` (those `where`
    picks): a checksum of every row of a month at once would hold 2048 of its pages in memory."""
    keys = ", ".join(dataset.partition_by)
    totals: dict[tuple[object, ...], tuple[int, int]] = {}
    try:
        for piece in pieces:
            piece_where, piece_params = _piece_filter(dataset, piece)
            for *key, count, checksum in con.execute(
                f"select {keys}, count(*), {ROW_CHECKSUM} from ({dataset.query}) as rows where {piece_where}{_also(where)} group by all",
                [*piece_params, *(params or [])],
            ).fetchall():
                before = totals.get(tuple(key), (0, 0))
                totals[tuple(key)] = (before[0] + count, before[1] + (checksum or 0))
    except duckdb.Error as error:
        raise out_of_memory(error) or error from None
    return {key: _fingerprint(count, checksum) for key, (count, checksum) in totals.items() if count}


_PIECE_BYTES = 32 * 2**20
"""Page text (by the size of the files it came from) a lake query reads at a time."""


@dataclass(frozen=True)
class Piece:
    """Consecutive rows of a page-text dataset: part of one month (partition `first`, order
    column from `low` to `high`), or whole months from `first` to `last` (`low` and `high`
    None; of those, only the months its caller picked, if it picked some). A month of
    ordinary pages is far less than a piece, and each piece's query scans the dataset's
    narrow columns whole, so a piece per month made the lake stage quadratic in months; so
    small months in a row share a piece. Either way the piece's filter is
    one DuckDB applies inside its scan, so no other row's page text is read. `widest`: the
    size of its largest file (what one row may take)."""

    first: tuple[object, ...]
    last: tuple[object, ...]
    low: object
    high: object
    widest: int


def _pieces(con: duckdb.DuckDBPyConnection, dataset: Dataset, where: str = "", params: list[object] | None = None) -> list[Piece]:
    """The dataset cut into pieces of about _PIECE_BYTES of page text each, in partition
    order, computed from narrow columns only (the order column, `published_at`, and the
    file sizes in `source_files`): a month is cut by its order column, and months smaller
    than a piece are gathered whole. When `where` picks some months only (a small run's),
    those are gathered too: every query of a piece adds `where` to the piece's range
    (`_also`), inside the same scan, so the unpicked months between them are not read. (A
    query per picked month joined the narrow columns of the whole dataset each time: 0.15
    s of a small run's articles fingerprints for nine months, 0.07 s as one piece.) Undated
    rows (no month) are pieces of their own."""
    keys = ", ".join(dataset.partition_by)
    order = dataset.order_by[0]
    rows = con.execute(
        f"select *, count(*) over (partition by {keys}) from ("
        f"select {keys}, piece, min({order}), max({order}), coalesce(max(size_bytes), 0), coalesce(sum(size_bytes), 0) from ("
        f"select {keys}, rows.{order}, f.size_bytes, sum(coalesce(f.size_bytes, 0)) over (partition by {keys} order by rows.{order}) "
        f"// {_PIECE_BYTES} as piece from ({dataset.query}) as rows "
        f"left join (select source_path, size_bytes from source_files) as f using (source_path) {where}"
        f") group by all) order by all",
        params or [],
    ).fetchall()
    width = len(dataset.partition_by)
    pieces: list[Piece] = []
    gathered = 0  # bytes in the last piece, when it is whole months
    for row in rows:
        key, (low, high, widest, size, pieces_in_month) = tuple(row[:width]), row[width + 1 :]
        whole_month = pieces_in_month == 1 and key[0] is not None
        last = pieces[-1] if pieces else None
        if whole_month and last is not None and last.low is None and gathered + size <= _PIECE_BYTES:
            pieces[-1] = Piece(last.first, key, None, None, max(last.widest, widest))
            gathered += size
        elif whole_month:
            pieces.append(Piece(key, key, None, None, widest))
            gathered = size
        else:
            pieces.append(Piece(key, key, low, high, widest))
    return pieces


PiecesMemo = dict[tuple[str, frozenset[tuple[object, ...]] | None], list[Piece]]
"""The pieces of a dataset's partitions (None: all of them), as one prepare_lake cut them:
its fingerprints and its write of the same partitions cut them alike, so the write takes
the fingerprints' cut instead of querying the dataset's narrow columns again (a tenth of
the lake stage of a run of ten files)."""


def _pieces_of(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, partitions: frozenset[tuple[object, ...]] | None, memo: PiecesMemo | None
) -> list[Piece]:
    key = (dataset.name, partitions)
    if memo is not None and key in memo:
        return memo[key]
    where, params = ("", []) if partitions is None else _partitions_filter(dataset, partitions)
    pieces = _pieces(con, dataset, where, params)
    if memo is not None:
        memo[key] = pieces
    return pieces


def _partitions_filter(dataset: Dataset, partitions: frozenset[tuple[object, ...]]) -> tuple[str, list[object]]:
    """A WHERE clause that keeps the dataset's rows of `partitions`: for months of a dataset
    whose rows carry their month's timestamp, as ranges of it (`_months_filter`)."""
    if dataset.month_column and dataset.partition_by == MONTH_PARTITIONS:
        return _months_filter(partitions, dataset.month_column)
    return _keys_filter(dataset.partition_by, partitions)


def _months_filter(months: frozenset[tuple[object, ...]], column: str) -> tuple[str, list[object]]:
    """A WHERE clause that keeps the rows of `months` (null: no timestamp) as ranges of the
    timestamp `column`, which DuckDB applies inside its scan of the table. By year() and
    month() of every row, after the join that makes the articles, cutting a small run's
    three months into pieces took 58 ms, 23 ms so; news_items's checksum of three months
    13 ms, 4 ms so."""
    ranges = [_months_range(column, key, key) for key in sorted(months, key=str)]
    if not ranges:
        return "where false", []
    return "where " + " or ".join(f"({' and '.join(clauses)})" for clauses, _ in ranges), [
        value for _, params in ranges for value in params
    ]


def _months_range(column: str, first: tuple[object, ...], last: tuple[object, ...]) -> tuple[list[str], list[object]]:
    """The months `first` to `last` as comparisons of the timestamp `column` (the null month:
    `is null`), which DuckDB applies inside its scan, where year() and month() are not."""
    year, month = first
    if year is None:
        return [f"{column} is null"], []
    end = _month_after(*last)
    if end is None:  # December 9999
        return [f"{column} >= ?"], [datetime(year, month, 1)]
    return [f"{column} >= ?", f"{column} < ?"], [datetime(year, month, 1), end]


def _piece_filter(dataset: Dataset, piece: Piece) -> tuple[str, list[object]]:
    """A WHERE clause for one piece that DuckDB applies inside its scan of the table, so it
    reads the page text of that piece's rows and of no others: its months as a range of
    `published_at` (`_months_range`), and for part of a month (undated rows are always
    parts), a range of the order column."""
    clauses, params = _months_range("published_at", piece.first, piece.last)
    if piece.low is not None:
        clauses.append(f"{dataset.order_by[0]} between ? and ?")
        params += [piece.low, piece.high]
    return " and ".join(clauses), params


def _month_after(year: int, month: int) -> datetime | None:
    """The first instant after a month; None after December 9999, which has no next month."""
    if (year, month) == (datetime.max.year, 12):
        return None
    return datetime(year + month // 12, month % 12 + 1, 1)


def file_fingerprint(con: duckdb.DuckDBPyConnection, dataset: Dataset, key: tuple[object, ...], path: Path) -> str:
    """The fingerprint of a lake file's rows, computed from every row it holds (so every
    page of every row group is read and decompressed), as `expected_partitions` computes it.

    Raises duckdb.Error when the file cannot be read whole.
    """
    types = {row[0]: row[1] for row in con.execute(f"describe {dataset.query}").fetchall()}
    keys = ", ".join(f"?::{types[column]} as {column}" for column in dataset.partition_by)
    source = "read_parquet(?, hive_partitioning = false)"  # the key comes from the caller, not the path
    select = f"select {keys}, * from {source}" if keys else f"select * from {source}"
    count, checksum = con.execute(
        f"select count(*), {ROW_CHECKSUM} from ({select}) as rows", [*key, duckdb_path(path)]
    ).fetchall()[0]
    return _fingerprint(count, checksum)


def fingerprint_rows(fingerprint: str) -> int:
    return int(fingerprint.split(":")[1])


def _fingerprint(count: int, checksum: int | str | None) -> str:
    """`v<version>:<rows>:<checksum>`; the checksum is UNSUMMED where only rows were counted."""
    return f"v{FINGERPRINT_VERSION}:{count}:{checksum or 0}"


_GLOB_CHARACTERS = str.maketrans({"[": "[[]", "*": "[*]", "?": "[?]"})


def duckdb_path(path: Path | str) -> str:
    """A file path as DuckDB's readers take it: they expand `*`, `?` and `[…]` as a glob,
    so a data folder named `data?x` or `[x]` would read other files, or none."""
    return str(path).translate(_GLOB_CHARACTERS)


def partition_folder(root: Path, dataset: Dataset, key: tuple[object, ...]) -> Path:
    folder = root / dataset.folder
    for column, value in zip(dataset.partition_by, key):
        folder /= f"{column}={NULL_PARTITION if value is None else value}"
    return folder


def _footer(path: Path) -> dict[bytes, bytes]:
    """A Parquet file's key-value metadata; empty if unreadable or foreign."""
    try:
        return pq.read_metadata(path).metadata or {}
    except (OSError, ValueError):
        return {}


def read_fingerprint(path: Path) -> str | None:
    """The fingerprint a lake file was written with; None if unreadable or foreign."""
    value = _footer(path).get(FINGERPRINT_KEY)
    try:
        return value.decode() if value else None
    except UnicodeDecodeError:
        return None


def written_by(path: Path) -> tuple[int, int] | None:
    """The run (number, start in microseconds) a lake file was written from; None if the
    file does not say (unreadable, foreign, or written before files said)."""
    run, _, started = _footer(path).get(RUN_KEY, b"").partition(b":")
    try:
        return int(run), int(started)
    except ValueError:
        return None


def _run_stamp(con: duckdb.DuckDBPyConnection, run_id: int) -> bytes | None:
    """RUN_KEY's value for the files a sync from `con`'s warehouse at `run_id` writes."""
    started = con.execute(f"{RUN_STARTS.format(runs='ingest_runs')} where run_id = ?", [run_id]).fetchall()
    return f"{run_id}:{started[0][1]}".encode() if started and started[0][1] is not None else None


def files_since_publish(root: Path) -> Iterator[tuple[Dataset, Path]]:
    """The lake files (where a sync writes them) not as the last publish left them: those
    the lake's own run records do not vouch for (`integrity.lake_ahead`). A lake put back
    in part shows so: its `_warehouse` folder from an older backup, with the matching
    warehouse, and its article files newer than both."""
    published = published_listing(root) or {}
    for dataset in DATASETS:
        left = published.get(dataset.folder, {})
        for name, stat in parquet_listing(root, dataset).items():
            path = root / dataset.folder / name
            if left.get(name) != stat and in_lake_layout(root / dataset.folder, path):  # not in it: no sync deletes it
                yield dataset, path


def prepare_lake(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    run_id: int,
    changed: frozenset[str] | None = None,
    workers: int | None = None,
    check_content: bool = False,
    before_runs: Callable[[], None] | None = None,
    months: frozenset[tuple[object, ...]] | None = None,
    linked_months: frozenset[tuple[object, ...]] | None = None,
) -> LakeChanges:
    """Write the partitions whose content differs from the warehouse, under temporary names.

    With `changed` (the tables this run wrote), a dataset built from none of them is not
    even fingerprinted, provided the lake matched the warehouse after the previous run
    and its files are as that run left them; otherwise every partition is compared.
    `months` (the (year, month) partitions this run may have changed: `touched_months`)
    narrows the month-partitioned datasets the same way, on the same proviso: only those
    months are read (and their page text), the others are kept as they are. So a run that
    reads ten files costs the months those ten touch, not the lake. `linked_months`
    (`first_linked_months`) does the same for news_items, whose months are those a story
    was first linked in. A dataset with no lake
    file yet is written whole without fingerprinting it first (`_writes_first`): a file's
    fingerprint is summed as it is written. Each dataset's stale partitions come from one
    query sorted by partition, streamed to `workers` writer threads (compression is the
    slow part, and pyarrow does it without the GIL) a row group at a time. A query per
    partition would scan the whole table once for every month; but a dataset with page
    text is read a piece at a time (`_pieces`), since sorting a month of large pages would
    hold all of them in memory.

    A file is current when the fingerprint in its footer matches; one whose footer counts
    other rows than the warehouse holds is stale before any row is hashed
    (`_expected_or_counted`). `check_content` also
    reads every row and checks every byte against the digest the last sync recorded, so
    a file that rotted behind an intact footer (same size, same mtime) is rewritten too:
    `newswh verify --repair`. `before_runs` is called just before `ingest_runs`, the
    last dataset, is compared.
    """
    changes = LakeChanges(root, run_id, _run_stamp(con, run_id))
    digests = recorded_digests(root) if check_content else None
    mark = _read_sync_mark(root)
    same_run = mark.get("run_id") == run_id - 1 and mark.get("sql") == _sql_version()
    trusted = mark["files"] if (changed is not None or months is not None) and same_run else {}
    unfinished: list[_LakeFile] = []
    scopes = [_scope(root, dataset, trusted, changed, months, linked_months) for dataset in DATASETS]
    first = [not skip and _writes_first(root, dataset) for dataset, (skip, _) in zip(DATASETS, scopes)]
    fingerprinters = [ThreadPoolExecutor(1, thread_name_prefix="newswh-lake-fingerprints") for _ in range(FINGERPRINT_THREADS)]
    fingerprinting = [_same_database(con) for _ in fingerprinters]
    memo: PiecesMemo = {}
    try:
        with memory_for_lake(con), ThreadPoolExecutor(workers or os.cpu_count() or 1) as writers:
            compared = [(dataset, only) for dataset, (skip, only), now in zip(DATASETS, scopes, first) if not skip and not now]
            ahead = _fingerprints_ahead(list(zip(fingerprinting, fingerprinters)), root, compared, memo)
            for dataset, (skip, only), writes_first in zip(DATASETS, scopes, first):
                if skip:
                    changes.report.unchanged += len(trusted[dataset.folder])
                    continue
                if dataset.name == "ingest_runs" and before_runs is not None:
                    before_runs()  # the last dataset: the run's own row can now say when it finished
                wanted = changes.wanted.setdefault(root / dataset.folder, set())
                if only is not None:
                    changes.report.unchanged += _keep_other_months(root, dataset, only, trusted[dataset.folder], wanted)
                if writes_first:
                    _write_first(con, dataset, changes, wanted, writers, unfinished, memo)
                    continue
                expected = ahead[dataset.name].result() if dataset.name in ahead else _expected_or_counted(con, root, dataset, only, memo)
                stale: dict[tuple[object, ...], tuple[str, Path]] = {}
                for key, fingerprint in sorted(expected.items(), key=lambda item: str(item[0])):
                    path = partition_folder(root, dataset, key) / PART_FILE
                    wanted.add(path)
                    if path.exists() and _current(con, root, dataset, key, path, fingerprint, digests):
                        changes.report.unchanged += 1
                        continue
                    stale[key] = (fingerprint, changes.stage(path))
                if stale:
                    partitions = None if only is None and len(stale) == len(expected) else frozenset(stale)
                    written = _write_dataset(con, dataset, partitions, lambda key: stale[key][1], writers, changes.stamp, unfinished, memo)
                    differ = sorted(
                        str(key) for key in stale.keys() | written.keys()
                        if key not in stale or key not in written or stale[key][1] != written[key][1]
                        or not _as_written(stale[key][0], written[key][0])
                    )
                    if differ:  # the fingerprints counted other rows than were written: a bug, not data
                        raise RuntimeError(f"lake dataset {dataset.name}: the rows written differ from those fingerprinted in {differ}")
                    changes.report.written += len(stale)
            _finish(unfinished)
    except BaseException:
        changes.discard()
        raise
    finally:
        for fingerprinter, cursor in zip(fingerprinters, fingerprinting):
            fingerprinter.shutdown(cancel_futures=True)
            cursor.close()
    return changes


def _writes_first(root: Path, dataset: Dataset) -> bool:
    """Whether a dataset's partitions are all written without being fingerprinted first:
    when its folder holds no lake file yet (a first run, or a dataset deleted), every
    partition is new, and each file's fingerprint is summed as it is written. Otherwise
    each partition is fingerprinted first and only the stale ones are written. (Writing
    first the months a small run touches, then comparing, cost as much as fingerprinting
    them first: some of them, duplicate_captures's most often, are current.)"""
    return bool(dataset.partition_by) and not any((root / dataset.folder).rglob("*.parquet"))


def _write_first(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    changes: LakeChanges,
    wanted: set[Path],
    writers: ThreadPoolExecutor,
    unfinished: list[_LakeFile],
    memo: PiecesMemo,
) -> None:
    """Write every partition of a dataset that has no lake file, under temporary names."""

    def file_for(key: tuple[object, ...]) -> Path:
        path = partition_folder(changes.root, dataset, key) / PART_FILE
        wanted.add(path)
        return changes.stage(path)

    changes.report.written += len(_write_dataset(con, dataset, None, file_for, writers, changes.stamp, unfinished, memo))


Scope = tuple[bool, frozenset[tuple[object, ...]] | None]
"""Whether a dataset is skipped (as the last run left it, from no table this run changed),
and else the partitions to compare (None: all of them)."""


def _scope(
    root: Path,
    dataset: Dataset,
    trusted: dict[str, Any],
    changed: frozenset[str] | None,
    months: frozenset[tuple[object, ...]] | None,
    linked_months: frozenset[tuple[object, ...]] | None,
) -> Scope:
    as_left = dataset.folder in trusted and trusted[dataset.folder] == _listing(root, dataset)
    if as_left and changed is not None and not dataset.tables & changed:
        return True, None
    if not as_left or dataset.partition_by != MONTH_PARTITIONS:
        return False, None
    return False, months if dataset.months_are_publication else linked_months


def _same_database(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Another connection to `con`'s database, using the same catalog (a cursor starts in
    the in-memory one)."""
    [(database,)] = con.execute("select current_database()").fetchall()
    cursor = con.cursor()
    quoted = database.replace('"', '""')
    cursor.execute(f'use "{quoted}"')
    return cursor


FINGERPRINT_THREADS = 2
"""Threads, each on a connection of its own, fingerprinting the datasets the write comes to
next: with one, the write of a small run waited for it before half of the datasets."""


def _fingerprints_ahead(
    fingerprinters: list[tuple[duckdb.DuckDBPyConnection, ThreadPoolExecutor]],
    root: Path,
    compared: list[tuple[Dataset, frozenset[tuple[object, ...]] | None]],
    memo: PiecesMemo,
) -> dict[str, Future[dict[tuple[object, ...], str]]]:
    """The `_expected_or_counted` of each dataset `compared` (fingerprinted before it is
    written: not those written first), in the order they are written, taken in turn by the
    `fingerprinters` (a connection and a thread each) while the caller writes the datasets
    before them. Not ingest_runs, whose last row changes just before it is compared
    (`before_runs`)."""
    compared = [(dataset, only) for dataset, only in compared if dataset.name != "ingest_runs"]
    return {
        dataset.name: executor.submit(_expected_or_counted, cursor, root, dataset, only, memo)
        for (dataset, only), (cursor, executor) in zip(compared, itertools.cycle(fingerprinters))
    }


@contextmanager
def memory_for_lake(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB's limit lowered to LAKE_MEMORY_LIMIT_BYTES for the block, and as it was after
    (the commit's checkpoint writes what the load left); a limit the user fixed is kept."""
    before = limit_bytes(con)
    if DUCKDB_MEMORY_LIMIT_FIXED or before <= LAKE_MEMORY_LIMIT_BYTES:
        yield
        return
    set_limit_bytes(con, LAKE_MEMORY_LIMIT_BYTES)
    try:
        yield
    except BaseException:
        # A failure mid-stream leaves the stream's result open, and DuckDB then refuses
        # any statement: that refusal must not replace the failure (a full disk, say), which
        # is what the run reports. The run is failing, so the limit no longer matters.
        with suppress(duckdb.Error):
            set_limit_bytes(con, before)
        raise
    set_limit_bytes(con, before)


def _finish(files: list[_LakeFile]) -> None:
    """Wait until each file is written and closed; raises the first writer's error."""
    while files:
        files.pop(0).wait()


MONTH_PARTITIONS = ("year", "month")


def touched_months(con: duckdb.DuckDBPyConnection) -> frozenset[tuple[object, ...]]:
    """The (year, month) partitions the files of this run's plan touch (sql/lake_months.sql).

    Call it before the load and after, and pass the union to `prepare_lake`: before, it
    finds the months the run's old captures leave; after, those its new captures join."""
    query = (SQL_DIR / "lake_months.sql").read_text(encoding="utf-8")
    return frozenset(tuple(row) for row in con.execute(query).fetchall())


def first_linked_months(con: duckdb.DuckDBPyConnection) -> frozenset[tuple[object, ...]] | None:
    """The news_items partitions (by the month a story was first linked) this run's load
    rewrote rows of, before and after (the temp table sql/load/50_news_items.sql makes);
    None when no load made it, so that news_items is compared whole."""
    [(made,)] = con.execute("select count(*) from duckdb_tables() where temporary and table_name = 'news_months'").fetchall()
    if not made:
        return None
    return frozenset(tuple(row) for row in con.execute("select distinct year, month from news_months").fetchall())


def _keep_other_months(
    root: Path, dataset: Dataset, months: frozenset[tuple[object, ...]], left: dict[str, list[int]], wanted: set[Path]
) -> int:
    """Keep the partition files of a month-partitioned dataset outside `months` as the last
    run `left` them (wanted, so not removed); returns how many."""
    touched = {partition_folder(root, dataset, key) / PART_FILE for key in months}
    kept = 0
    for name in left:
        path = root / dataset.folder / name
        if path.name == PART_FILE and path not in touched:
            wanted.add(path)
            kept += 1
    return kept


def _current(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    dataset: Dataset,
    key: tuple[object, ...],
    path: Path,
    fingerprint: str,
    digests: dict[Path, str] | None,
) -> bool:
    """Whether a lake file holds the rows it should: by its footer's fingerprint, or, given
    the recorded `digests` (a repair), by every row and every byte of it."""
    if read_fingerprint(path) != fingerprint:
        return False
    if digests is None:
        return True
    if bytes_changed(root, path, digests):
        return False
    try:
        return file_fingerprint(con, dataset, key, path) == fingerprint
    except duckdb.Error:
        return False


_READ_BATCH_ROWS = 16_384
_PAGE_TEXT_BATCH_BYTES = 4 * 2**20
"""Page text per Arrow batch of a dataset with page text, by its piece's largest file: a
batch of 16,384 large pages would be gigabytes (and past the 2 GB an Arrow string column
holds), while ordinary pages in batches of a few rows spent a sixth of the lake's CPU time
on batches (bench/run.py's lake stage: 3.0 s of CPU at 40,000 files with 16 rows, 2.5 s with 512)."""
_PAGE_TEXT_MIN_ROWS = 16
_ROW_GROUP_BYTES = 32 * 2**20
"""Arrow bytes gathered before they are written out as a row group of a lake file: a
month of ordinary articles is one row group, a month of large pages several."""
_BYTES_IN_FLIGHT = 2 * _ROW_GROUP_BYTES
"""Arrow bytes of the lake files still being written while the next is read; with the row
group bound, what bounds the lake's memory whatever the size of a partition. Bytes, not
files: each file ends with an fsync, and waiting for each of many small files (the
manifest's 64) in turn left the reading thread idle."""
_FILES_IN_FLIGHT = 64


Written = dict[tuple[object, ...], tuple[str, Path]]
"""Each partition a write wrote: the fingerprint of the rows it wrote, and the file."""


def _write_dataset(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    partitions: frozenset[tuple[object, ...]] | None,
    file_for: Callable[[tuple[object, ...]], Path],
    writers: ThreadPoolExecutor,
    stamp: bytes | None,
    unfinished: list[_LakeFile] | None = None,
    memo: PiecesMemo | None = None,
) -> Written:
    """Write the dataset's rows of `partitions` (None: every partition it has), each
    partition to `file_for(key)`; returns the partitions written, with the fingerprint of
    the rows each file holds, summed from their row hashes as they stream past (so a
    partition need not be fingerprinted first to be written). With `unfinished` (the files
    of earlier datasets still being written), its last files are left there still being
    written too (the caller waits for them), so that their compression goes on while the
    caller queries the next dataset; else this waits for every file. Either way, no more
    than _BYTES_IN_FLIGHT (and _FILES_IN_FLIGHT files) wait to be written while another is read."""
    keys = dataset.partition_by
    where, params = _partitions_filter(dataset, partitions) if keys and partitions is not None else ("", [])
    in_flight: list[_LakeFile] = [] if unfinished is None else unfinished
    written: Written = {}
    current: _LakeFile | None = None

    def finish(file: _LakeFile) -> None:
        in_flight.append(file.finish())
        written[file.key] = (file.fingerprint, file.path)

    try:
        if dataset.page_text:
            schema, stream = _piece_stream(con, dataset, where, params, _pieces_of(con, dataset, partitions if keys else None, memo))
        else:
            schema, stream = _sorted_stream(con, dataset, where, params)
        schema = pa.schema([field for field in schema if field.name not in keys and field.name != ROW_HASH])
        for key, batch in stream:
            if current is None or current.key != key:
                if current is not None:
                    finish(current)
                while in_flight and (len(in_flight) >= _FILES_IN_FLIGHT or sum(f.nbytes for f in in_flight) >= _BYTES_IN_FLIGHT):
                    in_flight.pop(0).wait()
                current = _LakeFile(key, file_for(key), schema, dataset.repeating, writers, stamp)
            current.add(batch.drop_columns(list(keys)))
    except duckdb.Error as error:
        raise out_of_memory(error) or error from None
    if current is None and not keys:
        current = _LakeFile((), file_for(()), schema, dataset.repeating, writers, stamp)  # an unpartitioned dataset has its file, even empty
    if current is not None:
        finish(current)
    if unfinished is None:
        _finish(in_flight)
    return written


Stream = tuple[pa.Schema, Iterator[tuple[tuple[object, ...], pa.RecordBatch]]]
"""The schema of a dataset's rows, and its rows as (partition key, slice), partition by partition."""


def _sorted_stream(con: duckdb.DuckDBPyConnection, dataset: Dataset, where: str, params: list[object]) -> Stream:
    """The stale partitions in one query sorted by partition: a query per partition would
    scan the whole table once for every month."""
    keys = dataset.partition_by
    reader = con.sql(
        f"select *, {ROW_HASH_SQL} from ({dataset.query}) as rows {where} order by {', '.join((*keys, *dataset.order_by))}",
        params=params,
    ).to_arrow_reader(_READ_BATCH_ROWS)
    return reader.schema, _partitions(reader, keys)


def _piece_stream(con: duckdb.DuckDBPyConnection, dataset: Dataset, where: str, params: list[object], pieces: list[Piece]) -> Stream:
    """The stale partitions of a page-text dataset (its `pieces`, those `where` picks) a piece
    at a time, in batches of a few megabytes: sorting a whole month of large pages at once
    would hold all of them in memory."""
    schema = con.sql(f"select *, {ROW_HASH_SQL} from ({dataset.query}) as rows limit 0").arrow().schema

    def stream() -> Iterator[tuple[tuple[object, ...], pa.RecordBatch]]:
        for piece in pieces:
            piece_where, piece_params = _piece_filter(dataset, piece)
            batch_rows = min(_READ_BATCH_ROWS, max(_PAGE_TEXT_MIN_ROWS, _PAGE_TEXT_BATCH_BYTES // max(piece.widest, 1)))
            reader = con.sql(
                f"select *, {ROW_HASH_SQL} from ({dataset.query}) as rows where {piece_where}{_also(where)} "
                f"order by {', '.join((*dataset.partition_by, *dataset.order_by))}",
                params=[*piece_params, *params],
            ).to_arrow_reader(batch_rows)
            yield from _partitions(reader, dataset.partition_by)

    return schema, stream()


def _partitions(reader: pa.RecordBatchReader, keys: tuple[str, ...]) -> Iterator[tuple[tuple[object, ...], pa.RecordBatch]]:
    """The stream cut where the partition changes, each slice with its partition key, from a
    stream sorted by the (integer) partition columns: one partition's slices come in a row."""
    for batch in reader:
        if not keys:
            yield (), batch
            continue
        starts = [0, *_key_changes(batch, keys), batch.num_rows]
        for start, end in zip(starts, starts[1:]):
            yield tuple(batch.column(column)[start].as_py() for column in keys), batch.slice(start, end - start)


def _key_changes(batch: pa.RecordBatch, keys: tuple[str, ...]) -> list[int]:
    """Row numbers where the partition key differs from the row before."""
    if batch.num_rows < 2:
        return []
    changed = None
    for column in keys:
        values = batch.column(column)
        values = pc.fill_null(values, integer_scalar(-1, values.type))  # a null key is its own partition
        differs = pc.not_equal(values.slice(1), values.slice(0, len(values) - 1))
        changed = differs if changed is None else pc.or_(changed, differs)
    return [index + 1 for index in pc.indices_nonzero(changed).to_pylist()]


class _LakeFile:
    """One lake file, written a row group at a time on the writer threads, in order; its
    rows' fingerprint is summed as they are added and lands in the footer at the end.

    pyarrow writes the file, not DuckDB's COPY: COPY marks a column REQUIRED whenever the
    rows at hand hold no null, so a dataset's files would disagree about their schema.
    """

    def __init__(
        self,
        key: tuple[object, ...],
        path: Path,
        schema: pa.Schema,
        repeating: tuple[str, ...],
        writers: ThreadPoolExecutor,
        stamp: bytes | None,
    ) -> None:
        self.key, self.path, self.schema, self.repeating, self.writers, self.stamp = key, path, schema, repeating, writers, stamp
        self.batches: list[pa.RecordBatch] = []
        self.batch_bytes = 0
        self.nbytes = 0
        """Arrow bytes added, written or not: what holding the file in flight may cost."""
        self.rows = 0
        self.checksum = 0
        self.writer: pq.ParquetWriter | None = None
        self.pending: Future[None] | None = None

    @property
    def fingerprint(self) -> str:
        return _fingerprint(self.rows, self.checksum)

    def add(self, batch: pa.RecordBatch) -> None:
        """Add rows that carry their ROW_HASH column, which counts and goes."""
        self.rows += batch.num_rows
        self.checksum += row_hash_sum(batch.column(ROW_HASH))
        batch = batch.drop_columns([ROW_HASH])
        self.batches.append(batch)
        self.batch_bytes += batch.nbytes
        self.nbytes += batch.nbytes
        if self.batch_bytes >= _ROW_GROUP_BYTES:
            self._flush(last=False)

    def finish(self) -> _LakeFile:
        self._flush(last=True)
        return self

    def wait(self) -> None:
        if self.pending is not None:
            self.pending.result()

    def _flush(self, last: bool) -> None:
        table = pa.Table.from_batches(self.batches, self.schema) if self.batches else None
        self.batches, self.batch_bytes = [], 0
        self.wait()  # one row group of a file in flight at a time, so they land in order
        self.pending = self.writers.submit(self._write, table, self.fingerprint if last else None)

    def _write(self, table: pa.Table | None, fingerprint: str | None) -> None:
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(self.path, self.schema, compression="zstd", use_dictionary=list(self.repeating))
        if table is not None:
            self.writer.write_table(table)
        if fingerprint is not None:
            footer = {FINGERPRINT_KEY: fingerprint.encode()}
            if self.stamp is not None:
                footer[RUN_KEY] = self.stamp
            self.writer.add_key_value_metadata(footer)
            self.writer.close()
            fsync_path(self.path)


def _listing(root: Path, dataset: Dataset) -> dict[str, list[int]]:
    """Every file in a dataset's folder (leftovers included), with its size and mtime."""
    folder = root / dataset.folder
    listing = {}
    # os.walk, not Path.rglob: a run lists the lake's few hundred files twice, and rglob's
    # Path objects took twice as long (12 ms a listing of 241 files).
    for parent, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(parent, name)
            try:
                info = os.stat(path)
            except OSError:  # a dangling link is no file, as Path.is_file says
                continue
            if S_ISREG(info.st_mode):
                listing[os.path.relpath(path, folder)] = [info.st_size, info.st_mtime_ns]
    return dict(sorted(listing.items()))


def _read_sync_mark(root: Path) -> dict[str, Any]:
    try:
        mark = json.loads((root / SYNC_MARK).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return mark if isinstance(mark, dict) and isinstance(mark.get("files"), dict) else {}


def published_run(root: Path) -> int | None:
    """The run whose lake sync published the lake as it is, or None if no sync recorded one."""
    run_id = _read_sync_mark(root).get("run_id")
    return run_id if isinstance(run_id, int) and not isinstance(run_id, bool) else None


RUN_STARTS = "select run_id, epoch_us(started_at) from {runs}"
"""Each run and when it started, in microseconds: a run's start tells it from a run of the
same number in another data folder."""


def recorded_runs(root: Path, con: duckdb.DuckDBPyConnection) -> dict[int, int] | None:
    """The runs the lake's own copy of `ingest_runs` holds (RUN_STARTS), read with `con`, or
    None if that file is missing or unreadable (a lake of no run yet, or damaged: what
    `verify` and `rebuild` report). Unlike `published_run`, it needs no record beside the
    lake (`synced.json`). (pyarrow's reader would import pandas, which a run keeps out.)"""
    path = root / INTERNAL_FOLDER / "ingest_runs" / PART_FILE
    if not path.is_file():
        return None
    try:
        return dict(con.execute(RUN_STARTS.format(runs="read_parquet(?)"), [duckdb_path(path)]).fetchall())
    except duckdb.Error:
        return None


def published_listing(root: Path) -> dict[str, dict[str, list[int]]] | None:
    """Each dataset's Parquet files (size, mtime) as the last publish left them, or None
    when no publish recorded them: what a reader compares the folder with, to tell a lake
    at rest from one whose files are being renamed into place."""
    mark = _read_sync_mark(root)
    if not mark:
        return None
    return {
        folder: {name: stat for name, stat in listing.items() if name.endswith(".parquet")}
        for folder, listing in mark["files"].items()
    }


def published_but_missing(root: Path) -> str:
    """The lake files the last publish recorded that are gone now (a person deleted one),
    named as `first (and N more)`; "" if none is."""
    published = published_listing(root) or {}
    return first_and_more(
        [root / folder / name for folder, files in published.items() for name in files if not (root / folder / name).exists()]
    )


@dataclass(frozen=True)
class Unpublished:
    """Lake files that are not as the last publish recorded them, each named as `first (and
    N more)`, "" where there is none. Every one is read as data."""

    strays: str
    """Files it did not write: a copy (`part-0 (copy).parquet`, whose rows count twice) or
    a file another tool put there."""
    resized: str
    """Files it wrote, of another size now: damaged, or replaced by other rows."""


def published_but_changed(root: Path) -> Unpublished:
    """The lake files that are not as its last publish recorded them. mtimes are not
    compared: a lake copied without them (`cp -r`) is the lake."""
    published = published_listing(root) or {}
    strays, resized = [], []
    for dataset in DATASETS:
        recorded = published.get(dataset.folder)
        if recorded is None:  # a dataset newer than the record is not the record's to judge
            continue
        for name, (size, _) in parquet_listing(root, dataset).items():
            if name not in recorded:
                strays.append(root / dataset.folder / name)
            elif recorded[name][0] != size:
                resized.append(root / dataset.folder / name)
    return Unpublished(first_and_more(strays), first_and_more(resized))


def first_and_more(paths: list[Path]) -> str:
    return f"{paths[0]}{f' (and {len(paths) - 1:,} more)' if len(paths) > 1 else ''}" if paths else ""


def parquet_listing(root: Path, dataset: Dataset) -> dict[str, list[int]]:
    """A dataset's Parquet files now (size, mtime), without the temporary files of a run."""
    return {name: stat for name, stat in _listing(root, dataset).items() if name.endswith(".parquet")}


def _sql_version() -> str:
    """A digest of the tables' and datasets' SQL: a release that changes what a dataset
    holds must not find its lake trusted as the previous release left it."""
    digest = hashlib.sha256(f"fingerprint v{FINGERPRINT_VERSION}\0".encode())
    for folder in ("schema", "lake"):
        for path in sorted((SQL_DIR / folder).glob("*.sql")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _write_sync_mark(root: Path, run_id: int, rewritten: set[Path]) -> None:
    previous = _read_sync_mark(root)
    files = {dataset.folder: _listing(root, dataset) for dataset in DATASETS}
    digests = {}
    for folder, listing in files.items():
        for name, stat in listing.items():
            path = root / folder / name
            key = f"{folder}/{name}"
            same = previous.get("files", {}).get(folder, {}).get(name) == stat
            carried = previous.get("digests", {}).get(key)
            digests[key] = carried if same and carried and path not in rewritten else file_digest(path)
    mark = {"run_id": run_id, "sql": _sql_version(), "files": files, "digests": digests}
    path = root / SYNC_MARK
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(mark), encoding="utf-8")
    fsync_path(temporary)
    os.replace(temporary, path)


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes: the only check that sees every byte, footer included
    (a flipped bit in a column's statistics reads back fine, and then misleads a filter)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def bytes_changed(root: Path, path: Path, digests: dict[Path, str]) -> bool:
    """Whether a lake file's bytes differ from the digest its lake's last publish recorded
    (`recorded_digests`). Not a file that says a later run wrote it: a publish stopped
    after its renames, before its record, left the record behind the files, and an intact
    lake was then called damaged, and refused when the warehouse was to be rebuilt from it."""
    if path not in digests or file_digest(path) == digests[path]:
        return False
    written, published = written_by(path), published_run(root)
    return written is None or published is None or written[0] <= published


def recorded_digests(root: Path) -> dict[Path, str]:
    """Each lake file's SHA-256 as the run that last published the lake saw it."""
    digests = _read_sync_mark(root).get("digests")
    if not isinstance(digests, dict):
        return {}
    return {root / key: value for key, value in digests.items() if isinstance(value, str)}


_PARTITION_FOLDER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=[^/]*")


def in_lake_layout(folder: Path, path: Path) -> bool:
    """Whether `path`, below a dataset's `folder`, is where a sync writes its files: a
    Parquet file or a run's temporary file, in partition folders (`year=2015/month=11/`)
    only. Anything else is someone else's, and no sync deletes it: a data folder created
    inside the lake by mistake lost its warehouse and its own lake to `verify --repair`."""
    *folders, name = path.relative_to(folder).parts
    return (name.endswith(".parquet") or name.endswith(".tmp")) and all(_PARTITION_FOLDER.fullmatch(part) for part in folders)


def _remove_unwanted(folder: Path, wanted: set[Path]) -> int:
    """Delete files the warehouse no longer backs (and leftovers of interrupted writes)."""
    removed = 0
    if not folder.exists():
        return removed
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_file() and path not in wanted and in_lake_layout(folder, path):
            path.unlink()
            removed += 1
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return removed
