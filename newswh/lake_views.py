"""The warehouse's tables and views over the Parquet lake alone, in an in-memory DuckDB.

Dashboards and notebooks read the lake so that nothing holds `warehouse.duckdb` while an
ingest writes it, and so that a machine with a copy of the lake folder needs nothing
else. Each dataset becomes a view named after its warehouse table (hive partitioning on,
the partition columns hidden, so its columns are the table's); a table the lake stores
differently is rebuilt by its file in `sql/over_lake/`; then the very `sql/views/` the
warehouse has are applied on top, so a view's SQL exists once and means the same on both.

An ingest publishes the lake by renaming finished files into place and then recording
them in `_warehouse/synced.json`; a reader that opens the lake while that is under way
would mix two runs, so `open_lake` waits (briefly) until the files are the ones recorded.
A view reads its files when queried, not when opened, so a publish that begins during a
query could still mix two runs into its result: `read_consistently` reads again when the
lake changed while it read.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import duckdb

from newswh.lake import (
    DATASETS,
    INTERNAL_FOLDER,
    SYNC_MARK,
    Dataset,
    duckdb_path,
    parquet_listing,
    published_but_changed,
    published_but_missing,
    published_listing,
)
from newswh.failures import first_line
from newswh.settings import SQL_DIR
from newswh.warehouse import run_sql_file, run_sql_folder

T = TypeVar("T")
OVER_LAKE = SQL_DIR / "over_lake"
"""One file per warehouse table that is not a dataset as it stands (`captures`)."""
PUBLISH_WAIT_SECONDS = 3.0
"""How long a reader waits for a publish under way to finish: renames take milliseconds,
so a lake that still differs from its record after this was changed by something else."""


class NoLake(RuntimeError):
    """There is no lake folder to read: nothing was ingested into this data folder."""


class LakeChangedDuringRead(RuntimeError):
    """An ingest published the lake while it was read: the result may mix two runs."""


class LakeIncomplete(RuntimeError):
    """Files the lake's last publish wrote are gone: any result would leave their rows out."""


REPAIR_ADVICE = (
    "`newswh verify --repair` on its data folder writes the lake's files again from the warehouse "
    "(`newswh verify` names each one), or put them back from a backup"
)


def read_failure(error: duckdb.Error) -> str:
    """The one line for a query over the lake that failed: a damaged lake file said only
    DuckDB's "No magic bytes found at end of file …", and not what to do about it."""
    line = first_line(error)
    if isinstance(error, (duckdb.IOException, duckdb.InvalidInputException)) and ".parquet" in line:
        return f"{line}: a lake file is damaged; {REPAIR_ADVICE}"
    return line


READ_ATTEMPTS = 5
"""Reads of a lake that keeps changing under them before giving up: ingests publish seconds
apart at the most, and a publish takes milliseconds."""


@dataclass(frozen=True)
class LakeSnapshot:
    """The lake's Parquet files at one moment, and a key that changes whenever they do."""

    root: Path
    files: Mapping[str, tuple[Path, ...]]
    """Dataset name -> its Parquet files."""
    state: str
    """A digest of every file's name, size and mtime: equal states, equal data."""
    settled: bool
    """Whether the files are the ones the last publish recorded (or no record exists)."""


def find_lake(data: Path) -> Path:
    """The lake of a data folder, or the folder itself when it is a lake (a copy of it
    alone): `--data` may name either."""
    if (data / INTERNAL_FOLDER).is_dir() or any((data / dataset.folder).is_dir() for dataset in DATASETS if not dataset.internal):
        return data
    lake = data / "lake"
    if not lake.is_dir():
        raise NoLake(f"no lake at {lake}: run `newswh ingest --data {data}` first")
    return lake


def lake_state(lake: Path) -> str:
    """A key for the lake's content, cheap enough to compute on every page view: only
    `stat` calls. A cache keyed on it shows fresh data right after the next publish."""
    return _snapshot(lake).state


