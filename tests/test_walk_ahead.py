"""`newswh ingest` walks a local folder in a child while it imports Prefect (newswh.walk_ahead):
the flow must find in that child's table exactly what its own walk would find, and walk
the folder itself whenever the child did not finish."""

from __future__ import annotations

import os
import subprocess
import sys

import pyarrow as pa
import pytest

from newswh import walk_ahead
from newswh.discovered import discovered_table
from tests.helpers import harness_api_env, newswh, truth


@pytest.fixture
def awkward_folder(tmp_path):
    """Files in nested folders, a name that is not UTF-8, a broken symlink, a folder that
    cannot be listed: every kind of row discovery makes."""
    source = tmp_path / "raw"
    (source / "a" / "b").mkdir(parents=True)
    (source / "top.txt").write_bytes(b"x" * 10)
    (source / "a" / "b" / "deep.txt").write_bytes(b"")
    (source / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    os.close(os.open(os.fsencode(source) + b"/caf\xe9.txt", os.O_CREAT | os.O_WRONLY))
    closed = source / "closed"
    closed.mkdir()
    closed.chmod(0)
    yield source.resolve()
    closed.chmod(0o755)


def test_the_walk_ahead_finds_what_the_flow_would(awkward_folder):
    walk_ahead.start(awkward_folder)
    ahead = walk_ahead.take(awkward_folder)

    assert ahead is not None
    table, seconds = ahead
    assert table.equals(discovered_table(awkward_folder))
    assert table.num_rows >= 4 and seconds >= 0
    assert walk_ahead.take(awkward_folder) is None  # taken once: a second run walks again


WALK_AS_THE_CHILD_DOES = """
import sys
from newswh import walk_ahead
walk_ahead._walk(sys.argv[1])
sys.stderr.write(" ".join(name for name in ("duckdb", "importlib.metadata") if name in sys.modules))
"""


def test_the_walking_child_loads_neither_duckdb_nor_package_metadata(awkward_folder):
    """The child walks while the run starts, on the cores Prefect's import and the warehouse's
    copy are using: DuckDB and importlib.metadata were half of its start-up, for nothing."""
    ran = subprocess.run([sys.executable, "-c", WALK_AS_THE_CHILD_DOES, str(awkward_folder)], capture_output=True)

    assert ran.returncode == 0 and ran.stderr == b""
    assert pa.ipc.open_stream(ran.stdout).read_all().num_rows == discovered_table(awkward_folder).num_rows


def test_a_folder_nobody_walked_ahead_is_walked_by_the_flow(tmp_path):
    assert walk_ahead.take(tmp_path) is None


def test_a_walk_that_did_not_finish_is_done_again_by_the_flow(tmp_path):
    walk_ahead.start(tmp_path)
    walk_ahead._walks[tmp_path].kill()

    assert walk_ahead.take(tmp_path) is None
    assert walk_ahead._walks == {}


def test_a_walk_too_old_for_the_run_is_done_again_by_the_flow(awkward_folder, monkeypatch):
    """A run that waited for another's lock plans against the folder as it is then."""
    walk_ahead.start(awkward_folder)
    monkeypatch.setattr(walk_ahead, "MAX_AGE_SECONDS", 0.0)

    assert walk_ahead.take(awkward_folder) is None


def test_the_cli_ingests_what_its_child_walked(prefect_harness, corpus, tmp_path):
    ran = newswh("ingest", str(corpus), "--data", str(tmp_path / "data"), env=harness_api_env())

    assert ran.returncode == 0, ran.stderr
    output = " ".join((ran.stderr + ran.stdout).split())
    assert f"discover: {len(truth(corpus))} raw files" in output
    assert "s, walked while newswh started" in output
    assert "every file accounted for" in output
