"""`newswh status`: is the scheduled pipeline keeping up? Read-only, safe during a run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from newswh.discovered import discovered_table
from newswh.manifest import make_plan
from newswh.records import PARSER_VERSION
from newswh.remote import is_url

STATUS_TABLES = ("articles", "related_items", "news_items", "rejects", "source_files", "ingest_runs")
RUN_COLUMNS = ("run", "started (UTC)", "wall secs", "seen", "new", "changed", "articles", "rejected", "sums")


@dataclass
class WarehouseStatus:
    runs: list[tuple[object, ...]]
    """The last runs, newest first, with RUN_COLUMNS."""
    row_counts: dict[str, int]
    newest_article: tuple[str, datetime] | None
    source: str | None
    """The folder the waiting files were counted in (or a URL, where they are not): the
    one given, else the last run's."""
    waiting: dict[str, int] | None
    """New and changed files in `source` that the next run will read; None without a source."""


def warehouse_status(con: duckdb.DuckDBPyConnection, source: str | None = None, last_runs: int = 5) -> WarehouseStatus:
    runs = con.execute(
        "select run_id, timezone('UTC', started_at), round(epoch(finished_at - started_at), 2), files_seen, files_new, files_changed, "
        "articles_written, rejected, is_conserved from ingest_runs order by run_id desc limit ?",
        [last_runs],
    ).fetchall()
    counts = {table: con.execute(f"select count(*) from {table}").fetchall()[0][0] for table in STATUS_TABLES}
    newest = con.execute(
        "select title, published_at from articles where published_at is not null "
        "order by published_at desc, article_id limit 1"
    ).fetchall()
    newest = newest[0] if newest else None
    if source is None:  # the last run's, whether or not runs are listed (--runs 0)
        last = con.execute("select source from ingest_runs order by run_id desc limit 1").fetchall()
        source = last[0][0] if last else None
    waiting = None
    if source is not None and not is_url(source) and Path(source).is_dir():
        plan = make_plan(con, discovered_table(Path(source).resolve()), PARSER_VERSION)
        waiting = {"new": plan["new"], "changed": plan["changed"]}
    return WarehouseStatus(runs, counts, newest, source, waiting)
