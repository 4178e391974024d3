"""The `ingest` flow: a folder of raw files to a DuckDB warehouse and a Parquet lake.

claim the data folder -> discover files -> plan against the manifest -> parse new and
changed files in batches, as Prefect tasks on the run's task runner (a process per core,
or a Dask cluster with `dask`) -> load a copy of the warehouse, piece by piece, then the data
checks -> stage the changed lake files -> commit by renaming the new warehouse into place
-> publish the lake files -> summarize as a markdown artifact.

Tasks are thin: the work lives in `sources`, `staging`, `warehouse` and `lake`. Only the
parse tasks leave the flow's process; the load, the checks, the commit and the lake stay
in it, the warehouse's one writer.
"""

from __future__ import annotations

import os
import random
import shutil
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from functools import partial
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from prefect import Flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff
from prefect.utilities.annotations import quote

from newswh import copy_ahead, open_ahead, walk_ahead
from newswh.batches import batch_sizes, local_batches
from newswh.cluster import ClusterError
from newswh.copy_ahead import CopiedAhead
from newswh.discovered import discovered_table, rows_table
from newswh.failures import hide_tracebacks_of, remove_run_files, storage_failure
from newswh.integrity import NoWarehouseYet, RebuildError, lake_ahead, lake_holds_data, rebuild_locked
from newswh.interrupts import WAREHOUSE_UNCHANGED, keep_sigterm
from newswh.lake import LakeChanges, first_linked_months, prepare_lake, touched_months
from newswh.load import load_staged
from newswh.locking import IngestAlreadyRunning, WriterLock
from newswh.manifest import make_plan, start_run_context
from newswh.open_ahead import OpenedAhead, PlanSettings
from newswh.parse import DEFAULT_MAX_BYTES
from newswh.records import PARSER_VERSION
from newswh.remote import ObjectReader, Storage, StorageError, check_staging, is_url
from newswh.parse_pool import ParsedBatch, ParsePool, parse_batch_here
from newswh.settings import DEFAULT_DATA, DEFAULT_SOURCE, LOCK_WAIT_SECONDS, DataPaths
from newswh.sources import is_utf8, read_source
from newswh.staging import Reader
from newswh.warehouse import (
    CheckScope,
    FileState,
    UnusableDataFolder,
    WarehouseBusy,
    WarehouseChanged,
    WarehouseCopy,
    WarehouseDamaged,
    commit,
    describe_failures,
    ensure_not_written_elsewhere,
    file_state,
    next_warehouse,
    remove_left_behind,
)

RUN_COUNTS = (
    "files_seen", "files_new", "files_changed", "files_unchanged", "files_missing",
    "articles_written", "duplicates", "rejected",
)


class IngestError(RuntimeError):
    """A run that cannot complete for a reason a person can act on; trying again will not help."""


class LakeBehind(RuntimeError):
    """The run committed, but its lake files could not be published: the warehouse has the
    run, and the next run's lake sync brings the lake up to date."""


TRANSIENT_ERRORS = (IngestAlreadyRunning, WarehouseBusy)
"""Failures that pass by themselves (another writer finishing), so a scheduled run retries them."""
REFUSALS = (
    IngestError, ClusterError, StorageError, UnusableDataFolder, WarehouseChanged, WarehouseDamaged, LakeBehind, *TRANSIENT_ERRORS
)
"""Failures whose message says all a person needs: logged as one line, never a traceback."""


hide_tracebacks_of(REFUSALS)
REJECTS_LISTED = 20
"""Rejected files named in a run's summary; the rest are counted."""


@dataclass
class RunSummary:
    run_id: int
    source: str
    data: str
    counts: dict[str, int]
    rejects_by_reason: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)
    lake: dict[str, int] = field(default_factory=dict)
    run_rejects: list[tuple[str, str, str]] = field(default_factory=list)
    """Up to REJECTS_LISTED files this run rejected: path, reason, detail."""
    parse_tasks: int = 0
    parse_task_seconds: float = 0.0
    """Seconds spent inside the parse tasks, summed: the parse stage's time beyond it (times
    the workers) is the task runner's overhead."""
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    """CPU seconds each stage used (`cpu_now`), beside its `seconds`: over its wall time,
    how many cores it kept busy, which says whether a stage waited or worked."""


@dataclass
class Claim:
    """The data folder's lock if we got it, else why not (another writer, still there)."""

    lock: WriterLock | None
    refusal: str = ""


