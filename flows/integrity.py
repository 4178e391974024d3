"""Proof that nothing is lost, and recovery when something is: `newswh verify` and `newswh rebuild`.

The warehouse and the lake are two copies of the same tables. `verify` checks each against
the other (row counts and a content checksum per Parquet file, every file readable) and
runs the data checks of `sql/checks/` (every manifest row leads to an article or a reject,
no orphan related items, every run's counts add up). `rebuild` recreates the warehouse from
the lake alone, which holds every table for that purpose.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from flows.lake import DATASETS, PART_FILE, Dataset, expected_partitions, partition_folder
from flows.locking import writer_lock
from flows.settings import DataPaths
from flows.warehouse import commit, failed_checks, next_warehouse, open_read_only


class RebuildError(RuntimeError):
    """The lake cannot give back a whole warehouse; the message says which file and what to do."""


@dataclass
class Verification:
    problems: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    """Rows per table in the warehouse, each matched by the lake unless a problem says otherwise."""
    files_checked: int = 0


def verify(paths: DataPaths) -> Verification:
    """Every disagreement between warehouse and lake, and every failed data check, in words."""
    result = Verification()
    try:
        con = open_read_only(paths.warehouse)
    except FileNotFoundError:
        result.problems.append(
            f"no warehouse at {paths.warehouse}: if the lake is intact, `newswh rebuild` recreates it"
        )
        return result
    with con:
        for check, offenders in failed_checks(con).items():
            result.problems.append(f"data check {check} fails, e.g. {offenders[0]}")
        for dataset in DATASETS:
            result.rows[dataset.table_name] = con.execute(f"select count(*) from {dataset.table_name}").fetchall()[0][0]
            result.problems += _lake_problems(con, paths.lake, dataset, result)
    return result


def _lake_problems(con: duckdb.DuckDBPyConnection, lake: Path, dataset: Dataset, result: Verification) -> list[str]:
    problems = []
    expected = expected_partitions(con, dataset)
    wanted = set()
    for key, fingerprint in sorted(expected.items(), key=lambda item: str(item[0])):
        path = partition_folder(lake, dataset, key) / PART_FILE
        wanted.add(path)
        rows = int(fingerprint.split(":")[0])
        if not path.exists():
            problems.append(f"{path}: missing (the warehouse has {rows:,} {dataset.table_name} rows for it)")
            continue
        result.files_checked += 1
        try:
            actual = file_fingerprint(con, dataset, key, path)
        except duckdb.Error as error:
            problems.append(f"{path}: unreadable ({str(error).splitlines()[0]})")
            continue
        if actual != fingerprint:
            problems.append(
                f"{path}: differs from the warehouse ({actual.split(':')[0]} rows in the file, {rows:,} in the warehouse)"
            )
    folder = lake / dataset.folder
    if folder.exists():
        for path in sorted(folder.rglob("*.parquet")):
            if path not in wanted:
                problems.append(f"{path}: not backed by the warehouse (a stray or stale file)")
    return problems


def file_fingerprint(con: duckdb.DuckDBPyConnection, dataset: Dataset, key: tuple[object, ...], path: Path) -> str:
    """The fingerprint of a lake file's rows, computed from its content, as `expected_partitions` computes it."""
    types = {row[0]: row[1] for row in con.execute(f"describe {dataset.query}").fetchall()}
    keys = ", ".join(f"?::{types[column]} as {column}" for column in dataset.partition_by)
    source = "read_parquet(?, hive_partitioning = false)"  # the key comes from the caller, not the path
    select = f"select {keys}, * from {source}" if keys else f"select * from {source}"
    count, checksum = con.execute(
        f"select count(*), bit_xor(hash(rows)) from ({select}) as rows", [*key, str(path)]
    ).fetchall()[0]
    return f"{count}:{checksum or 0}"


def rebuild(paths: DataPaths, lock_wait_seconds: float = 0.0) -> dict[str, int]:
    """Recreate `warehouse.duckdb` from the lake; returns rows per table.

    Writes a fresh copy and renames it into place only once the data checks pass and it
    matches every lake file, so a failed rebuild leaves whatever was there before.
    """
    with writer_lock(paths.lock, lock_wait_seconds), next_warehouse(paths, copy_current=False) as con:
        rows = {dataset.table_name: _load_dataset(con, paths.lake, dataset) for dataset in DATASETS}
        failures = failed_checks(con)
        if failures:
            raise RebuildError(f"the lake's tables do not fit together ({failures}); the warehouse was not changed")
        mismatches = [problem for dataset in DATASETS for problem in _lake_problems(con, paths.lake, dataset, Verification())]
        if mismatches:
            raise RebuildError(f"{mismatches[0]}; the warehouse was not changed")
        commit(con, paths)
    shutil.rmtree(paths.staging, ignore_errors=True)
    return rows


def _load_dataset(con: duckdb.DuckDBPyConnection, lake: Path, dataset: Dataset) -> int:
    folder = lake / dataset.folder
    files = sorted(folder.rglob("*.parquet")) if folder.exists() else []
    if not files and not dataset.partition_by:
        raise RebuildError(
            f"{folder / PART_FILE} is missing, so the lake cannot give back {dataset.table_name}; "
            "if warehouse.duckdb is intact, `newswh ingest` rewrites the lake from it"
        )
    for path in files:
        try:
            con.execute("select count(*) from read_parquet(?)", [str(path)]).fetchall()
        except duckdb.Error as error:
            raise RebuildError(
                f"{path} is unreadable ({str(error).splitlines()[0]}); if warehouse.duckdb is intact, "
                "`newswh ingest` rewrites it, otherwise re-ingest the raw files into a new data folder"
            ) from None
    if dataset.table_name == "captures":
        # Each article is its best capture; the lake keeps only the other captures apart.
        con.execute("insert into captures by name select * exclude (capture_count) from articles")
    if not files:
        return con.execute(f"select count(*) from {dataset.table_name}").fetchall()[0][0]
    exclude = f" exclude ({', '.join(dataset.partition_by)})" if dataset.partition_by else ""
    hive = "true" if dataset.partition_by else "false"
    con.execute(
        f"insert into {dataset.table_name} by name select *{exclude} from read_parquet(?, hive_partitioning = {hive})",
        [[str(path) for path in files]],
    )
    return con.execute(f"select count(*) from {dataset.table_name}").fetchall()[0][0]
