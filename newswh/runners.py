"""The parse stage's task runner on one machine: Prefect's ProcessPoolTaskRunner, with
workers that behave as an ingest's children must (see newswh/children.py).

Each worker ignores Ctrl-C (the terminal sends SIGINT to the whole job; the flow process
decides what stops) and exits once the flow process is gone. The initializer sets that
up, but a worker spends its first seconds importing Prefect before any initializer runs,
and a Ctrl-C then would print a worker's traceback. So the workers are started at once,
with SIGINT blocked in the starting thread (newswh.children.children_deaf_to_ctrl_c): they
inherit the block, and hold a Ctrl-C until their initializer ignores it.
"""

from __future__ import annotations

import os
from typing import Any

from prefect.task_runners import ProcessPoolTaskRunner

from newswh.children import become_a_worker, children_deaf_to_ctrl_c


class ParseWorkers(ProcessPoolTaskRunner):
    """A process per worker, started when the runner is entered; see the module's docstring."""

    def __init__(self, max_workers: int) -> None:
        super().__init__(max_workers=max_workers, initializer=become_a_worker, initargs=(os.getpid(),))

    def __enter__(self) -> ParseWorkers:
        super().__enter__()
        executor: Any = self._executor
        with children_deaf_to_ctrl_c():
            executor._launch_processes()  # what the executor does itself, lazily, on a submit
        return self

    def stop_now(self) -> None:
        """End the workers at once: leaving the runner waits for the batches they are
        parsing, seconds each, and an interrupted run should stop at once."""
        executor: Any = self._executor
        if executor is None:
            return
        processes = list((getattr(executor, "_processes", None) or {}).values())  # shutdown() forgets them
        for process in processes:
            process.terminate()
        executor.shutdown(wait=False, cancel_futures=True)  # so leaving the runner waits for nothing