def snapshot(lake: Path, wait_seconds: float = PUBLISH_WAIT_SECONDS) -> LakeSnapshot:
    """The lake's files, once any publish under way has finished (or `wait_seconds` passed).
    Raises LakeIncomplete when files its last publish wrote are gone (read without them,
    `count(*) from articles` said 0, and a dashboard showed an empty corpus, without a word),
    or when files it did not write are there (a copy of a part counted its rows twice)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        current = _snapshot(lake)
        if current.settled:
            return current
        if time.monotonic() >= deadline:
            missing = published_but_missing(lake)
            if missing:
                raise LakeIncomplete(
                    f"{missing} is missing from the lake, though its last publish wrote it, so a result would "
                    f"leave out its rows: {REPAIR_ADVICE}"
                )
            changed = published_but_changed(lake)
            if changed.strays:
                raise LakeIncomplete(
                    f"{changed.strays} is in the lake, but its last publish did not write it (a copy, or a file another "
                    "tool put there), so a result would count its rows with the others: move it out of the lake"
                )
            if changed.resized:
                raise LakeIncomplete(
                    f"{changed.resized} is damaged or was replaced: it is not the size the lake's last publish wrote, so "
                    f"a result would hold other rows than the lake's: {REPAIR_ADVICE}"
                )
            return current
        time.sleep(0.05)


def _snapshot(lake: Path) -> LakeSnapshot:
    listings = {dataset.folder: parquet_listing(lake, dataset) for dataset in DATASETS}
    recorded = published_listing(lake)
    settled = recorded is None or all(recorded.get(folder, {}) == listing for folder, listing in listings.items())
    digest = hashlib.sha256(json.dumps(listings, sort_keys=True).encode())
    mark = lake / SYNC_MARK
    digest.update(str(mark.stat().st_mtime_ns if mark.exists() else 0).encode())
    files = {
        dataset.name: tuple(lake / dataset.folder / name for name in sorted(listings[dataset.folder])) for dataset in DATASETS
    }
    return LakeSnapshot(lake, files, digest.hexdigest(), settled)


def open_lake(lake: Path, filters: Mapping[str, str] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory connection where the warehouse's tables are views over `lake` and
    every view of `sql/views/` is defined on them.

    `filters`: dataset name -> an SQL condition on its rows (its partition columns `year`
    and `month` included, so a condition on them skips whole partitions unread); every
    view then answers for those rows alone. Never opens warehouse.duckdb.
    """
    return _open_files(snapshot(lake).files, filters)


def read_consistently(
    lake: Path, read: Callable[[duckdb.DuckDBPyConnection], T], filters: Mapping[str, str] | None = None
) -> T:
    """`read` over the lake's views (see open_lake), whose result is of one run: read again
    if the lake's files changed while it ran, up to READ_ATTEMPTS times."""
    for _ in range(READ_ATTEMPTS):
        before = snapshot(lake)
        con = _open_files(before.files, filters)
        try:
            result = read(con)
        finally:
            con.close()
        if _snapshot(lake).state == before.state:
            return result
    raise LakeChangedDuringRead(
        f"the lake at {lake} changed during each of {READ_ATTEMPTS} reads (ingests publishing it, or another process "
        "writing it): try again"
    )


def _open_files(files: Mapping[str, tuple[Path, ...]], filters: Mapping[str, str] | None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    try:
        run_sql_folder(con, SQL_DIR / "schema")  # every table, empty: what a dataset without files holds
        rebuilt = []
        for dataset in DATASETS:
            condition = (filters or {}).get(dataset.name)
            if files[dataset.name]:
                if dataset.name == dataset.table_name:
                    con.execute(f"drop {_kind(con, dataset.name)} {dataset.name}")
                con.execute(f"create view {dataset.name} as {_read_files(dataset, files[dataset.name], condition)}")
            elif dataset.name != dataset.table_name:
                con.execute(f"create table {dataset.name} as select * from {dataset.table_name} limit 0")
            elif _kind(con, dataset.name) == "view":  # a view over tables the lake rebuilds from it: an empty table instead
                con.execute(f"create table empty_{dataset.name} as select * from {dataset.name} limit 0")
                con.execute(f"drop view {dataset.name}")
                con.execute(f"alter table empty_{dataset.name} rename to {dataset.name}")
            if dataset.name != dataset.table_name:
                rebuilt.append(dataset.table_name)
        for table in rebuilt:
            con.execute(f"drop table {table}")
            run_sql_file(con, OVER_LAKE / f"{table}.sql")
        if files["articles"]:  # the warehouse's `articles` is a view over this table; the lake's holds it
            con.execute("drop table best_captures")
            run_sql_file(con, OVER_LAKE / "best_captures.sql")
        run_sql_folder(con, SQL_DIR / "views")
    except BaseException:
        con.close()
        raise
    return con


def _kind(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """Whether the schema made `name` a table or a view (`articles` is a view in the warehouse)."""
    views = con.execute("select count(*) from duckdb_views() where view_name = ? and not internal", [name]).fetchall()[0][0]
    return "view" if views else "table"


def _read_files(dataset: Dataset, files: tuple[Path, ...], condition: str | None) -> str:
    paths = ", ".join("'" + duckdb_path(path).replace("'", "''") + "'" for path in files)
    where = f" where {condition}" if condition else ""
    if not dataset.partition_by:
        return f"select * from read_parquet([{paths}], hive_partitioning = false){where}"
    keys = ", ".join(dataset.partition_by)
    types = ", ".join(f"'{key}': integer" for key in dataset.partition_by)
    return (
        f"select * exclude ({keys}) from read_parquet([{paths}], hive_partitioning = true, "
        f"hive_types = {{{types}}}){where}"
    )
