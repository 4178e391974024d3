"""One writer per data folder, enforced with an OS lock on the data folder itself.

`flock` is released by the kernel when its holder dies, even by SIGKILL, so a crashed
ingest never leaves a stale lock behind that a person would have to delete. The lock is
taken on the folder, not on a lock file: a cleanup script that deletes `.ingest.lock`
mid-run would otherwise let a second writer lock a new file of the same name. The lock
file only says who holds the lock, for the message a second writer prints.
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


INGEST = "ingest"
"""What holds the lock unless its taker says otherwise (`newswh rebuild`, `verify --repair`)."""


class IngestAlreadyRunning(RuntimeError):
    """Another ingest holds the data folder."""


class WriterLock:
    """The data folder's lock, held from `acquire` until `release` (or the process dies)."""

    def __init__(self, folder: int) -> None:
        self._folder = folder

    @classmethod
    def acquire(cls, lock_path: Path, wait_seconds: float = 0.0, doing: str = INGEST) -> WriterLock:
        """Take the lock on `lock_path`'s folder, waiting up to `wait_seconds` for another ingest to finish.
        `doing`: what holds it, for the message of a writer refused meanwhile."""
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        folder = _open_folder(lock_path)
        try:
            deadline = time.monotonic() + wait_seconds
            while True:
                try:
                    fcntl.flock(folder, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise IngestAlreadyRunning(_holder_message(lock_path)) from None
                    time.sleep(0.2)
            _write_holder(lock_path, doing)
        except BaseException:
            os.close(folder)
            raise
        return cls(folder)

    def release(self) -> None:
        os.close(self._folder)


def _open_folder(lock_path: Path) -> int:
    """A descriptor of the data folder, which the lock is taken on (see the module's docstring)."""
    return os.open(lock_path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def held_by_another(lock_path: Path) -> str | None:
    """Why an ingest that will not wait cannot have `lock_path`'s folder now, or None: a
    look, not a claim (the run still takes the lock), so that `newswh ingest` can refuse
    before it starts Prefect (4-8 s) rather than after."""
    try:
        folder = _open_folder(lock_path)
    except OSError:  # no data folder yet; or one the run will say what is wrong with
        return None
    try:
        fcntl.flock(folder, fcntl.LOCK_SH | fcntl.LOCK_NB)  # refused while a writer holds it exclusively
    except BlockingIOError:
        return _holder_message(lock_path)
    finally:
        os.close(folder)  # and with it our shared lock
    return None


@contextmanager
def writer_lock(lock_path: Path, wait_seconds: float = 0.0, doing: str = INGEST) -> Iterator[None]:
    """Hold the data folder's lock for the block, waiting up to `wait_seconds` for it."""
    lock = WriterLock.acquire(lock_path, wait_seconds, doing)
    try:
        yield
    finally:
        lock.release()


def _write_holder(lock_path: Path, doing: str) -> None:
    """Say who holds the lock; written whole, then renamed, so a reader never sees half of it."""
    holder = {"pid": os.getpid(), "since": datetime.now(timezone.utc).isoformat(timespec="seconds"), "doing": doing}
    temporary = lock_path.with_name(f".{lock_path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(holder), encoding="utf-8")
    os.replace(temporary, lock_path)


def _holder_message(lock_path: Path) -> str:
    try:
        holder = json.loads(lock_path.read_text(encoding="utf-8"))
        who = f"PID {holder['pid']}, running since {holder['since']}"
        doing = holder.get("doing", INGEST)
    except (OSError, ValueError, KeyError, AttributeError):
        who, doing = "another process", INGEST
    what = "another ingest" if doing == INGEST else f"a `newswh {doing}`"
    return f"{what} ({who}) is writing to {lock_path.parent}; try again when it has finished"
