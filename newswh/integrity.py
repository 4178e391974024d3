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

from newswh.failures import first_line, storage_failure
from newswh.lake import (
    DATASETS,
    INTERNAL_FOLDER,
    PART_FILE,
    RUN_STARTS,
    SYNC_MARK,
    Dataset,
    LakeChanges,
    SyncReport,
    bytes_changed,
    duckdb_path,
    expected_partitions,
    file_fingerprint,
    files_since_publish,
    fingerprint_rows,
    in_lake_layout,
    partition_folder,
    prepare_lake,
    published_but_changed,
    published_but_missing,
    published_listing,
    published_run,
    recorded_digests,
    recorded_runs,
    written_by,
)
from newswh.locking import writer_lock
from newswh.settings import SQL_DIR, DataPaths
from newswh.warehouse import (
    WarehouseBusy,
    WarehouseDamaged,
    commit,
    damage,
    describe_failures,
    failed_checks,
    next_warehouse,
    open_read_only,
    remove_left_behind,
    write_failed,
)


class RebuildError(RuntimeError):
    """The lake cannot give back a whole warehouse; the message says which file and what to do."""


class NoWarehouseYet(RuntimeError):
    """Neither a warehouse nor a lake: nothing was ever ingested into this data folder."""


class LakeAhead(RuntimeError):
    """The lake holds runs the warehouse lacks (a later run, or another data folder's):
    writing the lake from this warehouse would drop them."""


def last_run(con: duckdb.DuckDBPyConnection) -> int:
    """The warehouse's last committed run (0 before the first)."""
    return int(con.execute("select coalesce(max(run_id), 0) from ingest_runs").fetchall()[0][0])


def _runs_apart(lake: Path, con: duckdb.DuckDBPyConnection) -> tuple[list[int], list[int]]:
    """The runs only the lake's `ingest_runs` holds, and those only the warehouse `con` reads
    holds (a run is its number and start time); neither, when the lake records no runs."""
    warehouse_runs = dict(con.execute(RUN_STARTS.format(runs="ingest_runs")).fetchall())
    lake_runs = recorded_runs(lake, con)
    if lake_runs is None:
        return [], []
    only_lake = sorted(run for run, started in lake_runs.items() if warehouse_runs.get(run) != started)
    only_warehouse = sorted(run for run, started in warehouse_runs.items() if lake_runs.get(run) != started)
    return only_lake, only_warehouse


def _named(runs: list[int]) -> str:
    """"run 2", "runs 2, 3", "runs 2, 3, 4, 5, 6 and 12 more"."""
    listed = ", ".join(map(str, runs[:5])) + (f" and {len(runs) - 5:,} more" if len(runs) > 5 else "")
    return f"run{'s' if len(runs) > 1 else ''} {listed}"


def lake_ahead(paths: DataPaths, con: duckdb.DuckDBPyConnection) -> str | None:
    """Why the lake must not be written from the warehouse `con` reads, or None. A lake is
    published only after the warehouse commits, so a lake of runs the warehouse lacks means
    the warehouse went back (a copy restored from a backup) or is another data folder's:
    syncing the lake to it then deleted those runs' articles from their one other copy."""
    warehouse_run = last_run(con)
    lake_run = published_run(paths.lake)
    remedy = (
        f"`newswh rebuild --data {paths.root}` recreates the warehouse from the lake, keeping this file beside it; "
        "to go back to this warehouse instead, move the lake folder aside first"
    )
    if lake_run is not None and lake_run > warehouse_run:
        return (
            f"the lake was published by run {lake_run}, but the last run in {paths.warehouse} is {warehouse_run}: "
            "the warehouse is older than the lake (restored from a backup?), and writing the lake from it would drop "
            f"runs {warehouse_run + 1}-{lake_run}. {remedy}"
        )
    only_lake, only_warehouse = _runs_apart(paths.lake, con)
    if not only_lake:
        return _files_ahead(paths, con)
    if only_warehouse:
        return (
            f"the lake and {paths.warehouse} hold different runs ({_named(only_lake)} of the lake "
            f"{'is' if len(only_lake) == 1 else 'are'} not the warehouse's): they are not of one data folder (a "
            f"warehouse.duckdb copied from another?), and writing the lake from this warehouse would drop the lake's runs. {remedy}"
        )
    return (
        f"the lake holds {_named(only_lake)}, which {paths.warehouse} lacks: the warehouse is older than the lake "
        f"(restored from a backup?), and writing the lake from it would drop them. {remedy}"
    )


