"""pandas stays out of an ingest's processes, where it is installed (the dashboard extra).

pyarrow imports pandas the first time it converts a Python list, only to ask whether the
list is a pandas object: 0.4 s and 45 MB in every process that does, for nothing. A parse
worker refuses it (newswh.parse_pool); the flow process converts no list on the way of a
run that parses nothing (newswh.discovered.rows_table, newswh.load.stage_views), nor on
the way of a whole run, lake included (newswh.lake.integer_scalar).
"""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest

from newswh.parse_pool import ParsePool
from newswh.sources import read_source
from tests.helpers import IMPORTED, harness_api_env

pytest.importorskip("pandas")  # without it there is nothing to keep out

DISCOVER_AND_PLAN_AND_LOAD_NOTHING = """
import sys, tempfile
from pathlib import Path
import duckdb
from newswh.load import stage_views
from newswh.discovered import discovered_table
from newswh.manifest import make_plan
from newswh.warehouse import apply_schema
con = duckdb.connect()
apply_schema(con)
plan = make_plan(con, discovered_table(Path(sys.argv[1])), "test")
with tempfile.TemporaryDirectory() as staging:
    stage_views(con, Path(staging))
print(plan["new"], con.execute("select count(*) from stage_captures").fetchall()[0][0], "pandas" in sys.modules)
"""


def test_discovering_planning_and_staging_nothing_import_no_pandas(corpus):
    """What a run does in the flow process before and around parsing, in a fresh process."""
    ran = subprocess.run([sys.executable, "-c", DISCOVER_AND_PLAN_AND_LOAD_NOTHING, str(corpus)], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == [str(len(list(corpus.glob("*.txt")))), "0", "False"]


A_WHOLE_RUN = """
import sys
from newswh.ingest import ingest
if __name__ == "__main__":
    summary = ingest(source=sys.argv[1], data=sys.argv[2], workers=2, batch_files=100)  # batches for the workers
    print(summary.counts["files_seen"], sum(summary.lake.values()) > 0, "pandas" in sys.modules)
"""

THE_COMMAND = """
import atexit, sys
atexit.register(lambda: print("pandas imported:", "pandas" in sys.modules))
from newswh.cli import main
if __name__ == "__main__":
    sys.argv[0] = "newswh"
    main()
"""


@pytest.mark.slow
def test_a_whole_run_imports_no_pandas_in_the_flow_process(corpus, tmp_path, prefect_harness):
    """A cold run of a damaged corpus called from Python, warehouse and lake written, in a
    fresh process whose pandas nothing refuses: pandas stays out. (The lake's partition cut
    once converted a Python -1.) Its parse workers refuse it."""
    script = tmp_path / "run.py"  # a file, not -c: the parse workers (spawned) import the main module
    script.write_text(A_WHOLE_RUN)
    ran = subprocess.run(
        [sys.executable, str(script), str(corpus), str(tmp_path / "data")],
        capture_output=True, text=True, env={**os.environ, **harness_api_env()}, timeout=240,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.split()[-3:] == [str(len(list(corpus.glob("*.txt")))), "True", "False"]


@pytest.mark.slow
def test_the_ingest_command_refuses_pandas_where_it_parses_a_small_run(corpus, tmp_path, prefect_harness):
    """One worker: `newswh ingest` parses in its own process, where pyarrow's first
    conversion of a list would import pandas; the command refuses it, and the run is whole."""
    script = tmp_path / "newswh_cli.py"
    script.write_text(THE_COMMAND)
    ran = subprocess.run(
        [sys.executable, str(script), "ingest", str(corpus), "--data", str(tmp_path / "data"), "--workers", "1", "--quiet"],
        capture_output=True, text=True, env={**os.environ, **harness_api_env()}, timeout=240,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "every file accounted for" in ran.stdout
    assert ran.stdout.strip().splitlines()[-1] == "pandas imported: False"


def test_a_worker_parses_without_importing_pandas(corpus, tmp_path):
    """The worker refuses pandas and still writes its staged rows."""
    import pyarrow as pa

    pa.array(["x"])
    assert "pandas" in sys.modules  # here, where nothing refuses it, that conversion imports it
    paths = sorted(corpus.glob("*.txt"))[:20]
    batch = [(str(path), path.stat().st_size, path.stat().st_mtime_ns, None, None) for path in paths]
    with ParsePool(1) as pool:
        parsed = pool.parse(0, batch, str(tmp_path), 2**20, read_source)
        assert not pool.submit(eval, IMPORTED.format("pandas")).result()
    assert parsed.summary.files == 20
    assert duckdb.sql(f"select count(*) from '{tmp_path}/stage_files/*.parquet'").fetchall() == [(20,)]
