"""A Dask scheduler address where something accepts the connection but never answers.

Apart from tests/test_scale_out.py, which starts a cluster and is the suite's longest
file: this one waits out the 15 s a run gives such a port, on a worker of its own.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from newswh.settings import DataPaths
from tests.helpers import NEWSWH, harness_api_env

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


def test_an_ingest_against_a_port_that_never_answers_fails_in_one_line(tmp_path):
    import socket

    from newswh.cluster import ANSWER_SECONDS
    from tests.conftest import SEED

    data = tmp_path / "data"
    with socket.create_server(("127.0.0.1", 0)) as listening:
        address = f"tcp://127.0.0.1:{listening.getsockname()[1]}"
        done = subprocess.run(
            [NEWSWH, "ingest", str(SEED.parent), "--data", str(data), "--dask", address],
            capture_output=True, text=True, timeout=ANSWER_SECONDS + 100, env={**os.environ, **harness_api_env()},
        )
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr, done.stderr
    [line] = done.stderr.strip().splitlines()[-1:]
    assert line.startswith(f"newswh ingest: the Dask scheduler at {address} accepted the connection but did not answer"), line
    assert not DataPaths(data).warehouse.exists()
