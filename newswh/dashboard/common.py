"""What every page shares: the lake, the sidebar filters, and cached queries.

Caches are keyed on the lake's state (its files' names, sizes and mtimes, and the
publish record), never on a timer: the first page view after an ingest publishes reads
the new files, and until then nothing is read twice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from newswh.dashboard.queries import DATA_ENV, Filters, connect, run_query
from newswh.lake_views import LakeChangedDuringRead, NoLake, find_lake, lake_state
from newswh.settings import DEFAULT_DATA

ALL_OUTLETS = "All outlets"


@dataclass(frozen=True)
class Context:
    lake: Path
    state: str
    filters: Filters


@st.cache_resource(max_entries=4, show_spinner=False)
def _connection(lake: str, state: str, filters: Filters) -> duckdb.DuckDBPyConnection:
    """The lake views for one state of the lake (`state` is only the cache key: a new
    state, a new connection over the files as they are now) and one choice of filters."""
    return connect(Path(lake), filters)


@st.cache_data(max_entries=512, show_spinner=False)
def _cached(lake: str, state: str, filters: Filters, name: str, params: tuple[tuple[str, object], ...]) -> pd.DataFrame:
    result = run_query(_connection(lake, state, filters), name, dict(params))
    if lake_state(Path(lake)) != state:  # raised, so not cached: the views read files an ingest was replacing
        raise LakeChangedDuringRead(f"the lake at {lake} changed during query {name}")
    return result


def query(context: Context, name: str, unfiltered: bool = False, **params: object) -> pd.DataFrame:
    """A named query of sql/dashboard/ over the lake, filtered unless `unfiltered`."""
    filters = Filters() if unfiltered else context.filters
    try:
        return _cached(str(context.lake), context.state, filters, name, tuple(sorted(params.items())))
    except (duckdb.IOException, LakeChangedDuringRead):
        if lake_state(context.lake) == context.state:
            raise
        st.rerun()  # an ingest published between the page's start and this query: start over on the new files
        raise  # not reached: st.rerun() raises


def data_folder() -> Path:
    return Path(os.environ.get(DATA_ENV) or DEFAULT_DATA)


def open_context() -> Context | None:
    """The lake, its state and the sidebar's filters; None when there is nothing to show yet."""
    data = data_folder()
    try:
        lake = find_lake(data)
    except NoLake:
        return None
    context = Context(lake, lake_state(lake), Filters())
    totals = query(context, "overview", unfiltered=True)
    if not totals["articles"][0]:
        return None
    first, last = totals["first_published"][0], totals["last_published"][0]
    st.sidebar.header("Filters")
    chosen = _date_range(first, last)
    outlets = [ALL_OUTLETS, *query(context, "outlet_names", unfiltered=True)["outlet"]]
    outlet = st.sidebar.selectbox("Outlet", outlets, key="outlet")
    start, end = chosen if chosen else (None, None)
    filters = Filters(start, end, None if outlet == ALL_OUTLETS else outlet)
    return Context(lake, context.state, filters)


def _date_range(first: object, last: object) -> tuple[date, date] | None:
    """The sidebar's date range; None while it covers every dated article (then undated
    ones count too)."""
    if pd.isna(first):
        return None
    low, high = pd.Timestamp(first).date(), pd.Timestamp(last).date()
    picked = st.sidebar.date_input("Published between", (low, high), min_value=low, max_value=high, key="dates")
    if not isinstance(picked, (tuple, list)) or len(picked) != 2:
        return None  # a range half picked in the calendar: keep showing everything
    start, end = picked
    return None if (start, end) == (low, high) else (start, end)


def how_to_ingest() -> None:
    """The page an empty lake shows: what to run, not an error."""
    data = data_folder()
    st.title("newswh")
    st.info(f"No articles in the lake under {data} yet.")
    st.markdown(
        "Ingest raw news pages first, then reload this page (no restart needed):\n\n"
        f"```\nnewswh ingest path/to/raw/pages --data {data}\n```\n\n"
        "The ingest publishes the Parquet lake under `lake/`; this dashboard reads only that."
    )
