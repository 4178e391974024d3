"""No process of an ingest outlives it, however it is killed (issue 13, item 2).

A supervisor (systemd, cron, a container's stop) kills the main process with SIGKILL: the
temporary Prefect server and the parse workers must exit by themselves within seconds,
freeing the server's port, and the next run must not need them.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import nullcontext
from pathlib import Path

import pytest

from newswh.children import become_a_worker, children_deaf_to_ctrl_c
from newswh.settings import DataPaths
from newswh.synth import write_corpus
from newswh.tree_rss import tree
from tests.helpers import NEWSWH, newswh

pytestmark = pytest.mark.slow


def _descendants(pid: int) -> set[int]:
    return set(tree(pid)) - {pid}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _command(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _port_is_free(port: int) -> bool:
    """Whether a new server could listen on `port`. Like any server (uvicorn too) the probe
    sets SO_REUSEADDR: connections the dead server closed linger in TIME-WAIT for a minute,
    and they bind no process and stop no server from listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_a_killed_ingest_leaves_no_server_or_worker_behind(tmp_path):
    source, data = tmp_path / "source", tmp_path / "data"
    # Ten batches of 400 on two workers: still parsing when its processes are listed and
    # killed; and one batch at the default size, which the next run parses in its own process.
    write_corpus(source, 4000, noise=0.02, seed=17)
    environment = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}  # its own server
    run = subprocess.Popen(
        [NEWSWH, "ingest", str(source), "--data", str(data), "--batch-files", "400", "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment, start_new_session=True,
    )
    left: set[int] = set()
    try:
        deadline = time.monotonic() + 180
        while not any(DataPaths(data).staging.glob("run-*/stage_files/*.parquet")):  # mid-parse
            assert run.poll() is None and time.monotonic() < deadline, "the ingest ended or never parsed"
            time.sleep(0.02)
        left = _descendants(run.pid)
        commands = {pid: _command(pid) for pid in left}
        servers = [command for command in commands.values() if "uvicorn" in command]
        assert len(servers) == 1, commands
        port = int(servers[0][servers[0].index("--port") + 1])
        assert sum("multiprocessing" in " ".join(command) for command in commands.values()) >= 2, commands

        os.kill(run.pid, signal.SIGKILL)  # the main process only, as a supervisor would
        assert run.wait() == -signal.SIGKILL
        deadline = time.monotonic() + 10
        while any(map(_alive, left)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [(pid, commands[pid]) for pid in left if _alive(pid)], "processes outlived the ingest by 10 s"
        assert _port_is_free(port)
    finally:
        for pid in left:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)

    again = newswh("ingest", str(source), "--data", str(data), env=environment)  # needs none of them
    assert again.returncode == 0, again.stderr
    assert newswh("verify", "--data", str(data)).returncode == 0


@pytest.mark.parametrize("deaf", [True, False], ids=["deaf", "not-deaf"])
def test_a_worker_sent_ctrl_c_while_it_starts_keeps_working_only_if_started_deaf(deaf):
    """The terminal sends Ctrl-C to every process of the job, workers still importing
    included; started inside children_deaf_to_ctrl_c they hold it until they ignore it.
    (The not-deaf case shows the signal really lands in the start-up window.)"""
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=become_a_worker, initargs=(os.getpid(),))
    try:
        with children_deaf_to_ctrl_c() if deaf else nullcontext():
            submitted = pool.submit(os.getpid)
        [worker] = pool._processes.values()  # started by the submit
        os.kill(worker.pid, signal.SIGINT)  # long before its imports are done
        if deaf:
            assert submitted.result(timeout=60) == worker.pid
        else:
            with pytest.raises(BrokenProcessPool):
                submitted.result(timeout=60)
    finally:
        pool.shutdown(cancel_futures=True)
