"""newswh installs like a finished tool (issue 14): its import package is `newswh`, and a
wheel carries everything it needs (sql/ included) to ingest from any folder."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import PROJECT, SEED

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # The pure parser: tests/test_compiled_parser.py builds and tests the compiled one.
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(PROJECT)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "NEWSWH_PURE_PYTHON": "1"},
    )
    assert built.returncode == 0, built.stderr
    (path,) = out.glob("newswh-*.whl")
    return path


def test_the_wheel_holds_the_newswh_package_and_its_sql_and_no_flows_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "newswh/cli.py" in names and "newswh/ingest.py" in names
    assert "newswh/sql/plan.sql" in names and "newswh/sql/schema/01_ingest_runs.sql" in names
    assert {"newswh/dashboard/app.py", "newswh/dashboard/screens/overview.py", "newswh/sql/dashboard/overview.sql",
            "newswh/sql/over_lake/captures.sql", "newswh/sql/earlier_lake/source_files.by_path_hash.sql"} <= set(names)
    assert {name.split("/")[0] for name in names} <= {"newswh", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}
    assert not [name for name in names if name.startswith("flows/")]  # the name of another project on the index


def test_the_installed_wheel_ingests_the_seed_outside_the_checkout(wheel, tmp_path):
    """The wheel's files, not the checkout's: installed into a folder of its own and imported from
    there (its dependencies are this environment's), run from a folder far from the checkout."""
    target = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=300,
    )
    assert install.returncode == 0, install.stderr
    work = tmp_path / "elsewhere"
    (work / "seeds").mkdir(parents=True)
    (work / "seeds" / SEED.name).write_bytes(SEED.read_bytes())
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"} | {"PYTHONPATH": str(target)}
    run = [sys.executable, "-m", "newswh.cli"]

    where = subprocess.run([sys.executable, "-c", "import newswh; print(newswh.__file__)"], cwd=work, env=env, capture_output=True, text=True)
    assert where.stdout.strip() == str(target / "newswh" / "__init__.py"), where
    ingest = subprocess.run([*run, "ingest", "--quiet"], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert ingest.returncode == 0, ingest.stderr
    assert "every file accounted for" in ingest.stdout
    query = subprocess.run([*run, "sql", "select title from articles", "--format", "csv"], cwd=work, env=env, capture_output=True, text=True)
    assert query.returncode == 0, query.stderr
    assert "Russia Deputy FM: 160 Russians Fighting for ISIS Killed in Syria" in query.stdout
    assert (work / "data" / "warehouse.duckdb").is_file()
    version = subprocess.run([*run, "--version"], cwd=work, env=env, capture_output=True, text=True)
    assert version.stdout.startswith("newswh ") and version.stdout.strip().endswith("(parser: pure Python)")
