"""What `newswh ingest` prints: a live display on a terminal, one plain line per stage
without one, only the final line with --quiet, Prefect's chatter only with --verbose."""

from __future__ import annotations

import logging
import os
import pty
import re
import select
import subprocess
import time
from types import SimpleNamespace

import pytest

from newswh.display import _LiveStages, _minutes
from newswh.synth import write_corpus
from tests.helpers import NEWSWH, harness_api_env, newswh

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]
STAGES = ("discover", "plan", "parse", "load", "lake", "commit")
PREFECT_CHATTER = re.compile(r"Finished in state|Created task run|Beginning flow run|Created flow run")
ANSI = re.compile(r"\x1b\[")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    source = tmp_path_factory.mktemp("display-corpus")
    write_corpus(source, 1_200, seed=5, noise=0.02)
    return source


def _record(stage: str, **fields: object) -> logging.LogRecord:
    record = logging.LogRecord("prefect.flow_runs", logging.INFO, __file__, 0, f"{stage}: …", None, None)
    record.__dict__.update(stage=stage, **fields)
    return record


def test_the_eta_comes_from_the_rate_since_parsing_began(monkeypatch):
    """Batches finish in bursts; the ETA must not be the one-second guess of a rate taken
    between two batches that finished together."""
    from rich.console import Console

    import newswh.display

    stages = _LiveStages(Console(file=open(os.devnull, "w"), force_terminal=True))
    stages.emit(_record("plan", to_read=40_000))
    now = time.monotonic()
    stages.parse_started = now - 4.0  # 10,000 files took 4 s
    # The display's clock stands still: a busy machine took 5 ms between two lines, and 2,497 files/s.
    monkeypatch.setattr(newswh.display, "time", SimpleNamespace(monotonic=lambda: now))
    stages.emit(_record("parse-batch", done=5_000, to_read=40_000))
    stages.emit(_record("parse-batch", done=10_000, to_read=40_000))
    [task] = stages.progress.tasks
    assert task.completed == 10_000 and task.total == 40_000
    assert task.fields["eta"] == "0:12"  # 30,000 left at 2,500 files/s
    assert task.fields["rate"] == "2,500"
    assert _minutes(125.4) == "2:05"


def test_on_a_terminal_the_ingest_shows_live_progress_and_no_prefect_chatter(corpus, tmp_path):
    controller, terminal = pty.openpty()
    run = subprocess.Popen(
        [NEWSWH, "ingest", str(corpus), "--data", str(tmp_path / "data"), "--batch-files", "100"],
        stdin=terminal, stdout=terminal, stderr=terminal, env={**os.environ, **harness_api_env(), "COLUMNS": "120"},
    )
    os.close(terminal)
    seen = bytearray()
    while True:
        ready, _, _ = select.select([controller], [], [], 120)
        if not ready:
            run.kill()
            pytest.fail(f"no output for 120 s: {seen.decode(errors='replace')[-2000:]}")
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed: the run is over
            break
        if not chunk:
            break
        seen += chunk
    assert run.wait(timeout=60) == 0
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode(errors="replace"))
    assert re.search(r"parse .*\d+/1200 files · [\d,]+ files/s · ETA \d+:\d\d", text), text[-3000:]
    assert "ingest run 1" in text and "every file accounted for" in text
    assert not PREFECT_CHATTER.search(text), text[-3000:]
    assert "Traceback" not in text


def test_without_a_terminal_each_stage_is_one_plain_line(corpus, tmp_path):
    run = newswh("ingest", str(corpus), "--data", str(tmp_path / "data"), env=harness_api_env())
    assert run.returncode == 0, run.stderr
    output = run.stdout + run.stderr
    for stage in STAGES:
        assert len(re.findall(rf"^{stage}: ", output, flags=re.MULTILINE)) == 1, (stage, output)
    assert not ANSI.search(output) and not PREFECT_CHATTER.search(output)

    quiet = newswh("ingest", str(corpus), "--data", str(tmp_path / "data"), "--quiet", env=harness_api_env())
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert quiet.stdout.count("\n") == 1 and "every file accounted for" in quiet.stdout
    # A warning still is said: another source than the last run's (an unmounted disk, a typo)
    # counts every other file missing, and a scheduled `-q` run said only its final line.
    other = tmp_path / "other"
    other.mkdir()
    moved = newswh("ingest", str(other), "--data", str(tmp_path / "data"), "--quiet", env=harness_api_env())
    assert moved.returncode == 0 and moved.stderr.startswith(f"newswh ingest: plan: the last run read {corpus}, this one reads {other}"), moved.stderr
    assert moved.stderr.count("\n") == 1 and moved.stdout.count("\n") == 1

    verbose = newswh("ingest", str(corpus), "--data", str(tmp_path / "data"), "--verbose", env=harness_api_env())
    assert verbose.returncode == 0 and PREFECT_CHATTER.search(verbose.stdout + verbose.stderr)
