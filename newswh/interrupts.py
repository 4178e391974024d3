"""Whether the person pressed Ctrl-C during this command, whatever became of the
KeyboardInterrupt it raised; and a way out when stopping itself hangs.

DuckDB notices a Ctrl-C that lands while a query runs (it runs Python's signal handler as
it waits) and stops the query, but raises `RuntimeError("Query interrupted")` in place of
the KeyboardInterrupt. So `newswh sql` stopped in a long query printed a traceback, and an
ingest stopped in its load said "Flow run encountered an exception: RuntimeError: Query
interrupted" and exited 1, as if something had gone wrong for the person to fix. The
handler installed here notes the press, then raises KeyboardInterrupt as Python's own
does; the command asks `ctrl_c_pressed` when something fails.

Stopping a query can itself hang: DuckDB waits, in C++ and deaf to further signals, for
its worker threads to finish the tasks they hold, and a task that reads one long
single-threaded source (`range(10**12)`) does not look up until it is done. A read-only
command loses nothing by leaving without that wait (`exit_if_stopping_hangs`).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from types import FrameType

_pressed = threading.Event()


def _note_and_interrupt(signum: int, frame: FrameType | None) -> None:
    _pressed.set()
    raise KeyboardInterrupt


def notice_ctrl_c() -> None:
    """Note every Ctrl-C from now on (call from the main thread). Only in place of Python's
    default handler: a process that ignores SIGINT (a job started in the background by a
    shell without job control) or set its own keeps what it has."""
    _pressed.clear()
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _note_and_interrupt)


def ctrl_c_pressed() -> bool:
    """Whether a Ctrl-C reached this process since `notice_ctrl_c`."""
    return _pressed.is_set()


def say_interrupted(line: str) -> None:
    """Write the one line that says the command was interrupted, once, whichever of the
    command and the watchdog of `exit_if_stopping_hangs` gets there first."""
    with _saying:
        if not _said.is_set():
            _said.set()
            os.write(2, line.encode() + b"\n")


def exit_if_stopping_hangs(line: str, grace: float = 2.0) -> None:
    """Once a Ctrl-C is noted, give the command `grace` seconds to stop, then say `line`
    and end the process with 130, without its clean-up. Only for commands that write
    nothing. DuckDB's wait releases the GIL, so this thread runs while the main thread,
    blocked in C++, cannot."""

    def leave_when_stuck() -> None:
        _pressed.wait()
        time.sleep(grace)
        say_interrupted(line)
        os._exit(130)

    threading.Thread(target=leave_when_stuck, name="newswh-ctrl-c-watchdog", daemon=True).start()


_saying = threading.Lock()
_said = threading.Event()
