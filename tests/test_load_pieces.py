"""The load inserts page text a piece at a time: consecutive staged parts up to a budget,
so DuckDB reads a piece's files in parallel, and never more text than the budget at once."""

from __future__ import annotations

from pathlib import Path

import duckdb

from newswh.load import PIECE_BYTES, PINNED_SHARE, _grouped, _last_rows, capture_pieces, piece_bytes, staged_parts
from newswh.staging import PlannedFile, stage_batch
from newswh.synth import write_corpus
from newswh.warehouse import VECTOR_ROWS, apply_schema


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


def _all_last_rows(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """What _last_rows answers, by the plain query: the last VECTOR_ROWS rows by row id."""
    return con.execute(
        "select count(*), coalesce(sum(s.size_bytes), 0) from (select source_path from captures order by rowid desc limit ?) "
        "left join (select source_path, size_bytes from source_files) as s using (source_path)",
        [VECTOR_ROWS],
    ).fetchall()[0]


def test_the_last_rows_are_the_last_by_row_id_even_after_deletes_among_them(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    rows = 3 * VECTOR_ROWS
    con.execute("create table source_files as select 'p' || i as source_path, i as size_bytes from range(?) as t(i)", [rows])
    con.execute("create table captures as select 'p' || i as source_path from range(?) as t(i) order by i", [rows])
    con.execute("checkpoint")
    assert _last_rows(con, "captures") == _all_last_rows(con) == (VECTOR_ROWS, sum(range(2 * VECTOR_ROWS, rows)))

    # Rows deleted among the last ones: the last VECTOR_ROWS rows now reach further back.
    con.execute("delete from captures where source_path in (select 'p' || i from range(?, ?) as t(i))", [rows - 1000, rows - 900])
    assert _last_rows(con, "captures") == _all_last_rows(con) == (VECTOR_ROWS, sum(range(2 * VECTOR_ROWS - 100, rows)) - sum(range(rows - 1000, rows - 900)))

    con.execute("delete from captures where source_path <> 'p7'")
    assert _last_rows(con, "captures") == _all_last_rows(con) == (1, 7)
