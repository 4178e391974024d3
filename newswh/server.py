"""A temporary Prefect API server for one `newswh ingest`, when no server is configured.

Prefect starts one by itself in that case, but as a plain child process that outlives an
ingest killed with SIGKILL (holding its port, forever). This starts the same server (the
same app, settings and environment as Prefect's ephemeral server) through
`newswh.children`, so it exits with the ingest whatever ends it.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newswh.children import PARENT_VARIABLE

STARTUP_SECONDS = 60.0


class ServerDidNotStart(RuntimeError):
    """The temporary server never answered its health check."""


@dataclass(frozen=True)
class StartingServer:
    """A temporary server on its way up: its URL is known at once (set PREFECT_API_URL to
    it before importing Prefect, which reads it then), `ready` waits for its health check."""

    url: str
    process: subprocess.Popen[bytes]

    def ready(self) -> str:
        wait_until_healthy(self.process, self.url)
        return self.url


@contextmanager
def temporary_server() -> Iterator[str]:
    """Run a Prefect API server on a free loopback port for the block; yields its API URL,
    once it answers, which the block's flows must use."""
    with starting_server() as server:
        yield server.ready()


@contextmanager
def starting_server(home: Path | None = None) -> Iterator[StartingServer]:
    """`temporary_server`, yielded as soon as it is started: the caller imports Prefect
    (about a second on one core) while the server starts up on another. With `home`, the
    server keeps its database there rather than in the user's PREFECT_HOME (the tests' one
    server for a whole run, so that no run of theirs lands in a user's own history)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    command = [
        sys.executable, "-m", "newswh.children", "uvicorn",
        "--app-dir", _site_packages_of("prefect"),
        "--factory", "prefect.server.api.server:create_app",
        "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "error", "--lifespan", "on",
    ]  # fmt: skip
    environment = {
        **os.environ,
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",
        "PREFECT__SERVER_FINAL": "1",
        PARENT_VARIABLE: str(os.getpid()),
        **({"PREFECT_HOME": str(home)} if home else {}),
    }
    environment.pop("PREFECT_API_URL", None)
    # A session of its own: a Ctrl-C at the terminal must not stop it before the ingest has
    # reported its end to it; it ends with the ingest all the same (newswh.children).
    server = subprocess.Popen(
        command, env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        yield StartingServer(url, server)
    finally:
        stop_process(server, timeout=5)


def drain_prefect_workers(timeout: float) -> None:
    """Send the logs and events this process's flows still have on their way, before the
    server they go to stops (else Prefect prints "Error logging to API" at exit)."""
    if "prefect" not in sys.modules:
        return
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        worker.drain_all(timeout=timeout)


def stop_process(process: subprocess.Popen[Any], timeout: float) -> None:
    """Stop a server this process started, by its PID: politely, then for good; close its pipes."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for stream in (process.stdout, process.stderr):
        if stream:
            stream.close()


def wait_until_healthy(server: subprocess.Popen[bytes] | None, url: str, seconds: float = STARTUP_SECONDS) -> None:
    """Return once the Prefect API at `url` answers its health check; fail plainly if the
    server exits first (when this process started it: `server`), or does not answer
    within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            detail = server.stderr.read().decode(errors="replace").strip().splitlines() if server.stderr else []
            raise ServerDidNotStart(
                f"the temporary Prefect server exited with code {server.returncode}"
                + (f": {detail[-1]}" if detail else "")
            )
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise ServerDidNotStart(f"the temporary Prefect server did not answer at {url} within {seconds:.0f} s")


def _site_packages_of(package: str) -> str:
    """Where a package is installed, without importing it (Prefect takes seconds to import,
    which the server's own start-up can overlap)."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ServerDidNotStart(f"{package} is not installed")
    return str(Path(spec.origin).parent.parent)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
