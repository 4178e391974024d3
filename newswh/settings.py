"""Every path and default of the project, relative to one root, in one place.

Flows and the CLI take these as defaults and let callers (and tests) override them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SQL_DIR = PACKAGE_DIR / "sql"
"""Every statement the warehouse runs; shipped inside the package (in a checkout, a link
to the project's sql/), so an installed wheel needs no checkout."""
PROJECT_ROOT = PACKAGE_DIR.parent
"""The checkout, when newswh runs from one (an editable install); docs and tests live there."""
_IN_CHECKOUT = (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "seeds").is_dir()
DEFAULT_SOURCE = PROJECT_ROOT / "seeds" if _IN_CHECKOUT else Path("seeds")
"""The sample seeds in a checkout; elsewhere `seeds/` under the working directory."""
DEFAULT_DATA = PROJECT_ROOT / "data" if _IN_CHECKOUT else Path("data")

MEMORY_LIMIT_VARIABLE = "NEWSWH_DUCKDB_MEMORY_LIMIT"
DUCKDB_MEMORY_LIMIT = os.environ.get(MEMORY_LIMIT_VARIABLE, "").strip() or "320MB"
"""Memory an ingest lets DuckDB use before spilling to disk; the load is written to fit.
At 300,000 files the load was the run's peak once the lake's was lowered (below): 320MB
rather than 384MB takes about 60 MB off it, for a load 2-7 % slower. DuckDB writes a
table 2048 rows at a time and cannot spill those, so a run whose 2048 consecutive new
articles hold more text than this fits raises it for itself to what they need (see
newswh/load.py), unless NEWSWH_DUCKDB_MEMORY_LIMIT is set: then it is a hard cap."""
DUCKDB_MEMORY_LIMIT_FIXED = bool(os.environ.get(MEMORY_LIMIT_VARIABLE, "").strip())
"""Whether the user chose the limit: then no run raises it, and one that needs more fails plainly.
Set empty, it is not chosen (a common way to unset a variable)."""
LAKE_MEMORY_LIMIT_BYTES = 224 * 10**6
"""DuckDB's limit while an ingest writes the lake, unless NEWSWH_DUCKDB_MEMORY_LIMIT is set.
The lake's queries sort and stream, and spill well; the load before it cannot spill the
page text it has committed, so it needs more. DuckDB keeps close to its whole limit in use
(as a cache of table blocks, when nothing else), and the lake stage was the run's peak:
at 300,000 files 256MB took 110 MB off it (against the load's limit) for ~5 % more CPU
in the lake, and 224MB another 40 MB; 200MB took no more off the run's peak, and at
192MB the lake spilled far more and was much slower."""
LOCK_WAIT_SECONDS = 0.0
"""How long a second ingest waits for the first before giving up, by default."""
_MEMORY_SIZE = re.compile(r"(?i)\s*\d+(?:\.\d+)?\s*(?:[KMGT]i?B|B)\s*")
_SMALLEST_LIMIT_BYTES = 16 * 2**20


def memory_limit_problem() -> str | None:
    """Why NEWSWH_DUCKDB_MEMORY_LIMIT cannot be DuckDB's memory limit, or None. DuckDB said so
    only inside a run, after Prefect had started, without naming the variable ("Parser Error:
    Memory must have a number"), and a rebuild printed a traceback; "-1GB" and "100%" passed."""
    if not DUCKDB_MEMORY_LIMIT_FIXED:
        return None
    if not _MEMORY_SIZE.fullmatch(DUCKDB_MEMORY_LIMIT):
        return f"{MEMORY_LIMIT_VARIABLE}={DUCKDB_MEMORY_LIMIT!r} is not a memory size: give one such as 2GB or 512MB, or unset it"
    if _size_bytes(DUCKDB_MEMORY_LIMIT) < _SMALLEST_LIMIT_BYTES:
        return f"{MEMORY_LIMIT_VARIABLE}={DUCKDB_MEMORY_LIMIT!r} is too little for DuckDB to run in: give at least 16MB, or unset it"
    return None


def _size_bytes(size: str) -> float:
    """Bytes in a size DuckDB reads: KB is 1000 bytes, KiB 1024."""
    number, prefix, binary = re.fullmatch(r"(?i)\s*([\d.]+)\s*([KMGT]?)(i?)B\s*", size).groups()  # type: ignore[union-attr]
    return float(number) * (1024 if binary else 1000) ** " KMGT".index(prefix.upper() or " ")


AHEAD_EXIT_WAIT_SECONDS = 60.0
"""How long a process that exits waits for work it started ahead and nobody took (a copy of
the warehouse, an opening: a `sendfile` and DuckDB, seconds at most) before it ends anyway:
a thread stopped inside DuckDB as Python shuts down aborts the process."""


def quiet_ephemeral_prefect() -> None:
    """Defaults for Prefect's temporary local server, unless the user set their own.

    That server's telemetry heartbeat and SQLite lock retries log tracebacks that are
    harmless but alarming (PrefectHQ/prefect#18934); they are not our users' business.
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_SERVER_LEVEL", "CRITICAL")


def not_a_file(warehouse: Path) -> str:
    """The one line for a warehouse path that holds something other than a file."""
    return f"{warehouse} is not a file (a folder, or a device): a warehouse is one DuckDB file; move it aside"


INTERNAL_FOLDER = "_warehouse"
"""Where the lake keeps the tables dashboards do not need but `newswh rebuild` does: the
mark of a lake folder (newswh.lake writes it; paths_check refuses to ingest into one)."""


@dataclass(frozen=True)
class DataPaths:
    """Where one warehouse keeps its files, all below one data folder."""

    root: Path

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def next_warehouse(self) -> Path:
        """The copy an ingest writes to; renamed over `warehouse` to commit."""
        return self.root / "warehouse.duckdb.next"

    def copied_ahead(self, pid: int) -> Path:
        """The copy process `pid` made while starting up, before it held the lock
        (newswh.copy_ahead); it becomes `next_warehouse` when the run takes it."""
        return self.root / f"warehouse.duckdb.ahead-{pid}"

    copied_ahead_glob = "warehouse.duckdb.ahead-*"

    def retired(self, pid: int, token: str) -> Path:
        """A second name for the warehouse a commit replaces, removed after the commit
        (newswh.warehouse.commit says why); `token` tells apart the commits of one process."""
        return self.root / f"warehouse.duckdb.retired-{pid}-{token}"

    retired_glob = "warehouse.duckdb.retired-*"

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def staging(self) -> Path:
        return self.root / ".staging"

    @property
    def spill(self) -> Path:
        """Where DuckDB spills what does not fit in its memory limit during a run."""
        return self.root / ".duckdb-spill"

    @property
    def lock(self) -> Path:
        return self.root / ".ingest.lock"
