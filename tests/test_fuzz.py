"""The parser under coverage-guided fuzzing (atheris), seeded with every real and hand-made page."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PAGES, SEED

pytest.importorskip("atheris", reason="atheris has no wheel for this platform")
pytestmark = pytest.mark.slow
RUNS = 20_000


def test_fuzzing_the_parser_finds_no_crash_or_hang(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(PAGES, corpus)
    shutil.copy(SEED, corpus / SEED.name)
    harness = Path(__file__).with_name("fuzz_parser.py")
    result = subprocess.run(
        [sys.executable, str(harness), str(corpus), f"-runs={RUNS}", "-timeout=5", "-max_len=65536",
         "-rss_limit_mb=1024", f"-artifact_prefix={tmp_path}/", "-seed=1"],
        capture_output=True, text=True, timeout=600, cwd=Path(__file__).parent.parent,
    )
    report = result.stderr[-4000:]
    assert result.returncode == 0, report
    assert f"Done {RUNS} runs" in result.stderr, report
    assert not list(tmp_path.glob("crash-*")) and not list(tmp_path.glob("timeout-*")), report
