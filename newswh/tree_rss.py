"""The peak resident memory of a process and all it started: what a machine must hold for a run.

An ingest is a tree of processes (parse workers, perhaps a temporary Prefect server), and
what must fit in a machine is their sum at the worst moment, not the largest of them
(which is all `getrusage(RUSAGE_CHILDREN).ru_maxrss` reports). Also the CPU a live process
has used (bench/run.py's figure for the temporary Prefect server). Linux only: read from /proc.
"""

from __future__ import annotations

import os
import threading
from types import TracebackType

POLL_SECONDS = 0.05


def children_by_parent() -> dict[int, list[int]]:
    """Every live process's children, from /proc/<pid>/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(entry)
        if fields is None:
            continue  # gone since listed
        if fields[0] == "Z":
            continue  # exited, not yet reaped: it holds no memory and no port
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user and system) a live process has used so far (0 once it is gone)."""
    fields = _stat_fields(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int | str) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the process's name (state, parent, …), or None
    once the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2 :].split()  # the name may hold spaces and parentheses


def tree(root: int) -> list[int]:
    """`root` and every process below it."""
    children = children_by_parent()
    found, waiting = [], [root]
    while waiting:
        pid = waiting.pop()
        found.append(pid)
        waiting.extend(children.get(pid, ()))
    return found


def resident_bytes(pid: int) -> int:
    """A process's resident memory now (0 once it is gone)."""
    return _status_bytes(pid, "VmRSS:")


def high_water_bytes(pid: int | str = "self") -> int:
    """The most resident memory a process has held since it began its program (0 once it is
    gone). Not `getrusage().ru_maxrss`: on Linux that survives exec, so a process started
    by a big one (a worker, or a run started by a benchmark holding its corpus) reports
    the memory of the process it was forked from whenever that was more."""
    return _status_bytes(pid, "VmHWM:")


def _status_bytes(pid: int | str, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class PeakTreeRss:
    """Polls a process tree's summed resident memory in a thread while in use; `peak` is
    the largest sum seen. Spikes shorter than POLL_SECONDS may be missed; `largest`, the
    highest high-water mark of any one process seen, misses none but a process's last
    moments, and is a floor for the sum."""

    def __init__(self, root: int, poll_seconds: float = POLL_SECONDS) -> None:
        self.root = root
        self.poll_seconds = poll_seconds
        self.peak = 0
        self.largest = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="peak-tree-rss", daemon=True)

    def __enter__(self) -> PeakTreeRss:
        self._thread.start()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._done.set()
        self._thread.join()

    def _poll(self) -> None:
        while True:
            pids = tree(self.root)
            self.peak = max(self.peak, sum(resident_bytes(pid) for pid in pids))
            self.largest = max(self.largest, *(high_water_bytes(pid) for pid in pids))
            if self._done.wait(self.poll_seconds):
                return
