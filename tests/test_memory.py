"""Memory, measured on the real CLI: large pages ingest at default settings within a bounded
footprint, and running out of memory anyway is said in one line and commits nothing.

Memory is measured, not timed: the summed resident memory of the `newswh ingest` process
and its parse workers, polled from /proc (the Prefect server is the session's, elsewhere).
"""

from __future__ import annotations

import os
import subprocess

import pytest

from newswh.settings import DataPaths
from newswh.synth import write_corpus
from newswh.tree_rss import PeakTreeRss
from tests.conftest import SEED
from tests.helpers import NEWSWH, query, seeded_warehouse, table_fingerprints, truth

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

MEMORY_BOUND = 1_000_000_000
"""What the ingest of LARGE_CORPUS may hold at its worst, workers included: before the
load worked in pieces it needed 1.6 GB for these pages (and failed in its load all the same)."""


def _api_env(**extra: str) -> dict[str, str]:
    from prefect.settings import get_current_settings

    return {**os.environ, "PREFECT_API_URL": get_current_settings().api.url, **extra}


def _ingest(source, data, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], int]:
    """`newswh ingest` at default settings, and the peak memory of its process tree."""
    process = subprocess.Popen(
        [NEWSWH, "ingest", str(source), "--data", str(data)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    with PeakTreeRss(process.pid) as peak:
        stdout, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), peak.peak


@pytest.fixture(scope="module")
def large_corpus(tmp_path_factory):
    """4,000 pages of which about 240 are 1–3 MB (490 MB in all): a batch's worth of large pages."""
    folder = tmp_path_factory.mktemp("large")
    write_corpus(folder, 4000, noise=0.02, seed=41, large_pages=0.06)
    return folder


def test_large_pages_ingest_at_default_settings_in_bounded_memory(large_corpus, tmp_path):
    data = tmp_path / "data"
    done, peak = _ingest(large_corpus, data, _api_env())
    assert done.returncode == 0, done.stderr[-3000:]
    assert peak < MEMORY_BOUND, f"peak {peak / 1e6:,.0f} MB"
    expected = truth(large_corpus)
    large = [row for row in expected if "body_sha256" in row]
    assert len(large) > 200
    stories = {row["story"] for row in expected if row["status"] == "article"}
    assert query(data, "select count(*) from articles") == [(len(stories),)]
    lake = str(DataPaths(data).lake / "articles" / "**" / "*.parquet")
    assert query(data, "select count(*) from read_parquet(?, hive_partitioning = true)", [lake]) == [(len(stories),)]
    bodies = dict(query(data, "select source_path, sha256(body) from captures where length(body) > 500000"))
    assert {bodies[str(large_corpus.resolve() / row["file"])] for row in large} == {row["body_sha256"] for row in large}
    # Each body is stored once (issue 18): when articles held a copy of its captures' text,
    # this file took 2.3 times the text (1,045 MB for 450 MB); now 1.3 times (602 MB): the
    # text, the narrow columns, and blocks the load's checkpoints freed.
    [(text_bytes,)] = query(data, "select sum(strlen(body)) from captures")
    file_bytes = DataPaths(data).warehouse.stat().st_size
    assert file_bytes < 1.6 * text_bytes, f"warehouse {file_bytes / 1e6:,.0f} MB for {text_bytes / 1e6:,.0f} MB of body text"


def test_running_out_of_memory_anyway_says_so_in_one_line_and_commits_nothing(tmp_path):
    """A limit below one vector of large pages (DuckDB holds 2048 rows of a table at once
    when it writes them): the run must fail, plainly, and leave the warehouse as it was."""
    data, before = seeded_warehouse(tmp_path)
    source = tmp_path / "large"
    write_corpus(source, 20, seed=43, large_pages=1.0)
    (source / "seed.txt").write_bytes(SEED.read_bytes())
    done, _ = _ingest(source, data, _api_env(NEWSWH_DUCKDB_MEMORY_LIMIT="24MB"))
    assert done.returncode == 1
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.startswith("newswh ingest: DuckDB ran out of memory (limit ")
    assert "raise NEWSWH_DUCKDB_MEMORY_LIMIT (now 24MB)" in last_line
    assert last_line.endswith("the warehouse is as it was before this run")
    assert "Traceback" not in done.stderr and "Possible solutions" not in done.stderr
    assert table_fingerprints(data) == before
    assert not DataPaths(data).next_warehouse.exists() and not DataPaths(data).spill.exists()