@task(name="claim-data-folder", task_run_name="claim-data-folder", cache_policy=NO_CACHE)
def claim_data_folder(
    paths: DataPaths, wait_seconds: float, busy_retries: int, checked: FileState = None, held: WriterLock | None = None
) -> Claim:
    """Become the data folder's only writer, and make sure nobody else writes the warehouse.

    Another writer is a passing condition, so it is retried with exponential backoff
    (5, 10, 20, 40 s, ± 50 %); it is a refusal, not an error, so no traceback is logged.
    `checked`: the warehouse's state when that was last made sure of (newswh.copy_ahead),
    which holds while the file is unchanged; a writer that opens it in between without
    writing is refused at the commit (newswh.warehouse.commit). `held`: the lock, taken
    while `newswh ingest` started, and that made sure of too (newswh.open_ahead).
    """
    if held is not None:
        return Claim(held)
    delays = exponential_backoff(backoff_factor=5)(busy_retries)
    for attempt in range(busy_retries + 1):
        try:
            lock = WriterLock.acquire(paths.lock, wait_seconds)
        except IngestAlreadyRunning as error:
            refusal = str(error)
        else:
            try:
                if checked is None or file_state(paths.warehouse) != checked:
                    ensure_not_written_elsewhere(paths.warehouse)
                return Claim(lock)
            except WarehouseDamaged as error:
                lock.release()
                return Claim(None, str(error))
            except WarehouseBusy as error:
                lock.release()
                refusal = str(error)
        if attempt < busy_retries:
            delay = delays[attempt] * random.uniform(0.5, 1.5)
            get_run_logger().warning("%s; trying again in %.0f s (%d of %d)", refusal, delay, attempt + 1, busy_retries)
            time.sleep(delay)
    return Claim(None, refusal)


@dataclass
class Discovered:
    """What discovery found, and the seconds it took (it runs beside the warehouse's opening)."""

    table: pa.Table | None
    seconds: float
    walked_ahead: bool = False
    """Walked by a child while `newswh ingest` started up (newswh.walk_ahead)."""

    def take(self) -> pa.Table:
        """The table, which this then forgets: Prefect keeps a task's result and parameters
        in reference cycles until a garbage collection (17 MB at 300,000 files, for the whole
        run), and once the plan is made DuckDB holds its own copy."""
        table, self.table = self.table, None
        if table is None:
            raise RuntimeError("the discovered table was already taken")
        return table


@task(name="discover-files", task_run_name="discover-files", cache_policy=NO_CACHE)
def discover_files(source: Path | Storage, walked: tuple[pa.Table, float] | None = None) -> Discovered:
    """A folder is walked; a bucket is listed, in one paged listing (see newswh/remote.py).
    `walked`: the walk newswh.open_ahead took from newswh.walk_ahead for its plan."""
    if walked is not None:
        return Discovered(*walked, walked_ahead=True)
    started = time.perf_counter()
    if isinstance(source, Storage):
        from newswh import remote

        return Discovered(rows_table(remote.discover_rows(source)), time.perf_counter() - started)
    ahead = walk_ahead.take(source)
    if ahead is not None:
        return Discovered(*ahead, walked_ahead=True)
    return Discovered(discovered_table(source), time.perf_counter() - started)


@task(name="plan-run", task_run_name="plan-run", cache_policy=NO_CACHE)
def plan_run(con: duckdb.DuckDBPyConnection, discovered: Discovered, planned: dict[str, int] | None = None) -> dict[str, int]:
    """Compare what is on disk with the manifest (the temp table `plan`); return how many
    files are new, changed, unchanged. `planned`: the counts of the plan newswh.open_ahead
    made on `con` from the same walk, for the same settings."""
    table = discovered.take()
    if planned is not None:
        return planned
    return make_plan(con, table, PARSER_VERSION)


def _planned_batches(con: duckdb.DuckDBPyConnection, sizes: list[int]) -> Iterator[list[tuple[Any, ...]]]:
    """The files the plan says must be read, in batches of `sizes` files, straight from
    DuckDB, as PlannedFile's fields: a million objects at once would cost hundreds of MB."""
    con.execute(
        "select p.source_path, p.size_bytes, p.mtime_ns, d.problem, p.previous_hash "
        "from plan as p join discovered as d using (source_path) "
        "where p.status <> 'unchanged' order by p.source_path"
    )
    for size in sizes:
        rows = con.fetchmany(size)
        if not rows:
            return
        yield rows


