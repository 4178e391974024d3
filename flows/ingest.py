"""The `ingest` flow: a folder of raw files to a DuckDB warehouse and a Parquet lake.

discover files -> plan against the manifest -> parse new and changed files in batches on
every core -> load DuckDB in one transaction -> run the data checks -> sync the lake ->
commit by renaming the new warehouse into place -> summarize as a markdown artifact.

Tasks are thin: the work lives in `sources`, `staging`, `warehouse` and `lake`.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State

from flows.lake import SyncReport, sync_lake
from flows.locking import IngestAlreadyRunning, writer_lock
from flows.parse import DEFAULT_MAX_BYTES
from flows.records import PARSER_VERSION
from flows.settings import BATCH_FILES, DEFAULT_DATA, DEFAULT_SOURCE, LOCK_WAIT_SECONDS, SQL_DIR, DataPaths
from flows.sources import discover
from flows.staging import STAGE_SCHEMAS, BatchSummary, PlannedFile, stage_batch
from flows.warehouse import WarehouseBusy, commit, failed_checks, next_warehouse, run_sql_folder

RUN_COUNTS = (
    "files_seen", "files_new", "files_changed", "files_unchanged", "files_missing",
    "articles_written", "duplicates", "rejected",
)


class IngestError(RuntimeError):
    """A run that cannot complete for a reason a person can act on."""


@dataclass
class RunSummary:
    run_id: int
    source: str
    data: str
    counts: dict[str, int]
    rejects_by_reason: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)
    lake: dict[str, int] = field(default_factory=dict)


@task(name="discover-files", cache_policy=NO_CACHE)
def discover_files(source: Path) -> pa.Table:
    """Path, size and mtime of every raw file: all that is needed to skip unchanged ones."""
    paths, sizes, mtimes, outside = [], [], [], []
    for found in discover(source):
        paths.append(found.path)
        sizes.append(found.size_bytes)
        mtimes.append(found.mtime_ns)
        outside.append(found.outside_link)
    get_run_logger().info("discovered %s raw files under %s", f"{len(paths):,}", source)
    return pa.table(
        {"source_path": paths, "size_bytes": sizes, "mtime_ns": mtimes, "outside_link": outside},
        schema=pa.schema(
            [("source_path", pa.string()), ("size_bytes", pa.int64()), ("mtime_ns", pa.int64()), ("outside_link", pa.bool_())]
        ),
    )


@task(name="plan-run", cache_policy=NO_CACHE)
def plan_run(con: duckdb.DuckDBPyConnection, discovered: pa.Table) -> list[PlannedFile]:
    """Compare what is on disk with the manifest; return the files that must be read."""
    con.register("discovered_arrow", discovered)
    con.execute("create or replace temp table discovered as select * from discovered_arrow")
    con.unregister("discovered_arrow")
    run_sql_folder_file(con, SQL_DIR / "plan.sql")
    rows = con.execute(
        "select p.source_path, p.size_bytes, p.mtime_ns, d.outside_link, p.previous_hash "
        "from plan as p join discovered as d using (source_path) "
        "where p.status <> 'unchanged' order by p.source_path"
    ).fetchall()
    status = dict(con.execute("select status, count(*) from plan group by status").fetchall())
    get_run_logger().info(
        "plan: %s new, %s changed, %s unchanged (not read)",
        *(f"{status.get(key, 0):,}" for key in ("new", "changed", "unchanged")),
    )
    return [PlannedFile(*row) for row in rows]


@task(name="parse-batch", cache_policy=NO_CACHE, task_run_name="parse-batch-{number}")
def parse_batch(
    number: int, batch: list[PlannedFile], staging: Path, max_bytes: int, pool: Executor | None
) -> BatchSummary:
    """Parse one batch in a worker process (or here, for a single small batch)."""
    if pool is None:
        return stage_batch(number, batch, str(staging), max_bytes)
    return pool.submit(stage_batch, number, batch, str(staging), max_bytes).result()


@task(name="load-warehouse", cache_policy=NO_CACHE)
def load_warehouse(con: duckdb.DuckDBPyConnection, staging: Path) -> None:
    """Apply the staged records in one transaction; the data checks run inside it."""
    con.execute("begin transaction")
    try:
        for name, schema in STAGE_SCHEMAS.items():
            files = sorted(str(path) for path in (staging / name).glob("*.parquet"))
            if files:
                con.execute(f"create or replace temp table {name} as select * from read_parquet(?)", [files])
            else:
                con.register("empty_stage", schema.empty_table())
                con.execute(f"create or replace temp table {name} as select * from empty_stage")
                con.unregister("empty_stage")
        run_sql_folder(con, SQL_DIR / "load")
        failures = failed_checks(con)
        if failures:
            raise IngestError(f"data checks failed, nothing was committed: {failures}")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


@task(name="write-lake", cache_policy=NO_CACHE)
def write_lake(con: duckdb.DuckDBPyConnection, lake: Path) -> SyncReport:
    report = sync_lake(con, lake)
    get_run_logger().info(
        "lake: %s files written, %s removed, %s already current", report.written, report.removed, report.unchanged
    )
    return report


def run_sql_folder_file(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    con.execute(path.read_text(encoding="utf-8"))


@flow(name="ingest", log_prints=False)
def ingest(
    source: str | None = None,
    data: str | None = None,
    workers: int | None = None,
    batch_files: int = BATCH_FILES,
    max_bytes: int = DEFAULT_MAX_BYTES,
    lock_wait_seconds: float = LOCK_WAIT_SECONDS,
) -> State:
    """Bring the warehouse in `data` up to date with the raw files in `source`."""
    source_path = Path(source) if source else DEFAULT_SOURCE
    paths = DataPaths(Path(data) if data else DEFAULT_DATA)
    if not source_path.exists():
        return Failed(message=f"source folder {source_path} does not exist")
    source_path = source_path.resolve()  # manifest paths are absolute: any working directory works
    try:
        with writer_lock(paths.lock, lock_wait_seconds):
            summary = _ingest_locked(source_path, paths, workers, batch_files, max_bytes)
    except (IngestAlreadyRunning, WarehouseBusy, IngestError) as error:
        get_run_logger().error("%s", error)
        return Failed(message=str(error))
    _publish_summary(summary)
    return Completed(message=_one_line(summary), data=summary)


def _ingest_locked(source: Path, paths: DataPaths, workers: int | None, batch_files: int, max_bytes: int) -> RunSummary:
    logger = get_run_logger()
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    shutil.rmtree(paths.staging, ignore_errors=True)  # only a killed run leaves one; we hold the lock
    with next_warehouse(paths) as con:
        run_id = con.execute("select coalesce(max(run_id), 0) + 1 from ingest_runs").fetchone()[0]
        con.execute(
            "create or replace temp table run_context as select ?::bigint as run_id, ?::varchar as parser_version",
            [run_id, PARSER_VERSION],
        )
        con.execute(
            "insert into ingest_runs (run_id, flow_run_id, source, started_at, parser_version) values (?, ?, ?, ?, ?)",
            [run_id, flow_run.get_id(), str(source), datetime.now(timezone.utc), PARSER_VERSION],
        )
        seconds["open"] = time.perf_counter() - started

        mark = time.perf_counter()
        discovered = discover_files(source)
        seconds["discover"] = time.perf_counter() - mark

        mark = time.perf_counter()
        to_read = plan_run(con, discovered)
        seconds["plan"] = time.perf_counter() - mark

        mark = time.perf_counter()
        staging = paths.staging / f"run-{run_id}"
        _parse_all(to_read, staging, workers, batch_files, max_bytes)
        seconds["parse"] = time.perf_counter() - mark

        mark = time.perf_counter()
        load_warehouse(con, staging)
        seconds["load"] = time.perf_counter() - mark

        mark = time.perf_counter()
        lake_report = write_lake(con, paths.lake)
        seconds["lake"] = time.perf_counter() - mark

        mark = time.perf_counter()
        con.execute("update ingest_runs set finished_at = ? where run_id = ?", [datetime.now(timezone.utc), run_id])
        counts = dict(
            zip(RUN_COUNTS, con.execute(f"select {', '.join(RUN_COUNTS)} from ingest_runs where run_id = ?", [run_id]).fetchone())
        )
        rejects = dict(
            con.execute("select reason, count(*) from rejects group by reason order by count(*) desc, reason").fetchall()
        )
        commit(con, paths)
        seconds["commit"] = time.perf_counter() - mark
    shutil.rmtree(paths.staging, ignore_errors=True)
    seconds["total"] = time.perf_counter() - started
    logger.info("committed run %s in %.2f s: %s", run_id, seconds["total"], counts)
    return RunSummary(run_id, str(source), str(paths.root), counts, rejects, seconds, asdict(lake_report))


def _parse_all(to_read: list[PlannedFile], staging: Path, workers: int | None, batch_files: int, max_bytes: int) -> None:
    logger = get_run_logger()
    batches = [to_read[start : start + batch_files] for start in range(0, len(to_read), batch_files)]
    if not batches:
        return
    workers = min(workers or os.cpu_count() or 1, len(batches))
    pool = None
    if workers > 1:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = [parse_batch.submit(number, batch, staging, max_bytes, pool) for number, batch in enumerate(batches)]
        done = 0
        for future in futures:
            summary = future.result()
            done += summary.files
            logger.info(
                "parsed batch %s/%s: %s/%s files (%s articles, %s rejected, %s unchanged content)",
                summary.number + 1, len(batches), f"{done:,}", f"{len(to_read):,}",
                summary.articles, summary.rejected, summary.touched,
            )
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _one_line(summary: RunSummary) -> str:
    counts = summary.counts
    return (
        f"run {summary.run_id}: {counts['files_seen']:,} files seen, {counts['files_unchanged']:,} unchanged, "
        f"{counts['articles_written']:,} articles written, {counts['duplicates']:,} duplicates, "
        f"{counts['rejected']:,} rejected"
    )


def _publish_summary(summary: RunSummary) -> None:
    lines = [
        f"# Ingest run {summary.run_id}",
        "",
        f"Source `{summary.source}` into `{summary.data}`.",
        "",
        "| count | value |",
        "| --- | ---: |",
        *(f"| {name.replace('_', ' ')} | {value:,} |" for name, value in summary.counts.items()),
        "",
        "## Rejects in the warehouse, by reason",
        "",
        "| reason | files |",
        "| --- | ---: |",
        *(f"| {reason} | {count:,} |" for reason, count in summary.rejects_by_reason.items()),
        "",
        "## Seconds by stage",
        "",
        " · ".join(f"{stage} {value:.2f}" for stage, value in summary.seconds.items()),
    ]
    create_markdown_artifact("\n".join(lines), key="ingest-summary", description=_one_line(summary))
