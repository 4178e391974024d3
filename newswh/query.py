"""Ad-hoc SQL against the warehouse, read-only, as a table, CSV or JSON.

So that a user needs nothing but newswh to ask the warehouse a question, and so that
scripts can consume the answer. Read-only connections never block an ingest.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TextIO
from uuid import UUID

import duckdb

FORMATS = ("table", "csv", "json")
_FETCH_ROWS = 10_000

ANSWERS = frozenset({
    duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN, duckdb.StatementType.PRAGMA, duckdb.StatementType.CALL,
})
"""Statements run for their rows (the others, `set` or `create temp view`, for what they do)."""


def answers_problem(con: duckdb.DuckDBPyConnection, query: str, fmt: str) -> str | None:
    """Why `query` cannot be written as `fmt`, or None: CSV and JSON hold one result, and
    of several statements that return rows only the last one's was written, with nothing
    said about the others."""
    if fmt == "table":
        return None
    answers = [number for number, statement in enumerate(con.extract_statements(query), 1) if statement.type in ANSWERS]
    if len(answers) < 2:
        return None
    listed = ", ".join(map(str, answers[:-1])) + f" and {answers[-1]}"
    return f"statements {listed} each return rows, and --format {fmt} writes one result: give one query (or use --format table)"


def write_result(
    con: duckdb.DuckDBPyConnection, query: str, fmt: str, out: TextIO, max_rows: int = 100, width: int = 120
) -> None:
    """Run `query` and write its result to `out` in `fmt` (one of FORMATS).

    Tables are for people, so they show at most `max_rows` rows and say how many there
    were, and show each statement's rows in turn (DuckDB's Python API ran them all but
    returned only the last one's); CSV and JSON are for programs and carry every row of
    the last statement (`answers_problem` refuses more than one that returns rows).
    """
    statements = con.extract_statements(query)
    if fmt == "table":
        for number, statement in enumerate(statements, 1):
            relation = con.sql(statement.query)  # run now, whatever its type
            if relation is not None and (statement.type in ANSWERS or number == len(statements)):
                relation.show(max_width=width, max_rows=max_rows)  # to sys.stdout, ending in a blank line
        return
    for statement in statements[:-1]:
        con.execute(statement.query)
    result = con.execute(statements[-1].query)
    if result.description is None:
        return
    names = [column[0] for column in result.description]
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        for row in _rows(result):
            writer.writerow("" if value is None else _scalar(value) for value in row)
    elif fmt == "json":
        keys = _unique(names)
        out.write("[")
        for number, row in enumerate(_rows(result)):
            out.write(",\n " if number else "\n ")
            values = (None if isinstance(value, float) and not math.isfinite(value) else value for value in row)
            out.write(json.dumps(dict(zip(keys, values)), ensure_ascii=False, default=_scalar, allow_nan=False))
        out.write("\n]\n")
    else:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")


def _unique(names: list[str]) -> list[str]:
    """Column names as JSON keys, each once: `select 1 as a, 2 as a` lost its first column.
    A repeated name gets a suffix, as DuckDB names a table's repeated columns: a, a_1."""
    keys: list[str] = []
    for name in names:
        key, number = name, 0
        while key in keys or (number and key in names):  # nor a name a later column has
            number += 1
            key = f"{name}_{number}"
        keys.append(key)
    return keys


def _rows(result: duckdb.DuckDBPyConnection) -> Iterator[tuple[object, ...]]:
    while batch := result.fetchmany(_FETCH_ROWS):
        yield from batch


def _scalar(value: object) -> object:
    """JSON/CSV text for values Python's json does not know: ISO 8601 times, exact decimals."""
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (Decimal, UUID)):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return value
