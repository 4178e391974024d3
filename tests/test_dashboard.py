"""The dashboard's pages, run by Streamlit's AppTest over the lake of tests/fixtures/corpus:
what each page shows must be what SQL over the same lake answers."""

from __future__ import annotations

import shutil
import sys
from datetime import date

import pytest

pytest.importorskip("streamlit", reason="the dashboard extra is not installed: pip install -e '.[dashboard]'")

from streamlit.testing.v1 import AppTest  # noqa: E402

from newswh.dashboard.queries import DATA_ENV, Filters, connect  # noqa: E402
from newswh.dictionary import EXAMPLE_CORPUS  # noqa: E402
from newswh.lake_views import open_lake  # noqa: E402
from newswh.settings import PACKAGE_DIR, DataPaths  # noqa: E402
from tests.helpers import newswh, run_ingest  # noqa: E402

APP = PACKAGE_DIR / "dashboard" / "app.py"


@pytest.fixture
def dashboard(monkeypatch):
    # AppTest leaves the app script as sys.modules["__main__"]; a process spawned later in this
    # pytest process (a parse pool) would run the dashboard again on start-up, pandas and all.
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])

    def start(data) -> AppTest:
        monkeypatch.setenv(DATA_ENV, str(data))
        app = AppTest.from_file(str(APP), default_timeout=60).run()
        assert not app.exception, app.exception
        return app

    return start


def lake_sql(data, query: str, filters: Filters = Filters()) -> list[tuple[object, ...]]:
    with connect(DataPaths(data).lake, filters) as con:
        return con.execute(query).fetchall()


def page(app: AppTest, name: str) -> AppTest:
    app.sidebar.radio(key="page").set_value(name).run()
    assert not app.exception, app.exception
    return app


def metric(app: AppTest, label: str) -> str:
    [value] = [item.value for item in app.metric if item.label == label]
    return value


def test_overview_shows_the_counts_and_charts_of_the_lake(example_data, dashboard):
    app = dashboard(example_data)
    [(articles, first, last)] = lake_sql(example_data, "select count(*), min(published_at), max(published_at) from articles")
    assert metric(app, "Articles") == f"{articles:,}" == "7"
    assert (metric(app, "First published"), metric(app, "Last published")) == (f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}")
    [(run_id, conserved)] = lake_sql(example_data, "select run_id, is_conserved from ingest_runs order by run_id desc limit 1")
    assert metric(app, "Last ingest run") == f"#{run_id}" and conserved
    assert [item.delta for item in app.metric if item.label == "Last ingest run"] == ["every file accounted for"]
    assert len(app.get("vega_lite_chart")) == 2  # articles per day with its rolling mean; media mix per month


@pytest.mark.parametrize(
    ("filters", "widget", "value"),
    [
        (Filters(outlet="Press TV"), "outlet", "Press TV"),
        (Filters(start=date(2015, 11, 9), end=date(2015, 11, 16)), "dates", (date(2015, 11, 9), date(2015, 11, 16))),
    ],
)
def test_the_filters_narrow_every_page(example_data, dashboard, filters, widget, value):
    app = dashboard(example_data)
    if widget == "outlet":
        app.selectbox(key="outlet").set_value(value).run()
    else:
        app.date_input(key="dates").set_value(value).run()
    [(articles,)] = lake_sql(example_data, "select count(*) from articles", filters)
    assert 0 < articles < 7
    assert metric(app, "Articles") == str(articles)
    app.sidebar.radio(key="page").set_value("Outlets").run()
    outlets = [tuple(row) for row in app.dataframe[0].value[["outlet", "articles"]].itertuples(index=False)]
    assert outlets == lake_sql(example_data, "select outlet, articles from outlets", filters)


def test_stories_search_opens_an_article_with_its_related_list(example_data, dashboard):
    app = page(dashboard(example_data), "Stories")
    most = app.dataframe[0].value
    assert [tuple(row) for row in most[["rank", "title", "links"]].itertuples(index=False)] == lake_sql(
        example_data,
        "select rank, title, links from most_related where rank <= 10 and month = date '2015-11-01' order by rank, news_id",
    )
    app.text_input(key="term").input("aleppo").run()
    found = lake_sql(example_data, "select article_id, title from search_articles('aleppo') order by rank")
    assert [button.label for button in app.button] == [title for _, title in found]
    article_id, title = found[0]
    app.button(key=f"open-{article_id}").click().run()
    assert not app.exception, app.exception
    assert [header.value for header in app.main.header] == [title]
    related = app.table[0].value.reset_index()
    assert [tuple(row) for row in related[["position", "related_title", "media_kind"]].itertuples(index=False)] == lake_sql(
        example_data, f"select position, related_title, media_kind from related_links where article_id = '{article_id}' order by position"
    )
    assert "video" in set(related["media_kind"]) and related["pic_uploaded_at"].notna().any()
    [(body,)] = lake_sql(example_data, f"select body from articles where article_id = '{article_id}'")
    assert any(body.split("\n")[0] in item.value for item in app.markdown)


