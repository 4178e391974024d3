"""The Parquet lake: a projection of the warehouse tables that dashboards read directly.

Layout: `lake/<dataset>/year=YYYY/month=M/part-0.parquet` for datasets partitioned by
publication month (`__HIVE_DEFAULT_PARTITION__` where the date is unknown), and
`lake/<dataset>/part-0.parquet` for the others. Each file carries a fingerprint of its
rows in its Parquet metadata; a sync rewrites exactly the partitions whose fingerprint
differs from the warehouse's, so it is cheap when little changed and repairs whatever a
crash or a person left behind. Files are written under a temporary name and flushed
before the warehouse commits, and renamed into place after: a reader never sees half a
file, nor a run the warehouse did not commit. Tables dashboards do not need but a
rebuild does live under `lake/_warehouse/`.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from flows.settings import SQL_DIR
from flows.warehouse import fsync_path

FINGERPRINT_KEY = b"newswh.fingerprint"
PART_FILE = "part-0.parquet"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"


INTERNAL_FOLDER = "_warehouse"
"""Where the lake keeps the tables dashboards do not need but `newswh rebuild` does."""


@dataclass(frozen=True)
class Dataset:
    name: str
    partition_by: tuple[str, ...]
    order_by: tuple[str, ...]
    internal: bool = False
    table: str = ""
    """The warehouse table the dataset's rows belong to, when it is not `name`."""

    @property
    def table_name(self) -> str:
        return self.table or self.name

    @property
    def query(self) -> str:
        return (SQL_DIR / "lake" / f"{self.name}.sql").read_text(encoding="utf-8")

    @property
    def folder(self) -> str:
        return f"{INTERNAL_FOLDER}/{self.name}" if self.internal else self.name


DATASETS = (
    Dataset("articles", ("year", "month"), ("article_id",)),
    Dataset("related_items", ("year", "month"), ("article_id", "position")),
    Dataset("news_items", (), ("news_id",)),
    Dataset("rejects", (), ("source_path",)),
    # With these the lake holds the whole warehouse, so it can be rebuilt from the lake alone.
    Dataset("duplicate_captures", ("year", "month"), ("source_path",), internal=True, table="captures"),
    Dataset("capture_related", ("year", "month"), ("source_path", "position"), internal=True),
    Dataset("source_files", (), ("source_path",), internal=True),
    Dataset("ingest_runs", (), ("run_id",), internal=True),
)


@dataclass
class SyncReport:
    written: int = 0
    removed: int = 0
    unchanged: int = 0


@dataclass
class LakeChanges:
    """Partition files written under temporary names, waiting for the warehouse to commit.

    Nothing a reader sees changes until `publish`, which only renames and deletes, so it
    needs no disk space and cannot half-fail on a full disk; `discard` undoes a prepare.
    """

    root: Path
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
        return self.report

    def discard(self) -> None:
        for temporary, _ in self.staged:
            temporary.unlink(missing_ok=True)


def expected_partitions(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> dict[tuple[object, ...], str]:
    """Partition key -> fingerprint (row count and a hash of every row) per the warehouse."""
    keys = ", ".join(dataset.partition_by)
    select_keys = f"{keys}, " if keys else ""
    group = "group by all" if keys else ""
    rows = con.execute(
        f"select {select_keys}count(*), bit_xor(hash(rows)) from ({dataset.query}) as rows {group}"
    ).fetchall()
    partitions = {tuple(row[:-2]): f"{row[-2]}:{row[-1] or 0}" for row in rows if row[-2]}
    if not dataset.partition_by and not partitions:
        partitions[()] = "0:0"  # an unpartitioned dataset always has its file, even empty
    return partitions


def partition_folder(root: Path, dataset: Dataset, key: tuple[object, ...]) -> Path:
    folder = root / dataset.folder
    for column, value in zip(dataset.partition_by, key):
        folder /= f"{column}={NULL_PARTITION if value is None else value}"
    return folder


def read_fingerprint(path: Path) -> str | None:
    """The fingerprint a lake file was written with; None if unreadable or foreign."""
    try:
        metadata = pq.read_metadata(path).metadata or {}
    except (OSError, ValueError):
        return None
    value = metadata.get(FINGERPRINT_KEY)
    return value.decode() if value else None


def prepare_lake(con: duckdb.DuckDBPyConnection, root: Path, tag: str, workers: int | None = None) -> LakeChanges:
    """Write the partitions whose content differs from the warehouse, under temporary names.

    Files are written on `workers` threads, each with its own cursor: one partition's query
    and compression are small and mostly single-threaded, so one at a time leaves cores idle.
    """
    changes = LakeChanges(root)
    stale: list[tuple[Dataset, tuple[object, ...], str, Path]] = []
    try:
        for dataset in DATASETS:
            expected = expected_partitions(con, dataset)
            wanted = changes.wanted.setdefault(root / dataset.folder, set())
            for key, fingerprint in sorted(expected.items(), key=lambda item: str(item[0])):
                path = partition_folder(root, dataset, key) / PART_FILE
                wanted.add(path)
                if path.exists() and read_fingerprint(path) == fingerprint:
                    changes.report.unchanged += 1
                    continue
                temporary = path.with_name(f".{path.name}.{tag}.tmp")
                changes.staged.append((temporary, path))
                stale.append((dataset, key, fingerprint, temporary))
        _write_partitions(con, stale, workers or os.cpu_count() or 1)
        changes.report.written = len(stale)
    except BaseException:
        changes.discard()
        raise
    return changes


def _write_partitions(
    con: duckdb.DuckDBPyConnection, stale: list[tuple[Dataset, tuple[object, ...], str, Path]], workers: int
) -> None:
    shares = [share for share in (stale[start::workers] for start in range(workers)) if share]

    def write_share(share: list[tuple[Dataset, tuple[object, ...], str, Path]]) -> None:
        with con.cursor() as cursor:
            for item in share:
                _write_partition(cursor, *item)

    with ThreadPoolExecutor(max(1, len(shares))) as pool:
        for _ in pool.map(write_share, shares):
            pass  # re-raises the first failure


def _write_partition(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, key: tuple[object, ...], fingerprint: str, path: Path
) -> None:
    # pyarrow writes the file, not DuckDB's COPY: COPY marks a column REQUIRED whenever the
    # rows at hand hold no null, so a dataset's files would disagree about their schema.
    where = " and ".join(f"{column} is not distinct from ?" for column in dataset.partition_by) or "true"
    exclude = f" exclude ({', '.join(dataset.partition_by)})" if dataset.partition_by else ""
    table = con.sql(
        f"select *{exclude} from ({dataset.query}) as rows where {where} order by {', '.join(dataset.order_by)}",
        params=list(key),
    ).to_arrow_table()
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), FINGERPRINT_KEY: fingerprint.encode()})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")
    fsync_path(path)


def _remove_unwanted(folder: Path, wanted: set[Path]) -> int:
    """Delete files the warehouse no longer backs (and leftovers of interrupted writes)."""
    removed = 0
    if not folder.exists():
        return removed
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_file() and path not in wanted:
            path.unlink()
            removed += 1
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return removed
