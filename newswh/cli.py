"""The `newswh` command. Thin: every command hands straight over to a module that does the work.

Prefect takes about two seconds to import, so only the commands that run flows import it.
"""

from __future__ import annotations

import atexit
import codecs
import gc
import io
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer
from typer.core import TyperCommand

from newswh.batches import BATCH_FILES_MAX, BATCH_FILES_MIN
from newswh.interrupts import (
    WAREHOUSE_UNCHANGED,
    exit_if_stopping_hangs,
    ignore_stop_signals,
    notice_stop_signals,
    say_stopped,
    stop_code,
    stop_requested,
    stopped,
)
from newswh.parse import DEFAULT_MAX_BYTES
from newswh.settings import DEFAULT_DATA, DEFAULT_SOURCE, LOCK_WAIT_SECONDS, quiet_ephemeral_prefect

MAX_BYTES_LIMIT = 2**62
"""--max-bytes beyond this failed late, deep in DuckDB (a BIGINT), after Prefect started."""
SERVE_INTERVAL_MAX = 10 * 365 * 86_400.0
"""--interval beyond this (or infinite) failed deep inside Prefect's schedule, with a traceback."""


def _interval_seconds(value: Optional[float]) -> Optional[float]:
    """--interval in range, checked here: click's range check passed nan to say it was
    "less than or equal to 315360000"."""
    if value is not None and not 1.0 <= value <= SERVE_INTERVAL_MAX:
        raise typer.BadParameter(f"{value:g} is not a number of seconds from 1 to {SERVE_INTERVAL_MAX:,.0f} (ten years)")
    return value


app = typer.Typer(
    name="newswh",
    help="News warehouse: raw scraped news pages to Parquet and DuckDB.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def main() -> None:
    """Run a command; every failure a person can act on ends as one line on stderr.

    Click prints usage errors over several lines (and typer in a box); a script reading
    stderr, or a person, wants the one line that says what is wrong.
    """
    # Registered first, so it runs last: the interpreter's shutdown then skips its garbage
    # collections over the ~150,000 objects Prefect, pydantic and DuckDB leave (0.25 s of
    # every `newswh ingest`). Memory goes back to the system either way; atexit handlers
    # and the deallocation of every object not in a cycle still run.
    atexit.register(gc.freeze)
    # Every Python newswh starts (the temporary Prefect server, the parse workers, the walk
    # ahead, the dashboard) would otherwise put the working directory first on its import
    # path: a queue.py or types.py beside the user then replaced the standard library's,
    # and the server exited with "No module named 'concurrent.futures'".
    os.environ["PYTHONSAFEPATH"] = "1"
    notice_stop_signals()
    _watch_output()
    for size in ("COLUMNS", "LINES"):  # COLUMNS=0 made every command print nothing, and exit 0
        value = os.environ.get(size, "1").strip()
        if not value.isdigit() or int(value) == 0:
            del os.environ[size]
    try:
        from typer._click import exceptions  # typer vendors click from 0.2x on
    except ImportError:  # pragma: no cover - older typer
        from click import exceptions

    from newswh.settings import memory_limit_problem

    empty = _empty_argument(sys.argv[1:])
    wrong = f"{empty} (see `newswh --help`)" if empty is not None else memory_limit_problem()
    if wrong is not None:
        typer.echo(f"newswh: {wrong}", err=True)
        sys.exit(2)
    stopping = False
    try:
        code = app(standalone_mode=False)
    except exceptions.NoArgsIsHelpError as error:
        typer.echo(error.ctx.get_help())
        code = 0
    except exceptions.UsageError as error:
        name = error.ctx.command_path if error.ctx else "newswh"
        typer.echo(f"{name}: {error.format_message()} (see `{name} --help`)", err=True)
        code = 2
    except (typer.Abort, KeyboardInterrupt):
        stopping = True
    except exceptions.ClickException as error:
        typer.echo(f"newswh: {error.format_message()}", err=True)
        code = error.exit_code
    except OSError as error:
        if not _output_lost(error):
            raise
        code = 1
    except UnicodeEncodeError as error:
        if not _output_cannot_hold(error):
            raise
        code = 1
    except Exception:
        if not stop_requested():  # a bug: its traceback is what a report needs
            raise
        stopping = True  # DuckDB's "Query interrupted" (newswh.interrupts)
    if stopping or code == 130:  # 130: typer's silent exit for a KeyboardInterrupt inside a command
        sys.stderr.flush()
        say_stopped(stopped("newswh"))
        code = stop_code()
    ignore_stop_signals()  # the command is over
    try:
        sys.stdout.flush()  # the last of the output, which the interpreter's exit would write
    except OSError as error:
        if not _output_lost(error):
            raise
        code = 1
    sys.exit(code if isinstance(code, int) else 0)


class _Output(io.FileIO):
    """Standard output's file, which remembers a write it failed: `> out.csv` on a full
    disk ended in a traceback, from whichever library was printing."""

    failure: OSError | None = None

    def write(self, data: Any) -> int:  # type: ignore[override]
        try:
            return super().write(data)
        except OSError as error:
            _Output.failure = error
            raise


def _watch_output() -> None:
    """Standard output written through `_Output`, as the same text stream it was."""
    if sys.stdout is None:  # started with its output closed (`newswh status >&-`): print to nowhere
        sys.stdout = open(os.devnull, "w", encoding="utf-8")
        return
    try:
        descriptor = sys.stdout.fileno()
    except (OSError, ValueError):  # not a file (a test's capture)
        return
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(_Output(descriptor, "w", closefd=False)),
        encoding=sys.stdout.encoding, errors=sys.stdout.errors, line_buffering=sys.stdout.line_buffering,
    )


