"""Ad-hoc SQL against the warehouse, read-only, as a table, CSV or JSON.

So that a user needs nothing but newswh to ask the warehouse a question, and so that
scripts can consume the answer. Read-only connections never block an ingest.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TextIO
from uuid import UUID

import duckdb

FORMATS = ("table", "csv", "json")
_FETCH_ROWS = 10_000


def write_problem(con: duckdb.DuckDBPyConnection, query: str, kept: Path, over_lake: bool) -> str | None:
    """Why `query` must not run because it would write inside `kept` (the data folder, or
    the lake folder `--data` names), or None.

    A read-only connection still writes files: `copy … to` and `export database` wrote over
    a lake's partitions, the only copy of articles whose raw files are gone, from a command
    that only reads. Over the lake (an in-memory database), `attach` opened the warehouse
    itself for writing; over the warehouse, `attach` created a database inside the lake. A
    setting that names where DuckDB writes (`home_directory`, which `~` in a `copy` target
    follows; `profiling_output`; `enable_logging`'s file) could point into the folder too.
    Files written anywhere else are what `copy … to` is for."""
    kept = kept.resolve()
    for statement in con.extract_statements(query):
        named = _names_where_duckdb_writes(statement)
        if named is not None:
            return f"`{named}` sets where DuckDB writes files, and newswh sql never writes into {kept}: run this with DuckDB itself"
        if over_lake and statement.type == duckdb.StatementType.ATTACH:
            return "`attach` is not run over the lake (it could write the database it attaches): open that database with DuckDB itself"
        if statement.type == duckdb.StatementType.ATTACH:
            target = _written_path(statement.query, export=True)  # the first quoted string: the database's file
            if target is None:
                return "cannot tell which file this `attach` opens: give it as a quoted path, e.g. attach 'other.duckdb'"
            if target and Path(os.path.expanduser(target)).resolve().is_relative_to(kept):
                return (
                    f"this query would attach {target}, inside {kept}, which holds the warehouse or its lake (`attach` "
                    "creates and writes a database): attach a copy kept elsewhere"
                )
        if statement.type in (duckdb.StatementType.COPY, duckdb.StatementType.EXPORT):
            target = _written_path(statement.query, export=statement.type == duckdb.StatementType.EXPORT)
            if target is None:
                return "cannot tell where this `copy`/`export` writes: give its target as a quoted path, e.g. to 'out.parquet'"
            if target and Path(os.path.expanduser(target)).resolve().is_relative_to(kept):
                return f"this query would write {target}, inside {kept}, which holds the warehouse or its lake: write it elsewhere"
    return None


WHERE_DUCKDB_WRITES = frozenset({
    "home_directory", "temp_directory", "secret_directory", "extension_directory", "extension_directories",
    "extension_repository_directory", "log_query_path", "profiling_output", "profile_output", "enable_profiling",
    "enable_profile", "enable_logging", "logging_sink",
})
"""DuckDB's settings and functions that name a folder or file it then writes (or turn such
writing on), however they are reached: `set`, `pragma`, `call` or a table function."""


def _names_where_duckdb_writes(statement: duckdb.Statement) -> str | None:
    """The WHERE_DUCKDB_WRITES name a `set`, `reset` or `pragma` changes, or that is called
    as a function (`call enable_logging(…)`, `from enable_logging(…)`); a column of that
    name is no setting."""
    setting = statement.type in (duckdb.StatementType.SET, duckdb.StatementType.PRAGMA)
    tokens = list(_tokens(statement.query))
    for number, (text, kind) in enumerate(tokens):
        name = text.strip('"').lower()
        if kind in (duckdb.token_type.identifier, duckdb.token_type.keyword) and name in WHERE_DUCKDB_WRITES:
            if setting or (number + 1 < len(tokens) and tokens[number + 1][0].startswith("(")):
                return name
    return None


def _tokens(statement: str) -> Iterator[tuple[str, duckdb.token_type]]:
    """Each token's text (without the white space after it) and kind."""
    tokens = duckdb.tokenize(statement)
    for number, (start, kind) in enumerate(tokens):
        end = tokens[number + 1][0] if number + 1 < len(tokens) else len(statement)
        yield statement[start:end].strip().rstrip(";").strip(), kind


def _written_path(statement: str, export: bool) -> str | None:
    """The local path a `copy … to` or `export database` statement writes: "" where it
    writes nothing local (`copy … from`, a URL), None where that cannot be told."""
    depth, after_to = 0, False
    for text, kind in _tokens(statement):
        if kind == duckdb.token_type.operator:
            depth += text.count("(") - text.count(")")
        elif depth:
            continue  # a query, a column list, options
        elif kind == duckdb.token_type.string_const and (export or after_to):
            if not (len(text) >= 2 and text[0] == text[-1] == "'"):
                return None  # an escape or dollar-quoted string
            path = text[1:-1].replace("''", "'").removeprefix("file://")
            return "" if "://" in path else path
        elif kind == duckdb.token_type.keyword and text.lower() == "to":
            after_to = True
        elif after_to:
            return None  # `to` something that is not a quoted path
    return None if export or after_to else ""


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
