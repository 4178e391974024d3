"""Shared fixtures: paths to the committed samples, and small helpers for parsing them."""

from __future__ import annotations

from pathlib import Path

import pytest

from newswh.parse import parse_page
from newswh.records import ParseResult

TESTS = Path(__file__).parent
PROJECT = TESTS.parent
SEED = PROJECT / "seeds" / "000_d0dfd935ff761f50.txt"
PAGES = TESTS / "fixtures" / "pages"
GOLDEN = TESTS / "fixtures" / "golden"


def parse_fixture(name: str) -> ParseResult:
    path = PAGES / name
    return parse_page(path.read_bytes(), f"pages/{name}")


@pytest.fixture
def seed_result() -> ParseResult:
    return parse_page(SEED.read_bytes(), "seeds/000_d0dfd935ff761f50.txt")


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server for the whole session: flows run for real, quickly."""
    from prefect.testing.utilities import prefect_test_harness

    from newswh.settings import quiet_ephemeral_prefect

    quiet_ephemeral_prefect()
    with prefect_test_harness():
        yield


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
