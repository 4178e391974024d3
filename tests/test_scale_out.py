"""Scale-out (issue 17): raw files in S3, parsing on a Dask cluster, the same rows as a local run.

Real components only, on 127.0.0.1: moto's S3 server, a dask.distributed LocalCluster of
worker processes, and once a `dask scheduler` with two `dask worker` processes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from newswh.settings import DataPaths
from newswh.synth import write_corpus
from tests.cloud import (
    dask_processes, free_port, moto_s3, moto_s3_refusing_every_key, rows_by_table, s3, upload, wait_until,
)
from tests.helpers import NEWSWH, harness_api_env, run_ingest, table_fingerprints

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

BUCKET = "s3://crawl/raw"


@pytest.fixture(scope="module")
def endpoint():
    with moto_s3() as url:
        yield url


@pytest.fixture(scope="module")
def cluster(endpoint):
    """Two worker processes, started after the AWS variables point at moto: they inherit them.

    The tests that use it come last in this file: a module's fixture lives from its first
    test to the file's end, and an idle LocalCluster takes a third of a core (a tenth each
    for its scheduler and two workers), which over the whole file was 90 CPU-s of the suite's."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as local:
        yield local.scheduler_address


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    folder = tmp_path_factory.mktemp("raw")
    write_corpus(folder, 400, noise=0.2, seed=41)
    return folder


@pytest.fixture(scope="module")
def reference(source, tmp_path_factory):
    """A local run over `source`, in one batch parsed in this process: the rows do not depend
    on the batches, and a worker pool would only add its start-up. Read, never written."""
    data = tmp_path_factory.mktemp("reference") / "data"
    run_ingest(source, data)
    return data


def _same_rows(local_data, local_folder, s3_data, url=BUCKET):
    """The rows of a local reference run (in one batch parsed in this process: the rows do
    not depend on the batches, and a worker pool would only add its start-up) and of a run
    over the bucket."""
    local, remote = rows_by_table(local_data, str(local_folder.resolve())), rows_by_table(s3_data, url)
    for table in local:
        assert local[table] == remote[table], table
    assert local["articles"] and local["rejects"] and local["related_items"]


def test_staging_in_a_shared_folder_is_used_then_emptied(source, reference, tmp_path):
    """--staging as a folder (one every worker mounts): the same rows, nothing left in it."""
    data, shared = tmp_path / "data", tmp_path / "shared"
    run_ingest(source, data, batch_files=100, staging=str(shared))
    assert table_fingerprints(data) == table_fingerprints(reference)
    assert not list(shared.iterdir())


def test_scheduler_and_two_worker_processes_and_one_killed_mid_run(source, reference, tmp_path):
    """`dask scheduler` + two `dask worker` processes; the CLI ingests on them; one worker is
    killed while batches run: its batch runs again on the other, and the rows are a local run's."""
    with dask_processes(2) as (address, workers):
        data = tmp_path / "data"
        run = subprocess.Popen(
            [NEWSWH, "ingest", str(source), "--data", str(data), "--batch-files", "20", "--dask", address],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **harness_api_env()},
        )
        wait_until(
            lambda: any(DataPaths(data).staging.glob("run-*/stage_files/*.parquet")) or run.poll() is not None,
            timeout=180, what="the first staged batch",
        )
        assert run.poll() is None, "the run ended before a worker could be killed mid-run"
        workers[0].send_signal(signal.SIGKILL)
        out, err = run.communicate(timeout=300)
    assert "Traceback" not in out + err, err
    if run.returncode == 0:
        assert table_fingerprints(data) == table_fingerprints(reference)
    else:  # the other allowed outcome: a clean failure, nothing committed
        assert len(err.strip().splitlines()) == 1 and err.startswith("newswh ingest: "), err
        assert not DataPaths(data).warehouse.exists()


