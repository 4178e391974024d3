"""Processes an ingest starts never outlive it: parse workers and the temporary Prefect server.

A supervisor (systemd, cron, a container's stop) that kills the ingest with SIGKILL gives
it no chance to stop its children; without this, every such kill leaked a server holding
a port and a parser per core. Each child watches its parent instead: when the parent is
gone (the child has been handed to another process), the child exits within a second.
Linux's parent-death signal would be simpler but fires when the *thread* that started the
child exits, and Prefect starts children from short-lived threads.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

WATCH_SECONDS = 0.5
"""How often a child looks for its parent; it exits within about twice this of its death."""
PARENT_VARIABLE = "NEWSWH_PARENT_PID"
"""Set for a watched child by the process that starts it, so it knows whom to watch."""
GRACE_SECONDS = 3.0
"""Time a child is given to stop cleanly on SIGTERM before it exits regardless."""


def exit_with_parent(parent_pid: int | None = None) -> None:
    """Start a daemon thread that ends this process once `parent_pid` (default: the current
    parent) is no longer its parent. Meant as a process pool's initializer."""
    parent = parent_pid if parent_pid is not None else os.getppid()
    threading.Thread(target=_watch, args=(parent,), name="exit-with-parent", daemon=True).start()


def become_a_worker(parent_pid: int) -> None:
    """A parse worker's initializer: it ends with its parent, and leaves Ctrl-C to it (the
    terminal sends SIGINT to every process of the job; the parent decides what stops).

    The parent names itself: a worker still starting when its parent is killed would
    otherwise take init for its parent, and never exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # see children_deaf_to_ctrl_c
    exit_with_parent(parent_pid)


@contextmanager
def children_deaf_to_ctrl_c() -> Iterator[None]:
    """Start worker processes inside this: they begin with SIGINT blocked (a child inherits
    the starting thread's signal mask across exec) until `become_a_worker` ignores it.

    A spawned worker imports for a second before its initializer runs; a Ctrl-C in that
    second raised KeyboardInterrupt in it, and its traceback reached the terminal. The
    block is per thread and brief: a Ctrl-C meant for this process still arrives."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)  # a server stops cleanly and frees its port
    time.sleep(GRACE_SECONDS)
    os._exit(1)


def run_module_watched(module: str) -> None:
    """`python -m newswh.children MODULE ARGS…`: run MODULE as `python -m MODULE ARGS…` would,
    ending with the process that started it."""
    import runpy

    exit_with_parent(int(os.environ.get(PARENT_VARIABLE) or os.getppid()))
    sys.argv = [module, *sys.argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    run_module_watched(sys.argv[1])