@task(name="parse-batch", cache_policy=NO_CACHE, task_run_name="parse-batch-{number}")
def parse_batch(
    number: int, batch: list[tuple[Any, ...]], staging: str | Storage, max_bytes: int, read: Reader,
    pool: ParsePool | None = None,
) -> ParsedBatch:
    """Parse one batch, staging its rows as Parquet: on a worker of `pool` (this task then
    runs in a thread of the flow and waits for it), else where the task runner runs the
    task (a Dask worker, or this process for a run of one batch)."""
    if pool is not None:
        return pool.parse(number, batch, staging, max_bytes, read)
    return parse_batch_here(number, batch, staging, max_bytes, read)


BOOKKEEPING_TABLES = frozenset({"source_files", "ingest_runs"})
"""What a run that reads no file writes: every other table stays as the last run left it."""


@task(name="load-warehouse", task_run_name="load-warehouse", cache_policy=NO_CACHE)
def load_warehouse(
    con: duckdb.DuckDBPyConnection, staging: Path, changed: frozenset[str] | None, scope: CheckScope = "whole"
) -> None:
    """Apply the staged records to the run's copy of the warehouse, then the data checks on
    `changed` tables, over `scope`. The load commits piece by piece (DuckDB must write
    committed page text out before it can let go of it: see newswh/load.py); a failure
    still commits nothing, since the copy becomes the warehouse only once the whole run
    has succeeded."""
    failures = load_staged(con, staging, changed, scope)
    if failures:
        raise IngestError(f"data checks failed, nothing was committed: {describe_failures(failures)}")


@task(name="write-lake", task_run_name="write-lake", cache_policy=NO_CACHE)
def write_lake(
    con: duckdb.DuckDBPyConnection, lake: Path, run_id: int, changed: frozenset[str] | None,
    months: frozenset[tuple[object, ...]] | None = None,
    linked_months: frozenset[tuple[object, ...]] | None = None,
) -> LakeChanges:
    """Write the changed partitions beside the current ones; they replace them after the commit.
    `months`: the publication months this run's files touch; `linked_months`: the months of
    first link of the stories its load rewrote; the others are not even read.

    The run's `finished_at` is stamped just before the lake's copy of `ingest_runs` is
    written, the last thing a run does but renames: `newswh status` then shows its wall time.
    """

    def stamp_finish() -> None:
        con.execute("update ingest_runs set finished_at = ? where run_id = ?", [datetime.now(timezone.utc), run_id])

    return prepare_lake(con, lake, run_id, changed, before_runs=stamp_finish, months=months, linked_months=linked_months)


def is_json(value: object) -> bool:
    """Whether a value is JSON as it stands: null, booleans, numbers, strings, and lists
    and string-keyed objects of those."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, list):
        return all(map(is_json, value))
    if isinstance(value, dict):
        return all(isinstance(key, str) and is_json(item) for key, item in value.items())
    return False


class JsonParametersFlow(Flow[Any, Any]):
    """A flow whose parameters, when they are JSON already, go to the API as they are.

    Prefect encodes a flow run's parameters with FastAPI's `jsonable_encoder`, and
    importing it imports FastAPI's application and routing modules: 0.14 s of every
    `newswh ingest`, which imports nothing else of FastAPI. The ingest's parameters are
    strings, numbers, booleans and a dict of storage options; anything else still goes
    through Prefect's encoder."""

    def serialize_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        if all(map(is_json, parameters.values())):
            return dict(parameters)
        return super().serialize_parameters(parameters)


