"""The data dictionary, `docs/data-dictionary.md`, generated from the warehouse's own comments.

The comments in `sql/` are the one place the schema is explained; this renders them,
with each view's example query (its `-- example:` line) run on the hand-written corpus
in `tests/fixtures/corpus`, so the documentation shows real output and cannot drift:
a test renders it again and fails when the committed file differs.

Regenerate with `python -m newswh.dictionary`; check with `python -m newswh.dictionary --check`.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from newswh.settings import PROJECT_ROOT, SQL_DIR
from newswh.warehouse import SCHEMA_FOLDERS, apply_schema, sql_files

DICTIONARY_PATH = PROJECT_ROOT / "docs" / "data-dictionary.md"
EXAMPLE_CORPUS = PROJECT_ROOT / "tests" / "fixtures" / "corpus"

_CREATES = re.compile(r"^create (?:or replace )?(?:table if not exists |view |macro )(\w+)", re.M | re.I)
_EXAMPLE = re.compile(r"^-- example: (.+)$", re.M)


@dataclass(frozen=True)
class SqlObject:
    name: str
    kind: str  # "table", "view" or "macro"
    comment: str
    columns: list[tuple[str, str, str]]  # name, type, comment
    example: str | None
    source: str  # the sql file, relative to the project


def schema_objects(con: duckdb.DuckDBPyConnection) -> list[SqlObject]:
    """Every table, view and macro `sql/` creates, in the order it creates them."""
    comments = {
        **dict(con.execute("select table_name, comment from duckdb_tables() where not internal").fetchall()),
        **dict(con.execute("select view_name, comment from duckdb_views() where not internal").fetchall()),
        **dict(
            con.execute(
                "select function_name, any_value(comment) from duckdb_functions() "
                "where function_type in ('macro', 'table_macro') and not internal group by all"
            ).fetchall()
        ),
    }
    kinds = dict(con.execute("select table_name, lower(table_type) from information_schema.tables").fetchall())
    objects = []
    for folder in SCHEMA_FOLDERS:
        for path in sql_files(SQL_DIR / folder):
            text = path.read_text(encoding="utf-8")
            example = _EXAMPLE.search(text)
            for name in _CREATES.findall(text):
                kind = {"base table": "table", "view": "view"}.get(kinds.get(name, ""), "macro")
                columns = con.execute(
                    "select column_name, data_type, coalesce(comment, '') from duckdb_columns() "
                    "where table_name = ? order by column_index",
                    [name],
                ).fetchall()
                objects.append(
                    SqlObject(
                        name, kind, comments.get(name) or "", columns,
                        example.group(1) if example else None, str(path.relative_to(SQL_DIR.parent)),
                    )
                )
    return objects


def undocumented(objects: list[SqlObject]) -> list[str]:
    """Tables, views, macros and columns without a comment: each one is a question a user cannot answer."""
    missing = [obj.name for obj in objects if not obj.comment.strip()]
    missing += [f"{obj.name}.{column}" for obj in objects for column, _, comment in obj.columns if not comment.strip()]
    return missing


def render_dictionary(objects: list[SqlObject], examples: duckdb.DuckDBPyConnection) -> str:
    """The dictionary as markdown; `examples` is a warehouse holding the example corpus."""
    lines = [
        "# Data dictionary",
        "",
        "Generated from the `COMMENT ON` statements in `sql/` by `python -m newswh.dictionary`; do not",
        "edit by hand. Example outputs come from the hand-written corpus in `tests/fixtures/corpus`.",
        "Inside DuckDB the same text is in `duckdb_tables()`, `duckdb_views()`, `duckdb_columns()`",
        "and `duckdb_functions()`.",
        "",
    ]
    for kind, heading in (("view", "Views"), ("macro", "Macros"), ("table", "Tables")):
        lines += [f"## {heading}", ""]
        lines += [f"- [`{obj.name}`](#{obj.name}): {obj.comment}" for obj in objects if obj.kind == kind]
        lines.append("")
        for obj in (obj for obj in objects if obj.kind == kind):
            lines += [f"### {obj.name}", "", obj.comment, "", f"Defined in `{obj.source}`.", ""]
            if obj.columns:
                lines += ["| column | type | meaning |", "| --- | --- | --- |"]
                lines += [f"| `{name}` | {type_} | {_cell(comment)} |" for name, type_, comment in obj.columns]
                lines.append("")
            if obj.example:
                lines += ["```sql", obj.example, "```", "", *_markdown_table(examples, obj.example), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _markdown_table(con: duckdb.DuckDBPyConnection, query: str) -> list[str]:
    result = con.execute(query)
    names = [column[0] for column in result.description]
    rows = result.fetchall()
    return [
        "| " + " | ".join(names) + " |",
        "| " + " | ".join("---" for _ in names) + " |",
        *("| " + " | ".join(_cell(_text(value)) for value in row) + " |" for row in rows),
    ]


def _text(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def schema_connection() -> duckdb.DuckDBPyConnection:
    """An empty in-memory warehouse with every table, view and comment of `sql/`."""
    con = duckdb.connect()
    apply_schema(con)
    return con


def build_example_warehouse(data: Path) -> Path:
    """Ingest the example corpus with the real flow; returns the warehouse file."""
    from newswh.ingest import ingest
    from newswh.settings import DataPaths, quiet_ephemeral_prefect

    quiet_ephemeral_prefect()
    state = ingest(source=str(EXAMPLE_CORPUS), data=str(data), return_state=True)
    if not state.is_completed():
        raise RuntimeError(f"could not ingest the example corpus: {state.message}")
    return DataPaths(data).warehouse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m newswh.dictionary", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed dictionary is stale")
    args = parser.parse_args(argv)
    objects = schema_objects(schema_connection())
    missing = undocumented(objects)
    if missing:
        print(f"{len(missing)} objects have no COMMENT ON in sql/: {', '.join(missing)}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as temp:
        warehouse = build_example_warehouse(Path(temp) / "data")
        with duckdb.connect(str(warehouse), read_only=True) as examples:
            text = render_dictionary(objects, examples)
    current = DICTIONARY_PATH.read_text(encoding="utf-8") if DICTIONARY_PATH.exists() else ""
    if args.check:
        if text != current:
            print(f"{DICTIONARY_PATH.relative_to(PROJECT_ROOT)} is stale: run python -m newswh.dictionary", file=sys.stderr)
            return 1
        return 0
    DICTIONARY_PATH.parent.mkdir(parents=True, exist_ok=True)
    DICTIONARY_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {DICTIONARY_PATH.relative_to(PROJECT_ROOT)}: {len(objects)} tables, views and macros")
    return 0


if __name__ == "__main__":
    sys.exit(main())
