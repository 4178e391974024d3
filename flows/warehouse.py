"""The DuckDB warehouse: opening it for an ingest, applying `sql/`, and committing.

Copy-on-write: an ingest copies `warehouse.duckdb` to `warehouse.duckdb.next`, writes
only the copy, and commits by renaming the copy over the original. So:
- a reader (DuckDB CLI, a dashboard, `newswh sql`) holding the warehouse open never
  blocks an ingest and is never blocked; it keeps its snapshot until it reconnects;
- a killed ingest leaves the previous warehouse untouched; the next run discards the
  stale copy and starts over.
The one thing that can stop an ingest is a *writer* holding the file (a DuckDB CLI opened
without `-readonly`): then the ingest says so and by which process, and exits.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from flows.settings import DUCKDB_MEMORY_LIMIT, SQL_DIR, DataPaths

_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.+?) \(PID (\d+)\)")


WRITER_CONFIG = {"memory_limit": DUCKDB_MEMORY_LIMIT, "preserve_insertion_order": False}
"""Bounded memory for the ingest's connection: beyond the limit DuckDB spills to disk
instead of growing with the corpus, and without insertion order it needs to buffer less."""


class WarehouseBusy(RuntimeError):
    """Another process has the warehouse open for writing."""


def sql_files(folder: Path) -> list[Path]:
    """The .sql files of a folder in the order they apply: by name, so `NN_` prefixes rule."""
    return sorted(folder.glob("*.sql"))


def run_sql_folder(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    for path in sql_files(folder):
        try:
            con.execute(path.read_text(encoding="utf-8"))
        except duckdb.Error as error:
            raise RuntimeError(f"{path.relative_to(SQL_DIR.parent)}: {error}") from error


SCHEMA_FOLDERS = ("schema", "views")
"""Applied in this order on every run, so a new release's tables, views and comments reach old warehouses."""


def apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    for folder in SCHEMA_FOLDERS:
        run_sql_folder(con, SQL_DIR / folder)


_TABLE_REFERENCE = re.compile(r"(?<!distinct )\b(?:from|join)\s+([a-z_][a-z0-9_]*)\b", re.IGNORECASE)
_LINE_COMMENT = re.compile(r"--[^\n]*")


def tables_read(query: str) -> frozenset[str]:
    """The tables a query of ours names after FROM or JOIN (our SQL uses no CTEs; a test
    holds every check and lake query to naming only real tables)."""
    return frozenset(name.lower() for name in _TABLE_REFERENCE.findall(_LINE_COMMENT.sub("", query)))


def failed_checks(
    con: duckdb.DuckDBPyConnection, limit: int = 5, changed: frozenset[str] | None = None
) -> dict[str, list[tuple[object, ...]]]:
    """Each data check in `sql/checks/` whose query returns rows, with the first offenders.

    With `changed`, only the checks that read one of those tables run: the others held
    when the warehouse was last committed, and their tables are as they were then.
    """
    failures = {}
    for path in sql_files(SQL_DIR / "checks"):
        query = path.read_text(encoding="utf-8")
        if changed is not None and not tables_read(query) & changed:
            continue
        rows = con.execute(query).fetchmany(limit)
        if rows:
            failures[path.stem] = rows
    return failures


def ensure_not_written_elsewhere(warehouse: Path, wait_seconds: float = 5.0) -> None:
    """Fail clearly if another process holds the warehouse open read-write.

    Read-only readers are fine (we never write this file). A read-write holder may be
    mid-checkpoint, so copying the file then could copy a torn state: we wait a little
    for it to go, then name it.
    """
    if not warehouse.exists():
        return
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            duckdb.connect(str(warehouse), read_only=True).close()
            return
        except duckdb.IOException as error:
            busy = _busy_error(warehouse, error)
            if busy is None:
                raise
            if time.monotonic() >= deadline:
                raise busy from None
            time.sleep(0.2)


def open_read_only(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection for queries, or an error a person can act on.

    Works while an ingest runs (it writes a copy); fails only when the warehouse is
    missing or another process holds it open for writing.
    """
    if not warehouse.exists():
        raise FileNotFoundError(f"no warehouse at {warehouse}: run `newswh ingest` first")
    try:
        return duckdb.connect(str(warehouse), read_only=True)
    except duckdb.IOException as error:
        busy = _busy_error(warehouse, error)
        if busy is None:
            raise
        raise busy from None


def _busy_error(warehouse: Path, error: duckdb.IOException) -> WarehouseBusy | None:
    holder = _LOCK_HOLDER.search(str(error))
    if holder is None:
        return None
    program, pid = Path(holder.group(1)).name, holder.group(2)
    return WarehouseBusy(
        f"{warehouse} is open for writing by {program} (PID {pid}); "
        "close it, or open it read-only (duckdb -readonly), and try again"
    )


@contextmanager
def next_warehouse(paths: DataPaths, copy_current: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to a fresh copy of the warehouse, with the schema applied.

    `copy_current=False` starts from empty tables instead (a rebuild). Leaving the block
    without error does not commit: call `commit` for that.
    """
    paths.root.mkdir(parents=True, exist_ok=True)
    _discard_next(paths)
    ensure_not_written_elsewhere(paths.warehouse)
    try:
        if copy_current and paths.warehouse.exists():
            _copy_file(paths.warehouse, paths.next_warehouse)
        con = duckdb.connect(str(paths.next_warehouse), config=WRITER_CONFIG | {"temp_directory": str(paths.root / ".duckdb-spill")})
    except BaseException:
        _discard_next(paths)
        raise
    try:
        apply_schema(con)
        yield con
    except BaseException:
        con.close()
        _discard_next(paths)  # a failed run must not leave a warehouse-sized file on a full disk
        raise
    finally:
        con.close()


def _discard_next(paths: DataPaths) -> None:
    for stale in (paths.next_warehouse, _wal(paths.next_warehouse)):
        stale.unlink(missing_ok=True)


def commit(con: duckdb.DuckDBPyConnection, paths: DataPaths) -> None:
    """Make the copy the warehouse: checkpoint, close, flush to disk, rename atomically."""
    con.execute("checkpoint")
    con.close()
    fsync_path(paths.next_warehouse)
    stray_wal = _wal(paths.warehouse)
    if stray_wal.exists():
        # Left by someone who wrote to the old file; it must not replay onto the new one.
        stray_wal.rename(stray_wal.with_name(f"{stray_wal.name}.stale-{time.time_ns()}"))
    os.replace(paths.next_warehouse, paths.warehouse)
    fsync_path(paths.root)


def _wal(database: Path) -> Path:
    return database.with_name(database.name + ".wal")


def _copy_file(source: Path, target: Path) -> None:
    """Clone where the file system can (instant, no extra space), copy otherwise."""
    try:
        import fcntl

        with open(source, "rb") as src, open(target, "wb") as dst:
            fcntl.ioctl(dst.fileno(), 0x40049409, src.fileno())  # FICLONE
        return
    except (OSError, ImportError):
        pass
    shutil.copyfile(source, target)


def fsync_path(path: Path) -> None:
    """Flush a file's bytes, or a folder's entries (a rename), to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
