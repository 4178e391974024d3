"""The ingest flow end to end: real Prefect, a real DuckDB file, the real Parquet lake."""

import os
import shutil
import threading
import time
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from newswh.ingest import RunSummary
from newswh.locking import WriterLock
from newswh.records import PARSER_VERSION
from newswh.settings import DataPaths
from tests.conftest import SEED
from tests.helpers import IngestedFolders, articles_as_a_table, as_built_before_the_digest, query, run_ingest, table_fingerprints, truth

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def source(tmp_path, corpus):
    folder = tmp_path / "source"
    shutil.copytree(corpus, folder, ignore=shutil.ignore_patterns("truth.jsonl"))
    return folder


@pytest.fixture(scope="module")
def first_run(corpus, tmp_path_factory) -> tuple[IngestedFolders, RunSummary]:
    """Made once for the module: the corpus ingested at default settings, and the run's summary."""
    folder = tmp_path_factory.mktemp("first-run")
    source, data = folder / "source", folder / "data"
    shutil.copytree(corpus, source, ignore=shutil.ignore_patterns("truth.jsonl"))
    summary = run_ingest(source, data)
    return IngestedFolders.keep(source, data), summary


@pytest.fixture
def ingested(first_run, tmp_path) -> tuple[Path, Path]:
    """The source and a data folder after one ingest of it, both the test's own to change."""
    folders, _ = first_run
    return folders.for_test(tmp_path)


def test_counts_match_the_corpus_ground_truth(source, corpus, tmp_path):
    expected = truth(corpus)
    summary = run_ingest(source, tmp_path / "data", workers=2, batch_files=150)
    articles = [t for t in expected if t["status"] == "article"]
    rejects = Counter(t["reason"] for t in expected if t["status"] == "rejected")
    stories = {t["story"] for t in articles}
    assert summary.counts["files_seen"] == summary.counts["files_new"] == len(expected)
    assert summary.counts["articles_written"] == len(stories)
    assert summary.counts["duplicates"] == len(articles) - len(stories)
    assert summary.counts["rejected"] == sum(rejects.values())
    data = tmp_path / "data"
    assert query(data, "select count(*) from articles") == [(len(stories),)]
    assert dict(query(data, "select reason, count(*) from rejects group by reason")) == rejects
    titles = {row[0] for row in query(data, "select title from articles")}
    assert titles == {t["title"] for t in articles}
    assert summary.cpu_seconds.keys() == summary.seconds.keys()  # each stage's CPU beside its time (bench/run.py)
    assert all(value >= 0 for value in summary.cpu_seconds.values())
    stages = sum(value for stage, value in summary.cpu_seconds.items() if stage != "total")
    assert summary.cpu_seconds["total"] >= stages - 1e-9  # the stages are parts of the run; floats may round


def test_every_file_is_accounted_for_exactly_once(ingested):
    source, data = ingested
    on_disk = sorted(str(path) for path in source.resolve().glob("*.txt"))
    manifest = query(
        data,
        "select s.source_path, s.outcome, (c.source_path is not null)::int + (r.source_path is not null)::int "
        "from source_files s left join captures c using (source_path) left join rejects r using (source_path) "
        "order by 1",
    )
    assert [row[0] for row in manifest] == on_disk
    assert all(row[2] == 1 for row in manifest)


def test_columns_have_real_types(ingested):
    _, data = ingested
    types = dict(query(data, "select column_name, data_type from duckdb_columns() where table_name = 'articles'"))
    assert types["published_at"] == "TIMESTAMP"
    assert types["word_count"] == "INTEGER"
    related = dict(query(data, "select column_name, data_type from duckdb_columns() where table_name = 'news_items'"))
    assert (related["news_id"], related["pic_date"], related["pic_uploaded_at"]) == ("BIGINT", "DATE", "TIMESTAMP")


