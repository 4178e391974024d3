"""`newswh sql`: ad-hoc read-only queries from the command line, as a user runs them."""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import shutil
import subprocess
import sys

import duckdb
import pytest

from newswh.locking import writer_lock
from newswh.settings import DataPaths
from tests.helpers import NEWSWH, newswh


def test_table_csv_and_json(example_data):
    table = newswh("sql", "select * from outlets", "--data", str(example_data))
    assert table.returncode == 0, table.stderr
    assert "Press TV" in table.stdout and "first_seen" in table.stdout

    as_csv = newswh("sql", "select * from outlets", "--data", str(example_data), "--format", "csv")
    assert list(csv.reader(io.StringIO(as_csv.stdout))) == [
        ["outlet", "articles", "first_seen", "last_seen"],
        ["Press TV", "3", "2015-11-08T13:30:02", "2015-11-20T15:20:59"],
        ["FNA", "1", "2015-11-09T19:05:41", "2015-11-09T19:05:41"],
        ["Sana", "1", "2015-11-10T12:40:10", "2015-11-10T12:40:10"],
    ]

    as_json = newswh("sql", "select day, articles from daily_volume limit 2", "--data", str(example_data), "-f", "json")
    assert json.loads(as_json.stdout) == [{"day": "2015-11-08", "articles": 1}, {"day": "2015-11-09", "articles": 1}]
    nulls = newswh("sql", "select attribution from articles where attribution is null", "--data", str(example_data), "-f", "json")
    assert json.loads(nulls.stdout) == [{"attribution": None}, {"attribution": None}]
    # NaN and Infinity are not JSON (strict parsers refused the output), and a repeated name lost a column.
    odd = newswh("sql", "select 'nan'::double as x, '-inf'::double as y, 0.5::double as z, 1 as a, 2 as a", "--data", str(example_data), "-f", "json")
    assert json.loads(odd.stdout, parse_constant=lambda name: pytest.fail(f"{name} in {odd.stdout}")) == [
        {"x": None, "y": None, "z": 0.5, "a": 1, "a_1": 2}
    ]


def test_errors_are_one_line_and_nothing_is_written(example_data):
    missing = newswh("sql", "select 1", "--data", str(example_data / "nowhere"))
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"newswh sql: no warehouse at {example_data / 'nowhere' / 'warehouse.duckdb'}: run `newswh ingest` first"

    typo = newswh("sql", "select * from outlet", "--data", str(example_data))
    assert typo.returncode == 1
    assert typo.stderr.startswith("newswh sql: Catalog Error") and typo.stderr.count("\n") == 1

    write = newswh("sql", "delete from captures", "--data", str(example_data))
    assert write.returncode == 1 and "read-only" in write.stderr
    assert newswh("sql", "select count(*) from articles", "--data", str(example_data), "-f", "csv").stdout == "count_star()\n7\n"

    bad_format = newswh("sql", "select 1", "--data", str(example_data), "-f", "xml")
    assert bad_format.returncode == 2 and "unknown format 'xml'" in bad_format.stderr


def test_a_query_that_begins_with_a_comment_runs_wherever_it_stands(example_data):
    """Click took `-- …` for an unknown option and refused the query."""
    query = "-- articles per outlet\nselect count(*) as n from articles"
    for arguments in (
        [query, "--data", str(example_data), "-f", "csv"],
        ["--data", str(example_data), query, "-f", "csv"],
        ["-f", "csv", "--data", str(example_data), "--", query],
    ):
        result = newswh("sql", *arguments)
        assert (result.returncode, result.stdout, result.stderr) == (0, "n\n7\n", ""), arguments
    typo = newswh("sql", "--formt", "csv", "select 1", "--data", str(example_data))  # still an option, and misspelt
    assert typo.returncode == 2 and "No such option: --formt" in typo.stderr


def test_an_empty_query_is_one_line_in_every_format(example_data):
    """A query of no statement (blank, a lone ';', only a comment): DuckDB returns no result
    at all, and csv and json printed a traceback where a table printed nothing."""
    for query in ("", "  ", ";", " -- what was I asking"):
        for options in (["-f", "csv"], ["-f", "json"], ["-f", "table"], ["--lake"]):
            result = newswh("sql", query, "--data", str(example_data), *options)
            assert result.returncode == 2, (query, options, result.stderr)
            said = (
                "newswh: argument 2 is empty: give a value (an unset shell variable?) (see `newswh --help`)" if query == ""
                else 'newswh sql: the query is empty: give a statement, e.g. "select * from outlets"'
            )
            assert result.stderr == said + "\n", (query, options, result.stderr)
            assert result.stdout == ""