def _output_cannot_hold(error: UnicodeEncodeError) -> bool:
    """Whether `error` is standard output's encoding (PYTHONIOENCODING=ascii, a latin-1
    terminal) refusing a character of the result, which is then said in one line: an
    article's `’` ended in a traceback. Not written as `\\u2019` either: a CSV must not
    change its data to fit."""
    if codecs.lookup(error.encoding).name != codecs.lookup(sys.stdout.encoding or "utf-8").name:
        return False
    character = error.object[error.start] if isinstance(error.object, str) else "?"
    typer.echo(
        f"newswh: standard output's encoding, {sys.stdout.encoding}, cannot hold {character!r}, which the output holds: "
        "set PYTHONIOENCODING=utf-8 (or a UTF-8 locale) and run it again",
        err=True,
    )
    return True


def _output_lost(error: OSError) -> bool:
    """Whether `error` is standard output refusing what the command printed, which is then
    said in one line. Standard output then points at /dev/null, so the interpreter's last
    flush of what is left cannot fail again."""
    if _Output.failure is None:
        return False  # another file's failure: a bug, whose traceback a report needs
    try:
        nowhere = os.open(os.devnull, os.O_WRONLY)
        os.dup2(nowhere, sys.stdout.fileno())
        os.close(nowhere)
    except (OSError, ValueError):
        pass
    typer.echo(f"newswh: could not write the output ({_Output.failure.strerror or _Output.failure}); it is incomplete", err=True)
    return True


def _empty_argument(arguments: list[str]) -> str | None:
    """What is wrong with an argument that is empty text, as an unset shell variable gives
    (`newswh ingest "$SRC"`), or None. No option or argument of newswh means anything empty:
    a folder "" was the current folder, so `ingest ""` read every file below it, from a
    script's empty variable."""
    for number, argument in enumerate(arguments):
        if argument == "" or (argument.startswith("--") and argument.endswith("=")):
            after = f" after {arguments[number - 1]}" if argument == "" and number and arguments[number - 1].startswith("-") else ""
            name = f"{argument[:-1]} is given" if argument else f"argument {number + 1}{after} is"
            return f"{name} empty: give a value (an unset shell variable?)"
    return None


