"""The run's claim, open and plan, done while `newswh ingest` is still importing Prefect.

Importing Prefect and starting its engine keep one core busy for about a second while the
other has little to do once the walk (newswh.walk_ahead) is done. A run's first three
steps need no Prefect: take the data folder's lock, copy and open the warehouse (a
sendfile and DuckDB, neither of which holds the GIL for long), and compare the walk with
the manifest (DuckDB). So when the lock is free at once, the CLI takes it (`start`) and a
thread does the rest; the flow's claim, open and plan then take what it made (`take`)
instead of doing it again: 0.2-0.3 s of a run that finds ten new files. When the plan
needs parse processes (newswh.batches.local_batches), the thread starts them too: each
imports the parser and pyarrow, about 0.3 s on 2 cores that opened the parse stage of a
cold run (0.2 s of 3.4 at 40,000 files) and now overlap Prefect's import instead.

It is only a head start, never the only way. When the lock is busy, the CLI copies ahead
without it (newswh.copy_ahead) and the flow claims the lock as ever, waiting or retrying
as asked. When the thread fails (a writer holds the warehouse, it is damaged, a disk is
full), it lets go of the lock and of its copy, and the flow does each step itself, so the
flow reports the problem as without a head start. The plan is used only for the flow's
own settings and folder (`OpenedAhead.plan_for`), the parse processes only if the flow
wants as many. What the flow never takes (a process stopped before its run) is closed and
removed at exit, the processes stopped; a killed process's copy is the run's own
`warehouse.duckdb.next`, which the next run removes, its lock dies with it, and its parse
processes exit as their parent is gone (newswh.children).
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from newswh import walk_ahead
from newswh.locking import IngestAlreadyRunning, WriterLock
from newswh.manifest import make_plan, start_run_context
from newswh.settings import AHEAD_EXIT_WAIT_SECONDS, DataPaths
from newswh.warehouse import WarehouseCopy, ensure_not_written_elsewhere, next_warehouse, wal_path

if TYPE_CHECKING:
    from newswh.parse_pool import ParsePool


@dataclass(frozen=True)
class PlanSettings:
    """What decides a plan besides the warehouse and the walk: the run's source folder and
    the settings plan.sql reads from `run_context`."""

    source: Path
    parser_version: str
    max_bytes: int
    rehash: bool


@dataclass(frozen=True)
class LocalParse:
    """How the run parses on this machine: `--workers` (None: one per core) and
    `--batch-files`, which decide how many parse processes its plan needs."""

    workers: int | None
    batch_files: int | None


@dataclass
class OpenedAhead:
    """The data folder's lock, the run's copy of the warehouse, open (the `next_warehouse`
    block, entered), and, when the source was walked ahead, the plan on its connection."""

    lock: WriterLock
    copy: WarehouseCopy
    block: AbstractContextManager[WarehouseCopy]
    seconds: float
    """How long opening took (on the thread, while Prefect was imported)."""
    settings: PlanSettings
    walk: tuple[pa.Table, float] | None = None
    planned: dict[str, int] | None = None
    plan_seconds: float = 0.0
    entered: bool = False
    pool: ParsePool | None = None
    """The parse processes the plan needs, started (None: it needs none, or no plan)."""

    def plan_for(self, settings: PlanSettings) -> dict[str, int] | None:
        """The plan's counts, if it was made for these settings (else the flow plans again,
        replacing the temp tables this made)."""
        return self.planned if settings == self.settings else None

    def take_pool(self) -> ParsePool | None:
        """The parse processes started ahead, the caller's from now on to leave or stop."""
        pool, self.pool = self.pool, None
        return pool

    @contextmanager
    def opened(self) -> Iterator[WarehouseCopy]:
        """The `next_warehouse` block the thread entered, left here as the flow's own would be."""
        self.entered = True
        try:
            yield self.copy
        except BaseException as error:
            if not self.block.__exit__(type(error), error, error.__traceback__):
                raise
        else:
            self.block.__exit__(None, None, None)

    def close_unused(self) -> None:
        """Close and remove the copy if the flow never ran on it (it failed before), and
        stop the parse processes if it never took them."""
        pool = self.take_pool()
        if pool is not None:
            pool.stop_now()  # idle, or still importing: nothing of theirs to wait for
        if not self.entered:
            self.entered = True
            self.block.__exit__(_Abandoned, _Abandoned(), None)  # as a failure leaves it: the copy removed

    def abandon(self) -> None:
        """Close and remove the copy, and let go of the lock: nobody will run on it."""
        try:
            self.close_unused()
        finally:
            self.lock.release()


