"""Parse a batch of files into staging Parquet files: the work each parse worker does.

Runs in worker processes, so it imports no Prefect and returns only small summaries:
the records travel by Parquet, not by pickling. The staging schemas mirror the DuckDB
tables in `sql/schema/` column for column (a test holds them to it).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from newswh.records import ParseResult, RelatedValues
from newswh.sources import SourceFile, Vanished, read_source

Reader = Callable[[SourceFile, int], ParseResult | Vanished]
"""How a worker reads and parses one planned file: `read_source` for a local disk,
`newswh.remote.ObjectReader` for object storage."""

STAGE_FILES = pa.schema(
    [
        ("source_path", pa.string()),
        ("size_bytes", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("content_hash", pa.string()),
        ("outcome", pa.string()),
        ("article_id", pa.string()),
        ("reject_reason", pa.string()),
    ]
)
STAGE_CAPTURES = pa.schema(
    [
        ("article_id", pa.string()),
        ("source_path", pa.string()),
        ("content_hash", pa.string()),
        ("title", pa.string()),
        ("published_at", pa.timestamp("us")),
        ("lead", pa.string()),
        ("body", pa.string()),
        ("caption", pa.string()),
        ("attribution", pa.string()),
        ("sign_off", pa.string()),
        ("paragraph_count", pa.int32()),
        ("word_count", pa.int32()),
        ("related_status", pa.string()),
        ("related_declared_bytes", pa.int32()),
        ("related_actual_bytes", pa.int32()),
        ("related_count", pa.int32()),
        ("source_encoding", pa.string()),
        ("parser_version", pa.string()),
        ("language", pa.string()),
        ("site", pa.string()),
        ("dateline", pa.string()),
    ]
)
STAGE_RELATED = pa.schema(
    [
        ("source_path", pa.string()),
        ("article_id", pa.string()),
        ("position", pa.int32()),
        ("news_id", pa.int64()),
        ("sort_key", pa.int64()),
        ("content_type_id", pa.int64()),
        ("title", pa.string()),
        ("pic_path", pa.string()),
        ("media_kind", pa.string()),
        ("pic_date", pa.date32()),
        ("pic_uploaded_at", pa.timestamp("us")),
    ]
)
STAGE_REJECTS = pa.schema(
    [
        ("source_path", pa.string()),
        ("content_hash", pa.string()),
        ("size_bytes", pa.int64()),
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("parser_version", pa.string()),
    ]
)
STAGE_SCHEMAS = {
    "stage_files": STAGE_FILES,
    "stage_captures": STAGE_CAPTURES,
    "stage_related": STAGE_RELATED,
    "stage_rejects": STAGE_REJECTS,
}


@dataclass(frozen=True, slots=True)
class PlannedFile:
    """A file the plan says must be read, with the hash the manifest had for it."""

    source_path: str
    size_bytes: int
    mtime_ns: int
    problem: str | None
    """Why discovery found it cannot be read (see SourceFile.problem); None to read it."""
    previous_hash: str | None


@dataclass(frozen=True, slots=True)
class BatchSummary:
    number: int
    files: int
    articles: int
    rejected: int
    touched: int
    vanished: int = 0


STAGE_PART_BYTES = 16 * 2**20
"""Bytes of raw files a worker parses before it writes their rows out as one part file.
A batch of 5,000 pages of 3 MB would otherwise sit in a worker as 15 GB of text, then
again as Arrow columns. The part is also the piece the load reads and commits at a time
(see newswh/load.py). A batch of ordinary pages (a few kB each) still makes one part."""


def stage_batch(
    number: int,
    batch: list[PlannedFile],
    staging: str,
    max_bytes: int,
    part_bytes: int = STAGE_PART_BYTES,
    read: Reader = read_source,
) -> BatchSummary:
    """Read and parse `batch`, writing `<staging>/<table>/batch-<number>-<part>.parquet`.

    A file whose bytes hash to what the manifest already holds is `touched` (its mtime
    moved, its content did not) and produces no records, so no row changes. A file gone
    since discovery is `vanished` and produces no records either: the load forgets it was
    discovered, so it is missing with its data kept, as if deleted before the run. Rows are
    gathered as tuples in schema order, related items as columns (`_RelatedColumns`), and
    handed to Arrow column by column: building a dict per row and converting it cost as
    much as parsing the page. After every
    `part_bytes` of pages read the rows so far are written out as a part, so a worker's
    memory is bounded by that, not by the batch. The last part has a file for every table,
    empty or not, so every batch leaves each table's schema behind.
    """
    with _collector_paused():
        return _stage(number, batch, staging, max_bytes, part_bytes, read)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off for a batch, back as it was after.

    Parsing allocates a few objects per related item, so the collector ran every few
    pages and, every so often, walked every live object: about a tenth of a batch's CPU
    time, to find nothing (a batch leaves no cyclic garbage: bench/staging.py checks).
    Reference counting still frees everything; memory stays bounded by `part_bytes`."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _stage(
    number: int, batch: list[PlannedFile], staging: str, max_bytes: int, part_bytes: int, read: Reader
) -> BatchSummary:
    rows: dict[str, list[tuple[object, ...]]] = {name: [] for name in STAGE_SCHEMAS if name != "stage_related"}
    related = _RelatedColumns()
    articles = rejected = touched = vanished = 0
    part = unwritten = 0
    for planned in batch:
        source = SourceFile(planned.source_path, planned.size_bytes, planned.mtime_ns, planned.problem)
        result = read(source, max_bytes)
        if isinstance(result, Vanished):
            vanished += 1
            rows["stage_files"].append(
                (planned.source_path, planned.size_bytes, planned.mtime_ns, None, "vanished", None, None)
            )
            continue
        article, reject = result.article, result.reject
        content_hash = article.content_hash if article else reject.content_hash if reject else None
        if content_hash is not None and content_hash == planned.previous_hash:
            outcome = "touched"
            touched += 1
        elif article is not None:
            outcome = "article"
            articles += 1
            unwritten += planned.size_bytes
            rows["stage_captures"].append(
                (*_ARTICLE_HEAD(article), len(result.related_values), *_ARTICLE_TAIL(article))
            )
            related.add(planned.source_path, article.article_id, result.related_positions, result.related_values)
        else:
            outcome = "rejected"
            rejected += 1
            rows["stage_rejects"].append(_REJECT(reject))
        rows["stage_files"].append(
            (
                planned.source_path,
                planned.size_bytes,
                planned.mtime_ns,
                content_hash,
                outcome,
                article.article_id if article else None,
                reject.reason if reject else None,
            )
        )
        if unwritten >= part_bytes:
            _write_part(rows, related, Path(staging), f"batch-{number:06d}-{part:04d}.parquet")
            part, unwritten = part + 1, 0
    _write_part(rows, related, Path(staging), f"batch-{number:06d}-{part:04d}.parquet", even_empty=True)
    return BatchSummary(number, len(batch), articles, rejected, touched, vanished)


def _write_part(
    rows: dict[str, list[tuple[object, ...]]], related: _RelatedColumns, staging: Path, name: str, even_empty: bool = False
) -> None:
    """Write the rows gathered so far, a file per table that has any, and forget them."""
    for table, gathered in rows.items():
        if gathered or even_empty:
            _write_table(staging, table, name, _to_table(gathered, STAGE_SCHEMAS[table]))
            gathered.clear()
    if related.values or even_empty:
        _write_table(staging, "stage_related", name, related.table())
        related.clear()


def _write_table(staging: Path, table: str, name: str, rows: pa.Table) -> None:
    folder = staging / table
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(rows, folder / name, compression="none", use_dictionary=_REPEATING[table])


_REPEATING = {
    "stage_files": ["outcome", "reject_reason"],
    "stage_captures": ["related_status", "source_encoding", "parser_version", "language", "site", "dateline", "attribution", "sign_off"],
    "stage_related": ["source_path", "article_id", "title", "pic_path", "media_kind"],
    "stage_rejects": ["reason", "parser_version"],
}
"""The staged columns worth a dictionary: those whose values repeat. A staged part lives for
one run, read once by the load on the same machine, so it is written for the least CPU, not
the fewest bytes: no compression, and no dictionary built (then dropped) for paths, hashes,
ids and page text, which never repeat. Per file staged: 5.4 us and 2 kB of Parquet, against
11.5 us and 1 kB with lz4 and a dictionary for all but the page text (bench: 5,000 pages)."""


_ARTICLE_HEAD = attrgetter(*STAGE_CAPTURES.names[: STAGE_CAPTURES.get_field_index("related_count")])
"""An Article's values up to related_count, which the parser does not store (it is len(related_values))."""
_ARTICLE_TAIL = attrgetter(*STAGE_CAPTURES.names[STAGE_CAPTURES.get_field_index("related_count") + 1 :])
"""An Article's values after related_count."""
_REJECT = attrgetter(*STAGE_REJECTS.names)