@partial(JsonParametersFlow, name="ingest", log_prints=False)
def ingest(
    source: str | None = None,
    data: str | None = None,
    workers: int | None = None,
    batch_files: int | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    lock_wait_seconds: float = LOCK_WAIT_SECONDS,
    busy_retries: int = 0,
    rehash: bool = False,
    dask: str | None = None,
    storage_options: dict[str, Any] | None = None,
    staging: str | None = None,
) -> State:
    """Bring the warehouse in `data` up to date with the raw files in `source`.

    `source`: a folder, or an fsspec URL (`s3://bucket/prefix`) reached with
    `storage_options` (else the usual AWS variables). `dask`: the address of a running
    Dask scheduler (`tcp://host:8786`) to parse on, instead of a process per core here.
    `staging`: where workers write parsed batches for the load (an fsspec URL the workers
    and this process can both reach); by default a folder in `data`, enough on one machine.

    `busy_retries`: how often to try again, with exponential backoff from 5 s, when another
    process is writing the data folder; scheduled deployments set it, a person at a
    terminal would rather hear at once. `rehash`: read and hash every file, not only those
    whose size or mtime changed, to catch restores that kept both (`rsync -t`, `cp -p`).
    """
    keep_sigterm()  # under `newswh ingest`: a SIGTERM stops the run as a Ctrl-C does
    paths = DataPaths(Path(data) if data else DEFAULT_DATA)
    opened = open_ahead.take(paths)  # the lock taken and the warehouse opened while `newswh ingest` started
    ahead = copy_ahead.take(paths)  # else perhaps copied then, without the lock
    held = opened.lock if opened is not None else None
    try:
        if source and is_url(source):
            source_at: Path | Storage = Storage(source.rstrip("/"), storage_options or {})
        else:
            source_path = Path(source) if source else DEFAULT_SOURCE
            if not source_path.is_dir():
                return Failed(message=f"source folder {source_path} does not exist or is not a folder")
            if not is_utf8(str(source_path.resolve())):
                return Failed(message=f"the source folder's path {source_path!r} is not valid UTF-8: rename it, or ingest a folder below it")
            source_at = source_path.resolve()  # manifest paths are absolute: any working directory works
        if staging and not is_url(staging):  # a folder every worker mounts, at the same path
            staging = f"file://{Path(staging).resolve()}"
        parsing = Parsing(workers, dask, Storage(staging.rstrip("/"), storage_options or {}) if staging else None)
        if parsing.staging is not None:
            try:
                check_staging(parsing.staging)
            except StorageError as error:
                get_run_logger().error("%s", error)
                return Failed(message=str(error))
        try:
            claim = claim_data_folder(paths, lock_wait_seconds, busy_retries, ahead.state if ahead else None, held)
        except OSError as error:  # the lock's files cannot be written: a read-only data folder
            message = storage_failure(paths, error)
            get_run_logger().error("%s", message)
            return Failed(message=f"{message}; nothing was written")
        held = None  # the claim's now, let go of below
        if claim.lock is None:
            get_run_logger().error("%s", claim.refusal)
            return Failed(message=claim.refusal)
        lock = claim.lock
        try:
            summary = _ingest_locked(source_at, paths, parsing, batch_files, max_bytes, rehash, ahead, opened)
        except REFUSALS as error:
            get_run_logger().error("%s", error)
            # A warehouse changed or deleted by another process, or committed by this run,
            # is not as it was: its message says what became of it.
            said = isinstance(error, (WarehouseChanged, LakeBehind))
            return Failed(message=str(error) if said else f"{error}; {WAREHOUSE_UNCHANGED}")
        except (OSError, duckdb.Error) as error:
            message = storage_failure(paths, error)
            get_run_logger().error("%s", message)
            return Failed(message=f"{message}; {WAREHOUSE_UNCHANGED}")
        finally:
            if opened is not None:
                opened.close_unused()  # the run failed before it used the copy opened ahead
            remove_run_files(paths)
            lock.release()
    finally:
        if held is not None and opened is not None:  # failed before the claim: nobody runs on it
            opened.abandon()
        if ahead is not None:
            with suppress(OSError):  # a read-only data folder keeps it for the next run to remove
                ahead.path.unlink(missing_ok=True)  # unless the run made it its copy: refused, or failed first
    _publish_summary(summary)
    return Completed(message=_one_line(summary), data=summary)


