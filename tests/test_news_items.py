"""How sql/load/50_news_items.sql describes a linked story: by the most recent article that
links to it, then the greatest article_id, then the item nearest the top of its list, and
only through each story's best capture. Crafted rows, so every tie is there to break."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from newswh.settings import SQL_DIR
from newswh.warehouse import apply_schema, run_sql_file

NEWS_ITEMS_SQL = SQL_DIR / "load" / "50_news_items.sql"
JAN_2 = datetime(2020, 1, 2, 9, 0)
JAN_5 = datetime(2020, 1, 5, 9, 0)


@pytest.fixture
def con():
    with duckdb.connect() as con:
        apply_schema(con)
        con.execute("create temp table affected_news (news_id bigint)")
        yield con


def _capture(con: duckdb.DuckDBPyConnection, path: str, article_id: str, published_at: datetime | None, best: bool, items: list[tuple[int, int, str]]) -> None:
    """A capture of `article_id` at `path` whose related list holds (position, news_id, title) items."""
    con.execute(
        "insert into captures (article_id, source_path, content_hash, title, published_at, lead, body, paragraph_count, "
        "word_count, related_status, related_count, source_encoding, parser_version) "
        "values (?, ?, 'h', 't', ?, 'l', 'b', 1, 1, 'ok', ?, 'utf-8', 'test')",
        [article_id, path, published_at, len(items)],
    )
    for position, news_id, title in items:
        con.execute(
            "insert into capture_related (source_path, article_id, position, news_id, title, media_kind) values (?, ?, ?, ?, ?, 'other')",
            [path, article_id, position, news_id, title],
        )
    if best:
        con.execute("insert into best_captures values (?, ?, 1)", [article_id, path])


def _load_news_items(con: duckdb.DuckDBPyConnection, *news_ids: int) -> None:
    """Step 50 of the load for `news_ids`, after what step 40 leaves: each best capture's list in related_items."""
    con.execute("delete from related_items")
    con.execute(
        "insert into related_items by name select r.article_id, r.position, r.news_id, r.sort_key "
        "from capture_related as r inner join best_captures as b on b.source_path = r.source_path"
    )
    con.execute("delete from affected_news")
    con.executemany("insert into affected_news values (?)", [[news_id] for news_id in news_ids])
    run_sql_file(con, NEWS_ITEMS_SQL)


def _news_items(con: duckdb.DuckDBPyConnection) -> dict[int, tuple[str, int, datetime | None, datetime | None]]:
    rows = con.execute("select news_id, title, link_count, first_linked_at, last_linked_at from news_items").fetchall()
    return {news_id: tuple(rest) for news_id, *rest in rows}


def test_the_latest_article_then_the_greatest_id_then_the_top_item_describes_a_story(con):
    _capture(con, "a.txt", "aaaa", JAN_5, True, [(0, 9, "a, latest, but of another story")])
    _capture(con, "b.txt", "bbbb", JAN_2, True, [(0, 7, "b, earlier id"), (1, 8, "b: 8")])
    _capture(con, "c.txt", "cccc", JAN_2, True, [(2, 7, "c, lower in its list"), (1, 7, "c, top of its list")])
    _capture(con, "c-again.txt", "cccc", JAN_5, False, [(0, 7, "not the best capture"), (1, 8, "not the best capture")])
    _capture(con, "d.txt", "dddd", None, True, [(0, 7, "d, undated"), (0, 10, "d, undated, alone")])
    _load_news_items(con, 7, 8, 9, 10)
    assert _news_items(con) == {
        7: ("c, top of its list", 4, JAN_2, JAN_2),  # cccc > bbbb on the same day; position 1 before 2; dddd undated, counted
        8: ("b: 8", 1, JAN_2, JAN_2),  # the second capture of cccc is not its article
        9: ("a, latest, but of another story", 1, JAN_5, JAN_5),
        10: ("d, undated, alone", 1, None, None),
    }
    assert set(con.execute("select * from news_months").fetchall()) == {(2020, 1), (None, None)}  # where the lake rewrites


def test_only_affected_stories_are_rewritten(con):
    _capture(con, "b.txt", "bbbb", JAN_2, True, [(0, 7, "b: 7"), (1, 8, "b: 8")])
    _load_news_items(con, 7, 8)
    _capture(con, "e.txt", "eeee", JAN_5, True, [(0, 7, "e: 7, later"), (1, 8, "e: 8, later")])
    _load_news_items(con, 7)
    assert _news_items(con) == {7: ("e: 7, later", 2, JAN_2, JAN_5), 8: ("b: 8", 1, JAN_2, JAN_2)}