def test_works_while_an_ingest_is_writing(example_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(example_data, data)
    paths = DataPaths(data)
    # What an ingest holds mid-run: the writer lock and its copy of the warehouse, open read-write.
    with writer_lock(paths.lock, 0), duckdb.connect(str(paths.next_warehouse)) as copy:
        copy.execute("create table in_progress as select 1")
        result = newswh("sql", "select count(*) from articles", "--data", str(data), "-f", "csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "count_star()\n7\n"


def test_names_a_process_holding_the_warehouse_for_writing(example_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(example_data, data)
    with duckdb.connect(str(DataPaths(data).warehouse)):
        result = newswh("sql", "select 1", "--data", str(data))
    assert result.returncode == 1
    assert f"(PID {os.getpid()})" in result.stderr and "open it read-only" in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_query_never_writes_into_the_data_folder(example_data, tmp_path):
    """`copy … to` into the lake replaced its partitions (the only copy of articles whose raw
    files are gone) from a command that only reads; over the lake, `attach` opened the
    warehouse for writing. Files written elsewhere are what `copy … to` is for."""
    data = tmp_path / "data"
    shutil.copytree(example_data, data)
    lake_files = sorted((path, path.stat().st_mtime_ns) for path in (data / "lake").rglob("*") if path.is_file())
    articles = data / "lake" / "articles"
    for lake in ([], ["--lake"]):
        for query in (
            f"copy (select 1 as year, 2 as v) to '{articles}' (format parquet, partition_by (year), overwrite true)",
            f"select 1; copy rejects to 'file://{data}/lake/rejects/part-0.parquet'",
            f"export database '{data}/lake/articles'",
        ):
            refused = newswh("sql", query, "--data", str(data), *lake)
            assert refused.returncode == 2, refused.stderr
            assert refused.stderr.startswith("newswh sql: this query would write ") and refused.stderr.count("\n") == 1
        unclear = newswh("sql", "copy (select 1) to $$x.csv$$", "--data", str(data), *lake)
        assert unclear.returncode == 2 and "cannot tell where" in unclear.stderr
    attach = newswh("sql", f"attach '{data / 'warehouse.duckdb'}' as w; delete from w.captures", "--data", str(data / "lake"), "--lake")
    assert attach.returncode == 2 and "`attach` is not run here, as it can create or write the database it attaches" in attach.stderr
    assert sorted((path, path.stat().st_mtime_ns) for path in (data / "lake").rglob("*") if path.is_file()) == lake_files
    assert newswh("verify", "--data", str(data)).returncode == 0

    elsewhere = tmp_path / "media_mix.parquet"  # as the README shows
    copied = newswh("sql", f"copy (select * from media_mix) to '{elsewhere}'", "--data", str(data), "--lake")
    assert copied.returncode == 0, copied.stderr
    assert duckdb.sql(f"select count(*) from '{elsewhere}'").fetchall()[0][0] > 0


def test_several_statements_show_each_result_and_csv_or_json_refuse_two_results(example_data):
    """DuckDB's Python API runs every statement but returns the last one's result: `newswh
    sql "select …; select …"` showed the second table only, and wrote the second CSV only,
    with nothing said of the first."""
    data = str(example_data)
    both = newswh("sql", "select 'first' as a; set threads = 1; select 'second' as b", "--data", data)
    assert both.returncode == 0, both.stderr
    assert both.stdout.index("first") < both.stdout.index("second") and "Success" not in both.stdout  # `set` runs, unshown
    over_lake = newswh("sql", "select 'first' as a; select 'second' as b", "--data", data, "--lake")
    assert over_lake.returncode == 0 and "first" in over_lake.stdout and "second" in over_lake.stdout, over_lake.stderr

    # A statement run for what it does, then the one query whose rows are written.
    prepared = newswh("sql", "create temp view v as select 42 as x; select x from v", "--data", data, "-f", "csv")
    assert (prepared.returncode, prepared.stdout) == (0, "x\n42\n"), prepared.stderr
    for fmt in ("csv", "json"):
        for lake in ([], ["--lake"]):
            two = newswh("sql", "select 1 as a; pragma version; select 2 as b", "--data", data, "-f", fmt, *lake)
            assert (two.returncode, two.stdout) == (2, ""), (two.stdout, two.stderr)
            assert two.stderr.strip() == (
                f"newswh sql: statements 1, 2 and 3 each return rows, and --format {fmt} writes one result: "
                "give one query (or use --format table)"
            )


def test_a_large_result_over_the_lake_is_held_on_disk_not_in_memory(example_data, tmp_path):
    """`sql --lake` holds its result until it knows the lake did not change meanwhile: in a
    string, it held a 200 MB CSV three times over (600 MB resident, where the same query
    over the warehouse streams in 170 MB), so exporting every article could run out of memory."""
    from newswh.tree_rss import PeakTreeRss

    def peak_of(query: str, out) -> tuple[int, int]:
        process = subprocess.Popen(
            [NEWSWH, "sql", query, "--data", str(example_data), "--lake", "-f", "csv"],
            stdout=out, stderr=subprocess.PIPE, text=True,
        )
        with PeakTreeRss(process.pid) as peak:
            _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        return peak.peak

    with open(tmp_path / "small.csv", "w") as out:
        at_rest = peak_of("select 1 as x", out)
    with open(tmp_path / "large.csv", "w") as out:
        large = peak_of("select repeat('x', 2000) as t from range(100000)", out)
    assert (tmp_path / "large.csv").stat().st_size == len("t\n") + 100_000 * 2001
    assert large - at_rest < 150_000_000, f"{at_rest / 1e6:,.0f} MB for one row, {large / 1e6:,.0f} MB for 200 MB"


def test_a_lake_result_that_cannot_be_held_is_one_line(example_data):
    """The result waits in a temporary file: a full disk there is said, with what to do."""
    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, resource.RLIM_INFINITY))  # writes past 1 MB: EFBIG

    refused = subprocess.run(
        [NEWSWH, "sql", "select repeat('x', 2000) as t from range(20000)", "--data", str(example_data), "--lake", "-f", "csv"],
        capture_output=True, text=True, timeout=120, preexec_fn=small_files,
    )
    assert (refused.returncode, refused.stdout) == (1, ""), refused.stderr
    assert refused.stderr.startswith("newswh sql: could not hold the result until the whole lake was read, in ")
    assert "File too large; free space there, or set TMPDIR to a folder with room" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1, refused.stderr


PUBLISHED_DURING_THE_FIRST_READ = """
import os
import sys
from pathlib import Path
import newswh.lake_views
from newswh.lake import _write_sync_mark
opened, opens = newswh.lake_views._open_files, []

def published_meanwhile(files, filters):
    opens.append(files)
    con = opened(files, filters)
    if len(opens) == 1:  # this read's answer is longer than the next one's
        con.execute("set variable answer = 'from before the publish'")
        part = files["articles"][0]
        stamp = part.stat().st_mtime_ns + 10**9
        os.utime(part, ns=(stamp, stamp))
        _write_sync_mark(Path(sys.argv[-1]), 2, {part})
    return con

newswh.lake_views._open_files = published_meanwhile
from newswh.command import main
sys.argv = ["newswh", *sys.argv[1:-1]]
try:
    main()
finally:
    print("opened", len(opens), file=sys.stderr)
"""
"""`newswh` with its arguments but the last (the lake), whose lake an ingest publishes to
while its first read runs, as a process of its own (the command's stop watchdog must not
live on in a test's process)."""


def test_a_lake_read_again_writes_its_result_once(example_data, tmp_path):
    """An ingest that publishes while `sql --lake` reads makes it read again: the first
    read's rows must not be written too."""
    query = "select count(*) as n, coalesce(getvariable('answer'), 'after') as answer from articles"
    for fmt, expected in (("csv", "n,answer\n7,after\n"), ("json", '[\n {"n": 7, "answer": "after"}\n]\n')):
        data = tmp_path / fmt
        shutil.copytree(example_data, data, copy_function=shutil.copy2)
        result = subprocess.run(
            [sys.executable, "-c", PUBLISHED_DURING_THE_FIRST_READ, "sql", query, "--data", str(data), "--lake", "-f", fmt, str(DataPaths(data).lake)],
            capture_output=True, text=True, timeout=120,
        )
        assert (result.returncode, result.stdout, result.stderr) == (0, expected, "opened 2\n"), result.stderr


@pytest.mark.parametrize(
    "query",
    [
        "set home_directory='{articles}'; copy (select 1) to '~/part-0.parquet' (format parquet)",
        "SET \"Home_Directory\" = '{articles}'",
        "reset temp_directory",
        "pragma enable_profiling='json'; set profiling_output='{data}/lake/_warehouse/synced.json'; select 1",
        "call enable_logging(storage='file', storage_config={{'path': '{articles}'}}); select 1",
        "select * from enable_logging (storage='file')",
        "set log_query_path='{data}/lake/q.log'",
        "set secret_directory='{data}/lake'",
        "set allow_persistent_secrets = true",
        "attach '{data}/lake/x.duckdb' as w (read_only false)",
        "attach if not exists '/elsewhere/new.duckdb'",
        # What an adversarial pass found past the first guard:
        "detach warehouse; attach 'duckdb:{data}/warehouse.duckdb' as w (read_write)",  # the warehouse itself, written
        "use memory",
        "copy (select 1 a) to '/elsewhere/dat'\n'a/lake/articles/part-0.parquet' (format parquet)",  # DuckDB joins the two
        "copy (select 1 a) to '/elsewhere/out' (format parquet, per_thread_output, filename_pattern '../{data}/part-{{i}}')",
        "copy (select 1 a) to '/elsewhere/out' (format csv, file_extension 'csv/../../{data}/x')",
        "prepare p as copy (select 1 a) to '{data}/prep.csv'; execute p",
        "copy (select 1 a) to 'file:{data}/u1.csv'",
        "copy (select 1 a) to 'file://localhost{data}/u3.csv'",
        "create persistent secret s1 (type http, bearer_token 'x')",
        "install httpfs",
        # What a second adversarial pass found past the second guard:
        "explain analyze copy (select 'x' as x) to '{data}/lake/_warehouse/synced.json' (format json)",
        "explain analyze (format json) copy (select 'x' as x) to '{data}/x.csv'",
        "copy (select 'x' as x) to 'zz://../{relative}/x.csv'",  # no file system of that scheme: a local path, zz:/../…
        "call system.main.enable_logging(storage='file', storage_path='{data}/lake/logs')",
        "call /*x*/ enable_profiling(format='json', save_location='{data}/prof.json')",
    ],
)
def test_nothing_that_could_write_into_the_data_folder_runs(example_data, query):
    """Only `copy`/`export` targets were checked: `set home_directory` pointed a `copy` to
    '~/…' at the lake's articles (replacing them with an empty file), `attach` created a
    database inside the lake or, after a `detach`, wrote the warehouse itself, and the
    profiler's or the logger's file could overwrite `synced.json`. Checked on the query's
    text, before anything runs; refused alike over the warehouse and over the lake."""
    from newswh.sql_guard import write_problem

    text = query.format(data=example_data, articles=example_data / "lake" / "articles", relative=os.path.relpath(example_data))
    problem = write_problem(duckdb.connect(), text, example_data)
    assert problem is not None and any(
        said in problem for said in (f"never writes into {example_data}", "cannot tell where", "this query would write")
    ), problem


@pytest.mark.parametrize(
    "harmless",
    [
        "select 1 as home_directory, 2 as enable_logging",
        "select current_setting('home_directory')",
        "set threads = 1",
        "set variable home_directory = 1",
        "create temp table home_directory(x int)",
        "with enable_logging(a) as (select 1) select * from enable_logging",
        "copy (select 1 a) to '/elsewhere/out.parquet' (format parquet)",
        "copy (select 1 a) to 'file:///elsewhere/out.csv'",
        "copy t from '{data}/lake/x.csv'",
        "select persistent, secret_string as secret from duckdb_secrets()",
        "copy (select 1) to /*where*/ '/elsewhere/out.csv'",
        "explain select 1",
        "explain (format json) select 1",
    ],
)
def test_what_writes_nothing_there_runs(example_data, harmless):
    from newswh.sql_guard import write_problem

    assert write_problem(duckdb.connect(), harmless.format(data=example_data), example_data) is None


def test_a_query_spills_outside_the_data_folder(example_data, tmp_path):
    """A sort larger than memory spilled to `warehouse.duckdb.tmp` beside the warehouse: a
    query killed there left 360 MB in the data folder."""
    data = tmp_path / "data"
    shutil.copytree(example_data, data)
    before = sorted((path, path.stat().st_mtime_ns) for path in [data, *data.rglob("*")])  # a folder made and removed: its mtime
    spilled = newswh(
        "sql", "set memory_limit = '30MB'; set threads = 1; "
        "select count(*) as n from (select i, random() as r, repeat('x', 50) as s from range(1500000) t(i) order by r)",
        "--data", str(data), "-f", "csv",
    )
    assert (spilled.returncode, spilled.stdout) == (0, "n\n1500000\n"), spilled.stderr
    assert sorted((path, path.stat().st_mtime_ns) for path in [data, *data.rglob("*")]) == before


def test_a_setting_that_would_write_into_the_lake_is_refused_on_the_command_line(example_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(example_data, data)
    lake_files = sorted((path, path.stat().st_mtime_ns) for path in (data / "lake").rglob("*") if path.is_file())
    part = next((data / "lake" / "articles").rglob("*.parquet"))
    for lake in ([], ["--lake"]):
        refused = newswh(
            "sql", f"set home_directory='{part.parent}'; copy (select 1 as x) to '~/{part.name}' (format parquet)", "--data", str(data), *lake
        )
        assert (refused.returncode, refused.stdout) == (2, ""), refused.stderr
        assert refused.stderr == f"newswh sql: `home_directory` sets where DuckDB writes files, and newswh sql never writes into {data}: run this with DuckDB itself\n"
    attached = newswh("sql", f"attach '{data}/lake/x.duckdb' as w (read_only false)", "--data", str(data))
    assert attached.returncode == 2 and "`attach` is not run here" in attached.stderr, attached.stderr
    assert sorted((path, path.stat().st_mtime_ns) for path in (data / "lake").rglob("*") if path.is_file()) == lake_files


def test_output_whose_encoding_cannot_hold_a_character_is_one_line(example_data):
    """PYTHONIOENCODING=ascii (or a latin-1 terminal): an article's `’` ended in a
    UnicodeEncodeError traceback. Nor is it written as an escape: a CSV keeps its data."""
    for fmt in ("csv", "json", "table"):
        result = newswh("sql", "select 'it’s' as q", "--data", str(example_data), "-f", fmt, env={"PYTHONIOENCODING": "ascii"})
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        [line] = result.stderr.splitlines()
        assert line.startswith("newswh: standard output's encoding, ascii, cannot hold ") and line.endswith(
            ", which the output holds: set PYTHONIOENCODING=utf-8 (or a UTF-8 locale) and run it again"
        ), line
        assert "\\u2019" not in result.stdout


def test_duckdb_itself_refuses_any_file_but_the_querys_own(tmp_path):
    """The text checks were got past twice, by statements they read otherwise than DuckDB
    (`explain analyze copy`, `'zz://…'`): with external access off, DuckDB refuses every
    file but the query's own targets, its spill folder and what it reads, and cannot be
    turned back on."""
    from newswh.sql_guard import confine

    kept, spill, target = tmp_path / "data", tmp_path / "spill", tmp_path / "out.csv"
    kept.mkdir()
    spill.mkdir()
    con = duckdb.connect()
    confine(con, spill, writes=[target], reads=[])
    con.execute(f"copy (select 1 as a) to '{target}'")
    con.execute(f"copy (select 2 as a) to '{target}'")  # over it: DuckDB writes tmp_out.csv, then renames it
    assert target.read_text() == "a\n2\n"
    for sneaked in (f"explain analyze copy (select 1) to '{kept}/x.csv'", f"copy (select 1) to '{kept}/x.csv'"):
        with pytest.raises(duckdb.PermissionException):
            con.execute(sneaked)
    for reopen in ("set enable_external_access = true", "set allowed_directories = ['/']", f"set temp_directory = '{kept}'"):
        with pytest.raises(duckdb.Error):
            con.execute(reopen)
    assert list(kept.iterdir()) == []


def test_a_home_relative_target_is_read_as_duckdb_reads_it(example_data, tmp_path):
    """DuckDB puts HOME in front of what follows `~` (`~data/x` is HOME + `data/x`); Python
    read `~data` as user data's home, and the check let a write into the data folder by."""
    data = tmp_path / "data"
    shutil.copytree(example_data, data)
    refused = newswh("sql", "copy (select 1 as x) to '~data/x.csv'", "--data", str(data), env={"HOME": f"{tmp_path}/"})
    assert refused.returncode == 2 and "this query would write ~data/x.csv, inside " in refused.stderr, refused.stderr
    assert not (data / "x.csv").exists()