def test_lake_equals_the_tables_row_for_row(ingested):
    _, data = ingested
    lake = DataPaths(data).lake
    for name, key in (("articles", "article_id"), ("related_items", "article_id, position"), ("news_items", "news_id"), ("rejects", "source_path")):
        table_rows = query(data, f"select * from {name} order by {key}")
        hive = "hive_partitioning = true" if name in ("articles", "related_items") else "hive_partitioning = false"
        lake_rows = query(
            data,
            f"select * exclude (year, month) from read_parquet(?, {hive}) order by {key}"
            if "true" in hive
            else f"select * from read_parquet(?, {hive}) order by {key}",
            [str(lake / name / "**" / "*.parquet")],
        )
        assert lake_rows == table_rows, name
        # A dashboard reading with pyarrow gets the table itself: same rows, names and types, no casts.
        arrow = ds.dataset(lake / name, format="parquet", partitioning="hive").to_table()
        if "year" in arrow.column_names:
            assert pa.types.is_integer(arrow.schema.field("year").type), name
            arrow = arrow.drop_columns(["year", "month"])
        sort_keys = [(column.strip(), "ascending") for column in key.split(",")]
        with duckdb.connect(str(DataPaths(data).warehouse), read_only=True) as con:
            expected = con.sql(f"select * from {name}").to_arrow_table()
        assert arrow.sort_by(sort_keys).equals(expected.sort_by(sort_keys)), name
    months = query(data, "select distinct year, month from read_parquet(?, hive_partitioning = true) order by all", [str(lake / "articles" / "**" / "*.parquet")])
    assert months == query(data, "select distinct year(published_at), month(published_at) from articles order by all")


def test_rerun_reads_nothing_and_changes_nothing(ingested):
    source, data = ingested
    before = table_fingerprints(data)
    lake_files = _dashboard_files(data)
    for path in source.glob("*.txt"):  # same size and mtime, other bytes: only a read would notice
        stat = path.stat()
        path.write_bytes(bytes(stat.st_size))
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    summary = run_ingest(source, data)
    assert summary.counts["files_unchanged"] == summary.counts["files_seen"]
    assert summary.counts["files_new"] == summary.counts["files_changed"] == 0
    assert summary.counts["rejected"] == summary.counts["articles_written"] == 0
    assert table_fingerprints(data) == before
    assert _dashboard_files(data) == lake_files
    assert query(data, "select count(*), min(is_conserved::int) from ingest_runs") == [(2, 1)]


def _dashboard_files(data):
    """Each public lake file and when it was written (the run history under _warehouse/ grows by design)."""
    lake = DataPaths(data).lake
    return {path: path.stat().st_mtime_ns for path in lake.rglob("*.parquet") if "_warehouse" not in path.parts}


def test_changed_and_new_files_are_picked_up(ingested):
    source, data = ingested
    rows = query(
        data,
        "select source_path, body from articles where capture_count = 1 and source_encoding = 'utf-8' order by 1",
    )
    # a page whose last paragraph is in its bytes as it is in the body (no entities, no CRLF)
    path, body = next((path, body) for path, body in rows if (Path(path).read_bytes().count(body.split("\n\n")[-1].encode()) == 1))
    target = source / os.path.basename(path)
    last = body.split("\n\n")[-1].encode()
    # more of the same story (its headline and date make its id): it replaces the capture
    target.write_bytes(target.read_bytes().replace(last, last + b"\n\nA paragraph the site added later."))
    os.utime(target, ns=(1, 1))
    (source / "zz_new.txt").write_bytes(b"Fresh Story\n\nMon Jun 10, 2013 09:00:00\n\nSomething happened today.\n")
    summary = run_ingest(source, data)
    assert (summary.counts["files_new"], summary.counts["files_changed"], summary.counts["articles_written"]) == (1, 1, 2)
    assert summary.counts["rejected"] == summary.counts["captures_kept"] == 0
    [(new_body,)] = query(data, "select body from articles where source_path = ?", [path])
    assert new_body.endswith("A paragraph the site added later.")
    assert "Fresh Story" in {row[0] for row in query(data, "select title from articles")}