def modules_loaded() -> None:
    """The cycle collector back on if newswh.command held it off while modules loaded, with
    what is loaded so far moved out of its sight: modules, classes and functions live as
    long as the process, so a full collection during the run would walk them all again
    (0.06–0.1 s each, twice in a small run) to free nothing. A collector someone else left
    on (a test calling the app in its own process) is left alone."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        from newswh import parser_build

        typer.echo(f"newswh {version('newswh')} (parser: {parser_build()})")
        raise typer.Exit()


@app.callback()
def _commands(
    context: typer.Context,
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = None,
) -> None:
    """News warehouse: raw scraped news pages to Parquet and DuckDB."""
    if context.invoked_subcommand != "ingest":  # which calls it once Prefect is imported
        modules_loaded()


@app.command()
def parse(
    paths: Annotated[list[Path], typer.Argument(help="Raw files, or folders to search for *.txt files.")],
    max_bytes: Annotated[int, typer.Option(min=1, max=MAX_BYTES_LIMIT, help="Reject files larger than this as too_large.")] = DEFAULT_MAX_BYTES,
) -> None:
    """Print one JSON object per file: its article and related items, or why it was rejected."""
    from newswh.sources import discover, read_and_parse

    missing = {path: _missing(path) for path in paths}
    out = sys.stdout
    for path in paths:
        if missing[path]:
            continue
        for source in discover(path):
            result = read_and_parse(source, max_bytes)
            out.write(json.dumps(result.to_json_dict(), ensure_ascii=False))
            out.write("\n")
    for path, why in missing.items():
        if why:
            typer.echo(f"newswh parse: {path}: {why}", err=True)
    if any(missing.values()):
        raise typer.Exit(2)


def _missing(path: Path) -> str:
    """Why `parse` finds nothing at `path` ("" if it names something)."""
    try:
        return "" if path.exists() or path.is_symlink() else "no such file or folder"
    except OSError as error:  # a name too long for the file system: a traceback
        return error.strerror or str(error)


@app.command()
def ingest(
    source: Annotated[
        str, typer.Argument(help="Folder of raw files (searched recursively for *.txt), or a URL: s3://bucket/prefix.")
    ] = str(DEFAULT_SOURCE),
    data: Annotated[Path, typer.Option(help="Data folder: warehouse.duckdb and lake/ live here.")] = DEFAULT_DATA,
    workers: Annotated[int, typer.Option(min=0, help="Parser processes; 0 means one per core.")] = 0,
    batch_files: Annotated[
        int | None,
        typer.Option(
            min=1, show_default=False,
            help=f"Files per parse task; by default large batches first, then smaller ({BATCH_FILES_MAX:,} down to {BATCH_FILES_MIN:,}).",
        ),
    ] = None,
    max_bytes: Annotated[int, typer.Option(min=1, max=MAX_BYTES_LIMIT, help="Reject files larger than this as too_large.")] = DEFAULT_MAX_BYTES,
    wait: Annotated[float, typer.Option(min=0.0, help="Seconds to wait for another ingest on the same data folder.")] = LOCK_WAIT_SECONDS,
    rehash: Annotated[
        bool,
        typer.Option(
            "--rehash",
            help="Read and hash every file, not only those whose size or mtime changed: after restoring "
            "files with their old size and mtime (rsync -t, cp -p).",
        ),
    ] = False,
    dask: Annotated[
        Optional[str], typer.Option(help="Parse on this running Dask scheduler (tcp://host:8786), not on local processes.")
    ] = None,
    storage_options: Annotated[
        Optional[str], typer.Option(help="JSON object of fsspec options for a URL source or staging, e.g. '{\"anon\": true}'.")
    ] = None,
    staging: Annotated[
        Optional[str], typer.Option(help="Where parse workers stage rows, a URL they and this machine reach (default: in --data).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also show Prefect's own log lines.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the final line.")] = False,
) -> None:
    """Parse new and changed raw files into the DuckDB warehouse and the Parquet lake."""
    from newswh.paths_check import dask_address_problem, data_problem, prefect_home_problem, source_problem
    from newswh.remote import StorageError, is_url, parse_storage_options

    try:
        options = parse_storage_options(storage_options)
    except StorageError as error:
        _refuse("ingest", str(error))
    source = source.removeprefix("file://")  # fsspec's name for a local folder: "file:/…" was no folder
    # Options that would do nothing were ignored without a word: say which, before anything starts.
    if quiet and verbose:
        _refuse("ingest", "--quiet and --verbose ask for opposite things: give one", code=2)
    if options and not is_url(source) and not (staging and is_url(staging)):
        _refuse("ingest", "--storage-options are for a URL source or --staging, and neither is a URL here: drop them", code=2)
    _refuse("ingest", (None if is_url(source) else source_problem(Path(source))) or data_problem(data))
    if staging and not is_url(staging):  # a folder every worker mounts
        _refuse("ingest", data_problem(Path(staging), what="staging folder"))
    if dask is not None:
        _refuse("ingest", dask_address_problem(dask))
    _refuse("ingest", prefect_home_problem())
    from newswh.settings import DataPaths

    paths = DataPaths(data)
    if not wait:
        from newswh.locking import held_by_another

        _refuse("ingest", held_by_another(paths.lock))  # the flow would refuse too, seconds later
    warehouse = paths.warehouse
    state = None
    before: object = _NOT_LOOKED_AT  # None: no warehouse before this run
    try:  # from here on a stop says what became of the run, in the ingest's own line
        from newswh.arrow_memory import arrow_allocates_with_malloc

        arrow_allocates_with_malloc()  # before anything imports pyarrow: newswh.arrow_memory says why
        start_ahead(source, data, max_bytes, rehash, workers=workers or None, batch_files=batch_files, dask=dask is not None)
        quiet_ephemeral_prefect()
        from newswh.no_pandas import refuse_pandas

        refuse_pandas("`newswh ingest` has no use for pandas")  # a small run parses here: newswh.no_pandas says why
        from newswh.warehouse import file_state

        before = file_state(warehouse)
        with _prefect_api() as api_ready:
            from newswh.display import Verbosity, ingest_display
            from newswh.ingest import ingest as ingest_flow

            api_ready()  # a temporary server started, or the running one was asked, while Prefect was imported
            modules_loaded()

            verbosity = Verbosity.quiet if quiet else Verbosity.verbose if verbose else Verbosity.normal
            with ingest_display(verbosity), one_shot_flow_settings():
                state = ingest_flow(
                    source=str(source),
                    data=str(data),
                    workers=workers or None,
                    batch_files=batch_files,
                    max_bytes=max_bytes,
                    lock_wait_seconds=wait,
                    rehash=rehash,
                    dask=dask,
                    storage_options=options or None,
                    staging=staging,
                    return_state=True,
                )
                if not state.is_completed() and stop_requested():
                    raise KeyboardInterrupt  # the query's failure failed the run (newswh.interrupts)
        if state.is_completed():
            _print_counts(state.result(), quiet)
    except KeyboardInterrupt:
        ignore_stop_signals()  # stopped: a further Ctrl-C or SIGTERM has nothing left to stop
        if state is not None and state.is_completed():
            outcome = "the run had completed: `newswh status` shows its counts"
        elif before is not _NOT_LOOKED_AT and file_state(warehouse) != before:  # a first run's commit too
            outcome = "the run had committed: the next run brings the lake up to date"
        else:
            outcome = WAREHOUSE_UNCHANGED
        _exit_stopped("ingest", outcome)
    if not state.is_completed():
        typer.echo(f"newswh ingest: {state.message}", err=True)
        raise typer.Exit(1)


_NOT_LOOKED_AT = object()
"""The warehouse's state before an ingest stopped before looking at it (so before it could commit)."""


