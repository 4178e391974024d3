"""Arrow allocates with malloc in the processes newswh's commands start (newswh.arrow_memory):
mimalloc kept what parse workers and the lake's writers freed, tens of MB each, resident.

Each case runs in a fresh process: pyarrow picks its pool once, when first imported.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from newswh.arrow_memory import VARIABLE
from tests.helpers import harness_api_env

POOLS_OF_THIS_PROCESS_AND_A_CHILD = """
import subprocess, sys
from newswh.arrow_memory import arrow_allocates_with_malloc
if sys.argv[1] == "before":
    import pyarrow
arrow_allocates_with_malloc()
import pyarrow as pa
child = "import pyarrow as pa; print(pa.default_memory_pool().backend_name)"
print(pa.default_memory_pool().backend_name, subprocess.run([sys.executable, "-c", child], capture_output=True, text=True).stdout.strip())
"""


def _pools(when: str, **env: str) -> list[str]:
    base = {key: value for key, value in os.environ.items() if key != VARIABLE}
    ran = subprocess.run(
        [sys.executable, "-c", POOLS_OF_THIS_PROCESS_AND_A_CHILD, when], capture_output=True, text=True, env={**base, **env}
    )
    assert ran.returncode == 0, ran.stderr
    return ran.stdout.split()


def test_malloc_in_the_process_and_in_the_processes_it_starts():
    assert _pools("after") == ["system", "system"]


def test_malloc_from_then_on_where_pyarrow_was_imported_first():
    assert _pools("before") == ["system", "system"]


def test_a_pool_the_user_chose_is_kept():
    assert _pools("after", **{VARIABLE: "mimalloc"}) == ["mimalloc", "mimalloc"]


THE_COMMAND = """
import atexit, os, sys
def pools():
    import pyarrow as pa
    print("arrow pool:", pa.default_memory_pool().backend_name, os.environ.get("ARROW_DEFAULT_MEMORY_POOL"))
atexit.register(pools)
from newswh.cli import main
if __name__ == "__main__":
    sys.argv[0] = "newswh"
    main()
"""


@pytest.mark.slow
def test_the_ingest_command_and_its_parse_workers_allocate_with_malloc(corpus, tmp_path, prefect_harness):
    """The flow process's pool, and the variable its parse workers are spawned with."""
    script = tmp_path / "newswh_cli.py"  # a file, not -c: the parse workers (spawned) import the main module
    script.write_text(THE_COMMAND)
    env = {key: value for key, value in os.environ.items() if key != VARIABLE}
    ran = subprocess.run(
        [sys.executable, str(script), "ingest", str(corpus), "--data", str(tmp_path / "data"), "--batch-files", "100", "--quiet"],
        capture_output=True, text=True, env={**env, **harness_api_env()}, timeout=240,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "every file accounted for" in ran.stdout
    assert ran.stdout.strip().splitlines()[-1] == "arrow pool: system system"
