"""Parse workers on this machine: a plain process pool whose workers import only the parser.

A parse batch is still a Prefect task (`parse-batch-N`, with its state, duration and logs in
the UI), but on one machine that task is a thin wrapper that runs in a thread of the flow
process and hands its batch to a worker here. Prefect's own ProcessPoolTaskRunner runs the
task engine inside each worker instead: every worker then imports Prefect (seconds, before
it parses a page) and talks to the API for every batch, which cost the parse stage more
than half its time on 2 cores (bench/run.py). These workers import the parser, pyarrow and
nothing else, and only ever send back a batch's counts.

Each worker ignores Ctrl-C (the terminal sends SIGINT to the whole job; the flow process
decides what stops) and exits once the flow process is gone. Its initializer sets that up,
but a worker spends a moment importing before any initializer runs, and a Ctrl-C then
would print a worker's traceback: so the workers are started with SIGINT blocked in the
starting thread (newswh.children.children_deaf_to_ctrl_c): they inherit the block, and hold
a Ctrl-C until their initializer ignores it.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from newswh.children import become_a_worker, children_deaf_to_ctrl_c
from newswh.no_pandas import refuse_pandas
from newswh.staging import BatchSummary, PlannedFile, Reader, stage_batch

if TYPE_CHECKING:
    from newswh.remote import Storage

T = TypeVar("T")


@dataclass(frozen=True)
class ParsedBatch:
    """What parsing a batch sends back: its counts, and the seconds spent parsing it (the
    rest of a batch's time is the task runner's overhead, see bench/run.py)."""

    summary: BatchSummary
    seconds: float


def parse_batch_here(
    number: int, batch: list[tuple[Any, ...]], staging: str | Storage, max_bytes: int, read: Reader
) -> ParsedBatch:
    """Read and parse one batch in this process, staging its rows as Parquet.

    Staging in object storage (a cluster whose workers share no disk) is written to a local
    folder first, then uploaded, so staging.py only knows local files. Parsing a batch again
    (Dask retries one whose worker died) writes the same files again. The batch travels as
    plain tuples (PlannedFile's fields): cheap to pickle."""
    started = time.perf_counter()
    planned = [PlannedFile(*row) for row in batch]
    if isinstance(staging, str):
        summary = stage_batch(number, planned, staging, max_bytes, read=read)
    else:
        from newswh import remote

        with tempfile.TemporaryDirectory(prefix="newswh-stage-") as local:
            summary = stage_batch(number, planned, local, max_bytes, read=read)
            remote.upload_tree(Path(local), staging)
    return ParsedBatch(summary, time.perf_counter() - started)


def become_a_parse_worker(parent_pid: int) -> None:
    """A parse worker's initializer: a worker's (newswh.children) and one without pandas."""
    become_a_worker(parent_pid)
    refuse_pandas("a parse worker has no use for pandas")


class ParsePool:
    """`workers` parse processes, started when entered (unless `start` started them
    already: `newswh ingest` does while Prefect is imported, newswh.open_ahead) and gone
    when left."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> ParsePool:
        return self.start()

    def start(self) -> ParsePool:
        """Start the workers, unless they are running: each imports the parser and pyarrow
        for about 0.3 s on 2 cores before its first batch."""
        if self._executor is not None:
            return self
        # spawn: a fork of the flow process would copy its threads' locks (Prefect's, DuckDB's).
        self._executor = ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=become_a_parse_worker, initargs=(os.getpid(),),
        )
        with children_deaf_to_ctrl_c():  # a spawned pool starts a worker per submit while none is idle
            for _ in range(self.workers):
                self._executor.submit(os.getpid)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def submit(self, work: Callable[..., T], *args: Any) -> Future[T]:
        if self._executor is None:
            raise RuntimeError("the parse pool is not running")
        return self._executor.submit(work, *args)

    def parse(
        self, number: int, batch: list[tuple[Any, ...]], staging: str | Storage, max_bytes: int, read: Reader
    ) -> ParsedBatch:
        """Parse a batch on a worker and wait for it: what a parse task does on this machine."""
        return self.submit(parse_batch_here, number, batch, staging, max_bytes, read).result()

    def stop_now(self) -> None:
        """End the workers at once: leaving the pool waits for the batches they are parsing,
        seconds each, and an interrupted run should stop at once."""
        executor: Any = self._executor
        if executor is None:
            return
        for process in list((getattr(executor, "_processes", None) or {}).values()):  # shutdown() forgets them
            process.terminate()
        executor.shutdown(wait=False, cancel_futures=True)
        self._executor = None
