"""Parse batches on this machine: Prefect task runs in the flow, parsed by light workers."""

import shutil
import subprocess
import sys
import time

import duckdb
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.settings import PREFECT_API_URL, temporary_settings

from newswh.ingest import cpu_now, ingest
from newswh.parse_pool import ParsePool, parse_batch_here
from newswh.server import drain_prefect_workers, starting_server
from newswh.sources import read_source
from tests.helpers import IMPORTED


def test_a_batch_parsed_on_a_worker_is_the_batch_parsed_here_without_prefect(corpus, tmp_path):
    """Same rows as parsing in this process; and the worker never imported Prefect, which
    costs seconds before a first page (the reason for the pool)."""
    paths = sorted(corpus.glob("*.txt"))[:60]
    batch = [(str(path), path.stat().st_size, path.stat().st_mtime_ns, None, None) for path in paths]
    here = parse_batch_here(0, batch, str(tmp_path / "here"), 2**20, read_source)
    with ParsePool(1) as pool:
        there = pool.parse(0, batch, str(tmp_path / "there"), 2**20, read_source)
        assert pool.submit(eval, IMPORTED.format("newswh.parse")).result()
        assert not pool.submit(eval, IMPORTED.format("prefect")).result()
    assert "prefect" in sys.modules  # here it is: the check above is not vacuous
    assert there.summary == here.summary
    assert there.summary.files == 60
    for table in ("stage_files", "stage_captures", "stage_related", "stage_rejects"):
        rows = [duckdb.sql(f"select * from '{tmp_path / side / table}/*.parquet' order by all").fetchall() for side in ("here", "there")]
        assert rows[0] == rows[1]


def test_each_batch_is_a_completed_prefect_task_run(corpus, tmp_path):
    """On a server of its own, which records task runs: the suite's shared server does not
    (tests/conftest.py, SHARED_SERVER_SERVICES_OFF). Prefect's events go through one sender
    per process, made for the server of its first flow run: it is stopped before and after,
    so that this run's events reach this server and the next test's reach theirs."""
    source = tmp_path / "source"
    shutil.copytree(corpus, source, ignore=shutil.ignore_patterns("truth.jsonl"))
    expected = {f"parse-batch-{number}": "COMPLETED" for number in range(4)}
    drain_prefect_workers(timeout=5)
    with starting_server(home=tmp_path / "prefect") as server, temporary_settings(updates={PREFECT_API_URL: server.ready()}):
        try:
            state = ingest(source=str(source), data=str(tmp_path / "data"), workers=2, batch_files=100, return_state=True)
            assert state.is_completed(), state.message
            drain_prefect_workers(timeout=5)  # the task runs' events sent; the server records them as they come
            deadline = time.monotonic() + 30
            while (parse_runs := _parse_task_runs(state.state_details.flow_run_id)) != expected and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            drain_prefect_workers(timeout=5)
    assert parse_runs == expected
    assert state.result().parse_tasks == 4


def _parse_task_runs(flow_run_id: object) -> dict[str, str]:
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {run.name: run.state.type.value for run in runs if run.name.startswith("parse-batch-")}


def test_a_stage_counts_the_cpu_of_the_workers_it_reaped():
    """The parse stage's CPU (RunSummary.cpu_seconds) is mostly its workers', which exit
    and are reaped within it: a stage that counted this process alone would look idle."""
    before = cpu_now()
    burn = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"
    subprocess.run([sys.executable, "-c", burn], check=True)
    assert cpu_now() - before >= 0.3