def test_touched_file_with_same_content_changes_no_row(ingested):
    source, data = ingested
    before = table_fingerprints(data)
    target = sorted(source.glob("*.txt"))[5]
    os.utime(target, ns=(10**18, 10**18))
    summary = run_ingest(source, data)
    assert summary.counts["files_unchanged"] == summary.counts["files_seen"]
    after = table_fingerprints(data)
    assert {k: v for k, v in after.items() if k != "source_files"} == {k: v for k, v in before.items() if k != "source_files"}
    assert query(data, "select mtime_ns from source_files where source_path = ?", [str(target.resolve())]) == [(10**18,)]


def test_same_story_in_two_files_is_one_article(tmp_path):
    from tests.conftest import PAGES

    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(PAGES / "capture_http.txt", source / "a_http.txt")
    shutil.copy(PAGES / "capture_https.txt", source / "b_https.txt")
    summary = run_ingest(source, tmp_path / "data")
    assert (summary.counts["articles_written"], summary.counts["duplicates"]) == (1, 1)
    [(source_path, count)] = query(tmp_path / "data", "select source_path, capture_count from articles")
    assert count == 2 and source_path.endswith("b_https.txt")  # two related items beat one
    assert query(tmp_path / "data", "select news_id from related_items order by position") == [(1757766,), (1757941,)]


def test_vanished_file_keeps_its_data(ingested):
    source, data = ingested
    before = table_fingerprints(data)
    gone = sorted(source.glob("*.txt"))[3]
    gone.unlink()
    summary = run_ingest(source, data)
    assert summary.counts["files_missing"] == 1
    presence = "select is_present, missing_since_run_id from source_files where source_path = ?"
    assert query(data, presence, [str(gone.resolve())]) == [(False, summary.run_id)]
    after = table_fingerprints(data)
    assert {k: v for k, v in after.items() if k != "source_files"} == {k: v for k, v in before.items() if k != "source_files"}
    run_ingest(source, data)  # still missing: still missing since the same run
    assert query(data, presence, [str(gone.resolve())]) == [(False, summary.run_id)]
    shutil.copy(sorted(source.glob("*.txt"))[0], gone)  # back, with other content
    back = run_ingest(source, data)
    assert back.counts["files_missing"] == 0
    assert query(data, presence, [str(gone.resolve())]) == [(True, None)]
    assert query(data, "select count(*) from source_files where not is_present or missing_since_run_id is not null") == [(0,)]


def test_a_warehouse_from_before_missing_since_run_id_is_migrated(ingested):
    source, data = ingested
    with duckdb.connect(str(DataPaths(data).warehouse)) as con:  # the old shape of the manifest
        con.execute("alter table source_files drop column missing_since_run_id")
        con.execute("alter table source_files add column last_seen_run_id bigint not null default 1")
        as_built_before_the_digest(con)
    (source / "new.txt").write_bytes((sorted(source.glob("*.txt"))[0]).read_bytes() + b"\n")
    summary = run_ingest(source, data)
    assert summary.counts["files_new"] == 1
    columns = [row[0] for row in query(data, "select column_name from information_schema.columns where table_name = 'source_files'")]
    assert "missing_since_run_id" in columns and "last_seen_run_id" not in columns