def _ingest_locked(
    source: Path | Storage,
    paths: DataPaths,
    parsing: Parsing,
    batch_files: int | None,
    max_bytes: int,
    rehash: bool,
    ahead: CopiedAhead | None = None,
    opened: OpenedAhead | None = None,
) -> RunSummary:
    logger = get_run_logger()
    clock = StageClock()
    started_at = datetime.now(timezone.utc)
    shutil.rmtree(paths.staging, ignore_errors=True)  # only a killed run leaves one; we hold the lock
    remove_left_behind(paths)  # likewise
    # The walk (mostly stat calls) runs on the flow's thread pool while this thread copies
    # the warehouse (sendfile) and applies the schema (DuckDB): neither holds the GIL for
    # long, so on a big corpus the walk costs a run little beyond the opening.
    discovering = discover_files.submit(source, quote(opened.walk) if opened is not None and opened.walk else None)
    if opened is None and not paths.warehouse.exists() and lake_holds_data(paths.lake):
        _restore_from_lake(paths)
    # The claim (or the check beside the copy made ahead, while the file is unchanged since)
    # has made sure nobody writes the warehouse; the CLI may have copied it, or opened it, already.
    with opened.opened() if opened is not None else next_warehouse(paths, ahead=ahead, checked=True) as copy:
        con = copy.con
        run_id = start_run_context(con, PARSER_VERSION, max_bytes, rehash)
        newer_lake = lake_ahead(paths, con)  # not `ahead`, this function's copy made ahead
        if newer_lake is not None:
            raise IngestError(newer_lake)
        con.execute(
            "insert into ingest_runs (run_id, flow_run_id, source, started_at, parser_version) values (?, ?, ?, ?, ?)",
            [run_id, flow_run.get_id(), str(source), started_at, PARSER_VERSION],
        )
        clock.stop("open", opened.seconds if opened is not None else None)  # its CPU: not what the CLI's head start used
        head_start = ", opened while newswh started" if opened is not None else ", copied while newswh started" if copy.copied_ahead else ""
        logger.info(
            "open: run %s on %s in %.2f s%s", run_id, _copy_of(copy), clock.seconds["open"], head_start, extra={"stage": "open"},
        )
        if copy.wal_kept_as is not None:
            logger.warning(
                "open: %s held a write-ahead log DuckDB could not replay (a writer killed mid-write, or damage); "
                "the warehouse is as its last checkpoint left it, and the log is kept as %s",
                paths.warehouse, copy.wal_kept_as, extra={"stage": "open"},
            )

        clock.start()
        found = discovering.result()
        clock.stop("discover")
        overlap = (
            ", walked while newswh started" if found.walked_ahead
            else f" ({clock.seconds['discover']:.2f} s of it after the warehouse was open)"
        )
        logger.info(
            "discover: %s raw files under %s in %.2f s%s",
            f"{found.table.num_rows:,}", source, found.seconds, overlap, extra={"stage": "discover"},
        )

        clock.start()
        planned = None
        if opened is not None and isinstance(source, Path) and found.walked_ahead:
            planned = opened.plan_for(PlanSettings(source, PARSER_VERSION, max_bytes, rehash))
        status = plan_run(con, quote(found), planned)
        to_read = status["new"] + status["changed"]
        clock.stop("plan", opened.plan_seconds if opened is not None and planned is not None else None)
        logger.info(
            "plan: %s new, %s to read again (%s), %s unchanged (not read) in %.2f s%s",
            f"{status['new']:,}", f"{status['changed']:,}", "--rehash" if rehash else "size or mtime changed",
            f"{status['unchanged']:,}", clock.seconds["plan"],
            ", planned while newswh started" if planned is not None else "", extra={"stage": "plan", "to_read": to_read},
        )
        last_source = con.execute("select source from ingest_runs where run_id < ? order by run_id desc limit 1", [run_id]).fetchall()
        if last_source and last_source[0][0] != str(source):
            logger.warning(
                "plan: the last run read %s, this one reads %s: files of this data folder not under %s are counted "
                "missing (their data is kept); keep one data folder per source",
                last_source[0][0], source, source, extra={"stage": "plan"},
            )

        clock.start()
        staging = paths.staging / f"run-{run_id}"
        read = ObjectReader(source) if isinstance(source, Storage) else read_source
        started = opened.take_pool() if opened is not None else None
        try:
            with parsing.staged(staging, f"run-{run_id}-{flow_run.get_id() or 'local'}") as staged_at:
                in_tasks, batches, workers_ahead = _parse_all(con, to_read, staged_at, read, parsing, batch_files, max_bytes, started)
                clock.stop("parse")
        finally:
            if started is not None:
                started.stop_now()  # unless the parse took them (and has stopped them): not as many as it wanted
        logger.info(
            "parse: %s files in %.2f s%s", f"{to_read:,}", clock.seconds["parse"],
            f", on {workers_ahead} processes started while newswh started" if workers_ahead else "", extra={"stage": "parse"},
        )

        changed = None if to_read or copy.migrated else BOOKKEEPING_TABLES
        # The checks look at what this run's load can have changed, the rest having passed
        # them at the last commit; a first run, or one with a new release's sql/, checks all.
        scope: CheckScope = "whole" if copy.schema_ran else "run"
        clock.start()
        months_left = None if copy.migrated else touched_months(con)
        load_warehouse(con, staging, changed, scope)
        months = None if months_left is None else months_left | touched_months(con)
        linked_months = None if copy.migrated else first_linked_months(con)
        clock.stop("load")
        loaded = con.execute(
            "select articles_written, duplicates, rejected from ingest_runs where run_id = ?", [run_id]
        ).fetchone()
        # Not a column of ingest_runs: a lake written by an earlier release could then not
        # rebuild the warehouse (its ingest_runs file would differ from the table).
        [(kept,)] = con.execute("select count(*) from kept_captures").fetchall()
        logger.info(
            "load: %s articles written, %s duplicates, %s rejected; data checks passed; in %.2f s",
            *(f"{value:,}" for value in loaded), clock.seconds["load"], extra={"stage": "load"},
        )
        if warning := kept_line({"captures_kept": kept}):
            logger.warning("load: %s", warning, extra={"stage": "load"})
        [(vanished,)] = con.execute("select count(*) from vanished_paths").fetchall()  # sql/load/10_affected.sql
        if vanished:  # else the counts below are smaller than the plan's, and nothing says why
            logger.warning(
                "load: %s of the files listed were gone when read: not counted in this run, as if deleted before it",
                f"{vanished:,}", extra={"stage": "load"},
            )
        run_rejects = con.execute(
            "select source_path, reason, detail from rejects where source_path in (select source_path from parsed_paths) "
            "order by source_path limit ?",
            [REJECTS_LISTED],
        ).fetchall()

        clock.start()
        lake_changes = write_lake(con, paths.lake, run_id, changed, months, linked_months)
        clock.stop("lake")
        try:
            clock.start()
            counts = dict(
                zip(RUN_COUNTS, con.execute(f"select {', '.join(RUN_COUNTS)} from ingest_runs where run_id = ?", [run_id]).fetchone())
            )
            counts["captures_kept"] = kept
            rejects = dict(
                con.execute("select reason, count(*) from rejects group by reason order by count(*) desc, reason").fetchall()
            )
            commit(copy)
        except BaseException:
            lake_changes.discard()
            raise
    # Committed: only now may readers of the lake see this run. A crash before the renames
    # leaves the lake behind the warehouse, and the next run's lake sync catches it up.
    try:
        lake_report = lake_changes.publish()
    except OSError as error:
        raise LakeBehind(
            f"run {run_id} committed, but its lake files could not be published ({storage_failure(paths, error)}): "
            "the warehouse holds the run, and the next `newswh ingest` brings the lake up to date"
        ) from None
    clock.stop("commit")
    logger.info(
        "lake: %s files written, %s removed, %s already current in %.2f s",
        lake_report.written, lake_report.removed, lake_report.unchanged, clock.seconds["lake"], extra={"stage": "lake"},
    )
    shutil.rmtree(paths.staging, ignore_errors=True)
    clock.stop_total()
    logger.info("commit: run %s is the warehouse now; %.2f s in all", run_id, clock.seconds["total"], extra={"stage": "commit"})
    return RunSummary(
        run_id, str(source), str(paths.root), counts, rejects, clock.seconds, asdict(lake_report), run_rejects, batches, in_tasks,
        clock.cpu,
    )


