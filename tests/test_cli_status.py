"""`newswh status`: what a person checks to see that scheduled runs keep up."""

from __future__ import annotations

import shutil

from newswh.dictionary import EXAMPLE_CORPUS
from tests.helpers import newswh


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


def test_status_without_a_warehouse_says_what_to_do(tmp_path):
    result = newswh("status", "--data", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip() == f"newswh status: no warehouse at {tmp_path / 'warehouse.duckdb'}: run `newswh ingest` first"