def start_ahead(
    source: str, data: Path | str, max_bytes: int, rehash: bool,
    workers: int | None = None, batch_files: int | None = None, dask: bool = False,
) -> None:
    """What `ingest` starts before it imports Prefect, to run on the other core meanwhile:
    the walk of a local source, then the lock taken and the run's copy opened and planned,
    and the parse processes the plan needs started (unless `dask`: the cluster parses);
    or, if another run holds the lock, the copy made, to be used if the warehouse is
    unchanged when it is taken. The flow takes each (`take`) or does it itself.
    bench/run.py starts them too, so that it times the flow as this command runs it."""
    from newswh.remote import is_url

    local = not is_url(source)
    if local:
        from newswh import walk_ahead

        walk_ahead.start(Path(source).resolve())  # first, before the imports below: the longest
    from newswh import copy_ahead, open_ahead
    from newswh.open_ahead import LocalParse, PlanSettings
    from newswh.records import PARSER_VERSION
    from newswh.settings import DataPaths

    paths = DataPaths(Path(data))
    plan = PlanSettings(Path(source).resolve(), PARSER_VERSION, max_bytes, rehash)
    if not local or not open_ahead.start(paths, plan, None if dask else LocalParse(workers, batch_files)):
        copy_ahead.start(paths)


class _QueryCommand(TyperCommand):
    """Click reads an argument that starts with `--` as an option, so a query that begins
    with a comment (`-- daily counts` and a newline) was refused as "No such option". An
    argument that starts with `-` and holds whitespace cannot be an option: it goes after
    a `--`, where click takes it as the query, wherever it stood among the options."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if "--" not in args:
            queries = [arg for arg in args if arg.startswith("-") and any(char.isspace() for char in arg)]
            args = [arg for arg in args if arg not in queries] + (["--", *queries] if queries else [])
        return super().parse_args(ctx, args)


@app.command(cls=_QueryCommand)
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run, e.g. \"select * from outlets\".")],
    data: Annotated[Path, typer.Option(help="Data folder holding warehouse.duckdb.")] = DEFAULT_DATA,
    format: Annotated[str, typer.Option("--format", "-f", help="table, csv or json (an array of objects).")] = "table",
    max_rows: Annotated[int, typer.Option(min=1, help="Rows shown in table format; csv and json carry every row.")] = 100,
    lake: Annotated[
        bool,
        typer.Option(
            "--lake",
            help="Query the Parquet lake instead (same tables and views; never opens warehouse.duckdb). "
            "--data may then name the lake folder itself.",
        ),
    ] = False,
) -> None:
    """Run a query read-only against the warehouse (or the lake); safe while an ingest runs."""
    import tempfile

    import duckdb

    from newswh.failures import first_line
    from newswh.query import FORMATS, write_result

    if format not in FORMATS:
        typer.echo(f"newswh sql: unknown format {format!r}: use one of {', '.join(FORMATS)}", err=True)
        raise typer.Exit(2)
    width = shutil.get_terminal_size().columns
    if lake:
        _query_lake(data, query, format, max_rows, width)
        return
    con = _open_read_only("sql", data)
    exit_if_stopping_hangs("newswh")  # a query over range(10**12) may not stop
    try:
        with tempfile.TemporaryDirectory(prefix="newswh-sql-") as spill:
            _checked(con, query, data, format, Path(spill), reads=[])
            write_result(con, query, format, sys.stdout, max_rows=max_rows, width=width)
    except duckdb.Error as error:
        typer.echo(f"newswh sql: {first_line(error)}", err=True)
        raise typer.Exit(1) from None
    finally:
        con.close()


def _checked(con: Any, query: str, kept: Path, format: str, spill: Path, reads: list[Path]) -> None:
    """Refuse in one line what `query` must not run (nothing, a write into `kept`, two results
    for one CSV), then let DuckDB touch only the files the query may: the one sequence before
    every query, over the warehouse and over the lake alike."""
    from newswh.query import answers_problem
    from newswh.sql_guard import confine, write_problem, write_targets

    _refuse_empty(con, query)
    _refuse("sql", write_problem(con, query, kept) or answers_problem(con, query, format), code=2)
    confine(con, spill, write_targets(con, query), reads)


def _refuse_empty(con: Any, query: str) -> None:
    if not con.extract_statements(query):  # blank, or only comments: DuckDB returns no result at all
        _refuse("sql", "the query is empty: give a statement, e.g. \"select * from outlets\"", code=2)


RESULT_IN_MEMORY_CHARACTERS = 4 * 1024 * 1024
"""Of a `sql --lake` result held until the lake is known unchanged, what stays in memory
(up to 4 bytes a character, as io.StringIO holds them); the rest waits in a temporary
file: a CSV of every article can be larger than the machine's memory."""