def _files_ahead(paths: DataPaths, con: duckdb.DuckDBPyConnection) -> str | None:
    """Why the lake must not be written from the warehouse, when the lake's run records
    agree with it but some of its files do not: written by a run the warehouse lacks, or,
    written before files said their run (`written_by`), holding articles it lacks."""
    runs = dict(con.execute(RUN_STARTS.format(runs="ingest_runs")).fetchall())
    others: list[tuple[Path, str]] = []
    for dataset, path in files_since_publish(paths.lake):
        run = written_by(path)
        if run is not None and runs.get(run[0]) != run[1]:
            others.append((path, f"was written by run {run[0]}, which {paths.warehouse} lacks"))
        elif run is None and dataset.name == "articles":
            lacking = _articles_lacking(con, path)
            if lacking:
                others.append((path, f"holds {lacking} {paths.warehouse} lacks"))
    if not others:
        return None
    (path, why), more = others[0], len(others) - 1
    return (
        f"{path}{f' (and {more:,} more)' if more else ''} {why}, and so do the lake's records of its runs "
        f"({paths.lake / INTERNAL_FOLDER}): those and the warehouse are older than the file (put back from an older "
        "backup?), or it came from another data folder, and writing the lake from this warehouse would drop the rows "
        f"only it holds. Put back the lake's {INTERNAL_FOLDER} folder from when it was written, then "
        f"`newswh rebuild --data {paths.root}` recreates the warehouse from the lake, keeping {paths.warehouse.name} beside "
        "it; or move the file out of the lake, and this warehouse's rows replace it"
    )


