"""How many files each parse task gets: large first, smaller towards the end.

Every parse task costs Prefect about 30 ms of CPU (its task run, its states and their
events: 25 ms on the API server, 7 ms in the flow process, measured at 100,000 files on
2 cores), on the cores the parsers need: at 5,000 files a task, 6 % of what parsing them costs. Bigger tasks cost less,
but the run waits for its last task, and a big last task leaves the other workers idle
while it finishes. So each batch takes a share of what is left to hand out
(1 / (GUIDED_SHARE x workers), "factoring"): the first batches are big, the last ones
small enough that the workers finish together. 100,000 files on 2 workers become
10 tasks, not 20 (bench/run.py: the parse stage's overhead per batch).
"""

from __future__ import annotations

import os

BATCH_FILES_MIN = 5_000
"""The smallest batch, but the last: below it, the task's cost is no longer small beside
the parsing, and the batches left to balance the workers' ends are small enough anyway."""
BATCH_FILES_MAX = 25_000
"""The largest batch: the flow keeps two per worker in flight (their file lists), and a
batch parsed again (a Dask worker lost) should not cost more than a few seconds."""
GUIDED_SHARE = 2
"""Each batch is 1/(GUIDED_SHARE x workers) of the files not yet handed out."""


def batch_sizes(files: int, workers: int, fixed: int | None = None) -> list[int]:
    """The sizes of the batches `files` files are parsed in by `workers` at once, in order:
    `fixed` files each (the last batch the rest) when given, else guided (see above)."""
    if files <= 0:
        return []
    if fixed is not None:
        if fixed < 1:
            raise ValueError(f"files per batch must be at least 1, not {fixed}")
        return [fixed] * (files // fixed) + ([files % fixed] if files % fixed else [])
    sizes = []
    left = files
    while left:
        share = -(-left // (GUIDED_SHARE * max(1, workers)))
        size = min(left, max(BATCH_FILES_MIN, min(BATCH_FILES_MAX, share)))
        sizes.append(size)
        left -= size
    return sizes


def local_batches(files: int, workers: int | None, fixed: int | None = None) -> tuple[list[int], int]:
    """The batch sizes `files` files are parsed in on this machine, and how many parse
    processes they need: `workers` (None: one per core), never more than there are batches.
    1 means the flow parses in its own process (one batch, or one worker: a process pool
    would only add its start-up)."""
    sizes = batch_sizes(files, _at_most(files, workers), fixed)
    return sizes, _at_most(len(sizes), workers)


def _at_most(batch_count: int, workers: int | None) -> int:
    return max(1, min(workers or os.cpu_count() or 1, batch_count))
