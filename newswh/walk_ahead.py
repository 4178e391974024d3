"""The walk of a local source folder, started in a child process while `newswh ingest`
is still importing Prefect.

Those imports keep one core busy for about 1.2 s while the other idles, and walking
100,000 files takes about 0.5 s, mostly lstat calls. A thread would not overlap the two:
after each call it waits up to 5 ms for the importing thread to hand back the GIL. So the
CLI starts the walk in a child (`start`) before its imports, and the flow's discovery
takes the child's table (`take`) when one was started for the same folder.

The child is only a head start, never the only way: if it fails or is killed, `take`
answers None and the flow walks the folder itself, so any error is reported by the flow,
as without it. The child says nothing (its stderr is discarded), ignores Ctrl-C like a
parse worker (its parent decides what stops), and ends with its parent.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa

from newswh.children import PARENT_VARIABLE, become_a_worker, children_deaf_to_ctrl_c

_SECONDS_KEY = b"newswh.walk_seconds"
_STARTED_KEY = b"newswh.walk_started"
MAX_AGE_SECONDS = 10.0
"""A walk older than this when the flow asks for it is not used: a run that waited for
another run's lock (`--wait`) walks again, so it plans against the folder as it is then."""
_walks: dict[Path, subprocess.Popen[bytes]] = {}


def start(source: Path) -> None:
    """Start walking `source` (resolved, as the flow resolves it) in a child process."""
    if source in _walks:
        return
    env = {**os.environ, PARENT_VARIABLE: str(os.getpid())}
    with children_deaf_to_ctrl_c():
        _walks[source] = subprocess.Popen(
            [sys.executable, "-m", "newswh.walk_ahead", str(source)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
        )


def take(source: Path) -> tuple[pa.Table, float] | None:
    """The discovered table of `source` and the seconds its walk took, if a child walked it
    and finished; None otherwise (the caller walks it)."""
    child = _walks.pop(source, None)
    if child is None:
        return None
    assert child.stdout is not None
    try:
        with child.stdout, pa.ipc.open_stream(child.stdout) as reader:
            table = reader.read_all()
    except (OSError, pa.ArrowException):
        child.kill()
        child.wait()
        return None
    metadata = table.schema.metadata or {}
    if child.wait() != 0 or _SECONDS_KEY not in metadata or _STARTED_KEY not in metadata:
        return None
    if time.time() - float(metadata[_STARTED_KEY]) > MAX_AGE_SECONDS:
        return None
    return table.replace_schema_metadata(None), float(metadata[_SECONDS_KEY])


def _stop_untaken() -> None:
    """A run refused before its discovery (a busy data folder, a bad path) leaves its child."""
    for child in _walks.values():
        child.kill()
        child.wait()
    _walks.clear()


atexit.register(_stop_untaken)


def _walk(source: str) -> None:
    from newswh.discovered import discovered_table

    started_at, started = time.time(), time.perf_counter()
    table = discovered_table(Path(source))
    seconds = time.perf_counter() - started
    table = table.replace_schema_metadata({_SECONDS_KEY: str(seconds).encode(), _STARTED_KEY: str(started_at).encode()})
    with pa.ipc.new_stream(sys.stdout.buffer, table.schema) as writer:
        writer.write_table(table)


if __name__ == "__main__":
    become_a_worker(int(os.environ[PARENT_VARIABLE]))
    _walk(sys.argv[1])
