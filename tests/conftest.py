"""Shared fixtures: paths to the committed samples, and small helpers for parsing them."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from hypothesis import settings

from newswh.parse import parse_page
from newswh.records import ParseResult

TESTS = Path(__file__).parent
PROJECT = TESTS.parent
SEED = PROJECT / "seeds" / "000_d0dfd935ff761f50.txt"
PAGES = TESTS / "fixtures" / "pages"
GOLDEN = TESTS / "fixtures" / "golden"

# No per-example deadline by default: a test's speed is measured by bench/, never asserted,
# and on a loaded machine Hypothesis's 200 ms deadline failed a test for the machine's sake.
# The parser's hang bounds (tests/test_parse_properties.py) set theirs explicitly.
settings.register_profile("newswh", deadline=None)
settings.load_profile("newswh")

# A shell without job control starts a background job with Ctrl-C ignored, and every
# process the suite starts would inherit that: the tests that press Ctrl-C on a newswh
# would then see it carry on. Handled (not ignored) here, a child starts with the default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

if os.environ.get("NEWSWH_EXPECT_COMPILED"):
    # tests/test_compiled_parser.py runs the parser's tests again on a compiled build:
    # they must import that build, not the source tree beside them.
    import sys
    from importlib.machinery import EXTENSION_SUFFIXES

    from importlib import import_module

    import_module("newswh._standard_list")  # the related-list reader, which only a compiled build has
    _pure = [name for name in ("newswh.records", "newswh.decode", "newswh.trailer", "newswh.parse", "newswh._standard_list")
             if not sys.modules[name].__file__.endswith(tuple(EXTENSION_SUFFIXES))]
    if _pure:
        raise pytest.UsageError(f"NEWSWH_EXPECT_COMPILED is set, but these modules are pure Python: {_pure}")


def parse_fixture(name: str) -> ParseResult:
    path = PAGES / name
    return parse_page(path.read_bytes(), f"pages/{name}")


@pytest.fixture
def seed_result() -> ParseResult:
    return parse_page(SEED.read_bytes(), "seeds/000_d0dfd935ff761f50.txt")


SHARED_SERVER = "NEWSWH_TEST_PREFECT_API_URL"
"""The API URL of the one Prefect server a whole test run reports to: started by the first
pytest process (under pytest-xdist, the controller, before its workers start, so they and
the pytest a test starts inherit it), stopped by its PID when that process ends."""


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get(SHARED_SERVER) or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    if not getattr(config.option, "numprocesses", None):
        return  # one process: the first test that needs a server starts it (prefect_harness)
    config.add_cleanup(_share_a_server())


def _share_a_server() -> Callable[[], None]:
    """Start the run's server (its health check waits in `prefect_harness`, so it starts up
    while the workers import); returns what stops it and removes its database."""
    from newswh.server import starting_server
    from newswh.settings import quiet_ephemeral_prefect

    quiet_ephemeral_prefect()  # for the server, and the workers, which inherit it
    home = Path(tempfile.mkdtemp(prefix="newswh-tests-prefect-"))
    stack = ExitStack()
    stack.callback(shutil.rmtree, home, ignore_errors=True)
    with environment(SHARED_SERVER_SERVICES_OFF):
        os.environ[SHARED_SERVER] = stack.enter_context(starting_server(home=home)).url
    return stack.close


SHARED_SERVER_SERVICES_OFF = {
    f"PREFECT_SERVER_{name}": "false"
    for name in (
        "SERVICES_EVENT_PERSISTER_ENABLED", "SERVICES_TRIGGERS_ENABLED", "SERVICES_TASK_RUN_RECORDER_ENABLED",
        "ANALYTICS_ENABLED",
    )
}
"""What the tests' shared server does not run: it keeps no event (the UI's event feed, which
no test reads from it; tests/test_serve.py starts a full server), evaluates no automation,
records no task run from the flows' events, and sends no telemetry. Each costs the server CPU
for every event of the suite's 300 flow runs, and while idle. Measured back to back on a
one-file run: the first two and telemetry cost the server 0.41 CPU-s against 0.34 without
them, and idle 0.41 CPU-s in 5 s against 0.26; on a quieter day, the task runs 0.31 against
0.17. The one test that reads task runs starts a server of its own (tests/test_parse_pool.py).
The flows send their events and logs as ever."""


@contextmanager
def environment(variables: dict[str, str]) -> Iterator[None]:
    """These variables set for the block (for the processes it starts), then as they were."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[str]:
    """The run's one Prefect server, as PREFECT_API_URL for this process's flows: they run
    for real, and no test pays for a server of its own. Yields the API URL."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from newswh.server import drain_prefect_workers, wait_until_healthy

    with ExitStack() as stack:
        if not os.environ.get(SHARED_SERVER):
            stack.callback(os.environ.pop, SHARED_SERVER, None)
            stack.callback(_share_a_server())
        url = os.environ[SHARED_SERVER]
        wait_until_healthy(None, url)
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield url
            drain_prefect_workers(timeout=5)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """A generated corpus with every kind of damage, and its ground truth."""
    from newswh.synth import write_corpus

    folder = tmp_path_factory.mktemp("corpus")
    write_corpus(folder, 400, noise=0.3, seed=3)
    return folder


@pytest.fixture(scope="session")
def example_data(prefect_harness, tmp_path_factory):
    """The hand-written corpus of tests/fixtures/corpus ingested by the real flow: views are tested on it."""
    from newswh.dictionary import EXAMPLE_CORPUS
    from tests.helpers import run_ingest

    data = tmp_path_factory.mktemp("example") / "data"
    run_ingest(EXAMPLE_CORPUS, data)
    return data


# ------------------------------------------------- tests that must run alone under pytest-xdist


LONGEST_FILES = (
    "test_scale_out.py", "test_archive.py", "test_compiled_parser.py", "test_kept_captures.py", "test_serve.py",
    "test_runs_apart.py",
)
"""The slow files that take longest (185 s down to 85 s each on 2 cores), handed out first
among the slow ones: by name, test_serve and test_scale_out came last, and the workers
ended a minute apart (CI took 9 min 40 s of its 10)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with an `isolated` test first, then files with `slow` tests (LONGEST_FILES
    first), then the rest, each file's tests in their order. pytest-xdist hands out files in
    this order (--no-loadscope-reorder): the test that runs alone does so at the start, and
    the quick files come last, to even out the workers' ends."""
    rank: dict[Path, int] = {}
    for item in items:
        kind = 0 if item.get_closest_marker("isolated") else 1 if item.get_closest_marker("slow") else 2
        rank[item.path] = min(rank.get(item.path, 2), kind)

    def order(item: pytest.Item) -> tuple[int, int]:
        longest = LONGEST_FILES.index(item.path.name) if item.path.name in LONGEST_FILES else len(LONGEST_FILES)
        return rank[item.path], longest

    items.sort(key=order)  # stable: a file's tests stay together, in order


