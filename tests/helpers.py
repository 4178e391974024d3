"""Helpers for end-to-end tests: run the real flow and read the real outputs back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

from newswh.cli import one_shot_flow_settings
from newswh.ingest import RunSummary, ingest
from newswh.settings import DataPaths
from newswh.warehouse import DIGEST_MACRO
from tests.conftest import SEED

IMPORTED = "'{}' in __import__('sys').modules"
"""Whether a parse worker imported a module, asked through eval, a builtin: a function of
a test module would make the worker import that module, and Prefect with it."""

DATA_TABLES = ("articles", "related_items", "news_items", "rejects", "captures", "capture_related")
NEWSWH = str(Path(sys.executable).with_name("newswh"))


def run_ingest(source: Path, data: Path, **options: object) -> RunSummary:
    """The ingest flow run in this process, with the settings `newswh ingest` runs it with:
    without heartbeats, whose thread took up to a second to stop at the end of each run."""
    with one_shot_flow_settings():
        state = ingest(source=str(source), data=str(data), return_state=True, **options)
    assert state.is_completed(), state.message
    return state.result()


@dataclass(frozen=True)
class IngestedFolders:
    """A source folder and a data folder ingested from it, made once for a module and handed
    to each test as its own: see `for_test`."""

    source: Path
    as_left: Path
    data: Path

    @classmethod
    def keep(cls, source: Path, data: Path) -> IngestedFolders:
        """Keep a copy of `source` as the runs into `data` left it (mtimes kept)."""
        as_left = source.with_name(f"{source.name}-as-left")
        shutil.copytree(source, as_left)
        return cls(source, as_left, data)

    def for_test(self, tmp_path: Path) -> tuple[Path, Path]:
        """The source, put back as the runs left it (a test may change it; it stays at its
        path, the one the warehouse holds), and a copy of the data folder in `tmp_path`."""
        shutil.rmtree(self.source)
        shutil.copytree(self.as_left, self.source)
        data = tmp_path / "data"
        shutil.copytree(self.data, data)
        return self.source, data


def seeded_warehouse(tmp_path: Path) -> tuple[Path, dict[str, tuple[int, int]]]:
    """A data folder after one ingest of the seed alone, and its table fingerprints: the
    state a failing run must leave untouched."""
    data, first = tmp_path / "data", tmp_path / "first"
    first.mkdir()
    (first / "seed.txt").write_bytes(SEED.read_bytes())
    run_ingest(first, data)
    return data, table_fingerprints(data)


def articles_as_a_table(con: duckdb.DuckDBPyConnection) -> None:
    """Put a warehouse back into the shape the code before issue 18 left: `articles` a table
    holding a copy of each best capture (page text and all), and no `best_captures`."""
    con.execute("create table articles_table as select * from articles")
    con.execute("drop view articles")
    con.execute("drop table best_captures")
    con.execute("alter table articles_table rename to articles")
    as_built_before_the_digest(con)


def as_built_before_the_digest(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the digest of `sql/` the warehouse records: a warehouse put into an earlier
    release's shape must look, as those did, built with other SQL than this release's."""
    con.execute(f"drop macro if exists {DIGEST_MACRO}")


def query(data: Path, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    with duckdb.connect(str(DataPaths(data).warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def table_fingerprints(data: Path) -> dict[str, tuple[int, int]]:
    """Row count and an order-independent hash of every row, per data table."""
    with duckdb.connect(str(DataPaths(data).warehouse), read_only=True) as con:
        fingerprints = {
            table: con.execute(f"select count(*), coalesce(bit_xor(hash(t)), 0) from {table} as t").fetchone()
            for table in DATA_TABLES
        }
        fingerprints["source_files"] = con.execute(
            "select count(*), coalesce(bit_xor(hash(t)), 0) from "
            "(select * exclude (first_seen_run_id, last_changed_run_id, missing_since_run_id) "
            "from source_files) as t"
        ).fetchone()
    return fingerprints


def truth(corpus: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (corpus / "truth.jsonl").read_text().splitlines()]


def newswh(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NEWSWH, *args], capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}, cwd=cwd
    )


def harness_api_env() -> dict[str, str]:
    """PREFECT_API_URL of the session's test server, for a CLI run that should report to it
    (and not start a temporary server of its own)."""
    from prefect.settings import get_current_settings

    return {"PREFECT_API_URL": get_current_settings().api.url}