def test_a_warehouse_from_parser_1_0_is_read_again_and_gets_the_new_columns(ingested):
    """Issue 15: parser 1.1.0 adds language, site and dateline; files read by 1.0.0 are re-read."""
    source, data = ingested
    fresh_columns = _columns(data, "articles"), _columns(data, "captures")
    with duckdb.connect(str(DataPaths(data).warehouse)) as con:  # the shape parser 1.0.0 left behind
        articles_as_a_table(con)
        for table in ("captures", "articles"):
            for column in ("language", "site", "dateline"):
                con.execute(f"alter table {table} drop column {column}")
        for table in ("source_files", "captures", "articles", "rejects"):
            con.execute(f"update {table} set parser_version = '1.0.0'")
    summary = run_ingest(source, data)
    assert summary.counts["files_changed"] == summary.counts["files_seen"] == len(list(source.glob("*.txt")))
    assert (_columns(data, "articles"), _columns(data, "captures")) == fresh_columns
    assert query(data, "select distinct parser_version, language, site from articles") == [(PARSER_VERSION, "en", "en.alalam.ir")]
    assert query(data, "select distinct parser_version from source_files") == [(PARSER_VERSION,)]
    lake = ds.dataset(DataPaths(data).lake / "articles", format="parquet", partitioning="hive")
    assert set(lake.to_table(columns=["language"]).column("language").to_pylist()) == {"en"}


def _columns(data, table):
    return query(data, "select column_name from information_schema.columns where table_name = ? order by ordinal_position", [table])


def test_a_busy_data_folder_is_retried_with_backoff(source, tmp_path):
    data = tmp_path / "data"
    lock = WriterLock.acquire(DataPaths(data).lock)
    releaser = threading.Timer(2.0, lock.release)  # the other writer finishes
    releaser.start()
    try:
        started = time.monotonic()
        summary = run_ingest(source, data, busy_retries=3)
    finally:
        releaser.cancel()
    assert summary.counts["files_new"] == len(list(source.rglob("*.txt")))
    assert time.monotonic() - started >= 2.0


def test_an_unreadable_file_is_tried_again_next_run(tmp_path):
    source, data = tmp_path / "raw", tmp_path / "data"
    source.mkdir()
    page = source / "page.txt"
    page.write_bytes(SEED.read_bytes())
    outside = tmp_path / "outside.txt"
    outside.write_bytes(SEED.read_bytes())
    (source / "escape.txt").symlink_to(outside)
    # What a read failure leaves in the manifest: an `unreadable` reject with the file's size and mtime.
    stat = page.stat()
    run_ingest(source, data)
    with duckdb.connect(str(DataPaths(data).warehouse)) as con:
        con.execute("delete from best_captures; delete from related_items; delete from news_items; delete from captures; delete from capture_related")
        con.execute(
            "update source_files set outcome = 'rejected', article_id = null, reject_reason = 'unreadable', content_hash = null "
            "where source_path = ?", [str(page.resolve())],
        )
        con.execute("insert into rejects values (?, null, ?, 'unreadable', 'cannot read the file: vanished', '1.0.0')", [str(page.resolve()), stat.st_size])
    summary = run_ingest(source, data)
    assert summary.counts["files_changed"] == 1  # the page, read again; the symlink stays unchanged
    assert query(data, "select reason from rejects order by reason") == [("unreadable",)]  # only the symlink
    assert query(data, "select count(*) from articles") == [(1,)]


def test_the_summary_shows_whether_every_file_is_accounted_for(first_run):
    from newswh.ingest import conservation_line

    counts = first_run[1].counts
    line = conservation_line(counts)
    assert line.endswith(": every file accounted for")
    assert line.startswith(f"{counts['files_seen']:,} files seen = 0 unchanged + {counts['articles_written']:,} articles written")
    assert conservation_line({**counts, "rejected": counts["rejected"] - 1}).endswith("DOES NOT ADD UP")


def test_a_data_folder_pointed_at_another_source_says_so(tmp_path, caplog):
    """Every file of the first source is then counted missing (its data kept): right, but a
    run that said nothing about it looked like the loss of the whole corpus."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    shutil.copy(SEED, first / SEED.name)
    shutil.copy(SEED, second / "other.txt")
    data = tmp_path / "data"
    run_ingest(first, data)
    caplog.clear()
    run_ingest(first, data)
    assert "the last run read" not in caplog.text  # the same source: nothing to say
    summary = run_ingest(second, data)
    assert summary.counts["files_missing"] == 1
    assert f"the last run read {first.resolve()}, this one reads {second.resolve()}" in caplog.text
