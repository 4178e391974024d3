"""Real object storage and real Dask clusters on 127.0.0.1, for the scale-out tests.

moto's S3 server runs in this process on a free port; s3fs reaches it through the usual
AWS variables (AWS_ENDPOINT_URL among them), which Dask worker processes inherit.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from newswh.server import free_port, stop_process
from newswh.settings import DataPaths
from tests.conftest import environment

AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
BIN = Path(sys.executable).parent


def wait_until(condition, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


@contextmanager
def moto_s3() -> Iterator[str]:
    """moto's S3 server on a free loopback port, health-checked; yields its endpoint URL
    and points the AWS variables at it until it stops."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        with environment({**AWS, "AWS_ENDPOINT_URL": endpoint}):
            wait_until(lambda: _answers(f"{endpoint}/moto-api/"), what="moto's S3 server")
            yield endpoint
    finally:
        server.stop()


@contextmanager
def moto_s3_refusing_every_key() -> Iterator[str]:
    """A `moto_server` process that checks every request's credentials from the first one
    on (INITIAL_NO_AUTH_ACTION_COUNT=0) and knows no key: what wrong credentials meet.
    Yields its endpoint URL; stopped by PID."""
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"},
    )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        wait_until(lambda: _answers(f"{endpoint}/moto-api/"), what="moto_server")
        yield endpoint
    finally:
        stop_process(server, timeout=20)


def s3() -> object:
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    return s3fs.S3FileSystem()


def upload(folder: Path, url: str, files: list[Path] | None = None) -> None:
    """`files` (default: every *.txt below `folder`) to the same relative keys below `url`
    (s3://bucket/prefix)."""
    fs = s3()
    bucket = url.removeprefix("s3://").split("/")[0]
    if not fs.exists(bucket):
        fs.mkdir(bucket)
    for file in files if files is not None else sorted(folder.rglob("*.txt")):
        fs.pipe_file(f"{url.removeprefix('s3://')}/{file.relative_to(folder).as_posix()}", file.read_bytes())


@contextmanager
def dask_processes(workers: int = 2) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """`dask scheduler` and `dask worker` processes on loopback; yields the scheduler's
    address and the workers' processes (a test may kill one). Stopped by PID."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    common = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    scheduler = subprocess.Popen(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **common
    )
    started = [scheduler]
    try:
        wait_until(lambda: _connects(port), what="the dask scheduler")
        for _ in range(workers):
            started.append(subprocess.Popen(
                [str(BIN / "dask"), "worker", address, "--host", "127.0.0.1", "--nworkers", "1", "--nthreads", "1",
                 "--no-dashboard", "--death-timeout", "30"],
                **common,
            ))
        wait_until(lambda: _worker_count(address) >= workers, what="the dask workers")
        yield address, started[1:]
    finally:
        for process in reversed(started):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _connects(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _worker_count(address: str) -> int:
    from distributed import Client

    with Client(address, timeout="5s") as client:
        return len(client.scheduler_info()["workers"])


def rows_by_table(data: Path, prefix: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every data table, with `prefix` taken off the paths of raw files: what
    must be the same whether the files were read from a folder or a bucket. Times that
    come from the storage (mtime) are left out; everything parsed is in."""
    tables = ("articles", "captures", "capture_related", "related_items", "news_items", "rejects")
    found = {}
    with duckdb.connect(str(DataPaths(data).warehouse), read_only=True) as con:
        for table in tables:
            columns = [row[0] for row in con.execute(f"describe {table}").fetchall()]
            select = ", ".join(
                f"replace({name}, ?, '') as {name}" if name == "source_path" else name for name in columns
            )
            params = [prefix] if "source_path" in columns else []
            found[table] = sorted(con.execute(f"select {select} from {table}", params).fetchall(), key=repr)
        found["source_files"] = sorted(
            con.execute(
                "select replace(source_path, ?, ''), size_bytes, content_hash, outcome, article_id, reject_reason, "
                "missing_since_run_id is not null from source_files", [prefix]
            ).fetchall(),
            key=repr,
        )
    return found
