"""What `newswh ingest` shows a person: a live progress display on a terminal, one plain line
per stage elsewhere (cron, CI), nothing with --quiet; Prefect's own lines only with --verbose.

The flow logs one line per stage (and one per parse batch) through Prefect's run logger,
tagged with `extra={"stage": …}`; those lines also reach the Prefect UI. This reads the
same records, so the terminal and the UI never tell two stories.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

FLOW_LOGGER = "prefect.flow_runs"


class Verbosity(str, Enum):
    quiet = "quiet"
    normal = "normal"
    verbose = "verbose"


class _PlainStages(logging.Handler):
    """One line per stage, for logs and pipes: no cursor tricks, no per-batch noise."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        stage = getattr(record, "stage", None)
        if stage and stage != "parse-batch":
            self.console.print(record.getMessage(), highlight=False, markup=False)


class _QuietStages(_PlainStages):
    """--quiet: the stages' warnings only, as the command's own lines. A run reading another
    source than the last (an unmounted disk, a typo) counts every other file missing, and
    under --quiet a scheduled run said only its final line."""

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "stage", None) and record.levelno >= logging.WARNING:
            self.console.print(f"newswh ingest: {record.getMessage()}", highlight=False, markup=False, soft_wrap=True)


class _LiveStages(_PlainStages):
    """Files parsed of total with rate and ETA while parsing; each finished stage above it."""

    def __init__(self, console: Console) -> None:
        super().__init__(console)
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files · {task.fields[rate]} files/s · ETA {task.fields[eta]}"),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task("discover", total=None, rate="-", eta="-")
        self.parse_started = 0.0

    def emit(self, record: logging.LogRecord) -> None:
        stage = getattr(record, "stage", None)
        if stage == "plan":
            self.parse_started = time.monotonic()
            self.progress.update(self.task, description="parse", total=getattr(record, "to_read", 0) or None, completed=0)
        elif stage == "parse-batch":
            done = getattr(record, "done", 0)
            rate = done / max(time.monotonic() - self.parse_started, 1e-9)
            left = max((getattr(record, "to_read", 0) or 0) - done, 0)
            self.progress.update(self.task, completed=done, rate=f"{rate:,.0f}", eta=_minutes(left / rate if rate else 0))
            return
        elif stage == "parse":
            self.progress.update(self.task, description="load", total=None, rate="-", eta="-")
        elif stage == "load":
            self.progress.update(self.task, description="lake and commit")
        super().emit(record)


def _minutes(seconds: float) -> str:
    """The time left from the run's own rate since parsing began: batches finish in bursts
    (a worker's first two together), which a rate over the last few updates, as rich's
    TimeRemainingColumn takes it, turns into an ETA of a second."""
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


@contextmanager
def ingest_display(verbosity: Verbosity, console: Console | None = None) -> Iterator[None]:
    """Show the run's stages for the block; call after Prefect is imported (it sets up logging)."""
    console = console or Console(stderr=True)
    if verbosity is not Verbosity.verbose:
        _quiet_prefect_console()
    live = console.is_terminal
    handler = _QuietStages(console) if verbosity is Verbosity.quiet else _LiveStages(console) if live else _PlainStages(console)
    logger = logging.getLogger(FLOW_LOGGER)
    logger.addHandler(handler)
    try:
        if isinstance(handler, _LiveStages):
            with handler.progress:
                yield
        else:
            yield
    finally:
        logger.removeHandler(handler)


def _quiet_prefect_console() -> None:
    """Keep Prefect's console lines (per-task "Finished in state Completed()", start-up
    chatter) off the terminal; they still reach the Prefect API and UI."""
    from prefect.logging.handlers import PrefectConsoleHandler

    # Parse workers configure Prefect's logging afresh from logging.yml, whose keys can be
    # set from the environment they inherit: keep their console handler quiet as well.
    os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] = "CRITICAL"
    for name in ("", "prefect", "uvicorn", "fastapi"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, PrefectConsoleHandler):
                handler.setLevel(logging.CRITICAL + 1)
