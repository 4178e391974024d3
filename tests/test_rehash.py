"""`newswh ingest --rehash`: restores that keep size and mtime are noticed (issue 13, item 3)."""

from __future__ import annotations

import os

import pytest

from newswh.synth import write_corpus
from tests.helpers import harness_api_env, newswh, query, run_ingest

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


def _ingest_rehash(source, data):
    """`newswh ingest --rehash`, the command under test (the runs before it are in-process)."""
    result = newswh("ingest", str(source), "--data", str(data), "--rehash", env=harness_api_env())
    assert result.returncode == 0, result.stderr
    return result


def test_rehash_notices_a_restore_that_kept_size_and_mtime(tmp_path):
    source, data = tmp_path / "source", tmp_path / "data"
    write_corpus(source, 40, noise=0.0, seed=13)
    run_ingest(source, data)
    (path, title), = query(data, "select source_path, title from articles order by source_path limit 1")
    restored = source / os.path.basename(path)
    before = restored.stat()
    older = restored.read_bytes().replace(title.encode(), title.upper().encode(), 1)  # an older version, same size
    assert older != restored.read_bytes() and len(older) == before.st_size
    restored.write_bytes(older)
    os.utime(restored, ns=(before.st_atime_ns, before.st_mtime_ns))  # as rsync -t / cp -p leave it

    run_ingest(source, data)  # size and mtime say nothing changed: nothing is read
    assert query(data, "select title from articles where source_path = ?", [path]) == [(title,)]
    assert query(data, "select files_changed from ingest_runs where run_id = 2") == [(0,)]

    _ingest_rehash(source, data)
    assert query(data, "select title from articles where source_path = ?", [path]) == [(title.upper(),)]
    assert query(
        data, "select files_seen, files_changed, files_unchanged, articles_written from ingest_runs where run_id = 3"
    ) == [(40, 1, 39, 1)]
    assert newswh("verify", "--data", str(data)).returncode == 0


def test_rehash_of_an_unchanged_folder_rewrites_nothing(tmp_path):
    source, data = tmp_path / "source", tmp_path / "data"
    write_corpus(source, 30, noise=0.1, seed=14)
    os.mkfifo(source / "pipe.txt")  # entries with no bytes to hash: rejected once, then left be
    (source / "outside.txt").symlink_to("/etc/hostname")
    run_ingest(source, data)
    assert query(data, "select count(*) from rejects where source_path like '%/pipe.txt' or source_path like '%/outside.txt'") == [(2,)]
    lake = data / "lake"
    files = {path: path.stat().st_mtime_ns for path in lake.rglob("*.parquet") if "_warehouse" not in path.parts}
    said = _ingest_rehash(source, data).stderr
    assert "30 to read again (--rehash), 2 unchanged (not read)" in said.replace("\n", " ")
    assert query(
        data, "select files_seen, files_changed, files_unchanged, articles_written, rejected from ingest_runs where run_id = 2"
    ) == [(32, 0, 32, 0, 0)]
    assert {path: path.stat().st_mtime_ns for path in lake.rglob("*.parquet") if "_warehouse" not in path.parts} == files
