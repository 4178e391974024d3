"""The DuckDB warehouse: opening it for an ingest, applying `sql/`, and committing.

Copy-on-write: an ingest copies `warehouse.duckdb` to `warehouse.duckdb.next`, writes
only the copy, and commits by renaming the copy over the original. So:
- a reader (DuckDB CLI, a dashboard, `newswh sql`) holding the warehouse open never
  blocks an ingest and is never blocked; it keeps its snapshot until it reconnects;
- a killed ingest leaves the previous warehouse untouched; the next run discards the
  stale copy and starts over.
The one thing that can stop an ingest is a *writer* holding the file (a DuckDB CLI opened
without `-readonly`): then the ingest says so and by which process, and exits. A writer
that comes and goes during a run is caught at the commit, which then refuses to rename
the copy over the file that writer changed (its changes would vanish with the old file).
A damaged file is named as damaged, with the way back: `newswh rebuild`.
"""

from __future__ import annotations

import errno
import itertools
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import duckdb

from newswh.settings import DUCKDB_MEMORY_LIMIT, SQL_DIR, DataPaths, not_a_file

if TYPE_CHECKING:
    from newswh.copy_ahead import CopiedAhead

_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.+?) \(PID (\d+)\)")


WRITER_CONFIG = {"memory_limit": DUCKDB_MEMORY_LIMIT, "preserve_insertion_order": False, "checkpoint_threshold": "1TB"}
"""Bounded memory for the ingest's connection: beyond the limit DuckDB spills to disk
instead of growing with the corpus, and without insertion order it needs to buffer less.
No automatic checkpoints: each rewrites every table's newest rows, so the load decides
when one is worth it (newswh/load.py), and a commit makes the last."""
WRITER_ROW_GROUP_ROWS = 2048
"""Rows per row group the writer appends: DuckDB's smallest (one vector). A checkpoint
rewrites the whole row group that new rows were appended to, so with its default of
122,880 each checkpoint of a load would rewrite everything loaded so far; and a row group
this small that fills within one insert is written to the file there and then, instead
of waiting in memory for the next checkpoint."""
WRITER_SETTINGS = ("set disabled_compression_methods = 'zstd'",)
"""Settings the writer applies after connecting (DuckDB ignores these as connect config).
No ZSTD for text: DuckDB picks it for columns of long strings (large pages) and must then
inflate a whole vector of 2048 of them to read one, so a load or lake query that reads a
few large pages at a time would need memory for thousands. Stored plain, DuckDB reads
only the rows a query selects."""


class OutOfMemory(duckdb.OutOfMemoryException):
    """DuckDB ran out of the memory it may use, with the limit that was in effect."""

    def __init__(self, limit: str) -> None:
        super().__init__(f"DuckDB ran out of memory (limit {limit})")
        self.limit = limit


_OUT_OF_MEMORY = re.compile(r"Out of Memory Error|failed to pin block|could not allocate block|failed to allocate data")
_BUFFER_POOL = re.compile(r"\([\d.]+ [KMGT]iB/([\d.]+ [KMGT]iB) used\)")


def out_of_memory(error: BaseException) -> OutOfMemory | None:
    """The error to report when DuckDB's `error` means it ran out of memory, else None.

    DuckDB says so with an OutOfMemoryException, or, when it happens in a checkpoint, with
    a FatalException that quotes it; its message ends with the buffer pool's size."""
    if isinstance(error, OutOfMemory):
        return error
    if not isinstance(error, duckdb.Error) or not (
        isinstance(error, duckdb.OutOfMemoryException) or _OUT_OF_MEMORY.search(str(error))
    ):
        return None
    pool = _BUFFER_POOL.search(str(error))
    return OutOfMemory(pool.group(1) if pool else DUCKDB_MEMORY_LIMIT)


class WarehouseBusy(RuntimeError):
    """Another process has the warehouse open for writing."""


class UnusableDataFolder(RuntimeError):
    """DuckDB cannot keep a database in this folder."""


class WarehouseChanged(RuntimeError):
    """Another process wrote the warehouse while a run was working on its copy."""