def _query_lake(data: Path, query: str, format: str, max_rows: int, width: int) -> None:
    """`newswh sql --lake`: the result is written once the lake did not change while the
    query ran (an ingest publishing could have mixed two runs into it), so it is held until
    then: in memory up to RESULT_IN_MEMORY_CHARACTERS, beyond that in a temporary file."""
    import tempfile
    from contextlib import redirect_stdout

    import duckdb

    from newswh.lake_views import LakeChangedDuringRead, LakeIncomplete, NoLake, find_lake, read_consistently, read_failure
    from newswh.query import write_result
    from newswh.settings import DataPaths

    _refuse("sql", _not_a_folder(data))
    try:
        lake = find_lake(data)
    except NoLake as error:
        _refuse("sql", str(error))
    kept = lake.parent if DataPaths(lake.parent).warehouse.exists() else lake  # --data may name the lake

    held = tempfile.SpooledTemporaryFile(RESULT_IN_MEMORY_CHARACTERS, mode="w+", encoding="utf-8", newline="")
    spill = tempfile.TemporaryDirectory(prefix="newswh-sql-")

    def read(con: Any) -> None:
        _checked(con, query, kept, format, Path(spill.name), reads=sorted(lake.rglob("*.parquet")))
        held.seek(0)
        held.truncate()  # a read of a lake that changed meanwhile
        try:
            with redirect_stdout(held):  # a table is printed by DuckDB, to sys.stdout
                write_result(con, query, format, held, max_rows=max_rows, width=width)
        except OSError as error:  # DuckDB's own are duckdb.Error: this is the temporary file's disk, full
            _refuse("sql", f"could not hold the result until the whole lake was read, in {tempfile.gettempdir()}: "
                    f"{error.strerror or error}; free space there, or set TMPDIR to a folder with room")

    exit_if_stopping_hangs("newswh")
    with held, spill:
        try:
            read_consistently(lake, read)
        except (LakeChangedDuringRead, LakeIncomplete) as error:
            _refuse("sql", str(error))
        except duckdb.Error as error:
            _refuse("sql", read_failure(error))
        held.seek(0)
        shutil.copyfileobj(held, sys.stdout)


@app.command()
def dashboard(
    data: Annotated[Path, typer.Option(help="Data folder holding lake/ (or the lake folder itself).")] = DEFAULT_DATA,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port on 127.0.0.1 to serve the dashboard on.")] = 8501,
) -> None:
    """Serve the Streamlit dashboard over the Parquet lake on 127.0.0.1 (needs the dashboard extra)."""
    import importlib.util

    _refuse("dashboard", _not_a_folder(data) or (None if data.exists() else f"no data folder at {data}"))
    _refuse("dashboard", _port_taken(port))
    if importlib.util.find_spec("streamlit") is None:
        _refuse("dashboard", "needs the dashboard extra: pip install 'newswh[dashboard]'")
    from newswh.dashboard.queries import DATA_ENV

    app_path = Path(__file__).resolve().parent / "dashboard" / "app.py"
    typer.echo(f"newswh dashboard: http://127.0.0.1:{port}/ over {data.resolve()} (Ctrl-C stops it)", err=True)
    arguments = [
        sys.executable, "-m", "streamlit", "run", str(app_path),
        "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
        "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false", "--global.developmentMode", "false", "--client.toolbarMode", "viewer",
    ]
    sys.stdout.flush()
    os.execve(sys.executable, arguments, {**os.environ, DATA_ENV: str(data.resolve())})


@app.command()
def serve(
    source: Annotated[
        str, typer.Argument(help="Folder of raw files to watch, or a URL: s3://bucket/prefix.")
    ] = str(DEFAULT_SOURCE),
    data: Annotated[Path, typer.Option(help="Data folder: warehouse.duckdb and lake/ live here.")] = DEFAULT_DATA,
    cron: Annotated[Optional[str], typer.Option(help="Cron schedule, e.g. \"*/5 * * * *\".")] = None,
    interval: Annotated[Optional[float], typer.Option(callback=_interval_seconds, help="Seconds between runs.")] = None,
    name: Annotated[str, typer.Option(help="Deployment name in the Prefect UI (no / or %).")] = "newswh",
    dask: Annotated[Optional[str], typer.Option(help="Parse every run on this Dask scheduler (tcp://host:8786).")] = None,
) -> None:
    """Serve the ingest as a scheduled Prefect deployment (needs PREFECT_API_URL); Ctrl-C stops it."""

    from newswh.paths_check import api_problem, dask_address_problem, data_problem, prefect_home_problem, source_problem
    from newswh.remote import is_url
    from newswh.serving import ServeError, serve_ingest

    source = source.removeprefix("file://")  # fsspec's name for a local folder
    # A URL was taken for a path: "source folder s3:/bucket/x does not exist".
    where = source if is_url(source) else Path(source)
    local_problem = None if isinstance(where, str) else source_problem(where)
    _refuse("serve", local_problem or data_problem(data) or (dask and dask_address_problem(dask)), code=2)
    _refuse("serve", prefect_home_problem())
    if os.environ.get("PREFECT_API_URL"):
        _refuse("serve", api_problem(os.environ["PREFECT_API_URL"], temporary_ok=False))
    from newswh.arrow_memory import arrow_allocates_with_malloc

    arrow_allocates_with_malloc()  # in the runs it starts too: newswh.arrow_memory says why
    try:
        serve_ingest(where, data, cron, interval, name, dask)
    except ServeError as error:
        typer.echo(f"newswh serve: {error}", err=True)
        raise typer.Exit(2) from None


