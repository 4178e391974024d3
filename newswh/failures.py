"""Failures a person can act on, said in one line: a full disk, a damaged warehouse, a refusal.

The ingest flow turns each into its one-line message and a Failed state; this module
knows how to tell them apart, what to say, and what to clean up so a full disk is not
left fuller than the run found it.
"""

from __future__ import annotations

import logging
import os
import shutil
from concurrent.futures import CancelledError
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from pathlib import Path

import duckdb

from newswh.settings import DUCKDB_MEMORY_LIMIT, DataPaths
from newswh.warehouse import damage, out_of_memory, says_disk_full, wal_path


def first_line(error: BaseException) -> str:
    """An error's first line of text, or its type's name if it has none."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def storage_failure(paths: DataPaths, error: OSError | duckdb.Error) -> str:
    """One line for a failure of the disk or of the warehouse file, saying which and what to do.

    A full disk shows up as ENOSPC, or, once DuckDB has failed a write, as "database has
    been invalidated because of a previous fatal error": say what happened, not DuckDB's
    words for the aftermath. Any other DuckDB error is a bug of ours and is re-raised.
    """
    damaged = damage(paths.warehouse, error)
    if damaged is not None:
        return str(damaged)
    exhausted = out_of_memory(error)
    if exhausted is not None:
        return out_of_memory_line(exhausted.limit)
    text = str(error).strip()
    needed = _size(paths.warehouse) + _run_files_size(paths)
    free = shutil.disk_usage(paths.root).free if paths.root.is_dir() else 0
    full = says_disk_full(error)
    if "previous fatal error" in text:
        full = full or free < needed
    elif not full and isinstance(error, duckdb.Error) and not isinstance(error, (duckdb.IOException, duckdb.FatalException)):
        raise error
    if full and free < needed:
        return (
            f"the disk holding {paths.root} is full: this run needed more than {_megabytes(needed)} there "
            f"(a copy of the warehouse and what it had parsed) and {_megabytes(free)} is free; "
            "free some space and run again"
        )
    if full:  # what filled it may have been freed since (DuckDB's spill), so no figure of what was needed
        return f"the disk holding {paths.root} is full ({_megabytes(free)} free now): free some space and run again"
    reason = text.splitlines()[0] if text else type(error).__name__
    named = getattr(error, "filename", None)
    if isinstance(named, str) and not Path(os.path.abspath(named)).is_relative_to(paths.root.absolute()):
        # Outside the data folder (--staging /proc/x): "could not write to data" named the wrong folder.
        return f"could not write to {named}: {error.strerror or reason}"  # type: ignore[union-attr]
    return f"could not write to {paths.root}: {reason}"


def out_of_memory_line(limit: str) -> str:
    """What to say when DuckDB ran out of memory: the limit it had, and the one setting that
    gives it more (the load and the lake already work in pieces; only the limit can help)."""
    setting = os.environ.get("NEWSWH_DUCKDB_MEMORY_LIMIT")
    now = f"now {setting}" if setting is not None else f"unset: {DUCKDB_MEMORY_LIMIT}, or what the run's largest pages needed"
    return f"DuckDB ran out of memory (limit {limit}): raise NEWSWH_DUCKDB_MEMORY_LIMIT ({now}) and run again"


def run_files(paths: DataPaths) -> list[Path]:
    """Everything a run writes before its commit, and nothing else."""
    return [paths.next_warehouse, wal_path(paths.next_warehouse), paths.staging, paths.spill]


def remove_run_files(paths: DataPaths) -> None:
    """After a run, committed or not: a failed one must not leave a full disk fuller. What
    cannot be removed (the data folder turned read-only mid-run) stays for the next run to
    remove: the error that failed the run is the one to report, not this one."""
    for path in run_files(paths):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with suppress(OSError):
                path.unlink(missing_ok=True)


def _run_files_size(paths: DataPaths) -> int:
    total = 0
    for path in run_files(paths):
        total += sum(_size(file) for file in path.rglob("*")) if path.is_dir() else _size(path)
    lake_temporaries = paths.lake.rglob(".*.tmp") if paths.lake.is_dir() else ()
    return total + sum(_size(file) for file in lake_temporaries)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size if path.is_file() else 0
    except OSError:
        return 0


def _megabytes(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


class _OneLineFor(logging.Filter):
    """Prefect logs a task's exception with its traceback. For a refusal, a failing disk or
    a damaged warehouse the flow logs the one line that says what happened; a traceback
    beside it only alarms."""

    def __init__(self, known: tuple[type[BaseException], ...]) -> None:
        super().__init__()
        # CancelledError and BrokenProcessPool: parse batches stopped by an interrupted run.
        self.known = (*known, OSError, duckdb.IOException, duckdb.FatalException, CancelledError, BrokenProcessPool)

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and (
            isinstance(error, self.known)
            or says_disk_full(error)
            or damage(Path("warehouse.duckdb"), error) is not None
            or out_of_memory(error) is not None
        ):
            record.exc_info = None
            record.exc_text = None
        return True


def hide_tracebacks_of(known: tuple[type[BaseException], ...]) -> None:
    """Keep Prefect's task-failure log lines for `known` errors (and disk errors) to one line."""
    logging.getLogger("prefect.task_runs").addFilter(_OneLineFor(known))
