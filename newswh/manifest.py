"""What is on disk versus what the manifest (`source_files`) knows: the plan of a run.

Shared by the ingest, which reads what the plan says changed, and by `newswh status`,
which only counts it: both must agree on what "waiting to be ingested" means.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from newswh.parse import DEFAULT_MAX_BYTES
from newswh.settings import SQL_DIR

def start_run_context(con: duckdb.DuckDBPyConnection, parser_version: str, max_bytes: int, rehash: bool) -> int:
    """The next run's id, and the temp table `run_context` holding it with the run's settings
    that decide outcomes (what plan.sql and sql/load/ read); returns the id."""
    [(run_id,)] = con.execute("select coalesce(max(run_id), 0) + 1 from ingest_runs").fetchall()
    con.execute(
        "create or replace temp table run_context as "
        "select ?::bigint as run_id, ?::varchar as parser_version, ?::bigint as max_bytes, ?::boolean as rehash",
        [run_id, parser_version, max_bytes, rehash],
    )
    return int(run_id)


def make_plan(
    con: duckdb.DuckDBPyConnection, discovered: pa.Table, parser_version: str, max_bytes: int = DEFAULT_MAX_BYTES
) -> dict[str, int]:
    """Create the temp table `plan` (see sql/plan.sql); return how many files are new, changed, unchanged.

    The run's settings that decide outcomes (parser version, size cap) come from the temp
    table `run_context`: the ingest's own, else one made here from the arguments. Only temp
    tables are written, so a read-only connection will do.
    """
    con.register("discovered_arrow", discovered)
    try:
        con.execute("create or replace temp table discovered as select * from discovered_arrow")
    finally:
        con.unregister("discovered_arrow")
    if not con.execute("select count(*) from duckdb_tables() where table_name = 'run_context'").fetchall()[0][0]:
        con.execute(
            "create temp table run_context as "
            "select ?::varchar as parser_version, ?::bigint as max_bytes, false as rehash",
            [parser_version, max_bytes],
        )
    con.execute((SQL_DIR / "plan.sql").read_text(encoding="utf-8"))
    counts = dict(con.execute("select status, count(*) from plan group by status").fetchall())
    return {status: counts.get(status, 0) for status in ("new", "changed", "unchanged")}
