"""A serve whose Prefect server goes away and comes back, on a real `prefect server start`
stopped and started again on the same port (tests/test_serve_watch.py has the same without
a server). A file of its own, beside tests/test_serve.py, so that pytest-xdist runs the two
side by side: it starts two servers."""

from __future__ import annotations

import os
import signal
import time

import pytest

from newswh.server import free_port
from tests.helpers import NEWSWH
from tests.test_serve import _deployment, _healthy, _process, _wait_for, server_env, server_start

pytestmark = pytest.mark.slow


def test_a_serve_says_when_its_server_stops_answering_and_when_it_answers_again(tmp_path):
    """The server behind a serve stopped (a restart, a crash): the runner printed Prefect's
    tracebacks of lost connections, then nothing while no run could start. Now it says,
    in a line of its own, that the server is away and when it is back, with no traceback."""
    from newswh.serving import MISSED_BEFORE_AWAY, SERVER_POLL_SECONDS

    source, data = tmp_path / "raw", tmp_path / "data"
    source.mkdir()
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = server_env(tmp_path / "home")
    start = server_start(port)
    first_log, second_log, serve_log = tmp_path / "server-1.log", tmp_path / "server-2.log", tmp_path / "serve.log"
    logs = [first_log, second_log, serve_log]
    serve = [NEWSWH, "serve", str(source), "--data", str(data), "--interval", "3600", "--name", "away"]
    said = lambda text: text in serve_log.read_text(errors="replace")  # noqa: E731
    with _process(start, env, first_log) as server:
        _wait_for("the Prefect server", lambda: _healthy(api), 180, logs)
        with _process(serve, env | {"PREFECT_API_URL": api}, serve_log) as serving:
            _wait_for("the deployment", lambda: _deployment(api, "away"), 120, logs)
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)
            stopped = time.monotonic()
            _wait_for("serve to say the server is away", lambda: said("stopped answering"), 60, logs)
            # Two checks missed in a row, five seconds apart, and the last may take its timeout.
            assert time.monotonic() - stopped < (MISSED_BEFORE_AWAY + 2) * SERVER_POLL_SECONDS + 10
            with _process(start, env, second_log):
                _wait_for("serve to say the server is back", lambda: said("answers again"), 180, logs)
                assert serving.poll() is None  # it waited for its server, as it said
                os.killpg(serving.pid, signal.SIGINT)  # Ctrl-C, while its server is there to hear it stop
                assert serving.wait(timeout=60) == 0
    text = serve_log.read_text(errors="replace")
    away = f"newswh serve: the Prefect server at {api} stopped answering at "
    assert text.count(away) == 1 and "no scheduled run starts until it is back; this serve waits for it (Ctrl-C stops it)" in text
    assert text.count(f"newswh serve: the Prefect server at {api} answers again, after ") == 1
    assert "Traceback" not in text, text[-3000:]
