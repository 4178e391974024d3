"""Scheduled ingests: the `ingest` flow served as a Prefect deployment.

Schedules need a real Prefect server (the temporary one `newswh ingest` starts cannot
schedule), so this refuses to start without PREFECT_API_URL and says how to get one.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

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
    return record.exc_info is not None and isinstance(record.exc_info[1], asyncio.CancelledError)


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
    logging.getLogger("asyncio").addFilter(lambda record: not _is_cancelled_task_callback(record))
    parameters = deployment_parameters(source, data, dask)
    ingest.serve(
        name=name,
        cron=cron,
        interval=interval,
        parameters=parameters,
        global_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
        description=f"Ingest new raw files from {parameters['source']} into {parameters['data']}.",
        tags=["newswh"],
    )
