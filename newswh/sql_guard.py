"""What `newswh sql` lets run: nothing that writes into the data folder.

A read-only connection still writes files (`copy … to`, `export database`, `attach`,
settings that name where DuckDB writes, its spill folder), and the lake holds the only copy
of articles whose raw files are gone. Two layers: `write_problem` reads each statement's
text and refuses, in one line, what could write there or what it cannot tell; `confine`
then has DuckDB itself refuse every file but the query's own targets, its spill folder and
what it reads, for the statements the text is read otherwise than DuckDB reads it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb


def write_problem(con: duckdb.DuckDBPyConnection, query: str, kept: Path) -> str | None:
    """Why `query` must not run because it could write inside `kept` (the data folder, or
    the lake folder `--data` names), or None.

    A read-only connection still writes files: `copy … to` and `export database` wrote over
    a lake's partitions, the only copy of articles whose raw files are gone, from a command
    that only reads. `attach` opened the warehouse itself for writing (`detach` the main
    database, then `attach 'duckdb:…/warehouse.duckdb'`), a setting that names where DuckDB
    writes (`home_directory`, which `~` in a `copy` target follows; `profiling_output`;
    `enable_logging`'s file) could point into the folder, and a `prepare`d `copy` went
    unchecked. So a statement runs only where newswh can tell what it writes: `copy … to`
    and `export database` with one plain path (written anywhere else is what they are
    for), and no `attach`, `detach`, `use`, `prepare`, extension install or setting that
    names a place. What DuckDB writes of its own accord goes elsewhere (`confine`)."""
    kept = kept.resolve()
    for statement in _statements(con, query):
        refused = _refused_statement(statement)
        if refused is not None:
            return f"{refused} (newswh sql never writes into {kept}): run this with DuckDB itself"
        named = _names_where_duckdb_writes(statement)
        if named is not None:
            return f"`{named}` sets where DuckDB writes files, and newswh sql never writes into {kept}: run this with DuckDB itself"
        if statement.type in (duckdb.StatementType.COPY, duckdb.StatementType.EXPORT):
            target = _written_path(statement.query, export=statement.type == duckdb.StatementType.EXPORT)
            if target is None:
                return (
                    "cannot tell where this `copy`/`export` writes: give its target as one quoted path, e.g. to 'out.parquet', "
                    "without filename_pattern or file_extension"
                )
            if target and _as_duckdb_writes(target).is_relative_to(kept):
                return f"this query would write {target}, inside {kept}, which holds the warehouse or its lake: write it elsewhere"
    return None


def write_targets(con: duckdb.DuckDBPyConnection, query: str) -> list[Path]:
    """Where the query's `copy … to` and `export database` write, of a query write_problem
    passed: the only places `confine` lets DuckDB write, besides its spill folder."""
    targets = []
    for statement in _statements(con, query):
        if statement.type in (duckdb.StatementType.COPY, duckdb.StatementType.EXPORT):
            target = _written_path(statement.query, export=statement.type == duckdb.StatementType.EXPORT)
            if target:
                targets.append(_as_duckdb_writes(target))
    return targets


def _statements(con: duckdb.DuckDBPyConnection, query: str) -> Iterator[duckdb.Statement]:
    """The query's statements, and the one each `explain` runs: `explain analyze copy … to`
    writes what the `copy` does."""
    for statement in con.extract_statements(query):
        yield statement
        if statement.type == duckdb.StatementType.EXPLAIN:
            inner = _explained(statement.query)
            if inner:
                yield from _statements(con, inner)


def _explained(statement: str) -> str:
    """The statement an `explain [analyze] [(options)] …` explains, as text."""
    tokens = [(start, kind) for start, kind in duckdb.tokenize(statement) if kind != duckdb.token_type.comment]
    number, depth = 1, 0
    if number < len(tokens) and statement[tokens[number][0]:].lower().startswith(("analyze", "analyse")):
        number += 1
    while number < len(tokens):
        text = statement[tokens[number][0]:tokens[number + 1][0] if number + 1 < len(tokens) else len(statement)].strip()
        if tokens[number][1] == duckdb.token_type.operator:
            depth += text.count("(") - text.count(")")
        elif not depth:
            return statement[tokens[number][0]:]
        number += 1
    return ""


def _as_duckdb_writes(target: str) -> Path:
    """A target as the file DuckDB writes: `~` is the home folder put in front of the rest
    (`~data/x` is HOME + `data/x`, not user data's home, as Python reads it)."""
    if target.startswith("~"):
        target = (os.environ.get("HOME") or os.path.expanduser("~")) + target[1:]  # as given: Python drops its last /
    return Path(os.path.abspath(target)).resolve()


def confine(con: duckdb.DuckDBPyConnection, spill: Path, writes: list[Path], reads: list[Path]) -> None:
    """Let DuckDB touch no file but `reads` (the lake's, over the lake), the query's own
    `writes` (write_targets) and `spill`, its temporary folder. The text checks of
    write_problem run first, but a statement they read otherwise than DuckDB does got past
    them twice; with external access off, DuckDB itself refuses any other file ("Permission
    Error: Cannot access file"), and it cannot be turned back on while the connection is open.

    A sort or a join larger than memory spills to `temp_directory`, by default beside the
    warehouse (a query killed there left 360 MB in the data folder); a persistent secret is
    a file under the home folder, which may hold the data folder."""
    con.execute(f"set temp_directory = {_quoted(str(spill))}")
    con.execute("set allow_persistent_secrets = false")
    folders = [spill, *writes]  # a partitioned copy or an export writes a folder
    con.execute(f"set allowed_directories = [{', '.join(_quoted(str(folder) + os.sep) for folder in folders)}]")
    # A copy over an existing file writes `tmp_<name>` beside it, then renames it.
    paths = [*writes, *(path.with_name(f"tmp_{path.name}") for path in writes), *reads, *(Path(os.path.abspath(path)) for path in reads)]
    con.execute(f"set allowed_paths = [{', '.join(_quoted(str(path)) for path in paths)}]")
    con.execute("set enable_external_access = false")


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_REFUSED_TYPES = {
    duckdb.StatementType.ATTACH: "`attach` is not run here, as it can create or write the database it attaches",
    duckdb.StatementType.DETACH: "`detach` is not run here: the database opened stays the one queried",
    duckdb.StatementType.PREPARE: "`prepare` is not run here, as what it prepares would go unchecked",
    duckdb.StatementType.EXECUTE: "`execute` is not run here, as what it runs would go unchecked",
    duckdb.StatementType.LOAD: "extensions are not installed or loaded here, as DuckDB writes them to disk",
    duckdb.StatementType.COPY_DATABASE: "`copy from database` is not run here, as it writes a database",
}


def _refused_statement(statement: duckdb.Statement) -> str | None:
    """What in `statement` newswh sql does not run, and why, or None."""
    if statement.type in _REFUSED_TYPES:
        return _REFUSED_TYPES[statement.type]
    words = [text.lower() for text, kind in _tokens(statement.query) if kind in (duckdb.token_type.keyword, duckdb.token_type.identifier)]
    if statement.type == duckdb.StatementType.SET and words[:1] == ["use"]:
        return "`use` is not run here: the database opened stays the one queried"
    if statement.type in (duckdb.StatementType.CREATE, duckdb.StatementType.DROP) and "persistent" in words and "secret" in words:
        return "persistent secrets are not made here, as DuckDB keeps each as a file"
    return None


WHERE_DUCKDB_WRITES = frozenset({
    "home_directory", "temp_directory", "secret_directory", "extension_directory", "extension_directories",
    "extension_repository_directory", "log_query_path", "profiling_output", "profile_output", "enable_profiling",
    "enable_profile", "enable_logging", "logging_sink", "allow_persistent_secrets",
})
"""DuckDB's settings and functions that name a folder or file it then writes (or turn such
writing on), however they are reached: `set`, `pragma`, `call` or a table function."""

_CALLED_AFTER = frozenset({"call", "from", "join", "lateral", ",", "."})
"""The tokens before a table function's name: `call enable_logging(…)`, `from enable_logging(…)`,
`call system.main.enable_logging(…)`."""


def _names_where_duckdb_writes(statement: duckdb.Statement) -> str | None:
    """The WHERE_DUCKDB_WRITES name a `set`, `reset` or `pragma` changes, or that is called
    as a table function; a column, a table or a variable of that name is none of them."""
    tokens = list(_tokens(statement.query))
    words = [text.lower() for text, _ in tokens]
    setting = statement.type in (duckdb.StatementType.SET, duckdb.StatementType.PRAGMA) and words[1:2] != ["variable"]
    for number, (text, kind) in enumerate(tokens):
        name = text.strip('"').lower()
        if kind not in (duckdb.token_type.identifier, duckdb.token_type.keyword) or name not in WHERE_DUCKDB_WRITES:
            continue
        called = 0 < number < len(tokens) - 1 and words[number - 1] in _CALLED_AFTER and words[number + 1].startswith("(")
        if setting or called:
            return name
    return None


def _tokens(statement: str) -> Iterator[tuple[str, duckdb.token_type]]:
    """Each token's text (without the white space after it) and kind; comments, which DuckDB
    skips, skipped (`call /*x*/ enable_profiling(…)` hid the name)."""
    tokens = duckdb.tokenize(statement)
    for number, (start, kind) in enumerate(tokens):
        end = tokens[number + 1][0] if number + 1 < len(tokens) else len(statement)
        if kind != duckdb.token_type.comment:
            yield statement[start:end].strip().rstrip(";").strip(), kind


_WRITES_ELSEWHERE = frozenset({"filename_pattern", "file_extension"})
"""`copy` options that put the files it writes somewhere other than its target (`../…`)."""


def _written_path(statement: str, export: bool) -> str | None:
    """The local path a `copy … to` or `export database` statement writes: "" where it
    writes nothing local (`copy … from`, a URL), None where that cannot be told (a target
    that is not one plain quoted string: DuckDB joins 'a' 'b' into one path)."""
    depth, after_to, path = 0, False, None
    for text, kind in _tokens(statement):
        if kind == duckdb.token_type.operator:
            depth += text.count("(") - text.count(")")
            continue
        if kind in (duckdb.token_type.identifier, duckdb.token_type.keyword) and text.strip('"').lower() in _WRITES_ELSEWHERE:
            return None
        if depth:
            continue  # a query, a column list, options
        if kind == duckdb.token_type.string_const and (export or after_to):
            if path is not None:
                return None  # a second string right after the first: DuckDB joins them
            if not (len(text) >= 2 and text[0] == text[-1] == "'"):
                return None  # an escape or dollar-quoted string
            path = _local_path(text[1:-1].replace("''", "'"))
            continue
        if path is not None:
            return path
        if kind == duckdb.token_type.keyword and text.lower() == "to":
            after_to = True
        elif after_to:
            return None  # `to` something that is not a quoted path
    if path is not None:
        return path
    return None if export or after_to else ""


_REMOTE_SCHEMES = frozenset({"s3", "s3a", "s3n", "gs", "gcs", "az", "azure", "abfs", "abfss", "http", "https", "hf", "r2"})
"""Schemes DuckDB writes elsewhere than the local disk; any other (`zz://../data/x`) is a
local path to it."""


def _local_path(text: str) -> str:
    """A target as the local path DuckDB writes, "" for a URL of another file system:
    `file:/x`, `file:///x` and `file://localhost/x` are all /x."""
    local = re.sub(r"(?i)^file:(//(localhost)?(?=/))?", "", text)
    scheme, found, _ = local.partition("://")
    return "" if found and scheme.lower() in _REMOTE_SCHEMES else local