@app.command()
def status(
    data: Annotated[Path, typer.Option(help="Data folder holding warehouse.duckdb.")] = DEFAULT_DATA,
    source: Annotated[Optional[str], typer.Option(help="Count files waiting here; default: the last run's source.")] = None,
    runs: Annotated[int, typer.Option(min=0, help="How many recent runs to list.")] = 5,
) -> None:
    """Recent runs, row counts, the newest article, and files waiting to be ingested."""
    with _open_read_only("status", data) as con:  # a wrong folder is refused before the rest loads
        from rich import box
        from rich.table import Table

        from newswh.status import RUN_COLUMNS, warehouse_status

        report = warehouse_status(con, source, runs)
    console = _console(wide_unless_terminal=True)
    recent = Table(
        title="last runs", title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, collapse_padding=True
    )
    cells = [[_status_cell(value) for value in run] for run in report.runs]
    for column in RUN_COLUMNS:
        recent.add_column(column, justify="right", no_wrap=True)
    for row in cells:
        recent.add_row(*row)
    if console.measure(recent, options=console.options.update_width(10_000)).maximum <= console.width:
        console.print(recent)
    else:  # a table cut to fit ("20,0…" at 80 columns) misread its numbers: a run to a paragraph
        from rich.columns import Columns

        console.print("last runs", highlight=False)
        for row in cells:
            console.print(Columns([f"{column}: {cell}" for column, cell in zip(RUN_COLUMNS, row)], padding=(0, 2)), highlight=False)
    counts = Table(title="rows", title_justify="left")
    counts.add_column("table")
    counts.add_column("rows", justify="right")
    for table, rows in report.row_counts.items():
        counts.add_row(table, f"{rows:,}")
    console.print(counts)
    if report.newest_article:
        title, published_at = report.newest_article
        console.print(f"newest article: {published_at:%Y-%m-%d %H:%M:%S}  {title}", highlight=False)
    else:
        console.print("newest article: none yet")
    if report.waiting is None:
        from newswh.remote import is_url

        source = report.source
        if source is None:
            why = "no run yet names a source folder: give --source"
        elif is_url(source):
            why = f"{source} is object storage, which status does not list; `newswh ingest` does"
        else:
            why = f"{source} is not a folder" if Path(source).exists() else f"source folder {source} not found"
        console.print(f"waiting: unknown ({why})", highlight=False)
    else:
        console.print(
            f"waiting in {report.source}: {report.waiting['new']:,} new, {report.waiting['changed']:,} changed",
            highlight=False,
        )


@app.command()
def verify(
    data: Annotated[Path, typer.Option(help="Data folder holding warehouse.duckdb and lake/.")] = DEFAULT_DATA,
    repair: Annotated[bool, typer.Option("--repair", help="Rewrite every lake file whose rows differ from the warehouse.")] = False,
) -> None:
    """Check that warehouse and lake agree and the data checks pass; exit 1 with the problems if not."""
    from newswh.paths_check import data_problem

    _refuse("verify", data_problem(data, must_exist=True) if repair else _not_a_folder(data))  # before DuckDB loads
    import duckdb

    from newswh.failures import storage_failure
    from newswh.integrity import LakeAhead, NoWarehouseYet, repair_lake
    from newswh.integrity import verify as verify_data
    from newswh.locking import IngestAlreadyRunning
    from newswh.settings import DataPaths
    from newswh.warehouse import WarehouseBusy, WarehouseDamaged

    paths = DataPaths(data)
    try:
        if repair and paths.warehouse.exists():
            report = repair_lake(paths)
            typer.echo(f"repair: {report.written:,} lake files rewritten, {report.removed:,} removed, {report.unchanged:,} already right")
        result = verify_data(paths)
    except (WarehouseBusy, WarehouseDamaged, NoWarehouseYet, IngestAlreadyRunning, LakeAhead) as error:
        typer.echo(f"newswh verify: {error}", err=True)
        raise typer.Exit(1) from None
    except (OSError, duckdb.Error) as error:
        if not repair:
            raise
        _refuse("verify", storage_failure(paths, error))  # --repair's writes: a full disk, a read-only lake
        raise
    for table, rows in result.rows.items():
        typer.echo(f"{table}: {rows:,} rows")
    if result.problems:
        typer.echo(f"{len(result.problems)} problems:", err=True)
        for problem in result.problems:
            typer.echo(f"  {problem}", err=True)
        if result.rows and not repair and not result.lake_is_newer:
            typer.echo(
                "the warehouse is the reference: `newswh verify --repair` rewrites the lake files that differ from it",
                err=True,
            )
        raise typer.Exit(1)
    typer.echo(f"ok: the lake's {result.files_checked:,} files match the warehouse, and every data check passes")


