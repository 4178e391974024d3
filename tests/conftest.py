"""Shared fixtures: paths to the committed samples, and small helpers for parsing them."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.parse import parse_page
from flows.records import ParseResult

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