def _copy_of(copy: WarehouseCopy) -> str:
    return "a new warehouse" if copy.original is None else f"a copy of the {copy.original[1] / 1e6:,.0f} MB warehouse"


def _restore_from_lake(paths: DataPaths) -> None:
    """The warehouse is gone but the lake is not: the lake is then the archive. Starting
    from empty would drop every article whose raw file is gone, and the lake sync would
    then delete it from the lake too; so the warehouse comes back from the lake first."""
    logger = get_run_logger()
    logger.warning("no warehouse in %s, but a lake: restoring the warehouse from the lake first", paths.root)
    try:
        rebuilt = rebuild_locked(paths)
    except (RebuildError, NoWarehouseYet) as error:
        raise IngestError(
            f"{paths.warehouse} is missing and the lake cannot restore it: {error}; nothing was written"
        ) from None
    counts = ", ".join(f"{table} {count:,}" for table, count in rebuilt.rows.items())
    logger.info("restored %s from the lake: %s", paths.warehouse, counts)
    if rebuilt.wal_kept_as is not None:
        logger.warning("a write-ahead log was left beside the missing warehouse: kept as %s, never replayed", rebuilt.wal_kept_as)


@dataclass(frozen=True)
class Parsing:
    """Where the parse tasks run and where they leave their rows: the flow's choices of
    task runner (`dask`: a scheduler's address; else a process per core here) and of
    staging (`staging`: object storage; else a local folder)."""

    workers: int | None
    dask: str | None
    staging: Storage | None

    @contextmanager
    def staged(self, local: Path, name: str) -> Iterator[str | Storage]:
        """Where the parse tasks stage this run's rows; on leaving, the rows are in `local`
        for the load (brought down from object storage if they were staged there), and the
        run's folder in object storage is gone, whatever happened."""
        if self.staging is None:
            yield str(local)
            return
        from newswh import remote

        at = Storage(f"{self.staging.url}/{name}", self.staging.options)
        try:
            yield at
            remote.download_tree(at, local)
        finally:
            remote.remove_tree(at)


