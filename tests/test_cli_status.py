"""`newswh status`: what a person checks to see that scheduled runs keep up."""

from __future__ import annotations

import os
import shutil
import subprocess

from newswh.dictionary import EXAMPLE_CORPUS
from tests.helpers import NEWSWH, newswh, query


def test_status_shows_runs_counts_newest_article_and_waiting_files(example_data, tmp_path):
    result = newswh("status", "--data", str(example_data), env={"COLUMNS": "120"})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "last runs" in out
    assert "2015-11-20 15:20:59  Russia Deputy FM: 160 Russians Fighting for ISIS Killed in Syria" in out
    assert f"waiting in {EXAMPLE_CORPUS}: 0 new, 0 changed" in out
    cells = [[cell.strip() for cell in line.split("│")[1:3]] for line in out.splitlines() if line.count("│") == 3]
    rows = {table: count for table, count in cells}
    assert rows == {
        "articles": "7", "related_items": "23", "news_items": "19", "rejects": "3", "source_files": "11", "ingest_runs": "1"
    }

    elsewhere = tmp_path / "raw"
    shutil.copytree(EXAMPLE_CORPUS, elsewhere)
    (elsewhere / "new.txt").write_text("New Page\n\nMon Nov 23, 2015 10:00:00\n\nBody.\n", encoding="utf-8")
    waiting = newswh("status", "--data", str(example_data), "--source", str(elsewhere), env={"COLUMNS": "120"})
    assert f"waiting in {elsewhere}: 12 new, 0 changed" in waiting.stdout


def test_status_counts_waiting_files_when_it_lists_no_runs_and_names_a_source_it_cannot_count(example_data):
    """--runs 0 lists none, yet the last run's source is still where files wait (it said
    "source folder not known yet not found"); a source that is a file is named as such."""
    no_runs = newswh("status", "--data", str(example_data), "--runs", "0", env={"COLUMNS": "120"})
    assert no_runs.returncode == 0, no_runs.stderr
    assert f"waiting in {EXAMPLE_CORPUS}: 0 new, 0 changed" in no_runs.stdout
    a_file = next(EXAMPLE_CORPUS.glob("*.txt"))
    as_file = newswh("status", "--data", str(example_data), "--source", str(a_file), env={"COLUMNS": "200"})
    assert f"waiting: unknown ({a_file} is not a folder)" in as_file.stdout
    missing = newswh("status", "--data", str(example_data), "--source", str(EXAMPLE_CORPUS / "gone"), env={"COLUMNS": "200"})
    assert f"waiting: unknown (source folder {EXAMPLE_CORPUS / 'gone'} not found)" in missing.stdout
    url = newswh("status", "--data", str(example_data), "--source", "s3://crawl/big", env={"COLUMNS": "200"})
    assert "waiting: unknown (s3://crawl/big is object storage, which status does not list; `newswh ingest` does)" in url.stdout


def test_status_without_a_warehouse_says_what_to_do(tmp_path):
    result = newswh("status", "--data", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip() == f"newswh status: no warehouse at {tmp_path / 'warehouse.duckdb'}: run `newswh ingest` first"


def test_status_and_sql_without_a_warehouse_but_with_a_lake_say_rebuild(example_data, tmp_path):
    """The warehouse was lost, not never made: "run `newswh ingest` first" sent the user the
    long way round, and said nothing of the archive."""
    data = tmp_path / "data"
    shutil.copytree(example_data, data)
    (data / "warehouse.duckdb").unlink()
    said = (
        f"no warehouse at {data / 'warehouse.duckdb'}, but {data / 'lake'} holds the archive: `newswh rebuild` "
        "recreates the warehouse from it (the next `newswh ingest` does so first)"
    )
    status = newswh("status", "--data", str(data))
    assert status.returncode == 1 and status.stderr == f"newswh status: {said}\n"
    sql = newswh("sql", "select 1", "--data", str(data))
    assert sql.returncode == 1 and sql.stderr == f"newswh sql: {said}; `newswh sql --lake` queries the lake meanwhile\n"


def test_status_into_a_pipe_keeps_whole_columns_and_bracketed_paths(example_data, tmp_path):
    """Into a pipe (cron mail, a log) the runs table was cut at 80 columns, numbers and all
    (`20,0…`); and `[red]` in a path was taken for markup and dropped."""
    source = tmp_path / "raw [red]x"
    shutil.copytree(EXAMPLE_CORPUS, source)
    plain = {name: value for name, value in os.environ.items() if name != "COLUMNS"}
    result = subprocess.run(
        [NEWSWH, "status", "--data", str(example_data), "--source", str(source)], capture_output=True, text=True, env=plain
    )
    assert result.returncode == 0, result.stderr
    header = next(line for line in result.stdout.splitlines() if "started" in line)
    assert header.split() == ["run", "started", "(UTC)", "wall", "secs", "seen", "new", "changed", "articles", "rejected", "sums"]
    assert "…" not in result.stdout
    assert f"waiting in {source}: 11 new, 0 changed" in result.stdout


def test_status_on_a_narrow_terminal_shows_each_run_whole(example_data):
    """At 80 columns (COLUMNS, as a terminal sets it) the runs table was cut to fit, and
    `20,0…` read as a number; COLUMNS=0 printed nothing at all, and exited 0."""
    [(seen, articles)] = query(example_data, "select files_seen, articles_written from ingest_runs order by run_id desc limit 1")
    for columns in ("40", "0"):
        result = newswh("status", "--data", str(example_data), "--runs", "1", env={"COLUMNS": columns})
        assert result.returncode == 0, result.stderr
        assert "last runs" in result.stdout and "…" not in result.stdout, result.stdout
        assert f"{seen:,}" in result.stdout and f"{articles:,}" in result.stdout
    assert f"seen: {seen:,}" in newswh("status", "--data", str(example_data), env={"COLUMNS": "40"}).stdout
