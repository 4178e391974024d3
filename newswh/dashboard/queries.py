"""What the dashboard's pages ask of the lake: named queries of `sql/dashboard/`, run over
the lake views (newswh.lake_views) narrowed by the page filters.

No Streamlit here: the app caches these calls by the lake's state, and tests call them
directly to check a page against SQL over the same lake.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from newswh.lake_views import open_lake
from newswh.settings import SQL_DIR

QUERIES = SQL_DIR / "dashboard"
DATA_ENV = "NEWSWH_DASHBOARD_DATA"
"""The data folder (or lake folder) `newswh dashboard` hands to the Streamlit app."""


@dataclass(frozen=True)
class Filters:
    """The filters every page applies: publication dates (inclusive) and one outlet."""

    start: date | None = None
    end: date | None = None
    outlet: str | None = None

    def conditions(self) -> dict[str, str]:
        """Dataset -> SQL condition (see open_lake). The date range is also put on the
        partition columns, so the months outside it are not read at all; the related
        lists are narrowed by month too, and to the outlet's articles by the views' joins."""
        articles, months = [], []
        if self.start is not None:
            articles.append(f"published_at >= DATE '{self.start.isoformat()}'")
            months.append(f"year * 12 + month >= {self.start.year * 12 + self.start.month}")
        if self.end is not None:
            articles.append(f"published_at < DATE '{(self.end + timedelta(days=1)).isoformat()}'")
            months.append(f"year * 12 + month <= {self.end.year * 12 + self.end.month}")
        if self.outlet is not None:
            articles.append("attribution = '" + self.outlet.replace("'", "''") + "'")
        conditions = {}
        if articles:
            conditions["articles"] = " and ".join(months + articles)
        if months:
            for dataset in ("related_items", "capture_related", "duplicate_captures"):
                conditions[dataset] = " and ".join(months)
        return conditions


def query_text(name: str) -> str:
    return (QUERIES / f"{name}.sql").read_text(encoding="utf-8")


def run_query(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, object] | None = None) -> pd.DataFrame:
    """One named query as a DataFrame, on a cursor of its own (Streamlit serves each
    browser session from its own thread; a DuckDB connection is not for two at once)."""
    with con.cursor() as cursor:
        return cursor.execute(query_text(name), params or {}).df()


def connect(lake: Path, filters: Filters) -> duckdb.DuckDBPyConnection:
    return open_lake(lake, filters.conditions())
