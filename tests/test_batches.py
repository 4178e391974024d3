"""Parse batch sizes: every planned file in exactly one batch, big batches first."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswh.batches import BATCH_FILES_MAX, BATCH_FILES_MIN, batch_sizes, local_batches


@given(st.integers(0, 2_000_000), st.integers(1, 64), st.none() | st.integers(1, 50_000))
def test_every_file_is_in_one_batch(files: int, workers: int, fixed: int | None) -> None:
    sizes = batch_sizes(files, workers, fixed)
    assert sum(sizes) == files
    assert all(size > 0 for size in sizes)
    if fixed is not None:
        assert all(size == fixed for size in sizes[:-1]) and sizes[-1:] <= [fixed]
    else:
        assert all(BATCH_FILES_MIN <= size <= BATCH_FILES_MAX for size in sizes[:-1])
        assert sizes == sorted(sizes, reverse=True)  # large first: the last ones balance the workers' ends


def test_guided_batches_on_two_workers() -> None:
    assert batch_sizes(100_000, 2) == [25_000, 18_750, 14_063, 10_547, 7_910, 5_933, 5_000, 5_000, 5_000, 2_797]
    assert batch_sizes(3, 2) == [3]
    assert len(batch_sizes(100_000, 32)) == 20  # many workers: the smallest batches, as many as before


def test_a_fixed_size_is_kept() -> None:
    assert batch_sizes(10, 2, fixed=4) == [4, 4, 2]
    with pytest.raises(ValueError):
        batch_sizes(10, 2, fixed=0)


def test_local_parse_processes_are_as_many_as_wanted_and_batches_allow() -> None:
    """What the CLI starts ahead and the flow parses on must agree: one function says both."""
    assert local_batches(100_000, 2) == (batch_sizes(100_000, 2), 2)
    assert local_batches(5_000, 2) == ([5_000], 1)  # one batch: parsed in the flow's own process
    assert local_batches(5, 2, fixed=2) == ([2, 2, 1], 2)
    assert local_batches(5, 8, fixed=2) == ([2, 2, 1], 3)  # never more processes than batches
    assert local_batches(100_000, 1) == (batch_sizes(100_000, 1), 1)
    assert local_batches(0, 2) == ([], 1)
