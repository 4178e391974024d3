"""Ad-hoc SQL against the warehouse, read-only, as a table, CSV or JSON.

So that a user needs nothing but newswh to ask the warehouse a question, and so that
scripts can consume the answer. Read-only connections never block an ingest.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TextIO
from uuid import UUID

import duckdb

FORMATS = ("table", "csv", "json")
_FETCH_ROWS = 10_000


def write_result(
    con: duckdb.DuckDBPyConnection, query: str, fmt: str, out: TextIO, max_rows: int = 100, width: int = 120
) -> None:
    """Run `query` and write its result to `out` in `fmt` (one of FORMATS).

    Tables are for people, so they show at most `max_rows` rows and say how many there
    were; CSV and JSON are for programs and carry every row.
    """
    if fmt == "table":
        relation = con.sql(query)
        if relation is not None:
            relation.show(max_width=width, max_rows=max_rows)
        return
    result = con.execute(query)
    if result.description is None:
        return
    names = [column[0] for column in result.description]
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        for row in _rows(result):
            writer.writerow("" if value is None else _scalar(value) for value in row)
    elif fmt == "json":
        out.write("[")
        for number, row in enumerate(_rows(result)):
            out.write(",\n " if number else "\n ")
            out.write(json.dumps(dict(zip(names, row)), ensure_ascii=False, default=_scalar))
        out.write("\n]\n")
    else:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")


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