def _parse_all(
    con: duckdb.DuckDBPyConnection, to_read: int, staging: str | Storage, read: Reader, parsing: Parsing,
    batch_files: int | None, max_bytes: int, started: ParsePool | None = None,
) -> tuple[float, int, int]:
    """Parse the plan's files in batches (newswh.batches: `batch_files` each, else large
    first and smaller towards the end), each a task, keeping two batches per worker in
    flight: enough to keep each busy, few enough that memory does not grow with the
    corpus; on the processes `started` (while newswh started) if they are as many as wanted.
    Returns the seconds spent parsing, summed over the batches, how many there were, and
    how many of the processes started ahead it parsed on (0: none)."""
    if not to_read:
        return 0.0, 0, 0
    if parsing.dask:
        return *_parse_on_dask(con, to_read, batch_files, staging, read, parsing.dask, max_bytes), 0
    sizes, workers = local_batches(to_read, parsing.workers, batch_files)
    batches, batch_count = _planned_batches(con, sizes), len(sizes)
    if workers == 1:
        parse_here = lambda number, batch: parse_batch(number, batch, staging, max_bytes, read)  # noqa: E731
        return *_collect(batches, to_read, batch_count, parse_here), 0
    pool = started if started is not None and started.workers == workers else ParsePool(workers)
    ahead = pool is started
    with pool, ThreadPoolTaskRunner(max_workers=2 * workers) as runner:
        try:
            # quote(): the batch is plain data, so Prefect need not walk its thousands of items for futures.
            submit = lambda number, batch: runner.submit(  # noqa: E731
                parse_batch,
                {"number": number, "batch": quote(batch), "staging": staging, "max_bytes": max_bytes, "read": read, "pool": pool},
            )
            return *_collect(batches, to_read, batch_count, submit, 2 * workers), workers if ahead else 0
        except BaseException:
            pool.stop_now()  # Ctrl-C or a failure: their batches are of no use any more
            raise


def _parse_on_dask(
    con: duckdb.DuckDBPyConnection, to_read: int, batch_files: int | None, staging: str | Storage, read: Reader,
    address: str, max_bytes: int,
) -> tuple[float, int]:
    """The parse tasks themselves run on the cluster's workers. (Its workers are not ours
    to stop: leaving the runner cancels what it submitted.)"""
    from newswh.cluster import (
        batch_result, connect, dask_runner, dask_worker_count, ensure_listening, lost_work, no_workers_seconds,
    )

    patience = no_workers_seconds()  # a bad setting fails the run before the cluster is asked for anything
    runner = dask_runner(address)
    ensure_listening(address)
    with runner:
        try:
            connect(runner, address)
            # Not quote(): Dask takes it (a namedtuple) apart as a plain tuple.
            submit = lambda number, batch: runner.submit(  # noqa: E731
                parse_batch, {"number": number, "batch": batch, "staging": staging, "max_bytes": max_bytes, "read": read}
            )
            workers = dask_worker_count(runner)
            sizes = batch_sizes(to_read, workers, batch_files)
            wait = partial(batch_result, runner, address, patience=patience)
            return _collect(_planned_batches(con, sizes), to_read, len(sizes), submit, 2 * workers, wait)
        except Exception as error:
            lost = lost_work(error, address)
            if lost is not None:
                raise lost from None
            raise


def _collect(
    batches: Iterator[list[tuple[Any, ...]]], to_read: int, batch_count: int, submit: Callable[[int, list[tuple[Any, ...]]], Any],
    in_flight_count: int = 1, wait: Callable[[Any], ParsedBatch] = lambda future: future.result(),
) -> tuple[float, int]:
    """Submit batches, `in_flight_count` at a time, and log each as it comes back. `submit`
    returns a future, or (run here) the ParsedBatch itself; `wait` takes a future's result."""
    logger = get_run_logger()
    numbered = enumerate(batches)
    in_flight = deque(submit(number, batch) for number, batch in islice(numbered, in_flight_count))
    done = 0
    in_tasks = 0.0
    while in_flight:
        parsed = in_flight.popleft()
        parsed = parsed if isinstance(parsed, ParsedBatch) else wait(parsed)
        following = next(numbered, None)
        if following is not None:
            in_flight.append(submit(*following))
        summary = parsed.summary
        done += summary.files
        in_tasks += parsed.seconds
        logger.info(
            "parsed batch %s/%s: %s/%s files (%s articles, %s rejected, %s unchanged content, %s vanished)",
            summary.number + 1, batch_count, f"{done:,}", f"{to_read:,}",
            summary.articles, summary.rejected, summary.touched, summary.vanished,
            extra={"stage": "parse-batch", "done": done, "to_read": to_read},
        )
    return in_tasks, batch_count