def _articles_lacking(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    """The articles of a lake file the warehouse lacks, said as "2 articles (abc… first)";
    "" if none (or the file cannot be read: damage, which `verify` names)."""
    try:
        [(count, first)] = con.execute(
            "select count(*), min(article_id) from read_parquet(?) where article_id not in (select article_id from articles)",
            [duckdb_path(path)],
        ).fetchall()
    except duckdb.Error:
        return ""
    return f"{count:,} article{'s' if count != 1 else ''} ({first} first)" if count else ""


@dataclass
class Verification:
    problems: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    """Rows per table in the warehouse, each matched by the lake unless a problem says otherwise."""
    files_checked: int = 0
    lake_is_newer: bool = False
    """Whether the lake holds runs the warehouse lacks: then the lake is the reference."""


def lake_holds_data(lake: Path) -> bool:
    """Whether a lake was ever published here: then it is the archive, and a missing
    warehouse is to be restored from it, never started again from empty."""
    return lake.is_dir() and any(path.suffix == ".parquet" for path in lake.rglob("*.parquet"))


def verify(paths: DataPaths) -> Verification:
    """Every disagreement between warehouse and lake, and every failed data check, in words.

    Every row of every table and every lake file is read, so a damaged block or page is
    found wherever it is; a damaged warehouse raises WarehouseDamaged.
    """
    result = Verification()
    try:
        con = open_read_only(paths.warehouse)
    except FileNotFoundError:
        if not lake_holds_data(paths.lake):
            raise NoWarehouseYet(f"no warehouse in {paths.root} yet: run `newswh ingest` first") from None
        result.problems.append(
            f"no warehouse at {paths.warehouse}: the lake holds the archive, and `newswh rebuild` recreates it "
            "(the next `newswh ingest` does so first)"
        )
        return result
    with con:
        try:
            ahead = lake_ahead(paths, con)
            if ahead is not None:
                result.problems.append(ahead)
                result.lake_is_newer = True
            for check, offenders in failed_checks(con).items():
                result.problems.append(f"data check {describe_failures({check: offenders})}")
            result.problems += rows_without_their_file(con)
            for dataset in DATASETS:
                result.rows[dataset.table_name] = con.execute(f"select count(*) from {dataset.table_name}").fetchall()[0][0]
                result.problems += _lake_problems(con, paths.lake, dataset, result)
            if lake_holds_data(paths.lake) and published_listing(paths.lake) is None:
                # Readers check the lake against it: without it, a copied part's rows count twice unnoticed.
                result.problems.append(
                    f"{paths.lake / SYNC_MARK}: missing or unreadable, so `sql --lake` and the dashboard cannot tell "
                    "the lake's files from others put there"
                )
        except duckdb.Error as error:
            damaged = damage(paths.warehouse, error)
            if damaged is None:
                raise
            raise damaged from None
    return result


def _lake_problems(con: duckdb.DuckDBPyConnection, lake: Path, dataset: Dataset, result: Verification) -> list[str]:
    """How the dataset's lake files disagree with the warehouse; none if they match it as
    this release lays them out, or wholly as an earlier release did (`Dataset.earlier`):
    the archive is whole either way, and the next ingest lays it out afresh."""
    problems = _layout_problems(con, lake, dataset, result)
    if problems and any(not _layout_problems(con, lake, earlier, Verification()) for earlier in dataset.earlier()):
        return []
    return problems


def _layout_problems(con: duckdb.DuckDBPyConnection, lake: Path, dataset: Dataset, result: Verification) -> list[str]:
    problems = []
    digests = recorded_digests(lake)
    expected = expected_partitions(con, dataset)
    wanted = set()
    for key, fingerprint in sorted(expected.items(), key=lambda item: str(item[0])):
        path = partition_folder(lake, dataset, key) / PART_FILE
        wanted.add(path)
        rows = fingerprint_rows(fingerprint)
        if not path.exists():
            problems.append(f"{path}: missing (the warehouse has {rows:,} {dataset.table_name} rows for it)")
            continue
        result.files_checked += 1
        try:
            actual = file_fingerprint(con, dataset, key, path)
        except duckdb.Error as error:
            problems.append(f"{path}: unreadable ({first_line(error)})")
            continue
        if actual != fingerprint:
            problems.append(
                f"{path}: differs from the warehouse ({fingerprint_rows(actual):,} rows in the file, {rows:,} in the warehouse)"
            )
        elif bytes_changed(lake, path, digests):
            problems.append(f"{path}: its bytes changed since newswh wrote it (damage in its footer or statistics)")
    folder = lake / dataset.folder
    if folder.exists():
        for path in sorted(folder.rglob("*.parquet")):
            if path in wanted:
                continue
            if in_lake_layout(folder, path):
                problems.append(f"{path}: not backed by the warehouse (a stray or stale file)")
            else:
                problems.append(
                    f"{path}: not where newswh writes, yet read as data by whatever reads {folder}: "
                    "move it out of the lake (no sync or repair deletes it)"
                )
    return problems


def repair_lake(paths: DataPaths, lock_wait_seconds: float = 0.0) -> SyncReport:
    """Rewrite every lake file whose rows differ from the warehouse, reading each whole.

    An ingest trusts a lake file whose footer carries the right fingerprint; bit rot
    behind an intact footer (same size, same mtime) is only found by reading the rows,
    which `verify` does and this repairs.
    """
    with writer_lock(paths.lock, lock_wait_seconds, doing="verify --repair"):
        with open_read_only(paths.warehouse) as con:
            try:
                run_id = last_run(con)
                ahead = lake_ahead(paths, con)
                if ahead is not None:
                    raise LakeAhead(f"{ahead}; nothing was changed")
                changes: LakeChanges = prepare_lake(con, paths.lake, run_id, None, check_content=True)
            except duckdb.Error as error:
                damaged = damage(paths.warehouse, error)
                if damaged is None:
                    raise
                raise damaged from None
        return changes.publish()


@dataclass
class Rebuilt:
    rows: dict[str, int]
    """Rows per table, as the lake gave them back."""
    kept_as: Path | None = None
    """Where the warehouse the rebuild replaced was moved, if it replaced one (named
    `.damaged-<time>` if it was damaged, else `.replaced-<time>`)."""
    wal_kept_as: Path | None = None
    """Where the write-ahead log beside the warehouse it replaced was moved, if there was one."""


def rebuild(paths: DataPaths, lock_wait_seconds: float = 0.0) -> Rebuilt:
    """Recreate `warehouse.duckdb` from the lake.

    Writes a fresh copy and renames it into place only once the data checks pass and it
    matches every lake file, so a failed rebuild leaves whatever was there before. A
    warehouse it replaces is moved aside (`warehouse.duckdb.damaged-<time>`, or `.replaced-<time>`
    if it read fine), never deleted: its rows did not come into the new one from it.
    """
    if not paths.root.is_dir():  # nothing to rebuild from, and the lock would create the folder
        raise NoWarehouseYet(f"no warehouse in {paths.root} yet: run `newswh ingest` first")
    with writer_lock(paths.lock, lock_wait_seconds, doing="rebuild"):
        return rebuild_locked(paths)


def rebuild_locked(paths: DataPaths) -> Rebuilt:
    """`rebuild`, for a caller that already holds the data folder's lock (an ingest that
    found a lake but no warehouse)."""
    if not lake_holds_data(paths.lake):
        if paths.warehouse.exists():
            raise RebuildError(f"{paths.lake} holds no data, so there is nothing to rebuild from; the warehouse was not changed")
        raise NoWarehouseYet(f"no warehouse in {paths.root} yet: run `newswh ingest` first")
    remove_left_behind(paths)  # a killed ingest's: we hold the lock, as an ingest does
    ahead = _warehouse_ahead(paths)
    if ahead is not None:
        raise RebuildError(ahead)
    with next_warehouse(paths, copy_current=False) as copy:
        con = copy.con
        rows = {dataset.table_name: _load_dataset(con, paths, dataset) for dataset in DATASETS}
        failures = failed_checks(con)
        if failures:
            raise RebuildError(
                f"the lake's tables do not fit together{_missing_files(paths.lake)} ({describe_failures(failures)}); "
                "the warehouse was not changed"
            )
        lost = rows_without_their_file(con)
        if lost:
            raise RebuildError(
                f"{lost[0]}: files of {paths.lake / _MANIFEST.folder} are missing; "
                "the warehouse was not changed (if warehouse.duckdb is intact, `newswh ingest` rewrites the lake from it)"
            )
        mismatches = [problem for dataset in DATASETS for problem in _lake_problems(con, paths.lake, dataset, Verification())]
        if mismatches:
            raise RebuildError(f"{mismatches[0]}; the warehouse was not changed")
        kept = commit(copy)
    shutil.rmtree(paths.staging, ignore_errors=True)
    return Rebuilt(rows, kept, copy.wal_kept_as)


def _warehouse_ahead(paths: DataPaths) -> str | None:
    """Why the warehouse must not be rebuilt from the lake, or None: a warehouse that reads
    fine and holds runs the lake was never published with (a run stopped, or whose lake
    sync failed, after its commit; a lake restored from an older backup). A rebuild would
    have thrown those runs away. A warehouse of another data folder's runs is replaced (and
    kept beside the new one): the lake is this folder's archive."""
    try:
        with open_read_only(paths.warehouse) as con:
            warehouse_run = last_run(con)
            only_lake, only_warehouse = _runs_apart(paths.lake, con)
    except (OSError, duckdb.Error, WarehouseDamaged, WarehouseBusy):  # a rebuild is what it needs, or says why not
        return None
    lake_run = published_run(paths.lake)
    if only_lake:  # another folder's warehouse, or an older one: the lake is the archive
        return None
    if only_warehouse:
        lacking = f"{_named(only_warehouse)}, which the lake does not"
    elif lake_run is not None and warehouse_run > lake_run:
        lacking = f"run {warehouse_run}, which the lake does not (it was published by run {lake_run})"
    else:
        return None
    return (
        f"{paths.warehouse} holds {lacking}: a run stopped after its commit, before its lake sync, or the lake was "
        "restored from an older backup. `newswh ingest` brings the lake up to date from the warehouse; a rebuild "
        "would lose those runs. The warehouse was not changed"
    )


def _missing_files(lake: Path) -> str:
    """Why a lake's tables may not fit together: the lake files its last sync published that
    are gone now (a person deleted one, say), or files it did not write there (a copy of
    one), said as a clause; "" if none is."""
    missing = published_but_missing(lake)
    if missing:
        return f", as {missing} is missing, though the last lake sync wrote it: put it back from a backup"
    changed = published_but_changed(lake)
    if changed.strays:
        return f", as {changed.strays} is there, though the last lake sync did not write it (a copy?): move it out of the lake"
    if changed.resized:
        return f", as {changed.resized} is not the size the last lake sync wrote (damaged or replaced): put it back from a backup"
    return ""


_MANIFEST = next(dataset for dataset in DATASETS if dataset.table_name == "source_files")


def rows_without_their_file(con: duckdb.DuckDBPyConnection) -> list[str]:
    """One problem per table whose rows name files the manifest lacks: it lost rows."""
    found = con.execute((SQL_DIR / "integrity" / "rows_without_their_file.sql").read_text(encoding="utf-8")).fetchall()
    problems = []
    for table in dict.fromkeys(table for table, _ in found):
        paths = [path for found_in, path in found if found_in == table]
        problems.append(f"source_files, the manifest, lacks the files of {len(paths):,} {table} rows (e.g. {paths[0]})")
    return problems


def _load_dataset(con: duckdb.DuckDBPyConnection, paths: DataPaths, dataset: Dataset) -> int:
    folder = paths.lake / dataset.folder
    # Only where a sync writes: another file under the folder (a data folder made inside
    # the lake by mistake) is not this lake's, and `verify` names it.
    files = sorted(path for path in folder.rglob("*.parquet") if in_lake_layout(folder, path)) if folder.exists() else []
    if not files and not dataset.partition_by:
        raise RebuildError(
            f"{folder / PART_FILE} is missing, so the lake cannot give back {dataset.table_name}; "
            "if warehouse.duckdb is intact, `newswh ingest` rewrites the lake from it"
        )
    exclude = f" exclude ({', '.join(dataset.partition_by)})" if dataset.partition_by else ""
    hive = "true" if dataset.partition_by else "false"
    rebuild_sql = SQL_DIR / "rebuild" / f"{dataset.name}.sql"
    for path in files:  # one at a time, so a damaged file is named, not just its dataset
        try:
            if rebuild_sql.exists():  # a dataset whose rows go to more than one table
                quoted = duckdb_path(path).replace("'", "''")
                con.execute(
                    f"create or replace temp view lake_file as "
                    f"select *{exclude} from read_parquet('{quoted}', hive_partitioning = {hive})"
                )
                con.execute(rebuild_sql.read_text(encoding="utf-8"))
            else:
                con.execute(
                    f"insert into {dataset.table_name} by name "
                    f"select *{exclude} from read_parquet(?, hive_partitioning = {hive})",
                    [duckdb_path(path)],
                )
        except duckdb.Error as error:
            if write_failed(error):  # the new warehouse's file, not the lake's
                raise RebuildError(f"{storage_failure(paths, error)}; the warehouse was not changed") from None
            raise RebuildError(
                f"{path} is unreadable ({first_line(error)}); if warehouse.duckdb is intact, `newswh ingest` "
                "rewrites it, otherwise re-ingest the raw files into a new data folder"
            ) from None
    return con.execute(f"select count(*) from {dataset.table_name}").fetchall()[0][0]