def test_crawl_quality_lists_rejects_by_reason_with_examples(example_data, dashboard):
    app = page(dashboard(example_data), "Crawl quality")
    assert not app.exception, app.exception
    rejects = app.dataframe[0].value
    assert [tuple(row) for row in rejects[["reason", "files"]].itertuples(index=False)] == lake_sql(
        example_data, "select reason, count(*) from rejects group by reason order by 2 desc, 1"
    )
    assert all(path.endswith(".txt") for examples in rejects["example_files"] for path in examples)
    statuses = app.dataframe[1].value
    assert sorted(zip(statuses["category"], statuses["count"])) == sorted(
        lake_sql(example_data, "select related_status, count(*) from captures group by 1")
    )
    duplicates = app.dataframe[-1].value
    assert list(duplicates["capture_count"]) == [2]


def test_an_empty_lake_says_how_to_ingest(tmp_path, dashboard):
    for data in (tmp_path / "nothing", tmp_path):
        (tmp_path / "lake").mkdir(exist_ok=True)
        app = dashboard(data)
        assert "newswh ingest" in app.markdown[0].value
        assert app.info and not app.metric


def test_the_next_ingest_shows_without_a_restart(prefect_harness, tmp_path, dashboard):
    source, data = tmp_path / "raw", tmp_path / "data"
    source.mkdir()
    for path in sorted(EXAMPLE_CORPUS.glob("*.txt"))[:3]:
        shutil.copy(path, source)
    run_ingest(source, data)
    app = dashboard(data)
    assert metric(app, "Articles") == "3"
    for path in sorted(EXAMPLE_CORPUS.glob("*.txt")):
        shutil.copy(path, source)
    run_ingest(source, data)
    app.run()  # the same session, as a person reloading the page
    assert metric(app, "Articles") == "7"
    with open_lake(DataPaths(data).lake) as con:
        assert metric(app, "Last ingest run") == f"#{con.execute('select max(run_id) from ingest_runs').fetchall()[0][0]}"


def test_a_query_during_which_the_lake_changed_is_not_kept(example_data, tmp_path, monkeypatch):
    """The views read their files when queried: a result read while an ingest published
    mixed two runs, and was cached as the lake's state at the page's start."""
    import os

    from newswh.dashboard import common
    from newswh.lake import _write_sync_mark
    from newswh.lake_views import LakeChangedDuringRead, lake_state, snapshot

    lake = tmp_path / "lake"
    shutil.copytree(DataPaths(example_data).lake, lake, copy_function=shutil.copy2)
    state = lake_state(lake)
    part = snapshot(lake).files["articles"][0]
    real_run_query = common.run_query

    def publishing_meanwhile(*args, **kwargs):
        result = real_run_query(*args, **kwargs)
        stamp = part.stat().st_mtime_ns + 10**9
        os.utime(part, ns=(stamp, stamp))  # an ingest renames a file into place
        _write_sync_mark(lake, 2, {part})  # and records it: the publish is complete
        return result

    monkeypatch.setattr(common, "run_query", publishing_meanwhile)
    with pytest.raises(LakeChangedDuringRead):
        common._cached(str(lake), state, Filters(), "overview", ())
    monkeypatch.setattr(common, "run_query", real_run_query)
    fresh = lake_state(lake)
    assert common._cached(str(lake), fresh, Filters(), "overview", ())["articles"][0] == 7


@pytest.mark.parametrize("damage", ["deleted", "truncated"])
def test_a_lake_missing_or_damaging_a_file_says_so_and_what_to_do(example_data, tmp_path, dashboard, damage):
    """A deleted articles file showed an empty corpus (0 articles), without a word; a
    truncated one showed DuckDB's traceback on the page. `sql --lake` said 0, or DuckDB's
    line alone."""
    data = tmp_path / "data"
    shutil.copytree(example_data, data)
    victim = data / "lake" / "articles" / "year=2015" / "month=11" / "part-0.parquet"
    if damage == "deleted":
        victim.unlink()
    else:
        victim.write_bytes(victim.read_bytes()[:1000])
    said = "is missing from the lake, though its last publish wrote it" if damage == "deleted" else "is damaged or was replaced"
    app = dashboard(data)
    assert not app.exception, app.exception
    assert len(app.error) == 1 and said in app.error[0].value and "`newswh verify --repair`" in app.error[0].value
    result = newswh("sql", "--lake", "select count(*) from articles", "--data", str(data))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and said in result.stderr and "`newswh verify --repair`" in result.stderr