class StageClock:
    """Each stage's seconds and CPU seconds (`cpu_now`), from `start` (or the clock's
    creation, for the first) to `stop`: a run's `seconds` and `cpu_seconds`."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._began = self._mark = (time.perf_counter(), cpu_now())

    def start(self) -> None:
        self._mark = (time.perf_counter(), cpu_now())

    def stop(self, stage: str, seconds: float | None = None) -> None:
        """End `stage`; `seconds`, its time when it was measured elsewhere (ahead of the flow)."""
        self._record(stage, self._mark, seconds)

    def stop_total(self) -> None:
        """The whole run, from the clock's creation."""
        self._record("total", self._began, None)

    def _record(self, stage: str, since: tuple[float, float], seconds: float | None) -> None:
        wall, cpu = since
        self.seconds[stage] = time.perf_counter() - wall if seconds is None else seconds
        self.cpu[stage] = cpu_now() - cpu


def cpu_now() -> float:
    """CPU seconds used so far by this process (all its threads: DuckDB's, the lake's
    writers, Prefect's) and by the children it has reaped (the parse workers, reaped as
    their pool closes at the end of the parse stage; not a Dask cluster's, nor a temporary
    Prefect server's, which outlives the flow)."""
    used = os.times()
    return used.user + used.system + used.children_user + used.children_system


def conservation_line(counts: dict[str, int]) -> str:
    """The run's books: every file seen is unchanged, or became an article, a duplicate capture or a reject."""
    parts = ("files_unchanged", "articles_written", "duplicates", "rejected")
    balanced = counts["files_seen"] == sum(counts[part] for part in parts)
    terms = " + ".join(f"{counts[part]:,} {part.replace('files_', '').replace('_', ' ')}" for part in parts)
    return f"{counts['files_seen']:,} files seen = {terms}: {'every file accounted for' if balanced else 'DOES NOT ADD UP'}"


def kept_line(counts: dict[str, int]) -> str | None:
    """What a person should look at when changed files kept their archived captures: their
    raw files were emptied, cut short or overwritten since they were archived."""
    kept = counts.get("captures_kept", 0)
    if not kept:
        return None
    return (
        f"{kept:,} changed file{'s' if kept > 1 else ''} now hold{'' if kept > 1 else 's'} less than the capture archived from "
        f"{'them' if kept > 1 else 'it'} (emptied, cut short, damaged or overwritten?); the archived capture{'s are' if kept > 1 else ' is'} "
        "kept and the new content rejected: see `select r.* from rejects as r join source_files as s "
        "using (source_path) where s.article_id is not null`"
    )


def _one_line(summary: RunSummary) -> str:
    counts = summary.counts
    return (
        f"run {summary.run_id}: {counts['files_seen']:,} files seen, {counts['files_unchanged']:,} unchanged, "
        f"{counts['articles_written']:,} articles written, {counts['duplicates']:,} duplicates, "
        f"{counts['rejected']:,} rejected"
    )


def _publish_summary(summary: RunSummary) -> None:
    rejected = summary.counts["rejected"]
    lines = [
        f"# Ingest run {summary.run_id}",
        "",
        f"Source `{summary.source}` into `{summary.data}`.",
        "",
        "| count | files |",
        "| --- | ---: |",
        *(f"| {name.replace('_', ' ')} | {value:,} |" for name, value in summary.counts.items()),
        "",
        conservation_line(summary.counts),
        "",
        f"## Rejected by this run: {rejected:,}",
        "",
    ]
    if summary.run_rejects:
        lines += ["| file | reason | detail |", "| --- | --- | --- |"]
        lines += [f"| {_cell(Path(path).name)} | {reason} | {_cell(detail)} |" for path, reason, detail in summary.run_rejects]
        if rejected > len(summary.run_rejects):
            lines += ["", f"… and {rejected - len(summary.run_rejects):,} more: `select * from rejects`."]
        lines.append("")
    lines += [
        "## Rejects in the warehouse, by reason",
        "",
        "| reason | files |",
        "| --- | ---: |",
        *(f"| {reason} | {count:,} |" for reason, count in summary.rejects_by_reason.items()),
        "",
        "## Seconds by stage",
        "",
        " · ".join(f"{stage} {value:.2f}" for stage, value in summary.seconds.items()),
        "",
        "## CPU seconds by stage (this process's threads, and its parse workers')",
        "",
        " · ".join(f"{stage} {value:.2f}" for stage, value in summary.cpu_seconds.items()),
    ]
    create_markdown_artifact("\n".join(lines), key="ingest-summary", description=_one_line(summary))


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell; nothing in it becomes a link or markup."""
    return text.replace("|", "\\|").replace("\n", " ").replace("[", "\\[").replace("<", "&lt;")