class _Abandoned(Exception):
    """Leaves the `next_warehouse` block the way a failure does: the copy is removed."""


@dataclass
class _Opening:
    thread: threading.Thread | None = None
    done: OpenedAhead | None = None


_openings: dict[Path, _Opening] = {}


def start(paths: DataPaths, settings: PlanSettings, parse: LocalParse | None = None) -> bool:
    """Take the data folder's lock if it is free now and open the run's copy on a thread
    (on a first run, the new warehouse, its schema applied: 0.3-0.45 s of a cold run's flow
    otherwise), and with `parse` (None: the run parses elsewhere) start the parse processes
    its plan needs; False if the lock is busy, or the flow must see to the warehouse itself:
    gone while a lake holds data (the flow restores it from the lake first), or a log
    left beside it (the caller may copy ahead)."""
    warehouse = paths.warehouse.resolve()
    if warehouse in _openings or wal_path(warehouse).exists():
        return False
    if not warehouse.is_file():
        from newswh.integrity import lake_holds_data

        if os.path.lexists(warehouse) or lake_holds_data(paths.lake):
            return False
    try:
        lock = WriterLock.acquire(paths.lock, 0)
    except (IngestAlreadyRunning, OSError):
        return False
    opening = _Opening()
    opening.thread = threading.Thread(
        target=_open, args=(paths, settings, parse, lock, opening), name="newswh-open-ahead", daemon=True
    )
    _openings[warehouse] = opening
    opening.thread.start()
    return True


def _open(paths: DataPaths, settings: PlanSettings, parse: LocalParse | None, lock: WriterLock, opening: _Opening) -> None:
    started = time.perf_counter()
    try:
        ensure_not_written_elsewhere(paths.warehouse, wait_seconds=0)  # what the claim makes sure of
        block = next_warehouse(paths, checked=True)
        copy = block.__enter__()
    except Exception:  # noqa: BLE001 - a writer, damage, a full disk: the flow does it all again, and says what is wrong
        lock.release()
        return
    opened = OpenedAhead(lock, copy, block, 0.0, settings)
    try:
        start_run_context(copy.con, settings.parser_version, settings.max_bytes, settings.rehash)  # what the plan reads
        opened.seconds = time.perf_counter() - started
        opened.walk = walk_ahead.take(settings.source)
        if opened.walk is not None:
            mark = time.perf_counter()
            opened.planned = make_plan(copy.con, opened.walk[0], settings.parser_version, settings.max_bytes)
            opened.plan_seconds = time.perf_counter() - mark
            if parse is not None:
                opened.pool = _pool_for(opened.planned, parse)
    except Exception:  # noqa: BLE001 - likewise
        opened.abandon()
        return
    opening.done = opened


def _pool_for(planned: dict[str, int], parse: LocalParse) -> ParsePool | None:
    """The parse processes the flow will want for this plan, started; None if it parses in
    its own process (a run of one batch: ten new files, or none)."""
    from newswh.batches import local_batches

    _, workers = local_batches(planned["new"] + planned["changed"], parse.workers, parse.batch_files)
    if workers == 1:
        return None
    from newswh.parse_pool import ParsePool  # only now: a small run's start-up imports no more than before

    pool = ParsePool(workers)
    try:
        return pool.start()
    except Exception:  # noqa: BLE001 - no process to be had: the flow starts its own, and says what is wrong
        pool.stop_now()
        return None


def take(paths: DataPaths) -> OpenedAhead | None:
    """What the thread opened for this data folder, waiting for it if under way; None if
    nothing was started or it failed (the flow then claims and opens as usual)."""
    opening = _openings.pop(paths.warehouse.resolve(), None)
    if opening is None or opening.thread is None:
        return None
    opening.thread.join()
    return opening.done


def _abandon_untaken() -> None:
    """A run stopped before its flow took the copy (Ctrl-C while Prefect was imported, a
    failed server start): the copy is closed and removed and the lock let go.

    An opening still under way is waited for first. Left running, its thread was stopped
    in the middle of DuckDB as Python shut down, which aborted the process ("terminate
    called after throwing an instance of ''", or a segmentation fault) instead of its
    exit 130, and left the copy behind."""
    for opening in _openings.values():
        if opening.thread is not None:
            opening.thread.join(AHEAD_EXIT_WAIT_SECONDS)
            if not opening.thread.is_alive() and opening.done is not None:
                opening.done.abandon()
    _openings.clear()


atexit.register(_abandon_untaken)