class WarehouseDamaged(RuntimeError):
    """The warehouse file cannot be read back: `newswh rebuild` restores it from the lake."""


_DAMAGE = re.compile(
    r"Corrupt database file|not a valid DuckDB database file|Could not read enough bytes"
    r"|Serialization Error|Failed to deserialize|checksum",
    re.IGNORECASE,
)


def damage(warehouse: Path, error: BaseException) -> WarehouseDamaged | None:
    """The error a person should see when DuckDB's `error` means the file itself is damaged."""
    if not isinstance(error, duckdb.Error) or not _DAMAGE.search(str(error)):
        return None
    detail = str(error).strip().splitlines()[0]
    return WarehouseDamaged(
        f"{warehouse} is damaged ({detail}); `newswh rebuild --data {warehouse.parent}` restores it from the lake"
    )


def says_disk_full(error: BaseException) -> bool:
    """ENOSPC or a quota, from the OS or in DuckDB's words (it wraps the OS error in text)."""
    if getattr(error, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
        return True
    return any(sign in str(error) for sign in ("No space left", "Disk quota", "out of disk space"))


def write_failed(error: BaseException) -> bool:
    """Whether DuckDB could not write its database file: the disk is full, or refused the write."""
    return says_disk_full(error) or "Could not write" in str(error)


def storage_error(error: duckdb.Error) -> bool:
    """Whether DuckDB failed for the disk's sake (full, or a write refused) or the database
    file's (damaged, or invalidated by an earlier failed write), not for a query's."""
    return (
        isinstance(error, duckdb.FatalException)
        or _DAMAGE.search(str(error)) is not None
        or write_failed(error)
        or "previous fatal error" in str(error)
    )


def sql_files(folder: Path) -> list[Path]:
    """The .sql files of a folder in the order they apply: by name, so `NN_` prefixes rule."""
    return sorted(folder.glob("*.sql"))


def run_sql_folder(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    for path in sql_files(folder):
        run_sql_file(con, path)


def run_sql_file(con: duckdb.DuckDBPyConnection, path: Path, params: dict[str, object] | None = None) -> None:
    """Run one file of `sql/`; an error names the file, and running out of memory (a
    condition of the machine, not a bug in the file) is reported as such."""
    try:
        con.execute(path.read_text(encoding="utf-8"), params)
    except duckdb.Error as error:
        exhausted = out_of_memory(error)
        if exhausted is not None:
            raise exhausted from None
        if storage_error(error):
            raise  # the disk's or the file's doing, not the file of sql/'s: failures.storage_failure says which
        raise RuntimeError(f"{path.relative_to(SQL_DIR.parent)}: {error}") from error


SCHEMA_FOLDERS = ("schema", "views")
"""Applied in this order, after `migrate/`, whenever the warehouse was not built with the
`sql/` of this release, so a new release's tables, views and comments reach old warehouses."""
DIGEST_FOLDERS = ("migrate", *SCHEMA_FOLDERS, "load", "checks", "check_scope")
"""The folders whose files decide what the warehouse holds and what it must satisfy: the
files `apply_schema` runs, and the load and the data checks, whose scoping to what a run
touched (sql/check_scope/run.sql) holds only for a warehouse that passed the same checks
after the same load. Their digest is recorded; a change runs the schema's files again and
the next run's checks over every row."""
DIGEST_MACRO = "newswh_sql_digest"
"""A macro in the warehouse returning the digest of the `sql/` it was last brought up to
date with. A macro, not a table: it stays out of the tables and views that the lake, the
data dictionary and readers list."""


@dataclass(frozen=True)
class SchemaApplied:
    """Whether apply_schema ran the files (else the warehouse was current), and the
    migrations among them that converted it."""

    ran: bool
    migrated: tuple[str, ...] = ()


def apply_schema(con: duckdb.DuckDBPyConnection) -> SchemaApplied:
    """Bring the warehouse to this release's tables and views; say whether that took any
    work, and which migrations.

    Re-running every file costs a run a few tenths of a second (mostly replacing views and
    their comments), so it is skipped when the warehouse records the digest of the very
    files it would run and still holds every table, view and macro they create. A changed,
    added or removed file, a missing record (a warehouse of an earlier release) or a
    missing object runs them all, migrations first, and records the new digest in the
    same copy, which only a successful run commits.
    """
    state = schema_state(con)
    if state.current:
        return SchemaApplied(ran=False)
    with one_transaction(con):
        migrated = migrate(con)
        for folder in SCHEMA_FOLDERS:
            run_sql_folder(con, SQL_DIR / folder)
        con.execute(f"create or replace macro {DIGEST_MACRO}() as '{state.digest}'")
        con.execute(
            f"comment on macro {DIGEST_MACRO} is 'Digest of the sql/ files (migrate, schema, views, load, checks) this "
            "warehouse was last brought up to date with: an ingest applies the schema again, and checks every row, when "
            "its own differ.'"
        )
    return SchemaApplied(ran=True, migrated=migrated)


@contextmanager
def one_transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The statements of the block committed together, or not at all. The schema's files are
    some 200 statements (a comment on every column); each committed on its own wrote and
    synced the write-ahead log once, 200 syncs for a new warehouse, 0.1 s of a cold run's
    opening here and far more on a disk whose sync takes milliseconds."""
    con.execute("begin transaction")
    try:
        yield
    except BaseException:
        with suppress(duckdb.Error):  # a failed statement may have ended it already
            con.execute("rollback")
        raise
    con.execute("commit")


@dataclass(frozen=True)
class SchemaState:
    """The digest of this release's `sql/` files that apply_schema runs, the one the
    warehouse recorded (None: none), and the objects those files create that it lacks."""

    digest: str
    recorded: str | None
    missing: tuple[str, ...]

    @property
    def current(self) -> bool:
        return self.recorded == self.digest and not self.missing


def schema_state(con: duckdb.DuckDBPyConnection) -> SchemaState:
    """Where the warehouse stands against this release's `sql/` (sql/schema_state.sql)."""
    files = [str(SQL_DIR / folder / "*.sql") for folder in DIGEST_FOLDERS]
    query = (SQL_DIR / "schema_state.sql").read_text(encoding="utf-8")
    digest, definition, missing = con.execute(query, {"files": files, "macro": DIGEST_MACRO}).fetchone()
    recorded = definition.strip("'") if definition else None  # the macro's text: the digest, quoted
    return SchemaState(digest, recorded, tuple(missing))


_APPLIES_WHEN = re.compile(r"^-- applies when: (.+)$", re.M)


def migrate(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """Run each file of `sql/migrate/` whose `-- applies when:` query counts something.

    For the changes `create ... if not exists` and `alter ... if not exists` cannot make
    (a table that becomes a view: DuckDB has no conditional drop of one kind of object);
    each file's condition holds only for a warehouse that still needs it, so the next
    ingest converts an older warehouse once and later runs skip the file. Returns the
    names of the files it ran.
    """
    migrated = []
    for path in sql_files(SQL_DIR / "migrate"):
        condition = _APPLIES_WHEN.search(path.read_text(encoding="utf-8"))
        if condition is None:
            raise RuntimeError(f"{path.relative_to(SQL_DIR.parent)}: no '-- applies when:' line")
        if con.execute(condition.group(1)).fetchall()[0][0]:
            run_sql_file(con, path)
            migrated.append(path.stem)
    return tuple(migrated)


_TABLE_REFERENCE = re.compile(r"(?<!distinct )\b(?:from|join)\s+([a-z_][a-z0-9_]*)\b", re.IGNORECASE)
_LINE_COMMENT = re.compile(r"--[^\n]*")


def tables_read(query: str) -> frozenset[str]:
    """The tables a query of ours reads: those it names after FROM or JOIN, and for a view
    of `sql/schema/` it names (`articles`), the tables behind it, since a change to any of
    them changes the view (our SQL uses no CTEs; a test holds every check and lake query
    to naming only real tables and views)."""
    views = schema_views()
    return frozenset(table for name in _names_read(query) for table in views.get(name, (name,)))


def _names_read(query: str) -> frozenset[str]:
    return frozenset(name.lower() for name in _TABLE_REFERENCE.findall(_LINE_COMMENT.sub("", query)))


_VIEW = re.compile(r"^create or replace (?:temp )?view (\w+) as\b(.*?);", re.M | re.S | re.I)


@cache
def schema_views() -> dict[str, frozenset[str]]:
    """Each view `sql/schema/` creates (views over tables, not `sql/views/`' reports) and
    each view the data checks read rows through (sql/check_scope/), and the tables it reads."""
    views: dict[str, frozenset[str]] = {}
    for path in (*sql_files(SQL_DIR / "schema"), check_scope_file("whole")):
        for name, body in _VIEW.findall(_LINE_COMMENT.sub("", path.read_text(encoding="utf-8"))):
            views[name.lower()] = _names_read(body)
    return views


CheckScope = Literal["whole", "run"]


def check_scope_file(scope: CheckScope) -> Path:
    return SQL_DIR / "check_scope" / f"{scope}.sql"


def failed_checks(
    con: duckdb.DuckDBPyConnection, limit: int = 5, changed: frozenset[str] | None = None, scope: CheckScope = "whole"
) -> dict[str, list[tuple[object, ...]]]:
    """Each data check in `sql/checks/` whose query returns rows, with the first offenders.

    With `changed`, only the checks that read one of those tables run: the others held
    when the warehouse was last committed, and their tables are as they were then.
    `scope="run"` (right after a run's load, whose temp tables it reads) looks only at the
    rows that load can have changed, and at what they are checked against: a run of ten
    files checks those files' stories, not every story (sql/check_scope/run.sql says why
    that is enough, given a warehouse that passed every check when it was committed).
    """
    run_sql_file(con, check_scope_file(scope))
    failures = {}
    for path in sql_files(SQL_DIR / "checks"):
        query = path.read_text(encoding="utf-8")
        if changed is not None and not tables_read(query) & changed:
            continue
        rows = con.execute(query).fetchmany(limit)
        if rows:
            failures[path.stem] = rows
    return failures


def describe_failures(failures: dict[str, list[tuple[object, ...]]]) -> str:
    """Failed data checks (`failed_checks`) as a person reads them: each check's name and its
    first offending row, not a Python dict of rows."""
    return "; ".join(
        f"{check} fails for {', '.join(map(str, rows[0]))}{' and others' if len(rows) > 1 else ''}"
        for check, rows in failures.items()
    )


def ensure_not_written_elsewhere(warehouse: Path, wait_seconds: float = 5.0, damaged_ok: bool = False) -> None:
    """Fail clearly if another process holds the warehouse open read-write, or it is damaged.

    Read-only readers are fine (we never write this file). A read-write holder may be
    mid-checkpoint, so copying the file then could copy a torn state: we wait a little
    for it to go, then name it. `damaged_ok`: the caller replaces the file (a rebuild).
    """
    if not warehouse.exists():
        return
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            duckdb.connect(str(warehouse), read_only=True).close()
            return
        except duckdb.Error as error:
            busy = _busy_error(warehouse, error)
            if busy is None:
                damaged = damage(warehouse, error)
                if damaged is None:
                    raise
                if damaged_ok:
                    return
                raise damaged from None
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
    if not warehouse.is_file():  # DuckDB's "Is a directory" came as a traceback
        raise WarehouseDamaged(not_a_file(warehouse))
    try:
        return duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as error:
        refusal = _busy_error(warehouse, error) or damage(warehouse, error)
        if refusal is None:
            raise
        raise refusal from None


def _busy_error(warehouse: Path, error: duckdb.Error) -> WarehouseBusy | None:
    holder = _LOCK_HOLDER.search(str(error))
    if holder is None:
        return None
    program, pid = Path(holder.group(1)).name, holder.group(2)
    return WarehouseBusy(
        f"{warehouse} is open for writing by {program} (PID {pid}); "
        "close it, or open it read-only (duckdb -readonly), and try again"
    )


FileState = tuple[int, int, int] | None
"""A file's inode, size and mtime, or None when it does not exist: enough to notice a write."""


def file_state(path: Path) -> FileState:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


@dataclass
class WarehouseCopy:
    """The copy a run writes, and what the warehouse it came from looked like then."""

    con: duckdb.DuckDBPyConnection
    paths: DataPaths
    original: FileState
    replaces_damaged: bool = False
    migrated: tuple[str, ...] = ()
    """The files of `sql/migrate/` that converted this copy: its tables changed, even in a
    run that reads no file, so every data check must run on it."""
    schema_ran: bool = True
    """Whether the schema's files ran on this copy (a new release's `sql/`, or a first run):
    the last commit's checks then vouch for nothing, so this run checks every row."""
    copied_ahead: bool = False
    """Whether the copy is one made before the run held the lock (newswh.copy_ahead)."""
    wal_kept_as: Path | None = None
    """Where a write-ahead log DuckDB could not replay was moved (`settle_wal`), if one was."""
    keeps_replaced: bool = False
    """Whether the commit keeps the warehouse it replaces beside it: a rebuild's rows came
    from the lake, not from that file, which may hold what the lake does not."""


@contextmanager
def next_warehouse(
    paths: DataPaths, copy_current: bool = True, ahead: CopiedAhead | None = None, checked: bool = False
) -> Iterator[WarehouseCopy]:
    """A read-write connection to a fresh copy of the warehouse, with the schema applied.

    `copy_current=False` starts from empty tables instead (a rebuild, which may replace a
    damaged file). `ahead` is a copy made before the caller held the lock (newswh.copy_ahead):
    used if the warehouse is still what it copied, else removed before the warehouse is
    copied again (two copies at once could fill the disk); if this fails before either,
    removing it is the caller's. `checked`: the caller has
    just made sure nobody writes the warehouse (ensure_not_written_elsewhere), holding the
    lock. Leaving the block without error does not commit: call `commit` for that.
    """
    if "?" in str(paths.root.resolve()):
        # DuckDB splits a database path at "?" (what follows are options) and then looks
        # for the write-ahead log in a folder that does not exist; a commit would fail.
        raise UnusableDataFolder(
            f"DuckDB cannot keep a database under {paths.root}: it reads what follows '?' in a path as "
            "options; choose a data folder whose path has no '?'"
        )
    paths.root.mkdir(parents=True, exist_ok=True)
    _discard_next(paths)
    if not checked:
        ensure_not_written_elsewhere(paths.warehouse, damaged_ok=not copy_current)
    replaces_damaged = False
    try:
        wal_kept_as = settle_wal(paths.warehouse, fold_in=copy_current)
        original = file_state(paths.warehouse)
        if ahead is not None and not (copy_current and original is not None and ahead.state == original):
            ahead.path.unlink(missing_ok=True)  # the warehouse changed since it was copied
            ahead = None
        copied_ahead = ahead is not None
        if ahead is not None:
            os.replace(ahead.path, paths.next_warehouse)
        elif copy_current and original is not None:
            copy_file(paths.warehouse, paths.next_warehouse)
        elif original is not None:
            replaces_damaged = _is_damaged(paths.warehouse)
        con = duckdb.connect(config=WRITER_CONFIG | {"temp_directory": str(paths.spill)})
        _attach(con, paths.next_warehouse)
        for setting in WRITER_SETTINGS:
            con.execute(setting)
    except BaseException:
        _discard_next(paths)
        raise
    try:
        applied = apply_schema(con)
        yield WarehouseCopy(
            con, paths, original, replaces_damaged, applied.migrated, applied.ran, copied_ahead, wal_kept_as,
            keeps_replaced=not copy_current and original is not None,
        )
    except BaseException:
        con.close()
        _discard_next(paths)  # a failed run must not leave a warehouse-sized file on a full disk
        raise
    finally:
        con.close()
        shutil.rmtree(paths.spill, ignore_errors=True)


WRITER_ALIAS = "warehouse"


def _attach(con: duckdb.DuckDBPyConnection, database: Path) -> None:
    quoted = str(database).replace("'", "''")
    con.execute(f"attach '{quoted}' as {WRITER_ALIAS} (row_group_size {WRITER_ROW_GROUP_ROWS})")
    con.execute(f"use {WRITER_ALIAS}")


def reattach(con: duckdb.DuckDBPyConnection) -> None:
    """Detach the run's copy and attach it again (checkpointing it), keeping the session's
    temp tables and views. Through the attachment that checkpointed a table, DuckDB 2.0
    reads all of the table's long strings to return a few (measured: 377 MB read for 30 of
    382 large pages, a second a query); attached afresh, it reads only the rows a query
    selects, so the load and the lake can take page text a piece at a time."""
    [(path,)] = con.execute("select path from duckdb_databases() where database_name = ?", [WRITER_ALIAS]).fetchall()
    con.execute("use memory")
    con.execute(f"detach {WRITER_ALIAS}")
    _attach(con, Path(path))


def settle_wal(warehouse: Path, fold_in: bool = True) -> Path | None:
    """Leave no write-ahead log beside the warehouse: call it holding the lock, with no
    other writer (`ensure_not_written_elsewhere`).

    A log someone left (a writer that was killed, or closed without a checkpoint) is folded
    in with a checkpoint when `fold_in`: copying the file without it would drop what that
    writer committed. DuckDB replays a log up to its first entry it cannot read (a torn
    write) and ignores the rest, but leaves the file, which a checkpoint with nothing to
    fold in does not remove: every run after refused, as if "a write-ahead log appeared
    beside" the warehouse during it. So a log still there after the checkpoint, or beside no
    warehouse, or beside one a rebuild replaces (`fold_in=False`), holds nothing the
    warehouse will ever apply: it is moved aside, kept for a person to look at, never
    deleted, and never replayed against another file. Returns where, if it was."""
    wal = wal_path(warehouse)
    if not wal.exists():
        return None
    if fold_in and warehouse.exists():
        duckdb.connect(str(warehouse)).execute("checkpoint").close()
        if not wal.exists():
            return None
    stamp = f"{wal.name}.unreplayed-{datetime.now():%Y%m%dT%H%M%S}"
    kept = wal.with_name(stamp)
    for number in itertools.count(2):  # one set aside this second already must stay
        if not kept.exists():
            break
        kept = wal.with_name(f"{stamp}-{number}")
    os.replace(wal, kept)
    fsync_path(warehouse.parent)
    return kept


def _unused(path: Path) -> Path:
    """`path`, or `path-2`, `path-3`…: the first no file holds. A kept warehouse may be the
    only copy of its runs, and a clock set back (or two rebuilds in one second) named a
    second one as the first, which os.replace then overwrote."""
    number, candidate = 1, path
    while candidate.exists() or candidate.is_symlink():
        number += 1
        candidate = path.with_name(f"{path.name}-{number}")
    return candidate


def _is_damaged(warehouse: Path) -> bool:
    """Whether any block of the file fails to read back: every row of every table is read,
    since damage in the middle of a file opens fine and fails only where it is read."""
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            for (table,) in con.execute("select table_name from duckdb_tables() where database_name = current_database()").fetchall():
                con.execute(f'select count(*), sum(hash(rows)) from "{table}" as rows').fetchall()
    except duckdb.Error as error:
        return damage(warehouse, error) is not None
    return False


def _discard_next(paths: DataPaths) -> None:
    for stale in (paths.next_warehouse, wal_path(paths.next_warehouse)):
        stale.unlink(missing_ok=True)


def commit(copy: WarehouseCopy) -> Path | None:
    """Make the copy the warehouse: checkpoint, close, flush to disk, rename atomically.

    Refuses when the warehouse changed since it was copied (another process wrote it, or
    has it open to write): renaming over it would silently drop what that process wrote.
    Returns where it kept the warehouse it replaced, if it kept it (`keeps_replaced`).
    """
    paths = copy.paths
    try:
        copy.con.execute("checkpoint")
    except duckdb.Error as error:
        raise out_of_memory(error) or error from None
    copy.con.close()
    fsync_path(paths.next_warehouse)
    changed = _change_since(copy)
    if changed:
        _discard_next(paths)
        if changed == _DELETED:
            raise WarehouseChanged(
                f"{paths.warehouse} was deleted by another process during this run; nothing was committed: "
                "run the ingest again, which restores the warehouse from the lake first"
            )
        raise WarehouseChanged(
            f"{paths.warehouse} was changed by another process during this run ({changed}); nothing was "
            "committed, so its changes are kept: run the ingest again. Keep tables of your own in a "
            "database you ATTACH, never in warehouse.duckdb"
        )
    ensure_not_written_elsewhere(paths.warehouse, damaged_ok=copy.replaces_damaged)
    kept = None
    if (copy.replaces_damaged or copy.keeps_replaced) and paths.warehouse.exists():
        kind = "damaged" if copy.replaces_damaged else "replaced"
        kept = _unused(paths.warehouse.with_name(f"{paths.warehouse.name}.{kind}-{datetime.now():%Y%m%dT%H%M%S}"))
        os.replace(paths.warehouse, kept)
    retired = _second_name(paths)
    os.replace(paths.next_warehouse, paths.warehouse)
    fsync_path(paths.root)
    if retired is not None:
        remove_later(retired)
    return kept


def _second_name(paths: DataPaths) -> Path | None:
    """Link the warehouse a commit is about to replace under a name of its own, so that the
    rename frees none of its blocks: freeing a file's blocks takes time in proportion to its
    size (0.06 s at 230 MB on ext4), and the rename is what every run waits for. None where
    there is no warehouse or the file system makes no hard links: the rename frees it then."""
    if not paths.warehouse.exists():
        return None
    retired = paths.retired(os.getpid(), uuid.uuid4().hex[:8])
    try:
        os.link(paths.warehouse, retired)
    except OSError:
        return None
    return retired


def remove_later(path: Path) -> None:
    """Remove a file on a thread of its own, which the interpreter waits for at exit: an
    unlink holds no GIL, so freeing a warehouse's blocks overlaps what the run does next. If
    the process is killed first, the next run removes the file (`remove_left_behind`)."""
    threading.Thread(target=path.unlink, kwargs={"missing_ok": True}, name="newswh-remove-later").start()


def remove_left_behind(paths: DataPaths) -> None:
    """Remove the files processes that are gone left under names of their own (a copy made
    ahead, a warehouse a commit replaced): call it holding the data folder's lock. A live
    process's file is its own to use or remove."""
    for pattern in (paths.copied_ahead_glob, paths.retired_glob):
        for path in paths.root.glob(pattern):
            pid = path.name.partition("-")[2].partition("-")[0]
            if pid.isdigit() and not _alive(int(pid)):
                path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_DELETED = "it was deleted"


def _change_since(copy: WarehouseCopy) -> str:
    """What happened to the warehouse file since the run copied it, or '' if nothing."""
    if wal_path(copy.paths.warehouse).exists():
        return "a write-ahead log appeared beside it"
    now = file_state(copy.paths.warehouse)
    if now == copy.original:
        return ""
    if copy.original is None:
        return "it was created"
    if now is None:
        return _DELETED
    if now[0] != copy.original[0]:
        return "it was replaced"
    return "its size or modification time changed"


def wal_path(database: Path) -> Path:
    """Where DuckDB keeps `database`'s write-ahead log."""
    return database.with_name(database.name + ".wal")


def copy_file(source: Path, target: Path) -> None:
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


VECTOR_ROWS = 2048
"""Rows DuckDB holds together when it scans or checkpoints a table (its vector size)."""


def limit_bytes(con: duckdb.DuckDBPyConnection) -> int:
    return _parse_size(con.execute("select current_setting('memory_limit')").fetchall()[0][0])


def set_limit_bytes(con: duckdb.DuckDBPyConnection, limit: int) -> None:
    con.execute(f"set memory_limit = '{-(-limit // 10**6)}MB'")


_UNITS = {
    "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "PB": 10**15,
    "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40, "PIB": 2**50,
}


def _parse_size(text: str) -> int:
    """Bytes of a size as DuckDB prints it ('366.2 MiB') or takes it ('384MB')."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([KMGTP]?I?B)\s*", text.upper())
    if match is None:
        raise ValueError(f"not a size: {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2)])
