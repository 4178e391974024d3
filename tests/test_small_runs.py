"""Small runs (issue 18): a run that reads a few files costs what those files touch.

Each test runs the real flow on a generated corpus, changes a few raw files, runs again,
and holds the result to the full check (`newswh verify`'s: every lake file against the
warehouse), besides what the shortcut under test must and must not do.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from newswh import lake
from newswh.integrity import verify
from newswh.lake import MONTH_PARTITIONS, NULL_PARTITION, PART_FILE, read_fingerprint
from newswh.settings import DataPaths
from newswh.synth import write_corpus
from tests.helpers import harness_api_env, query, run_ingest, truth

MONTH_DATASETS = ("articles", "related_items", "_warehouse/duplicate_captures", "_warehouse/capture_related")
_DATE_LINE = re.compile(rb"^(\w{3} \w{3} \d{1,2}, )(\d{4})( \d\d:\d\d:\d\d)$", re.M)


def _month_files(lake: Path, datasets: tuple[str, ...] = MONTH_DATASETS) -> dict[str, tuple[int, int]]:
    """Each partition file of the month-partitioned datasets, with its inode and mtime."""
    files = {}
    for dataset in datasets:
        for path in (lake / dataset).rglob(PART_FILE):
            stat = path.stat()
            files[str(path.relative_to(lake))] = (stat.st_ino, stat.st_mtime_ns)
    return files


def _month_of(relative: str) -> tuple[str, str]:
    year, month = (part.split("=", 1)[1] for part in Path(relative).parent.parts[-2:])
    return year, month


@pytest.fixture
def ingested(prefect_harness, tmp_path) -> tuple[Path, DataPaths]:
    """A corpus spread over six years (the generator's clock covers a few days per hundred
    pages, so each file's date line is moved on by 0-5 years), ingested once."""
    source = tmp_path / "raw"
    write_corpus(source, 120, noise=0.0, seed=18)
    for number, path in enumerate(sorted(source.glob("*.txt"))):
        _move_years(path, number % 6)
    paths = DataPaths(tmp_path / "data")
    run_ingest(source, paths.root)
    return source, paths


def _move_years(path: Path, years: int) -> None:
    """Move the page's date line on by `years` (the parser ignores the weekday)."""
    page, replaced = _DATE_LINE.subn(lambda match: match[1] + str(int(match[2]) + years).encode() + match[3], path.read_bytes(), count=1)
    assert replaced == 1, path
    path.write_bytes(page)


def _assert_lake_matches(paths: DataPaths) -> None:
    result = verify(paths)
    assert result.problems == [], result.problems


def test_a_run_rewrites_only_the_months_its_files_touch(ingested):
    source, paths = ingested
    before = _month_files(paths.lake)
    months = {_month_of(name) for name in before}
    assert len(months) > 3, months  # else the test would not tell a month's rewrite from the lake's
    # A second capture of an existing story: its month's articles (capture_count), duplicates
    # and capture_related change; no other month's.
    original = next(row["file"] for row in truth(source) if row["status"] == "article")
    (source / "again").mkdir()
    shutil.copyfile(source / original, source / "again" / original)
    [(year, month)] = query(
        paths.root, "select year(published_at), month(published_at) from captures where source_path like ?", [f"%/{original}"]
    )

    summary = run_ingest(source, paths.root)

    assert summary.counts["duplicates"] == 1
    after = _month_files(paths.lake)
    touched = {name for name in after if _month_of(name) == (str(year), str(month))}
    assert touched, after
    assert {name: after[name] for name in after.keys() - touched} == {name: before[name] for name in after.keys() - touched}
    assert all(after[name] != before.get(name) for name in touched if name.startswith("articles/"))
    _assert_lake_matches(paths)


def test_the_write_of_the_touched_months_takes_their_fingerprints_cut_into_pieces(ingested, monkeypatch):
    """The pieces of a page-text dataset's touched months are found once a run, by the
    fingerprints (on their own thread), and the write of the same months takes them."""
    from newswh import lake

    source, paths = ingested
    cut: list[tuple[str, str]] = []
    pieces = lake._pieces

    def counted(con, dataset, where="", params=None):
        cut.append((dataset.name, where))
        return pieces(con, dataset, where, params)

    monkeypatch.setattr(lake, "_pieces", counted)
    assert not list((paths.lake / "_warehouse" / "duplicate_captures").rglob("*.parquet"))
    original = next(row["file"] for row in truth(source) if row["status"] == "article")
    (source / "again").mkdir()
    shutil.copyfile(source / original, source / "again" / original)  # a duplicate: articles and duplicates change

    run_ingest(source, paths.root)

    assert sorted(name for name, _ in cut) == ["articles", "duplicate_captures"], cut
    assert dict(cut)["articles"]  # the touched months, not the whole dataset
    # The corpus had no duplicate yet, so no duplicate_captures file: that dataset is written
    # whole (its one row), fingerprinted as it is written.
    assert not dict(cut)["duplicate_captures"]
    _assert_lake_matches(paths)


def test_a_story_moved_to_another_month_lands_there_under_a_name_of_its_own(ingested):
    """A re-read file whose date moved holds another story (a story's id is its headline and
    date): its archived capture stays, in its month. Moved to a name of its own, the new
    story lands in its own month, though no other row of that run is in it, and the old one
    stays in the old month, its file missing."""
    source, paths = ingested
    original = next(row["file"] for row in truth(source) if row["status"] == "article")
    path = source / original
    [(old_year, old_month)] = query(
        paths.root, "select year(published_at), month(published_at) from captures where source_path = ?", [str(path.resolve())]
    )
    _move_years(path, 7)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # same size: the mtime says it changed

    summary = run_ingest(source, paths.root)

    assert (summary.counts["files_changed"], summary.counts["captures_kept"]) == (1, 1)
    old_partition = paths.lake / "articles" / f"year={old_year}" / f"month={old_month}" / PART_FILE
    assert str(path.resolve()) in pq.read_table(old_partition, columns=["source_path"])["source_path"].to_pylist()
    _assert_lake_matches(paths)

    moved = path.rename(path.with_name("moved-" + path.name))
    summary = run_ingest(source, paths.root)

    assert (summary.counts["files_new"], summary.counts["articles_written"], summary.counts["files_missing"]) == (1, 1, 1)
    assert query(paths.root, "select year(published_at) from articles where source_path = ?", [str(moved.resolve())]) == [
        (old_year + 7,)
    ]
    assert str(path.resolve()) in pq.read_table(old_partition, columns=["source_path"])["source_path"].to_pylist()
    _assert_lake_matches(paths)


def test_a_lake_changed_behind_the_runs_back_is_compared_whole(ingested):
    """The months shortcut trusts the lake only as the last run left it: a month file
    removed since is written again, though this run's files do not touch its month."""
    source, paths = ingested
    victim = sorted((paths.lake / "articles").rglob(PART_FILE))[0]
    victim.unlink()
    (source / "again").mkdir()
    write_corpus(source / "again", 1, noise=0.0, seed=99)

    run_ingest(source, paths.root)

    assert victim.exists()
    _assert_lake_matches(paths)


def test_a_dataset_deleted_whole_is_written_again_with_true_fingerprints(ingested, monkeypatch):
    """A dataset whose folder holds no lake file is written whole without fingerprinting
    it first (as on a first run): each file's footer then holds the fingerprint summed as
    its rows were written, which must be the warehouse's, or verify, and every later run,
    would take it for stale."""
    from newswh import lake

    source, paths = ingested
    before = {path.relative_to(paths.lake): read_fingerprint(path) for path in (paths.lake / "articles").rglob(PART_FILE)}
    shutil.rmtree(paths.lake / "articles")
    fingerprinted: list[str] = []
    expected = lake._expected_or_counted
    monkeypatch.setattr(
        lake, "_expected_or_counted", lambda con, root, dataset, *rest: fingerprinted.append(dataset.name) or expected(con, root, dataset, *rest)
    )
    (source / "again").mkdir()
    write_corpus(source / "again", 1, noise=0.0, seed=99)

    run_ingest(source, paths.root)

    assert "articles" not in fingerprinted and "related_items" in fingerprinted
    after = {path.relative_to(paths.lake): read_fingerprint(path) for path in (paths.lake / "articles").rglob(PART_FILE)}
    assert before.keys() <= after.keys()
    # Every month but the new file's has the rows it had, and the fingerprint it was written with before.
    assert len({name for name in after if after[name] != before.get(name)}) == 1
    _assert_lake_matches(paths)


def test_a_run_writes_the_manifest_files_of_the_files_it_read_and_no_other(ingested):
    """The manifest's bucket is the run that first saw a file: a run that adds files writes
    its own bucket, plus the bucket of each older file it read again. By a hash of the path,
    a run of a thousand files rewrote all 64 files, the whole manifest."""
    source, paths = ingested
    manifest = paths.lake / "_warehouse" / "source_files"
    before = {path: read_fingerprint(path) for path in manifest.rglob(PART_FILE)}
    [(first_run,)] = query(paths.root, "select max(run_id) from ingest_runs")
    assert len(before) == 1, before  # the fixture's one run
    write_corpus(source / "more", 40, noise=0.0, seed=41)

    run_ingest(source, paths.root)

    after = {path: read_fingerprint(path) for path in manifest.rglob(PART_FILE)}
    assert after.keys() - before.keys() == {manifest / f"bucket={(first_run + 1) % 64}" / PART_FILE}
    assert {path: after[path] for path in before} == before
    written_second = {path: after[path] for path in after.keys() - before.keys()}
    # A file of the first run changed: the run rewrites the first run's bucket, not its own.
    changed = min(source.glob("*.txt"))
    changed.write_bytes(changed.read_bytes() + b"\n")

    run_ingest(source, paths.root)

    final = {path: read_fingerprint(path) for path in manifest.rglob(PART_FILE)}
    assert {path: final[path] for path in written_second} == written_second
    assert all(final[path] != before[path] for path in before)
    _assert_lake_matches(paths)


def test_month_partitions_are_year_and_month():
    """touched_months answers in the lake's publication-month partitions; a dataset
    partitioned otherwise would need its own query."""
    from newswh.lake import DATASETS

    by_month = [dataset for dataset in DATASETS if dataset.partition_by == MONTH_PARTITIONS]
    assert {dataset.folder for dataset in by_month if dataset.months_are_publication} == set(MONTH_DATASETS)
    others = [dataset for dataset in DATASETS if dataset.partition_by and dataset not in by_month]
    assert [dataset.folder for dataset in others] == ["_warehouse/source_files"]  # by the run that first saw the file


@pytest.mark.parametrize("years", [7, -7], ids=["after every link", "before every link"])
def test_a_run_reads_and_rewrites_the_news_items_months_of_the_stories_it_links_and_no_other(ingested, monkeypatch, years):
    """news_items is partitioned by the month a story was first linked: a new article
    changes the rows of the stories it links, in whatever month they were first linked;
    published before them all, it moves those rows to its own month, and the months they
    leave change too. Only those months are fingerprinted and rewritten."""
    source, paths = ingested
    rows = "select coalesce(year(first_linked_at)::varchar, ?), month(first_linked_at)::varchar, * from news_items"
    before_rows = set(query(paths.root, rows, [NULL_PARTITION]))
    before = _month_files(paths.lake, ("news_items",))
    [(linking,)] = query(
        paths.root,
        "select any_value(a.source_path) from related_items join articles as a using (article_id) "
        "group by article_id order by count(*) desc, article_id limit 1",
    )
    (source / "again").mkdir()
    added = source / "again" / Path(linking).name
    shutil.copyfile(linking, added)
    _move_years(added, years)  # a new article, published after (or before) every story it links was first linked
    read = []
    expected_or_counted = lake._expected_or_counted
    monkeypatch.setattr(
        lake, "_expected_or_counted",
        lambda con, root, dataset, only=None, memo=None: (
            dataset.name == "news_items" and read.append(only), expected_or_counted(con, root, dataset, only, memo)
        )[1],
    )

    run_ingest(source, paths.root)

    changed = before_rows ^ set(query(paths.root, rows, [NULL_PARTITION]))
    assert changed  # the new article links stories
    months = {(year, month or NULL_PARTITION) for year, month, *_ in changed}
    after = _month_files(paths.lake, ("news_items",))
    kept = {name for name in after if _month_of(name) not in months}
    assert kept, months  # else the test would not tell a month's rewrite from the dataset's
    assert len(months) > 1, months  # months before the article's own, or those the rows left
    assert {name: after[name] for name in kept} == {name: before[name] for name in kept}
    assert all(after[name] != before.get(name) for name in after.keys() - kept)
    [only] = read
    assert only is not None
    # The months were read as ranges of each dataset's month column: its year and month must be the partition's.
    for dataset in lake.DATASETS:
        if dataset.month_column:
            column = dataset.month_column
            off = f"select count(*) from ({dataset.query}) where year is distinct from year({column}) or month is distinct from month({column})"
            assert query(paths.root, off) == [(0,)], dataset.name
        assert not dataset.page_text or dataset.month_column == "published_at", dataset.name
    assert {(NULL_PARTITION if year is None else str(year), NULL_PARTITION if month is None else str(month)) for year, month in only} == months
    _assert_lake_matches(paths)


def test_a_lake_file_that_fails_while_the_next_dataset_is_read_fails_the_run(ingested):
    """Lake files finish writing while the next dataset is fingerprinted: an error in one
    still fails the run, and nothing is committed, in the warehouse or in the lake."""
    from newswh.ingest import ingest
    from tests.helpers import table_fingerprints

    source, paths = ingested
    write_corpus(source / "more", 3, noise=0.0, seed=77)
    before = table_fingerprints(paths.root)
    lake_before = {path: path.stat().st_mtime_ns for path in paths.lake.rglob("*.parquet")}
    [(run_id,)] = query(paths.root, "select max(run_id) + 1 from ingest_runs")
    for bucket in range(64):  # where the run writes source_files' new files: opening them fails
        squatter = paths.lake / "_warehouse" / "source_files" / f"bucket={bucket}" / f".{PART_FILE}.run-{run_id}.tmp"
        squatter.mkdir(parents=True, exist_ok=True)

    state = ingest(source=str(source), data=str(paths.root), return_state=True)

    assert not state.is_completed()
    assert "the warehouse is as it was before this run" in state.message
    assert table_fingerprints(paths.root) == before
    assert {path: path.stat().st_mtime_ns for path in paths.lake.rglob("*.parquet")} == lake_before


def _outlets_comment(paths: DataPaths) -> str:
    return query(paths.root, "select comment from duckdb_views() where view_name = 'outlets'")[0][0]


def test_the_schema_is_applied_again_only_when_its_sql_changed(ingested, tmp_path, monkeypatch):
    """A run records the digest of the sql/ it applied and skips applying it again while
    that digest holds; a changed file is applied by the next run."""
    from newswh import warehouse

    def state() -> warehouse.SchemaState:
        with duckdb.connect(str(paths.warehouse), read_only=True) as con:
            return warehouse.schema_state(con)

    source, paths = ingested
    first = state()
    assert first.current and first.recorded == first.digest
    with duckdb.connect(str(paths.warehouse)) as con:  # what a re-application would undo
        con.execute("comment on view outlets is 'set by hand'")
    write_corpus(source / "more", 2, noise=0.0, seed=31)
    run_ingest(source, paths.root)
    assert _outlets_comment(paths) == "set by hand"

    sql = tmp_path / "sql"
    shutil.copytree(warehouse.SQL_DIR, sql)
    view = sql / "views" / "70_outlets.sql"
    text, replaced = re.subn(r"comment on view outlets is '.*?';", "comment on view outlets is 'changed in sql';", view.read_text())
    assert replaced == 1
    view.write_text(text)
    monkeypatch.setattr(warehouse, "SQL_DIR", sql)
    run_ingest(source, paths.root)  # reads no file: only the changed sql/ changes the warehouse
    assert _outlets_comment(paths) == "changed in sql"
    assert state().current and state().digest != first.digest
    _assert_lake_matches(paths)


def test_the_schema_is_applied_in_one_transaction(tmp_path, monkeypatch):
    """Its files commit together (one sync of the write-ahead log, not one per statement):
    a file that fails leaves none of the files before it applied, and the error names it."""
    from newswh import warehouse

    sql = tmp_path / "sql"
    shutil.copytree(warehouse.SQL_DIR, sql)
    last_view = warehouse.sql_files(sql / "views")[-1]
    last_view.write_text(last_view.read_text() + "\nselect * from no_such_table;\n")
    monkeypatch.setattr(warehouse, "SQL_DIR", sql)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        with pytest.raises(RuntimeError, match=rf"sql/views/{last_view.name}: .*no_such_table"):
            warehouse.apply_schema(con)
        assert con.execute("select count(*) from duckdb_tables() where not temporary").fetchall() == [(0,)]
        assert not warehouse.schema_state(con).current
        last_view.write_text(last_view.read_text().replace("select * from no_such_table;", ""))
        assert warehouse.apply_schema(con).ran
        assert warehouse.schema_state(con).current
        assert con.execute("select count(*) from duckdb_tables() where table_name = 'captures'").fetchall() == [(1,)]


def test_a_view_dropped_by_hand_comes_back_though_the_sql_is_unchanged(ingested):
    source, paths = ingested
    with duckdb.connect(str(paths.warehouse)) as con:
        con.execute("drop view outlets")
    run_ingest(source, paths.root)
    assert _outlets_comment(paths).startswith("The outlets")


def _second_capture_of_a_story(source: Path, paths: DataPaths, skip: int = 0) -> tuple[str, str]:
    """Copy a page of a story with related items into a new folder, so that the next run
    touches that story (a duplicate capture); return the story and the original's path."""
    articles = [row["file"] for row in truth(source) if row["status"] == "article"]
    original = next(
        path for name in articles[skip:]
        for path in [str((source / name).resolve())]
        if query(paths.root, "select related_count > 0 from captures where source_path = ?", [path]) == [(True,)]
    )
    (source / "again").mkdir(exist_ok=True)
    shutil.copyfile(original, source / "again" / Path(original).name)
    [(story,)] = query(paths.root, "select article_id from captures where source_path = ?", [original])
    return story, original


def test_a_load_that_breaks_a_story_the_run_touched_fails_the_small_run(ingested, tmp_path, monkeypatch):
    """The checks of a small run look at the stories it touched: a load that doubles a
    touched story's related items is caught, and nothing is committed."""
    from newswh import load
    from newswh.ingest import ingest
    from tests.helpers import table_fingerprints

    source, paths = ingested
    _second_capture_of_a_story(source, paths)
    sql = tmp_path / "sql"
    shutil.copytree(load.SQL_DIR, sql)
    related = sql / "load" / "40_related_items.sql"
    insert = re.search(r"insert into related_items .*?;\n", related.read_text(), re.S)[0]
    related.write_text(insert + related.read_text())
    monkeypatch.setattr(load, "SQL_DIR", sql)
    before = table_fingerprints(paths.root)

    state = ingest(source=str(source), data=str(paths.root), return_state=True)

    assert not state.is_completed()
    assert "related_items_match_best_capture" in state.message
    assert table_fingerprints(paths.root) == before


def test_a_small_run_checks_the_stories_it_touched_and_verify_checks_all(ingested):
    """A row planted behind the runs' back (a capture stored twice) in a story the run does
    not touch is not looked at by its checks (they trust the last commit for what the run
    cannot have changed), and `newswh verify` finds it; in a story the next run touches, it
    fails that run."""
    from newswh.ingest import ingest

    source, paths = ingested

    def plant(path: str) -> None:
        with duckdb.connect(str(paths.warehouse)) as con:
            con.execute("insert into captures select * from captures where source_path = ?", [path])

    touched, touched_path = _second_capture_of_a_story(source, paths)
    [(untouched_path,)] = query(paths.root, "select min(source_path) from captures where article_id <> ?", [touched])
    plant(untouched_path)
    run_ingest(source, paths.root)
    assert any(problem.startswith("data check keys_are_unique fails") for problem in verify(paths).problems)

    second, touched_path = _second_capture_of_a_story(source, paths, skip=10)
    assert second not in query(paths.root, "select article_id from captures where source_path = ?", [untouched_path])[0]
    plant(touched_path)
    state = ingest(source=str(source), data=str(paths.root), return_state=True)
    assert not state.is_completed() and "keys_are_unique" in state.message, state.message
    assert touched_path in state.message and untouched_path not in state.message


def test_a_one_shot_ingest_sends_no_heartbeats_unless_asked(monkeypatch):
    """`newswh ingest` runs its flow without heartbeats (stopping their thread costs up to
    a second at exit) unless PREFECT_FLOWS_HEARTBEAT_FREQUENCY says otherwise."""
    from prefect.flow_engine import FlowRunEngine
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, get_current_settings, temporary_settings

    from newswh.cli import one_shot_flow_settings
    from newswh.ingest import ingest

    engine = FlowRunEngine(flow=ingest)  # what decides whether a run starts the heartbeat thread
    assert engine.heartbeat_seconds is not None  # Prefect's default: heartbeats on
    before = get_current_settings()
    with one_shot_flow_settings():
        assert engine.heartbeat_seconds is None
        during = get_current_settings()
        assert during.api.url == before.api.url and during.flows.default_retries == before.flows.default_retries
    assert engine.heartbeat_seconds is not None and get_current_settings() is before
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: 60}), one_shot_flow_settings():
        assert engine.heartbeat_seconds == 60
    monkeypatch.setenv("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "90")
    with temporary_settings(), one_shot_flow_settings():  # settings read again, as a new process reads them
        assert engine.heartbeat_seconds == 90


def test_after_a_change_to_sql_the_next_run_checks_every_row(ingested, tmp_path, monkeypatch):
    """The checks of a run trust the last commit only if it was checked with the same
    sql/: with a check changed (here only its comment), a run touching another story still
    finds a row planted in a story it does not touch."""
    from newswh import warehouse
    from newswh.ingest import ingest

    source, paths = ingested
    touched, _ = _second_capture_of_a_story(source, paths)
    [(untouched_path,)] = query(paths.root, "select min(source_path) from captures where article_id <> ?", [touched])
    with duckdb.connect(str(paths.warehouse)) as con:
        con.execute("insert into captures select * from captures where source_path = ?", [untouched_path])
    sql = tmp_path / "sql"
    shutil.copytree(warehouse.SQL_DIR, sql)
    check = sql / "checks" / "keys_are_unique.sql"
    check.write_text("-- reworded\n" + check.read_text())
    monkeypatch.setattr(warehouse, "SQL_DIR", sql)

    state = ingest(source=str(source), data=str(paths.root), return_state=True)

    assert not state.is_completed() and untouched_path in state.message, state.message


FROZEN_AT_EXIT = """
import atexit, gc, sys
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0))
from newswh.cli import main
sys.argv = ["newswh", "--version"]
main()
"""


def test_the_cli_leaves_its_objects_out_of_the_collections_at_shutdown():
    """The interpreter's shutdown collected garbage over every object Prefect and DuckDB
    left, 0.25 s of each run; the CLI freezes them as its last exit handler."""
    ran = subprocess.run([sys.executable, "-c", FROZEN_AT_EXIT], capture_output=True, text=True)

    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[-1] == "frozen at exit: True"


def test_json_parameters_go_to_the_api_as_they_are():
    from newswh.ingest import ingest

    parameters = {"source": "/raw", "workers": None, "max_bytes": 5, "lock_wait_seconds": 1.5, "storage_options": {"anon": True}}
    assert ingest.serialize_parameters(parameters) == parameters
    assert ingest.serialize_parameters({"source": Path("/raw")}) == {"source": "/raw"}  # Prefect's encoder


AS_THE_CONSOLE_SCRIPT_RUNS = """
import atexit, gc, sys
loading = []  # a collection once the command began loading (newswh.cli) but before modules_loaded froze them
gc.callbacks.append(
    lambda phase, info: phase == "start" and loading.append("newswh.cli" in sys.modules and gc.get_freeze_count() == 0)
)
def report():
    print("fastapi imported:", "fastapi" in sys.modules)
    print("collections while modules loaded:", sum(loading), "of", len(loading))
    print("collector on:", gc.isenabled(), "with Prefect frozen:", gc.get_freeze_count() > 50_000)
atexit.register(report)
from newswh.command import main
sys.argv = ["newswh", "ingest", *sys.argv[1:], "--quiet"]
main()
"""


def test_a_cli_run_imports_no_fastapi_collects_nothing_while_loading_and_the_api_has_its_parameters(
    prefect_harness, corpus, tmp_path
):
    """Prefect encodes parameters with FastAPI's encoder (0.14 s to import); the ingest's
    are JSON already, and reach the API all the same. The cycle collector stays off while
    the modules load (about 350 collections, 0.1–0.2 s, where it ran), and is on for the run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.sorting import FlowRunSort

    data = tmp_path / "data"
    ran = subprocess.run(
        [sys.executable, "-c", AS_THE_CONSOLE_SCRIPT_RUNS, str(corpus), "--data", str(data), "--workers", "1"],
        capture_output=True, text=True, env={**os.environ, **harness_api_env()},
    )

    assert ran.returncode == 0, ran.stderr
    fastapi, loading, collector = ran.stdout.splitlines()[-3:]
    assert fastapi == "fastapi imported: False"
    assert loading.startswith("collections while modules loaded: 0 of ") and not loading.endswith(" of 0")
    assert collector == "collector on: True with Prefect frozen: True"
    with get_client(sync_client=True) as client:  # the run's server has the other worker's runs too
        runs = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=50)
    [run] = [run for run in runs if run.parameters.get("data") == str(data)]
    assert run.parameters["source"] == str(corpus)
    assert run.parameters["workers"] == 1 and run.parameters["storage_options"] is None


def test_a_temporary_server_is_handed_over_while_it_starts_and_used_once_ready():
    """`newswh ingest` without a server imports Prefect while its temporary server starts up
    (about a second of the 4-5 s that server takes): the URL comes at once, `ready` waits."""
    from newswh.server import starting_server

    with starting_server() as server:
        assert server.url.startswith("http://127.0.0.1:") and server.process.poll() is None
        assert server.ready() == server.url
        with urllib.request.urlopen(f"{server.url}/health", timeout=5) as response:
            assert response.status == 200
    assert server.process.poll() is not None  # stopped with the block
