"""Parsing on a Dask cluster: the flow's parse tasks go to a running `dask.distributed`
scheduler through prefect-dask's DaskTaskRunner. Needs `newswh[dask]`, here and on every
worker (the workers import newswh to run the parse task).

Only the parse tasks go there: each reads its batch's raw files itself (from a shared
folder or object storage) and writes its rows to staging; the flow process, the
warehouse's one writer, loads them. A batch whose worker dies is run again on another
(Dask reschedules it; the batch's staged files are written again under the same names).
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from prefect.task_runners import TaskRunner

from newswh.failures import first_line

CONNECT_TIMEOUT = "15s"
"""How long to wait for the scheduler before the run fails, saying it cannot be reached."""
REFUSED_GRACE_SECONDS = 2.0
"""How long a scheduler's port may refuse connections (a scheduler restarting) before the
run fails: Dask's client retries a refused connection for all of CONNECT_TIMEOUT."""
ANSWER_SECONDS = 15.0
"""How long a port that accepts the connection has to answer as a Dask scheduler would."""


class ClusterError(RuntimeError):
    """The cluster cannot be used (not installed, not reachable): one line for a person."""


def dask_runner(address: str) -> TaskRunner:
    """A DaskTaskRunner for the scheduler at `address` (`tcp://host:8786`), connected."""
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as error:
        raise ClusterError(
            f"--dask needs prefect-dask and distributed ({error.name} is missing): pip install 'newswh[dask]'"
        ) from None
    return DaskTaskRunner(address=address, client_kwargs={"timeout": CONNECT_TIMEOUT})


def ensure_listening(
    address: str, grace_seconds: float = REFUSED_GRACE_SECONDS, answer_seconds: float = ANSWER_SECONDS
) -> None:
    """Fail in seconds when nothing listens at a `tcp://host:port` scheduler address (the
    connection is refused), instead of after Dask's CONNECT_TIMEOUT: a scheduler that is
    not running is the usual mistake, and a person (or a schedule) waited 15 s to hear it.
    A port that accepts but does not answer (something else listening there, a hung
    scheduler) fails after `answer_seconds`: Dask's client waits for the scheduler's
    handshake with no time limit, for as long as the connection stays open.
    Anything else, a host that drops packets or a name that does not resolve, and other
    protocols (tls://), are left to Dask's own connection, which says what it says. The
    address is read by Dask's own parser, so the port checked is the one Dask would dial."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address)  # no scheme: Dask's default, tcp
        host, port = parse_host_port(location)
    except ValueError:
        return  # Dask's connection says what is wrong with it
    if scheme != "tcp":
        return
    deadline = time.monotonic() + grace_seconds
    while True:
        try:
            with socket.create_connection((host, port), timeout=max(grace_seconds, 1.0)):
                break
        except ConnectionRefusedError:
            if time.monotonic() >= deadline:
                raise ClusterError(f"cannot reach the Dask scheduler at {address}: nothing listens there (connection refused)") from None
            time.sleep(0.1)
        except OSError:
            return
    _ensure_answering(address, answer_seconds)


def _ensure_answering(address: str, seconds: float) -> None:
    """Dask's own handshake with the scheduler, with a time limit, then closed: a scheduler
    takes that as a client that came and went."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from distributed.comm import connect as dask_connect

    async def handshake() -> None:
        comm = await asyncio.wait_for(dask_connect(address, timeout=seconds), seconds)
        await comm.close()

    try:
        with ThreadPoolExecutor(1) as thread:  # its own event loop, whatever the caller's thread runs
            thread.submit(asyncio.run, handshake()).result()
    except TimeoutError:  # before OSError, of which it is one
        raise ClusterError(
            f"the Dask scheduler at {address} accepted the connection but did not answer as a Dask scheduler within {seconds:g} s"
        ) from None
    except OSError:
        return  # closed on us, or refused since: Dask's own connection says what it says


def connect(runner: Any, address: str) -> None:
    """Connect now (prefect-dask connects on the first task), so a scheduler that is not
    there is one clear failure before any batch is submitted."""
    try:
        workers = runner.client.scheduler_info().get("workers", {})
    except (OSError, TimeoutError) as error:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {first_line(error)}") from None
    if not workers:
        raise ClusterError(f"the Dask scheduler at {address} has no workers: start some (`dask worker {address}`)")


NO_WORKERS_SECONDS = 60.0
"""How long a run waits on a cluster that has lost every worker before it fails, unless
NEWSWH_DASK_NO_WORKERS_SECONDS says otherwise (an autoscaler that takes longer to add one)."""


def no_workers_seconds() -> float:
    text = os.environ.get("NEWSWH_DASK_NO_WORKERS_SECONDS", "")
    try:
        seconds = float(text) if text.strip() else NO_WORKERS_SECONDS
    except ValueError:
        seconds = -1.0
    if not seconds > 0:  # nan too
        raise ClusterError(f"NEWSWH_DASK_NO_WORKERS_SECONDS={text!r} is not a positive number of seconds")
    return seconds


def batch_result(runner: Any, address: str, future: Any, patience: float, poll_seconds: float = 1.0) -> Any:
    """A parse batch's result, once there is one. Dask holds a batch whose workers all
    died until another worker joins, and the run waited for one, saying nothing, for as
    long as none did: it fails once the cluster has had no workers for `patience` seconds
    (no_workers_seconds())."""
    alone_since: float | None = None
    while True:
        try:
            return future.result(timeout=poll_seconds)
        except TimeoutError:
            pass
        if runner.client.nthreads():
            alone_since = None
            continue
        alone_since = alone_since or time.monotonic()
        if time.monotonic() - alone_since >= patience:
            raise ClusterError(
                f"the Dask cluster at {address} has had no workers for {patience:g} s with parse batches waiting: "
                f"start workers (`dask worker {address}`) and run again"
            )


def dask_worker_count(runner: Any) -> int:
    """Threads across the cluster's workers: how many batches run at once."""
    workers = runner.client.scheduler_info().get("workers", {})
    return max(1, sum(int(worker.get("nthreads", 1)) for worker in workers.values()))


def lost_work(error: BaseException, address: str) -> ClusterError | None:
    """The one-line failure for a batch the cluster could not finish, or None if `error`
    is not the cluster's doing. Dask runs a batch whose worker died again elsewhere, but
    gives up after a few deaths (KilledWorker); a scheduler that goes away mid-run
    cancels everything it had."""
    from concurrent.futures import CancelledError

    from distributed import KilledWorker

    if isinstance(error, KilledWorker):
        return ClusterError(f"the Dask cluster at {address} lost a parse batch: the workers running it died ({first_line(error)})")
    if isinstance(error, (CancelledError, OSError, TimeoutError)):
        return ClusterError(f"lost the Dask scheduler at {address} mid-run: {first_line(error)}")
    return None
