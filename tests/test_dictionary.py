"""The warehouse documents itself, and docs/data-dictionary.md is what the comments say."""

from __future__ import annotations

import duckdb

from newswh.dictionary import DICTIONARY_PATH, render_dictionary, schema_connection, schema_objects, undocumented
from newswh.settings import DataPaths


def test_every_table_view_macro_and_column_has_a_comment():
    objects = schema_objects(schema_connection())
    assert {obj.kind for obj in objects} == {"table", "view", "macro"}
    assert len([obj for obj in objects if obj.kind == "view"]) == 9  # the eight of sql/views/, and articles
    assert undocumented(objects) == []


def test_an_ingested_warehouse_carries_the_comments(example_data):
    with duckdb.connect(str(DataPaths(example_data).warehouse), read_only=True) as con:
        missing = con.execute(
            "select table_name, column_name from duckdb_columns() where not internal and coalesce(comment, '') = ''"
        ).fetchall()
        views = con.execute("select view_name from duckdb_views() where not internal and coalesce(comment, '') = ''").fetchall()
    assert missing == []
    assert views == []


def test_data_dictionary_is_current(example_data):
    with duckdb.connect(str(DataPaths(example_data).warehouse), read_only=True) as examples:
        expected = render_dictionary(schema_objects(schema_connection()), examples)
    assert DICTIONARY_PATH.read_text(encoding="utf-8") == expected, (
        "docs/data-dictionary.md is stale: run python -m newswh.dictionary"
    )
