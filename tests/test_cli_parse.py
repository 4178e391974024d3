"""`newswh parse` as a person or a script runs it: the installed console script, real files."""

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import GOLDEN, PAGES, PROJECT

NEWSWH = str(Path(sys.executable).with_name("newswh"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([NEWSWH, *args], capture_output=True, text=True, cwd=PROJECT, timeout=60)


def test_parse_seeds_prints_the_golden_record():
    done = run("parse", "seeds/")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    golden = json.loads((GOLDEN / "000_d0dfd935ff761f50.json").read_text(encoding="utf-8"))
    assert json.loads(lines[0]) == golden


def test_parse_recurses_into_folders_and_reports_every_file(tmp_path):
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    (nested / "page.txt").write_bytes((PAGES / "headline_once.txt").read_bytes())
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "notes.md").write_text("not a raw file")
    done = run("parse", str(tmp_path))
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0
    assert [(Path(r["source_path"]).name, r["status"], r["reject_reason"]) for r in records] == [
        ("page.txt", "article", None),
        ("empty.txt", "rejected", "empty"),
    ]


def test_missing_path_is_named_without_a_traceback(tmp_path):
    done = run("parse", str(tmp_path / "nope.txt"), "seeds/000_d0dfd935ff761f50.txt")
    assert done.returncode == 2
    assert "nope.txt: no such file or folder" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stdout.splitlines()) == 1  # the good file is still parsed
