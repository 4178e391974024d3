"""What `newswh serve` says while its Prefect server is away (newswh.serving.ServerWatch),
without a server: the end-to-end case, a real server stopped and started again under a
serve, is in tests/test_serve.py."""

from __future__ import annotations

import io
import logging
import sys
import time
from datetime import datetime, timedelta

import httpx
from websockets.exceptions import ConnectionClosedError
from websockets.frames import Close

from newswh.serving import MISSED_BEFORE_AWAY, ServerWatch, _no_traceback_for_lost_server, watching_server

URL = "http://127.0.0.1:4200/api"
NOON = datetime(2026, 11, 30, 12, 0, 0)


def _seconds(count: int) -> list[datetime]:
    return [NOON + timedelta(seconds=5 * step) for step in range(count)]


def test_an_away_server_is_said_once_from_its_first_missed_check_and_its_return_once():
    watch = ServerWatch(URL)
    at = _seconds(6)
    assert watch.observe(None, at[0]) is None  # there: nothing to say
    assert watch.observe("Connection refused", at[1]) is None  # one miss is not an outage
    away = watch.observe("Connection refused", at[2])
    assert away == (
        f"newswh serve: the Prefect server at {URL} stopped answering at 12:00:05 (Connection refused): "
        "no scheduled run starts until it is back; this serve waits for it (Ctrl-C stops it)"
    )
    assert watch.observe("Connection refused", at[3]) is None  # said once, not every check
    assert watch.observe(None, at[4]) == f"newswh serve: the Prefect server at {URL} answers again, after 15 s away: the schedule goes on"
    assert watch.observe(None, at[5]) is None


def test_single_missed_checks_between_answers_are_not_an_outage():
    watch = ServerWatch(URL)
    said = [watch.observe(silence, when) for silence, when in zip(["timed out", None] * 4, _seconds(8))]
    assert said == [None] * 8
    assert MISSED_BEFORE_AWAY == 2


def test_watching_server_prints_on_its_own_thread_until_the_block_ends():
    answers = iter(["Connection refused", "Connection refused", "Connection refused", None])
    asked = []

    def silence(url: str, timeout: float) -> str | None:
        asked.append(url)
        return next(answers, None)

    out = io.StringIO()
    with watching_server(URL, out=out, every=0.01, silence=silence):
        deadline = time.monotonic() + 10
        while "answers again" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
    lines = out.getvalue().splitlines()
    assert [line.split(" at ", 1)[0] for line in lines] == ["newswh serve: the Prefect server"] * 2, lines
    assert "stopped answering" in lines[0] and "answers again" in lines[1]
    stopped_at = len(asked)
    time.sleep(0.1)
    assert len(asked) <= stopped_at + 1  # the thread stops with the block (one check may be under way)
    assert set(asked) == {URL}


def _record(error: BaseException) -> logging.LogRecord:
    try:
        raise error
    except BaseException:
        return logging.LogRecord("prefect.runner", logging.WARNING, __file__, 1, "websocket failed", None, sys.exc_info())


def _raised_from(cause: BaseException, error: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise error from inner
    except BaseException as outer:
        return outer


def test_lost_connections_are_logged_without_their_traceback_other_errors_with_it():
    lost = _record(_raised_from(httpx.ConnectError("All connection attempts failed"), RuntimeError("read_flow_runs failed")))
    assert _no_traceback_for_lost_server(lost) is True  # the line itself is kept
    assert lost.exc_info is None and lost.getMessage() == "websocket failed"
    gave_up = _record(RuntimeError("Service exceeded error threshold."))
    assert _no_traceback_for_lost_server(gave_up) and gave_up.exc_info is None
    refused = _record(ConnectionRefusedError(111, "Connection refused"))
    assert _no_traceback_for_lost_server(refused) and refused.exc_info is None
    # What the runner's event stream logs when the server stops: "received 1012 (service restart)".
    restart = Close(1012, "")
    closed = _record(ConnectionClosedError(restart, restart, True))
    assert _no_traceback_for_lost_server(closed) and closed.exc_info is None

    bug = _record(ValueError("a bug of ours, or of Prefect's"))
    assert _no_traceback_for_lost_server(bug) and bug.exc_info is not None
    other_runtime = _record(RuntimeError("something else"))
    assert _no_traceback_for_lost_server(other_runtime) and other_runtime.exc_info is not None


def test_records_without_an_exception_tuple_pass_untouched():
    """exc_info=True (a record made by hand, not by Logger.exception) and None: the filter
    raised on the first, and the logging call with it, which stopped Prefect's runner starting."""
    for exc_info in (True, None, False):
        record = logging.LogRecord("prefect.runner", logging.ERROR, __file__, 1, "starting", None, None)
        record.exc_info = exc_info
        assert _no_traceback_for_lost_server(record) is True and record.exc_info is exc_info