def test_a_cluster_that_loses_every_worker_fails_the_run_in_one_line(source, tmp_path):
    """Dask holds the batches of a cluster with no workers until one joins: the run waited
    for one, silently, as long as none did."""
    with dask_processes(1) as (address, workers):
        data = tmp_path / "data"
        run = subprocess.Popen(
            [NEWSWH, "ingest", str(source), "--data", str(data), "--batch-files", "20", "--dask", address],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **harness_api_env(), "NEWSWH_DASK_NO_WORKERS_SECONDS": "3"},
        )
        wait_until(
            lambda: any(DataPaths(data).staging.glob("run-*/stage_files/*.parquet")) or run.poll() is not None,
            timeout=180, what="the first staged batch",
        )
        assert run.poll() is None, "the run ended before its worker could be killed"
        workers[0].send_signal(signal.SIGKILL)
        try:
            out, err = run.communicate(timeout=120)
        finally:
            run.kill()  # a run still waiting for a worker: the failure, not a process left behind
    assert run.returncode == 1, err
    assert "Traceback" not in out + err, err
    [line] = err.strip().splitlines()[-1:]
    assert line.startswith(f"newswh ingest: the Dask cluster at {address} has had no workers for 3 s"), err
    assert not DataPaths(data).warehouse.exists()


def test_a_killed_flow_process_leaves_dask_workers_running_for_the_next_run(source, tmp_path):
    """The cluster is not the ingest's: killing the CLI stops its run, not the workers."""
    with dask_processes(1) as (address, workers):
        data = tmp_path / "data"
        run = subprocess.Popen(
            [NEWSWH, "ingest", str(source), "--data", str(data), "--batch-files", "20", "--dask", address],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **harness_api_env()},
            start_new_session=True,
        )
        wait_until(lambda: any(DataPaths(data).staging.glob("run-*/stage_files/*.parquet")), timeout=180, what="parsing")
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
        assert all(worker.poll() is None for worker in workers)
        summary = run_ingest(source, data, batch_files=100, dask=address)
        assert summary.counts["files_seen"] == 400


@pytest.mark.parametrize(
    "case, arguments, message",
    [
        ("bucket missing", ["s3://no-such-bucket/raw"], "source s3://no-such-bucket/raw does not exist (no such bucket or prefix)"),
        ("bad storage options", [BUCKET, "--storage-options", "[1]"], "--storage-options must be a JSON object"),
        ("staging bucket missing", [BUCKET, "--staging", "s3://no-such-staging/rows"], "staging s3://no-such-staging/rows: there is no bucket 'no-such-staging'"),
        ("scheduler unreachable", ["{seed}", "--dask", "tcp://127.0.0.1:{port}"], "cannot reach the Dask scheduler at tcp://127.0.0.1:"),
    ],
)
def test_bad_cases_are_one_line_and_commit_nothing(endpoint, tmp_path, case, arguments, message):
    from tests.conftest import SEED

    data = tmp_path / "data"
    arguments = [argument.format(seed=SEED.parent, port=free_port()) for argument in arguments]
    started = time.monotonic()
    done = subprocess.run(
        [NEWSWH, "ingest", *arguments, "--data", str(data)],
        capture_output=True, text=True, timeout=180, env={**os.environ, **harness_api_env()},
    )
    assert done.returncode != 0, case
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("newswh ingest: ") and message in last, done.stderr
    assert not DataPaths(data).warehouse.exists()
    assert time.monotonic() - started < 120
    if case == "staging bucket missing":  # s3fs would have created it
        assert not s3().exists("no-such-staging")
    if case == "scheduler unreachable":  # said by the check for a listening port, not after Dask's 15 s connect timeout
        assert "nothing listens there (connection refused)" in last, last


def test_a_refused_scheduler_port_fails_after_the_grace_not_the_connect_timeout():
    from newswh.cluster import REFUSED_GRACE_SECONDS, ClusterError, ensure_listening

    port = free_port()
    started = time.monotonic()
    with pytest.raises(ClusterError, match=rf"^cannot reach the Dask scheduler at tcp://127.0.0.1:{port}: nothing listens there"):
        ensure_listening(f"tcp://127.0.0.1:{port}")
    assert REFUSED_GRACE_SECONDS <= time.monotonic() - started < 10  # Dask alone would take its CONNECT_TIMEOUT, 15 s
    with pytest.raises(ClusterError):
        ensure_listening(f"127.0.0.1:{port}", grace_seconds=0)  # no scheme: Dask's default, tcp


