"""One writer per data folder, enforced with an OS file lock.

`flock` is released by the kernel when its holder dies, even by SIGKILL, so a crashed
ingest never leaves a stale lock behind that a person would have to delete.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO


class IngestAlreadyRunning(RuntimeError):
    """Another ingest holds the data folder."""


class WriterLock:
    """The data folder's lock, held from `acquire` until `release` (or the process dies)."""

    def __init__(self, handle: TextIO) -> None:
        self._handle = handle

    @classmethod
    def acquire(cls, lock_path: Path, wait_seconds: float = 0.0) -> WriterLock:
        """Take the lock, waiting up to `wait_seconds` for another ingest to finish."""
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path, "a+", encoding="utf-8")
        try:
            deadline = time.monotonic() + wait_seconds
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise IngestAlreadyRunning(_holder_message(lock_path)) from None
                    time.sleep(0.2)
            handle.seek(0)
            handle.truncate()
            holder = {"pid": os.getpid(), "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}
            handle.write(json.dumps(holder))
            handle.flush()
        except BaseException:
            handle.close()
            raise
        return cls(handle)

    def release(self) -> None:
        self._handle.close()


@contextmanager
def writer_lock(lock_path: Path, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the data folder's lock for the block, waiting up to `wait_seconds` for it."""
    lock = WriterLock.acquire(lock_path, wait_seconds)
    try:
        yield
    finally:
        lock.release()


def _holder_message(lock_path: Path) -> str:
    try:
        holder = json.loads(lock_path.read_text(encoding="utf-8"))
        who = f"PID {holder['pid']}, running since {holder['since']}"
    except (OSError, ValueError, KeyError):
        who = "another process"
    return f"another ingest ({who}) is writing to {lock_path.parent}; try again when it has finished"
