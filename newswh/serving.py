"""Scheduled ingests: the `ingest` flow served as a Prefect deployment.

Schedules need a real Prefect server (the temporary one `newswh ingest` starts cannot
schedule), so this refuses to start without PREFECT_API_URL and says how to get one.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

DEPLOYMENT_NAME = "newswh"
BUSY_RETRIES = 4
"""A scheduled run that finds the data folder busy tries again after about 5, 10, 20 and 40 s."""


class ServeError(RuntimeError):
    """The deployment cannot be served; the message says what to do."""


def deployment_parameters(source: Path | str, data: Path, dask: str | None = None) -> dict[str, object]:
    """Absolute paths: the runner starts flow runs from its own working directory. `source`
    is a local folder, or a URL (str) read as `newswh ingest` reads it. `dask`: the
    scheduler every scheduled run parses on (None: processes on this machine)."""
    where = source if isinstance(source, str) else str(source.resolve())
    parameters: dict[str, object] = {"source": where, "data": str(data.resolve()), "busy_retries": BUSY_RETRIES}
    if dask:
        parameters["dask"] = dask
    return parameters


def _check_cron(cron: str) -> None:
    """Refuse a schedule Prefect would refuse deep inside `serve`, with a traceback."""
    from prefect.client.schemas.schedules import CronSchedule
    from pydantic import ValidationError

    try:
        CronSchedule(cron=cron)
    except ValidationError as error:
        reason = error.errors()[0].get("msg", "") if error.errors() else ""
        raise ServeError(f"--cron {cron!r} is not a cron schedule ({reason}); e.g. \"*/5 * * * *\"") from None


def _is_cancelled_task_callback(record: logging.LogRecord) -> bool:
    """Whether asyncio is reporting a callback that looked at a task cancelled at shutdown.

    Python 3.11's stream server asks its connection task for an exception without asking
    first whether it was cancelled (3.12 asks), so a Ctrl-C that stops `newswh serve` while
    a run holds its connection to the runner printed a 40-line traceback ending in
    CancelledError. A cancelled task is how a stop looks, not a failure."""
    return isinstance(_logged_error(record), asyncio.CancelledError)


def _logged_error(record: logging.LogRecord) -> BaseException | None:
    """The exception a log record carries, if any. A filter that raises fails the logging
    call, and with it what logged (Prefect's runner then failed to start), and some records
    carry exc_info=False (Prefect's events client's "Unable to connect", outside debug mode)
    or True, not the exception's tuple."""
    return record.exc_info[1] if isinstance(record.exc_info, tuple) else None


SERVER_POLL_SECONDS = 5.0
"""How often a serve asks its Prefect server whether it is there (`ServerWatch`)."""
MISSED_BEFORE_AWAY = 2
"""Health checks missed in a row before a serve says its server is away: one slow answer
from a busy server is not an outage."""


class ServerWatch:
    """What `newswh serve` says about its Prefect server, from one health check after
    another. While the server is away no scheduled run starts, and the runner itself only
    printed Prefect's tracebacks of failed connections, then nothing for as long as the
    server stayed away: a schedule could stop for hours with no line of its own saying so."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.missed = 0
        self.first_missed: datetime | None = None
        self.away_since: datetime | None = None

    def observe(self, silence: str | None, now: datetime) -> str | None:
        """The line to print after a health check (`silence`: why the server gave no healthy
        answer, None if it did), or None when nothing changed."""
        if silence is None:
            self.missed, self.first_missed = 0, None
            if self.away_since is None:
                return None
            away = (now - self.away_since).total_seconds()
            self.away_since = None
            return f"newswh serve: the Prefect server at {self.url} answers again, after {away:.0f} s away: the schedule goes on"
        self.missed += 1
        self.first_missed = self.first_missed or now
        if self.away_since is not None or self.missed < MISSED_BEFORE_AWAY:
            return None
        self.away_since = self.first_missed
        return (
            f"newswh serve: the Prefect server at {self.url} stopped answering at {self.away_since:%H:%M:%S} ({silence}): "
            "no scheduled run starts until it is back; this serve waits for it (Ctrl-C stops it)"
        )


@contextmanager
def watching_server(
    url: str, out: TextIO | None = None, every: float = SERVER_POLL_SECONDS,
    silence: Callable[[str, float], str | None] | None = None,
) -> Iterator[None]:
    """Check the server every `every` seconds on a thread of its own while the block runs,
    printing what `ServerWatch` says to `out` (standard error)."""
    if silence is None:
        from newswh.paths_check import server_silence as silence
    watch = ServerWatch(url)
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(every):
            said = watch.observe(silence(url, every), datetime.now())
            if said is not None:
                print(said, file=out or sys.stderr, flush=True)

    thread = threading.Thread(target=poll, name="newswh-server-watch", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()


def _no_traceback_for_lost_server(record: logging.LogRecord) -> bool:
    """Prefect's runner logs each connection it loses to a stopped server with the
    exception's traceback (30 lines each, several a minute); the message line is kept, and
    `watching_server` says what it means."""
    if _server_unreachable(_logged_error(record)):
        record.exc_info, record.exc_text = None, None
    return True


def _server_unreachable(error: BaseException | None) -> bool:
    """Whether an exception (or one it was raised from) is a lost or refused connection, or
    Prefect's polling giving up after them ("Service exceeded error threshold."). The
    classes are Prefect's clients' (httpx's, websockets'), told by name: they are Prefect's
    dependencies, not ours."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, ConnectionError) or any(
            (kind.__module__.split(".")[0], kind.__name__) in _LOST_CONNECTION for kind in type(error).__mro__
        ):
            return True
        if isinstance(error, RuntimeError) and str(error) == "Service exceeded error threshold.":
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


