"""The `newswh` command. Thin: every command hands straight over to a module that does the work.

Prefect takes about two seconds to import, so only the commands that run flows import it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from flows.parse import DEFAULT_MAX_BYTES

app = typer.Typer(
    name="newswh",
    help="News warehouse: raw scraped news pages to Parquet and DuckDB.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def main() -> None:
    app()


@app.callback()
def _commands() -> None:
    """News warehouse: raw scraped news pages to Parquet and DuckDB."""


@app.command()
def parse(
    paths: Annotated[list[Path], typer.Argument(help="Raw files, or folders to search for *.txt files.")],
    max_bytes: Annotated[int, typer.Option(help="Reject files larger than this as too_large.")] = DEFAULT_MAX_BYTES,
) -> None:
    """Print one JSON object per file: its article and related items, or why it was rejected."""
    from flows.sources import discover, read_and_parse

    missing = [path for path in paths if not path.exists() and not path.is_symlink()]
    out = sys.stdout
    for path in paths:
        if path in missing:
            continue
        for source in discover(path):
            result = read_and_parse(source, max_bytes)
            out.write(json.dumps(result.to_json_dict(), ensure_ascii=False))
            out.write("\n")
    for path in missing:
        typer.echo(f"newswh parse: {path}: no such file or folder", err=True)
    if missing:
        raise typer.Exit(2)