@app.command()
def rebuild(
    data: Annotated[Path, typer.Option(help="Data folder holding lake/; warehouse.duckdb is recreated.")] = DEFAULT_DATA,
) -> None:
    """Recreate warehouse.duckdb from the Parquet lake alone (after losing or damaging it)."""
    from newswh.paths_check import data_problem

    _refuse("rebuild", _not_a_folder(data, holding="lake/") or data_problem(data))  # before DuckDB loads
    import duckdb

    from newswh.failures import storage_failure
    from newswh.integrity import NoWarehouseYet, RebuildError
    from newswh.integrity import rebuild as rebuild_warehouse
    from newswh.locking import IngestAlreadyRunning
    from newswh.settings import DataPaths
    from newswh.warehouse import UnusableDataFolder, WarehouseBusy, WarehouseChanged, file_state

    paths = DataPaths(data)
    before = file_state(paths.warehouse)
    try:
        rebuilt = rebuild_warehouse(paths)
    except (RebuildError, NoWarehouseYet, IngestAlreadyRunning, UnusableDataFolder, WarehouseBusy, WarehouseChanged) as error:
        typer.echo(f"newswh rebuild: {error}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        _rebuild_stopped(paths.warehouse, before)
    except Exception as error:
        if stop_requested():  # DuckDB's "Query interrupted" (newswh.interrupts)
            _rebuild_stopped(paths.warehouse, before)
        if isinstance(error, (OSError, duckdb.Error)):  # the new warehouse's writes: a full disk, a read-only folder
            _refuse("rebuild", f"{storage_failure(paths, error)}; the warehouse was not changed")
        raise
    counts = ", ".join(f"{table} {count:,}" for table, count in rebuilt.rows.items())
    kept = rebuilt.kept_as
    what = "damaged file" if kept is not None and ".damaged-" in kept.name else "file it replaced"
    note = f"; the {what} is kept as {kept.name} (delete it when you no longer need it)" if kept else ""
    if rebuilt.wal_kept_as is not None:
        note += f"; the write-ahead log beside the old file is kept as {rebuilt.wal_kept_as.name}"
    typer.echo(f"rebuilt {paths.warehouse} from {paths.lake}: {counts}{note}")


def _rebuild_stopped(warehouse: Path, before: object) -> NoReturn:
    """End a rebuild that a Ctrl-C or SIGTERM stopped with one line that says what it left:
    it renames the rebuilt warehouse into place as its last step, or leaves it unchanged."""
    from newswh.warehouse import file_state

    ignore_stop_signals()  # a further Ctrl-C has nothing left to stop
    after = file_state(warehouse)
    if after != before:
        outcome = f"the rebuild had finished: {warehouse} is the rebuilt warehouse"
    elif after is None:
        outcome = "no warehouse was written; run `newswh rebuild` again"
    else:
        outcome = "the warehouse was not changed; run `newswh rebuild` again"
    _exit_stopped("rebuild", outcome)


def _exit_stopped(command: str, outcome: str) -> NoReturn:
    """End a command a Ctrl-C or SIGTERM stopped with its one line: how it stopped, and what
    it left (`outcome`)."""
    typer.echo(f"{stopped(f'newswh {command}')}; {outcome}", err=True)
    raise SystemExit(stop_code()) from None  # not typer.Exit: main() would say "interrupted" again


def _refuse(command: str, problem: str | None, code: int = 1) -> None:
    """Exit with `problem` as the one line, if there is one."""
    if problem:
        typer.echo(f"newswh {command}: {problem}", err=True)
        raise typer.Exit(code)


@contextmanager
def _prefect_api(command: str = "ingest") -> Iterator[Callable[[], None]]:
    """The Prefect API the flow reports to: PREFECT_API_URL's server when one is set (and
    answers), else a temporary one that exits with this process, however it ends (see
    newswh.server). Yields what to call, after importing Prefect, before the first flow:
    it returns once the API answers."""

    if os.environ.get("PREFECT_API_URL"):
        # Asked on a thread (a request holds no GIL) while Prefect is imported; answered
        # before the first flow, which would otherwise fail on its first request.
        from concurrent.futures import ThreadPoolExecutor

        from newswh.paths_check import api_problem

        with ThreadPoolExecutor(1, thread_name_prefix="newswh-api-check") as asking:
            problem = asking.submit(api_problem, os.environ["PREFECT_API_URL"])
            yield lambda: _refuse(command, problem.result())
        return
    from newswh.server import ServerDidNotStart, drain_prefect_workers, starting_server

    starting = starting_server()
    try:
        server = starting.__enter__()
    except ServerDidNotStart as error:
        _refuse(command, str(error))

    def ready() -> None:
        try:
            server.ready()
        except ServerDidNotStart as error:
            _refuse(command, str(error))

    os.environ["PREFECT_API_URL"] = server.url
    try:
        yield ready
    except KeyboardInterrupt:
        _second_interrupt_exits_at_once()
        drain_prefect_workers(timeout=2)
        raise
    else:
        drain_prefect_workers(timeout=5)  # logs and events still in flight go before their server does
    finally:
        del os.environ["PREFECT_API_URL"]
        starting.__exit__(None, None, None)


@contextmanager
def one_shot_flow_settings() -> Iterator[None]:
    """Prefect settings for a flow run that is this process's only work: no heartbeats,
    unless the user set PREFECT_FLOWS_HEARTBEAT_FREQUENCY.

    A heartbeat (every 180 s by default) lets an automation mark a run whose process died
    as crashed; a run of `newswh ingest` ends with its process, which a terminal or cron
    sees. Stopping the heartbeat thread costs every run up to a second at its end (it
    sleeps in steps of a second: PrefectHQ/prefect#19641), a third of a small run's
    budget. Runs of a deployment (`newswh serve`, a worker) keep Prefect's default.

    What `temporary_settings(set_defaults=…)` does, without its cost: it validates every
    setting again, from the environment and the profile, entering and leaving (0.07 s of
    a small run); a copy of the settings with the one value changed is the same settings.
    """
    from prefect.context import SettingsContext, get_settings_context

    context = get_settings_context()
    flows = context.settings.flows
    if "heartbeat_frequency" in flows.model_fields_set:  # the user's (environment or profile)
        yield
        return
    settings = context.settings.model_copy(update={"flows": flows.model_copy(update={"heartbeat_frequency": None})})
    with SettingsContext(profile=context.profile, settings=settings):
        yield


def _second_interrupt_exits_at_once() -> None:
    """After a first Ctrl-C (or SIGTERM) the run is already stopping; a second one means
    "now": exit with the same one line instead of a KeyboardInterrupt traceback from the
    clean-up."""
    import signal

    def exit_now(signum: int, frame: object) -> None:
        os.write(2, f"{stopped('newswh ingest')}; {WAREHOUSE_UNCHANGED}\n".encode())
        os._exit(stop_code())

    signal.signal(signal.SIGINT, exit_now)
    signal.signal(signal.SIGTERM, exit_now)


def _open_read_only(command: str, data: Path):  # type: ignore[no-untyped-def]
    """The warehouse opened read-only, or a one-line reason and exit code 1."""
    from newswh.settings import DataPaths

    _refuse(command, _not_a_folder(data))
    from newswh.warehouse import WarehouseBusy, WarehouseDamaged, open_read_only

    paths = DataPaths(data)
    try:
        return open_read_only(paths.warehouse)
    except (FileNotFoundError, WarehouseBusy, WarehouseDamaged) as error:
        problem = str(error)
        if isinstance(error, FileNotFoundError):
            from newswh.integrity import lake_holds_data

            if lake_holds_data(paths.lake):  # the warehouse was lost, not never made
                meanwhile = "; `newswh sql --lake` queries the lake meanwhile" if command == "sql" else ""
                problem = (
                    f"no warehouse at {paths.warehouse}, but {paths.lake} holds the archive: `newswh rebuild` recreates "
                    f"the warehouse from it (the next `newswh ingest` does so first){meanwhile}"
                )
        typer.echo(f"newswh {command}: {problem}", err=True)
        raise typer.Exit(1) from None


def _port_taken(port: int) -> str | None:
    """Why the dashboard cannot listen on 127.0.0.1:`port`, or None: Streamlit says so only
    after the line that gives the address to open."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Streamlit's server binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            return f"cannot listen on 127.0.0.1:{port} ({error.strerror}): choose another --port"
    return None


def _not_a_folder(data: Path, holding: str = "warehouse.duckdb") -> str | None:
    from newswh.paths_check import name_problem

    named = name_problem(data, "data folder")
    if named is not None:
        return named
    try:
        is_file = data.is_file()
    except OSError as error:  # a name too long for the file system, say: a traceback
        return f"data folder {data} cannot be used: {error.strerror or error}"
    return f"data folder {data} is a file: give the folder that holds {holding}" if is_file else None


def _status_cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, int):
        return f"{value:,}"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


COUNT_LABELS = {
    "files_seen": "files seen",
    "files_new": "files new",
    "files_changed": "files with changed content",
    "files_unchanged": "files unchanged",
    "files_missing": "files missing (kept)",
    "articles_written": "articles written",
    "duplicates": "duplicate captures",
    "rejected": "rejected",
    "captures_kept": "rejected, archived capture kept",
}
"""The counts table's words: "changed" is content that changed, not the plan's re-reads
(files whose size or mtime moved, most of which turn out unchanged)."""


def _console(stderr: bool = False, wide_unless_terminal: bool = False) -> Any:
    """A rich Console for what newswh prints: markup off, since paths and titles hold
    brackets (`src[red]x` printed as `srcx`, `[VIDEO] …` lost its tag). `wide_unless_terminal`:
    into a pipe or a file (cron mail, a log), a table as wide as its cells, not cut at 80
    columns with ellipses in the numbers, unless COLUMNS says otherwise."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    wide = wide_unless_terminal and not stream.isatty() and not os.environ.get("COLUMNS")
    return Console(stderr=stderr, markup=False, width=1_000 if wide else None)


def _print_counts(summary, quiet: bool = False) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    from newswh.ingest import conservation_line

    console = _console()
    final = f"{conservation_line(summary.counts)}; {summary.source} -> {summary.data} in {summary.seconds['total']:.2f} s"
    if quiet:  # the stages' warnings were said as they came (newswh.display)
        console.print(final, highlight=False, soft_wrap=True)
        return
    table = Table(title=f"ingest run {summary.run_id}")
    table.add_column("count")
    table.add_column("files", justify="right")
    for name, value in summary.counts.items():
        table.add_row(COUNT_LABELS.get(name, name.replace("_", " ")), f"{value:,}")
    for reason, value in summary.rejects_by_reason.items():
        table.add_row(f"  rejects in warehouse: {reason}", f"{value:,}")
    console.print(table)
    console.print(conservation_line(summary.counts), highlight=False)
    console.print(f"{summary.source} -> {summary.data} in {summary.seconds['total']:.2f} s (excluding Prefect start-up)")


if __name__ == "__main__":
    main()