_LOST_CONNECTION = frozenset({("httpx", "TransportError"), ("websockets", "ConnectionClosed")})


SERVED_RECENTLY_SECONDS = 30
"""A deployment polled this recently is being served (a serve polls every 10 s)."""


def served_elsewhere(deployment: Any, parameters: dict[str, object]) -> str | None:
    """Why this serve must not take the deployment over, or None: another serve polls it
    now, for another source or data folder. A second `newswh serve` with the default --name
    re-pointed the first one's deployment at its own folders, and the first serve's runs
    then loaded the second one's files, with nothing said to either."""
    from datetime import datetime, timezone

    theirs = deployment.parameters
    if (theirs.get("source"), theirs.get("data")) == (parameters["source"], parameters["data"]) or deployment.last_polled is None:
        return None
    seconds = (datetime.now(timezone.utc) - deployment.last_polled).total_seconds()
    if seconds > SERVED_RECENTLY_SECONDS:
        return None  # its serve stopped: this one takes the deployment over
    return (
        f"the deployment ingest/{deployment.name} is served by another `newswh serve` now, for {theirs.get('source')} into "
        f"{theirs.get('data')} (it polled {seconds:.0f} s ago): give this one its own --name, or stop that one first "
        f"(and wait {SERVED_RECENTLY_SECONDS} s)"
    )


def crash_runs_left_running(client: Any, deployment: Any) -> list[str]:
    """Mark Crashed the deployment's runs that the server has as running while no process
    holds their data folder's lock (a folder of this machine): runs whose process was
    killed (kill -9, the OOM killer, a reboot). Such a run held the deployment's one slot,
    so every run after it was cancelled, with nothing said, until its lease ran out, and it
    stayed Running in the UI. Returns their names."""
    from prefect.client.schemas.filters import (
        DeploymentFilter, DeploymentFilterId, FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    from newswh.locking import held_by_another
    from newswh.settings import DataPaths

    crashed = []
    running = FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING, StateType.CANCELLING]))
    for run in client.read_flow_runs(
        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
        flow_run_filter=FlowRunFilter(state=running),
    ):
        data = Path(str(run.parameters["data"])) if run.parameters.get("data") else None
        if data is None or not data.is_dir() or held_by_another(DataPaths(data).lock) is not None:
            continue  # an ingest writes there now (its run is alive), or it is not this machine's to tell
        message = "its process is gone (killed, or its machine restarted), found by `newswh serve` as it started"
        client.set_flow_run_state(run.id, Crashed(message=message), force=True)
        crashed.append(run.name)
    return crashed


def _take_over(name: str, parameters: dict[str, object]) -> None:
    """Before serving `ingest/<name>` again: refuse if another serve serves it for other
    folders (`served_elsewhere`), and crash the runs a killed serve left running
    (`crash_runs_left_running`), saying which."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            deployment = client.read_deployment_by_name(f"ingest/{name}")
        except ObjectNotFound:
            return  # served for the first time
        taken = served_elsewhere(deployment, parameters)
        if taken is not None:
            raise ServeError(taken)
        for run in crash_runs_left_running(client, deployment):
            print(
                f"newswh serve: flow run {run!r} was left running by a process that is gone: marked Crashed, "
                "so the schedule goes on (the warehouse is as its last committed run left it)",
                file=sys.stderr,
            )


def serve_ingest(
    source: Path | str, data: Path, cron: str | None, interval: float | None, name: str = DEPLOYMENT_NAME, dask: str | None = None
) -> None:
    """Serve the ingest on a schedule until interrupted; at most one run at a time.

    A run that comes due while another is still running is cancelled (the next one
    catches up), so runs never overlap and never pile up behind a slow one.
    """
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.settings import get_current_settings

    from newswh.ingest import ingest

    if (cron is None) == (interval is None):
        raise ServeError("give exactly one schedule: --cron EXPR or --interval SECONDS")
    if interval is not None and not interval > 0:
        raise ServeError("--interval must be a positive number of seconds")
    if not name or "/" in name or "%" in name:
        raise ServeError(f"--name {name!r} cannot be a deployment's name: give one without / or %")
    if cron is not None:
        _check_cron(cron)
    if not get_current_settings().api.url:
        raise ServeError(
            "schedules need a Prefect server: start one with `prefect server start`, then "
            "`export PREFECT_API_URL=http://127.0.0.1:4200/api` and run newswh serve again"
        )
    if isinstance(source, Path) and not source.is_dir():
        raise ServeError(f"source folder {source} does not exist or is not a folder")
    parameters = deployment_parameters(source, data, dask)
    _take_over(name, parameters)
    logging.getLogger("asyncio").addFilter(lambda record: not _is_cancelled_task_callback(record))
    for logger in (logging.getLogger(), logging.getLogger("prefect._internal")):  # Prefect's console handlers
        for handler in logger.handlers:
            handler.addFilter(_no_traceback_for_lost_server)
    with watching_server(get_current_settings().api.url):
        ingest.serve(
            name=name,
            cron=cron,
            interval=interval,
            parameters=parameters,
            global_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
            description=f"Ingest new raw files from {parameters['source']} into {parameters['data']}.",
            tags=["newswh"],
        )