class _RelatedColumns:
    """The staged related items of a part, gathered as columns: the parser hands each
    article's items over as positions and value tuples (ParseResult.related_values), in the
    order of STAGE_RELATED's columns after source_path, article_id and position, so no
    tuple is built per item here."""

    __slots__ = ("source_paths", "article_ids", "positions", "values")

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.source_paths: list[str] = []
        self.article_ids: list[str] = []
        self.positions: list[int] = []
        self.values: list[RelatedValues] = []

    def add(self, source_path: str, article_id: str, positions: list[int], values: list[RelatedValues]) -> None:
        self.source_paths += repeat(source_path, len(values))
        self.article_ids += repeat(article_id, len(values))
        self.positions += positions
        self.values += values

    def table(self) -> pa.Table:
        if not self.values:
            return STAGE_RELATED.empty_table()
        columns = [self.source_paths, self.article_ids, self.positions, *zip(*self.values, strict=True)]
        return pa.Table.from_arrays(
            [pa.array(column, type=field.type) for column, field in zip(columns, STAGE_RELATED, strict=True)], schema=STAGE_RELATED
        )


def _to_table(rows: list[tuple[object, ...]], schema: pa.Schema) -> pa.Table:
    if not rows:
        return schema.empty_table()
    columns = zip(*rows, strict=True)
    return pa.Table.from_arrays([pa.array(column, type=field.type) for column, field in zip(columns, schema)], schema=schema)