def test_a_port_that_accepts_but_never_answers_fails_the_check():
    """Dask's client waits for the scheduler's handshake with no time limit."""
    import socket

    from newswh.cluster import ClusterError, ensure_listening

    with socket.create_server(("127.0.0.1", 0)) as listening:  # the kernel accepts; nothing ever answers
        address = f"tcp://127.0.0.1:{listening.getsockname()[1]}"
        with pytest.raises(ClusterError, match=rf"^the Dask scheduler at {address} accepted the connection but did not answer"):
            ensure_listening(address, grace_seconds=0, answer_seconds=1)


def test_wrong_credentials_are_one_line(tmp_path):
    """A server that checks signatures and knows no key refuses the listing: one line."""
    with moto_s3_refusing_every_key() as endpoint:
        done = subprocess.run(
            [NEWSWH, "ingest", "s3://crawl/raw", "--data", str(tmp_path / "data")],
            capture_output=True, text=True, timeout=180,
            env={**os.environ, **harness_api_env(), "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "AKIAWRONGWRONGWRONG1",
                 "AWS_SECRET_ACCESS_KEY": "wrong", "AWS_DEFAULT_REGION": "us-east-1"},
        )
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("newswh ingest: source s3://crawl/raw cannot be"), done.stderr
    assert not DataPaths(tmp_path / "data").warehouse.exists()



def test_s3_on_dask_gives_the_rows_of_a_local_run_through_increments(endpoint, cluster, source, tmp_path):
    """Cold run, a few objects changed, one deleted: after each, the same rows as locally."""
    source = Path(shutil.copytree(source, tmp_path / "raw"))  # this test changes its files
    url = "s3://crawl/increments"
    upload(source, url)
    local_data, s3_data = tmp_path / "local", tmp_path / "s3"

    def both(expect_read):
        here = run_ingest(source, local_data)  # the reference: one batch, parsed in this process
        there = run_ingest(url, s3_data, batch_files=60, dask=cluster)
        assert there.counts == here.counts
        assert there.counts["files_seen"] - there.counts["files_unchanged"] == expect_read
        _same_rows(local_data, source, s3_data, url)
        return there

    first = both(expect_read=400)
    assert first.source == url

    unchanged = both(expect_read=0)  # nothing listed as changed is read
    assert unchanged.counts["files_unchanged"] == 400

    files = sorted(source.rglob("*.txt"))
    replacement = tmp_path / "other"
    write_corpus(replacement, 3, noise=0.0, seed=99)
    for target, new in zip(files[:3], sorted(replacement.rglob("*.txt"))):
        target.write_bytes(new.read_bytes())
    upload(source, url, files[:3])
    changed = both(expect_read=3)
    # other stories over archived ones: those keep their captures, as locally (a reject before is an article now)
    assert changed.counts["articles_written"] + changed.counts["captures_kept"] == 3

    gone = files[10]
    gone.unlink()
    s3().rm(f"{url.removeprefix('s3://')}/{gone.relative_to(source).as_posix()}")
    deleted = both(expect_read=0)
    assert deleted.counts["files_missing"] == 1


def test_staging_in_the_bucket_is_used_then_removed(endpoint, cluster, source, reference, tmp_path):
    upload(source, BUCKET)
    data = tmp_path / "data"
    summary = run_ingest(BUCKET, data, batch_files=100, dask=cluster, staging="s3://crawl/staging")
    assert summary.counts["files_seen"] == 400
    _same_rows(reference, source, data)
    assert not s3().exists("crawl/staging") or not s3().find("crawl/staging")
    assert not DataPaths(data).staging.exists()


def test_a_scheduler_that_answers_and_other_protocols_pass_the_check(cluster):
    from newswh.cluster import ensure_listening

    started = time.monotonic()
    ensure_listening(cluster, grace_seconds=0, answer_seconds=5)
    assert time.monotonic() - started < 5
    ensure_listening(f"tls://127.0.0.1:{free_port()}", grace_seconds=0)  # left to Dask, which knows TLS
