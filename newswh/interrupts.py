"""Whether the person pressed Ctrl-C during this command, whatever became of the
KeyboardInterrupt it raised.

DuckDB notices a Ctrl-C that lands while a query runs (it runs Python's signal handler as
it waits) and stops the query, but raises `RuntimeError("Query interrupted")` in place of
the KeyboardInterrupt. So `newswh sql` stopped in a long query printed a traceback, and an
ingest stopped in its load said "Flow run encountered an exception: RuntimeError: Query
interrupted" and exited 1, as if something had gone wrong for the person to fix. The
handler installed here notes the press, then raises KeyboardInterrupt as Python's own
does; the command asks `ctrl_c_pressed` when something fails.
"""

from __future__ import annotations

import signal
from types import FrameType

_pressed = False


def _note_and_interrupt(signum: int, frame: FrameType | None) -> None:
    global _pressed
    _pressed = True
    raise KeyboardInterrupt


def notice_ctrl_c() -> None:
    """Note every Ctrl-C from now on (call from the main thread). Only in place of Python's
    default handler: a process that ignores SIGINT (a job started in the background by a
    shell without job control) or set its own keeps what it has."""
    global _pressed
    _pressed = False
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _note_and_interrupt)


def ctrl_c_pressed() -> bool:
    """Whether a Ctrl-C reached this process since `notice_ctrl_c`."""
    return _pressed
