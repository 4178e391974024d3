"""Whether the person (Ctrl-C) or the system (SIGTERM: `kill`, systemd, a container
stopping) asked this command to stop, whatever became of the exception that request raised;
and a way out when stopping itself hangs.

DuckDB notices a signal that lands while a query runs (it runs Python's signal handler as
it waits) and stops the query, but raises `RuntimeError("Query interrupted")` in place
of the handler's exception. So `newswh sql` stopped in a long query printed a
traceback, and an ingest stopped in its load said "Flow run encountered an exception:
RuntimeError: Query interrupted" and exited 1, as if something had gone wrong for the
person to fix. The handlers installed here note the signal, then raise KeyboardInterrupt as
Python's own SIGINT handler does, so that both signals take the one path that stops a
command cleanly; the command asks `stop_requested` when something fails, and ends with
`stop_code`: 130 after a Ctrl-C, 143 after a SIGTERM, as a shell reports either.

Inside a flow run Prefect puts its own SIGTERM handler in place of ours (`keep_sigterm`).

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

WAREHOUSE_UNCHANGED = "the warehouse is as it was before this run"
"""How an ingest's one line ends when it stopped or failed before its commit: a refusal, a
full disk, the first Ctrl-C or SIGTERM, and a second one that exits at once."""

_stop = threading.Event()
_stopped_by = signal.SIGINT
_noticing = False  # SIGTERM: see keep_sigterm
_said = threading.Event()
_saying = threading.Lock()


def _note_and_interrupt(signum: int, frame: FrameType | None) -> None:
    global _stopped_by
    _stopped_by = signal.Signals(signum)
    _stop.set()
    raise KeyboardInterrupt


def notice_stop_signals() -> None:
    """Note every Ctrl-C and SIGTERM from now on (call from the main thread). Only in place
    of Python's defaults: a process that ignores SIGINT (a job started in the background by
    a shell without job control) or set its own handler keeps what it has."""
    global _noticing, _stopped_by
    _stop.clear()
    _said.clear()
    _stopped_by = signal.SIGINT
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _note_and_interrupt)
    _noticing = signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    if _noticing:
        signal.signal(signal.SIGTERM, _note_and_interrupt)


def keep_sigterm() -> None:
    """Inside a flow run of a command that called `notice_stop_signals`: put our SIGTERM
    handler back in place of Prefect's, so that a SIGTERM stops the run as a Ctrl-C does.

    Prefect's (for a runner's cancellations) raises TerminationSignal, which DuckDB turns
    into "Query interrupted" inside a query (the run failed, exit 1), and which landing
    between two of Prefect's own steps failed the run with "Task run is not set"; elsewhere
    it killed the process by signal, without a word. A deployment's run, started by a
    runner or worker that never called `notice_stop_signals`, keeps Prefect's."""
    if _noticing and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _note_and_interrupt)


def ignore_stop_signals() -> None:
    """From now on a Ctrl-C or SIGTERM has nothing left to stop. Python restores the
    default actions late in its shutdown, so one landing then killed the process by signal
    instead of letting it exit with its own code (CI saw it: a second Ctrl-C 0.3 s into an
    ingest's stop; a SIGTERM just after a run completed)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def stop_requested() -> bool:
    """Whether a Ctrl-C or a SIGTERM reached this process since `notice_stop_signals`."""
    return _stop.is_set()


def stop_code() -> int:
    """The exit code a shell reports for the signal that stopped the command: 130 or 143."""
    return 128 + _stopped_by


def stopped(command: str) -> str:
    """How the one line that ends a stopped command begins: "newswh sql: terminated"."""
    return f"{command}: {'terminated' if _stopped_by == signal.SIGTERM else 'interrupted'}"


def say_stopped(line: str) -> None:
    """Write the one line that ends a stopped command, once, whichever of the command and
    the watchdog of `exit_if_stopping_hangs` gets there first."""
    with _saying:
        if not _said.is_set():
            _said.set()
            os.write(2, line.encode() + b"\n")


def exit_if_stopping_hangs(command: str, grace: float = 2.0) -> None:
    """Once a stop is noted, give the command `grace` seconds to end, then say it stopped
    and end the process without its clean-up. Only for commands that write nothing.
    DuckDB's wait releases the GIL, so this thread runs while the main thread, blocked in
    C++, cannot."""

    def leave_when_stuck() -> None:
        _stop.wait()
        time.sleep(grace)
        say_stopped(stopped(command))
        os._exit(stop_code())

    threading.Thread(target=leave_when_stuck, name="newswh-stop-watchdog", daemon=True).start()