@pytest.hookimpl(hookwrapper=True, tryfirst=True)  # outside pytest-timeout's clock: waiting is not running
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Under pytest-xdist (`-n 4`, pyproject's addopts), a test marked `isolated` runs while
    no other worker runs a test; the others run side by side. Its set-up is inside, so a
    module fixture it is first to use (a reference run it measures) runs alone too."""
    with _turn(item, exclusive=item.get_closest_marker("isolated") is not None):
        yield


@contextmanager
def _turn(item: pytest.Item, exclusive: bool) -> Iterator[None]:
    """A readers-writer lock over the workers' shared temporary folder, made of two flock()s:
    every test passes the turnstile to take the main lock shared; an isolated test holds the
    turnstile until it has the main lock exclusively, so no new test starts meanwhile and the
    running ones end: it waits for one test per worker at most, and is never starved."""
    basetemp = item.config.option.basetemp
    if not os.environ.get("PYTEST_XDIST_WORKER") or not basetemp:
        yield  # one process: every test runs alone
        return
    shared = Path(basetemp).parent
    with open(shared / "turnstile.lock", "a") as turnstile, open(shared / "tests.lock", "a") as tests:
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        if exclusive:
            fcntl.flock(tests, fcntl.LOCK_EX)
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        else:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
            fcntl.flock(tests, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(tests, fcntl.LOCK_UN)
