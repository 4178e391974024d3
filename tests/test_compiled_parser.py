"""The compiled parser (setup.py compiles it with mypyc, and its related-list reader with
Cython) passes the parser's own tests.

A wheel is built as `pip install .` builds it, unpacked, and the parser's tests run again
in a fresh pytest whose `newswh` is that wheel's: the pure modules and the compiled ones
must give the same records, since a user gets whichever their machine could build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from tests.conftest import PROJECT, TESTS

PARSER_MODULES = ("newswh.records", "newswh.decode", "newswh.trailer", "newswh.parse")
"""The modules mypyc compiles; each stays a .py file in the wheel, the fallback."""
COMPILED = (*PARSER_MODULES, "newswh._standard_list")
PARSER_TESTS = (
    "test_parse_golden.py", "test_parse_variants.py", "test_parse_properties.py", "test_parse_regressions.py",
    "test_parse_fast_paths.py", "test_synth_truth.py", "test_cli_parse.py", "test_parse_pool.py", "test_standard_list.py",
)
"""Every test of the parser's records, except fuzzing: atheris sees no coverage inside C."""
NOT_OF_THE_RECORDS = "not completed_prefect_task_run"
"""Left out of the re-run: Prefect's bookkeeping of the parse batches, which is the same
whichever parser made their records, and would start a Prefect server of its own."""


def build_wheel(into: Path, **env: str) -> tuple[Path, str]:
    """The wheel `pip install .` would build, from a copy of the project (a build in the
    project itself would reuse its build/ folder); and what the build said."""
    project = into / "project"
    project.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(PROJECT / name, project / name)
    shutil.copytree(PROJECT / "newswh", project / "newswh", ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-v", "-w", str(into), str(project)],
        capture_output=True, text=True, cwd=into, env={**os.environ, **env},
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel,) = into.glob("newswh-*.whl")
    site = into / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site, built.stdout + built.stderr


def compiled(site: Path) -> list[str]:
    return [
        module for module in COMPILED
        if any(site.joinpath(*module.split(".")[:-1], module.split(".")[-1] + suffix).exists() for suffix in EXTENSION_SUFFIXES)
    ]


@pytest.mark.slow
def test_the_compiled_parser_passes_the_parser_tests(tmp_path):
    site, _ = build_wheel(tmp_path)
    assert compiled(site) == list(COMPILED)

    # `pytest` itself (not `python -m`, which puts the working folder first on the path)
    # with --import-mode=append: the wheel on PYTHONPATH comes before the source tree.
    env = {**os.environ, "PYTHONPATH": str(site), "NEWSWH_EXPECT_COMPILED": "1"}
    tested = subprocess.run(
        [sys.executable, "-c", "import sys, pytest; sys.exit(pytest.main(sys.argv[1:]))",
         "-q", "-n", "0", "-p", "no:cacheprovider", "--import-mode=append", "-k", NOT_OF_THE_RECORDS, *(str(TESTS / name) for name in PARSER_TESTS)],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600,
    )
    assert tested.returncode == 0, tested.stdout[-5000:] + tested.stderr[-2000:]
    assert " passed" in tested.stdout
    said = subprocess.run([sys.executable, "-m", "newswh.cli", "--version"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert said.stdout.strip().endswith("(parser: compiled)"), said


@pytest.mark.slow
def test_without_a_c_compiler_the_install_keeps_the_pure_parser(tmp_path):
    """A machine with no compiler still installs newswh, with the pure modules, and says so."""
    site, said = build_wheel(tmp_path, CC="false")
    assert compiled(site) == []
    assert all((site / "newswh" / f"{module.split('.')[-1]}.py").exists() for module in PARSER_MODULES)
    assert "the parser stays pure Python" in said
