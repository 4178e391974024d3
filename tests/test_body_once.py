"""Each page's text is stored once in the warehouse (issue 18): `captures` holds every
capture's text, `best_captures` which capture each story takes, and `articles` is the view
joining them, with the documented columns; a warehouse built before is converted by the
next ingest without losing a row.

The warehouse "built before" is made here from one built now, put back into the shape the
code before this change left (tests.helpers.articles_as_a_table): `articles` a table holding
a copy of each best capture's text, and no `best_captures`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from newswh.integrity import rebuild, verify
from newswh.settings import DataPaths
from newswh.warehouse import failed_checks
from newswh.dictionary import EXAMPLE_CORPUS
from tests.helpers import DATA_TABLES, articles_as_a_table, query, run_ingest

ARTICLE_COLUMNS = [
    ("article_id", "VARCHAR"), ("source_path", "VARCHAR"), ("content_hash", "VARCHAR"), ("title", "VARCHAR"),
    ("published_at", "TIMESTAMP"), ("lead", "VARCHAR"), ("body", "VARCHAR"), ("caption", "VARCHAR"),
    ("attribution", "VARCHAR"), ("sign_off", "VARCHAR"), ("paragraph_count", "INTEGER"), ("word_count", "INTEGER"),
    ("related_status", "VARCHAR"), ("related_declared_bytes", "INTEGER"), ("related_actual_bytes", "INTEGER"),
    ("related_count", "INTEGER"), ("source_encoding", "VARCHAR"), ("parser_version", "VARCHAR"),
    ("capture_count", "INTEGER"), ("language", "VARCHAR"), ("site", "VARCHAR"), ("dateline", "VARCHAR"),
]
"""The columns of `articles` as the data dictionary documented them when it was a table."""


def _layout(data: Path) -> dict[str, object]:
    """Which tables hold page text, what kind of object `articles` is, and its columns."""
    return {
        "text_tables": query(
            data,
            "select distinct table_name from duckdb_columns() where column_name in ('body', 'lead') "
            "and table_name in (select table_name from duckdb_tables()) order by all",
        ),
        "articles": query(data, "select table_type from information_schema.tables where table_name = 'articles'"),
        "columns": query(
            data, "select column_name, data_type from duckdb_columns() where table_name = 'articles' order by column_index"
        ),
    }


def _rows(data: Path) -> dict[str, list[tuple[object, ...]]]:
    return {table: query(data, f"select * from {table} order by all") for table in DATA_TABLES}


def test_page_text_lives_in_captures_alone_and_articles_keeps_its_columns(example_data):
    assert _layout(example_data) == {"text_tables": [("captures",)], "articles": [("VIEW",)], "columns": ARTICLE_COLUMNS}
    # the view is each story's best capture, whole, with its count of captures
    assert query(
        example_data,
        "select count(*) from articles as a inner join captures as c using (source_path) "
        "where a.body = c.body and a.title = c.title and a.content_hash = c.content_hash",
    ) == query(example_data, "select count(distinct article_id) from captures")
    assert query(example_data, "select sum(capture_count) from articles") == query(example_data, "select count(*) from captures")


@pytest.fixture
def broken(example_data, tmp_path):
    """A private copy of the example warehouse, to break by hand."""
    copy = tmp_path / "data"
    shutil.copytree(example_data, copy)
    return DataPaths(copy).warehouse


def test_a_story_chosen_twice_fails_the_key_check(broken):
    with duckdb.connect(str(broken)) as con:
        con.execute("insert into best_captures select * from best_captures limit 1")
        assert "keys_are_unique" in failed_checks(con)


def test_a_choice_naming_another_storys_capture_fails_a_check(broken):
    with duckdb.connect(str(broken)) as con:
        con.execute(
            "update best_captures set source_path = (select min(source_path) from captures where article_id <> "
            "(select min(article_id) from best_captures)) where article_id = (select min(article_id) from best_captures)"
        )
        assert {"articles_have_a_capture", "related_items_match_best_capture"} <= set(failed_checks(con))


@pytest.mark.usefixtures("prefect_harness")
def test_a_warehouse_built_before_is_converted_by_the_next_ingest_and_loses_nothing(tmp_path):
    data, nothing_new = tmp_path / "data", tmp_path / "raw"
    run_ingest(EXAMPLE_CORPUS, data)
    with duckdb.connect(str(DataPaths(data).warehouse)) as con:
        articles_as_a_table(con)
    nothing_new.mkdir()
    layout = _layout(data)
    assert layout["articles"] == [("BASE TABLE",)] and layout["text_tables"] == [("articles",), ("captures",)]
    assert layout["columns"] == ARTICLE_COLUMNS
    before = _rows(data)
    assert len(before["articles"]) == 7

    run_ingest(nothing_new, data)  # reads no file (its files are missing, their rows kept), so changes no row

    assert _layout(data) == {"text_tables": [("captures",)], "articles": [("VIEW",)], "columns": ARTICLE_COLUMNS}
    assert _rows(data) == before
    assert verify(DataPaths(data)).problems == []  # every data check, and the lake the run wrote

    rebuild(DataPaths(data))  # and the lake gives the new layout back
    assert _layout(data)["articles"] == [("VIEW",)] and _rows(data) == before
