"""The load inserts page text a piece at a time: consecutive staged parts up to a budget,
so DuckDB reads a piece's files in parallel, and never more text than the budget at once."""

from __future__ import annotations

from pathlib import Path

import duckdb

from newswh.load import PIECE_BYTES, PINNED_SHARE, _grouped, capture_pieces, piece_bytes, staged_parts
from newswh.staging import PlannedFile, stage_batch
from newswh.synth import write_corpus
from newswh.warehouse import apply_schema


def test_parts_are_gathered_in_order_up_to_the_budget():
    parts = [Path(name) for name in "abcdef"]
    sizes = [10, 10, 30, 5, 5, 60]

    assert _grouped(parts, sizes, 25) == [[Path("a"), Path("b")], [Path("c")], [Path("d"), Path("e")], [Path("f")]]
    assert _grouped(parts, sizes, 1) == [[part] for part in parts]  # a part over the budget is a piece alone
    assert _grouped([], [], 25) == []


def test_a_low_memory_limit_makes_smaller_pieces():
    assert piece_bytes(10 * 2**30) == PIECE_BYTES
    assert piece_bytes(60 * 2**20) == 60 * 2**20 // (2 * PINNED_SHARE)


def test_every_staged_capture_is_loaded_once_from_fewer_pieces_than_parts(tmp_path):
    corpus, staging = tmp_path / "raw", tmp_path / "staging"
    write_corpus(corpus, 300, noise=0.0, seed=9)
    planned = [
        PlannedFile(str(path), path.stat().st_size, path.stat().st_mtime_ns, None, None) for path in sorted(corpus.glob("*.txt"))
    ]
    summary = stage_batch(1, planned, str(staging), 5 * 2**20, part_bytes=100_000)
    parts = staged_parts(staging, "stage_captures")
    assert len(parts) >= 5

    con = duckdb.connect()
    apply_schema(con)
    pieces, _ = capture_pieces(con, staging)
    loaded = 0
    for _ in pieces:
        [(rows,)] = con.execute("select count(*) from piece_captures").fetchall()
        con.execute("insert into captures by name select * from piece_captures")
        loaded += 1
        assert rows > 0
    assert 1 <= loaded < len(parts)
    [(captures, paths)] = con.execute("select count(*), count(distinct source_path) from captures").fetchall()
    assert captures == paths == summary.articles
