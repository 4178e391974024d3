"""The run's copy of the warehouse, made while `newswh ingest` is still importing Prefect.

Every run writes a copy of the warehouse (newswh/warehouse.py says why), and copying is
the one step of a small run that grows with the warehouse: 0.2 s at 100,000 files, more
at a million. It is one sendfile call, which holds no GIL, so a thread can do it while
the main thread imports Prefect (about 1 s on one core). When the data folder's lock is
free, the CLI takes it and opens the copy ahead (newswh.open_ahead); when another run
holds it, the CLI starts this copy (`start`) before those imports, and the run, once it
holds the lock (`--wait`), takes the copy
(`take`) and uses it only if the warehouse is still what was copied (`CopiedAhead.state`):
another run may have committed, or a writer touched the file, while this one started up.
Otherwise the run copies the warehouse itself, as without a head start.

The copy is made before the lock is held, so under a name of its own
(`DataPaths.copied_ahead`, with this process's id), never the run's `next_warehouse`,
which another run may be writing. A copy nobody takes is removed at exit; one a killed
process left is removed by the next run (newswh.warehouse.remove_left_behind).
"""

from __future__ import annotations

import atexit
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb

from newswh.settings import AHEAD_EXIT_WAIT_SECONDS, DataPaths
from newswh.warehouse import (
    FileState, WarehouseBusy, WarehouseDamaged, copy_file, ensure_not_written_elsewhere, file_state, wal_path,
)


@dataclass(frozen=True)
class CopiedAhead:
    """A finished copy, and the warehouse's (inode, size, mtime) before and after it. Before
    it, nobody held the warehouse open to write, and it was not damaged: what the run's
    claim checks (newswh.warehouse.ensure_not_written_elsewhere, 0.04 s at 100,000 files),
    so the claim need not check again while the warehouse is in this state."""

    path: Path
    state: FileState


@dataclass
class _Copying:
    path: Path
    thread: threading.Thread | None = None
    done: CopiedAhead | None = None


_copies: dict[Path, _Copying] = {}


def start(paths: DataPaths) -> None:
    """Start copying the warehouse in a thread, if there is one to copy and none is under way.

    A warehouse with a write-ahead log beside it is not copied: the run folds the log in
    first (newswh.warehouse.next_warehouse), which changes the file."""
    warehouse = paths.warehouse.resolve()
    if warehouse in _copies or not warehouse.is_file() or wal_path(warehouse).exists():
        return
    copying = _Copying(DataPaths(warehouse.parent).copied_ahead(os.getpid()))
    copying.thread = threading.Thread(target=_copy, args=(warehouse, copying), name="newswh-copy-ahead", daemon=True)
    _copies[warehouse] = copying
    copying.thread.start()


def _copy(warehouse: Path, copying: _Copying) -> None:
    try:
        before = file_state(warehouse)
        ensure_not_written_elsewhere(warehouse, wait_seconds=0)
        copy_file(warehouse, copying.path)
        if file_state(warehouse) == before and not wal_path(warehouse).exists():
            copying.done = CopiedAhead(copying.path, before)
            return
    except (OSError, duckdb.Error, WarehouseBusy, WarehouseDamaged):
        pass  # a writer, damage, a full disk: the run checks and copies again, and says what is wrong
    copying.path.unlink(missing_ok=True)


def take(paths: DataPaths) -> CopiedAhead | None:
    """The finished copy of this data folder's warehouse, waiting for it if under way;
    None if none was started or it failed. The caller uses or removes the file."""
    copying = _copies.pop(paths.warehouse.resolve(), None)
    if copying is None or copying.thread is None:
        return None
    copying.thread.join()
    return copying.done


def _remove_untaken() -> None:
    """A run refused before it opened the warehouse (a busy data folder) leaves its copy.

    A copy under way is waited for first (DuckDB opens the warehouse read-only before the
    `sendfile`; see AHEAD_EXIT_WAIT_SECONDS)."""
    for copying in _copies.values():
        if copying.thread is not None:
            copying.thread.join(AHEAD_EXIT_WAIT_SECONDS)
        copying.path.unlink(missing_ok=True)
    _copies.clear()


atexit.register(_remove_untaken)
