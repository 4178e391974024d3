"""Every way a person can get `newswh` wrong ends in one line, the right exit code, and no
traceback (issue 14): usage errors, wrong folders, an unreachable Prefect server, Ctrl-C."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from newswh.interrupts import notice_stop_signals, stop_code, stop_requested
from newswh.settings import DataPaths
from newswh.synth import write_corpus
from tests.conftest import SEED
from tests.helpers import NEWSWH, harness_api_env, newswh, query

UNREACHABLE = "http://127.0.0.1:9/api"  # the discard port: nothing listens there


def _one_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture
def a_file(tmp_path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("not a folder")
    return path


def _without_api() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}


def test_usage_errors_are_one_line(prefect_harness, tmp_path):
    assert _one_line(newswh("sql", "select 1", "--max-rows", "-1"), 2).startswith("newswh sql: Invalid value for '--max-rows'")
    assert "No such option: --bogus" in _one_line(newswh("ingest", "--bogus"), 2)
    assert "No such command 'bogus'" in _one_line(newswh("bogus"), 2)
    assert _one_line(newswh("parse", str(tmp_path / "missing.txt")), 2).endswith("no such file or folder")
    # Out of range: a negative LIMIT was a DuckDB traceback; the others ran, rejecting every file at -1 bytes.
    for args in (
        ("status", "--runs", "-1"), ("ingest", "--workers", "-3"), ("ingest", "--wait", "-5"), ("ingest", "--wait", "nan"),
        ("ingest", "--max-bytes", "-1"), ("parse", "--max-bytes", "0", str(SEED)),
    ):
        option = next(arg for arg in args if arg.startswith("--"))
        line = _one_line(newswh(*args, "--data", str(tmp_path / "data")) if args[0] != "parse" else newswh(*args), 2)
        assert line.startswith(f"newswh {args[0]}: Invalid value for '{option}'"), (args, line)
    # It failed in DuckDB, after Prefect had started: on the session's server, not a temporary one.
    too_many = newswh("ingest", "--max-bytes", "9" * 26, "--data", str(tmp_path / "data"), env=harness_api_env())
    assert _one_line(too_many, 2).startswith("newswh ingest: Invalid value for '--max-bytes'")
    # An empty argument, as an unset shell variable gives: `ingest ""` read the folder it ran in.
    for args, said in (
        (("ingest", ""), "argument 2 is empty"), (("ingest", str(SEED.parent), "--data", ""), "argument 4 after --data is empty"),
        (("status", "--data="), "--data is given empty"),
    ):
        assert _one_line(newswh(*args, cwd=tmp_path), 2) == f"newswh: {said}: give a value (an unset shell variable?) (see `newswh --help`)"
    for interval in ("nan", "inf", "1e15", "1e-9"):  # tracebacks from deep inside Prefect
        line = _one_line(newswh("serve", str(SEED.parent), "--data", str(tmp_path / "data"), "--interval", interval), 2)
        assert line.startswith(f"newswh serve: Invalid value for '--interval': {float(interval):g} is not a number of seconds from 1 to"), line
    for limit, said in (("garbage", "is not a memory size"), ("-1GB", "is not a memory size"), ("1KB", "is too little")):
        line = _one_line(newswh("rebuild", "--data", str(tmp_path / "data"), env={"NEWSWH_DUCKDB_MEMORY_LIMIT": limit}), 2)
        assert line.startswith(f"newswh: NEWSWH_DUCKDB_MEMORY_LIMIT={limit!r} {said}"), line  # a traceback, or a run's late failure
    unset = newswh("status", "--data", str(SEED.parent), env={"NEWSWH_DUCKDB_MEMORY_LIMIT": ""})
    assert "NEWSWH_DUCKDB_MEMORY_LIMIT" not in unset.stderr  # empty: unset, the default
    named = newswh("serve", str(SEED.parent), "--data", str(tmp_path / "data"), "--interval", "5", "--name", "a/b")
    assert _one_line(named, 2) == "newswh serve: --name 'a/b' cannot be a deployment's name: give one without / or %"
    for args, said in (
        (("-q", "-v"), "--quiet and --verbose ask for opposite things: give one"),
        (("--storage-options", '{"anon": true}'), "--storage-options are for a URL source or --staging, and neither is a URL here"),
    ):  # ignored without a word
        assert _one_line(newswh("ingest", str(SEED.parent), "--data", str(tmp_path / "data"), *args), 2).startswith(f"newswh ingest: {said}")
    assert list(tmp_path.iterdir()) == []
    version = newswh("--version")
    assert version.returncode == 0 and version.stdout.startswith("newswh ") and version.stdout.strip()[7:][0].isdigit()


def test_wrong_folders_are_refused_before_anything_starts(tmp_path, a_file):
    cases = {
        ("ingest", str(a_file)): f"newswh ingest: source {a_file} is a file, not a folder",
        ("ingest", str(tmp_path / "nope")): f"newswh ingest: source folder {tmp_path / 'nope'} does not exist",
        ("ingest", str(SEED.parent), "--data", str(a_file)): f"newswh ingest: data folder {a_file} is a file",
        ("ingest", str(SEED.parent), "--data", str(a_file / "data")): f"newswh ingest: data folder {a_file / 'data'} cannot be created: {a_file} is a file",
        ("ingest", str(SEED.parent), "--staging", str(a_file)): f"newswh ingest: staging folder {a_file} is a file",
        # Not "give a folder (it is created if missing)", which a rebuild does not do.
        ("rebuild", "--data", str(a_file)): f"newswh rebuild: data folder {a_file} is a file: give the folder that holds lake/",
        ("verify", "--data", str(a_file)): f"newswh verify: data folder {a_file} is a file",
        ("sql", "select 1", "--data", str(a_file)): f"newswh sql: data folder {a_file} is a file",
        ("status", "--data", str(a_file)): f"newswh status: data folder {a_file} is a file",
        ("serve", str(a_file), "--interval", "60"): f"newswh serve: source {a_file} is a file",
        # Dask read the address only once the run had begun: "Flow run encountered an exception: ValueError".
        ("ingest", str(SEED.parent), "--dask", "notanaddress"): "newswh ingest: --dask 'notanaddress' is not a scheduler address",
        ("ingest", str(SEED.parent), "--dask", "http://127.0.0.1:8786"): "newswh ingest: --dask 'http://127.0.0.1:8786': Dask has no http://",
        ("serve", str(SEED.parent), "--interval", "60", "--dask", "notanaddress"): "newswh serve: --dask 'notanaddress' is not",
        # Prefect refused it inside serve, with a 60-line traceback.
        ("serve", str(SEED.parent), "--cron", "not a cron"): "newswh serve: --cron 'not a cron' is not a cron schedule",
        ("serve", str(SEED.parent), "--cron", "61 * * * *"): "newswh serve: --cron '61 * * * *' is not a cron schedule",
        ("dashboard", "--data", str(tmp_path / "nope")): f"newswh dashboard: no data folder at {tmp_path / 'nope'}",
    }
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        ftp = f"ftp://127.0.0.1:{closed.getsockname()[1]}/staging"
    # fsspec's filesystem was made from the scheme alone: "cannot use --storage-options for
    # ftp://…: FTPFileSystem.__init__() missing … 'host'", after an AttributeError traceback.
    cases[("ingest", str(SEED.parent), "--staging", ftp)] = f"newswh ingest: cannot reach {ftp}: [Errno 111] Connection refused"
    # A link to an unmounted disk started Prefect, then said "File exists"; a name longer than
    # the file system takes was a traceback.
    dangling, too_long = tmp_path / "dangling", tmp_path / ("b" * 300)
    dangling.symlink_to(tmp_path / "unmounted" / "data")
    cases[("ingest", str(SEED.parent), "--data", str(dangling))] = (
        f"newswh ingest: data folder {dangling} is a link to {tmp_path / 'unmounted' / 'data'}, which does not exist"
    )
    cases[("ingest", str(too_long))] = f"newswh ingest: source folder {too_long} cannot be used: File name too long"
    for command in (["ingest", str(SEED.parent)], ["status"]):  # the checks every command shares
        cases[(*command, "--data", str(too_long))] = f"newswh {command[0]}: data folder {too_long} cannot be used: File name too long"
    # A URL was taken for a folder: "source folder s3:/bucket/raw does not exist". It is served
    # as ingest reads it; this one stops at the server serving needs.
    cases[("serve", "s3://bucket/raw", "--interval", "60")] = "newswh serve: schedules need a Prefect server"
    folder_for_file = tmp_path / "odd" / "warehouse.duckdb"  # DuckDB's "Is a directory" was a traceback
    folder_for_file.mkdir(parents=True)
    for command in (["ingest", str(SEED.parent)], ["rebuild"], ["verify"], ["sql", "select 1"], ["status"]):
        cases[(*command, "--data", str(folder_for_file.parent))] = f"newswh {command[0]}: {folder_for_file} is not a file"
    # `sql --data` takes a lake folder; an ingest into one nested a second warehouse and lake in it.
    lake = tmp_path / "copied" / "lake"
    (lake / "_warehouse").mkdir(parents=True)
    for command in (["ingest", str(SEED.parent)], ["verify", "--repair"], ["serve", str(SEED.parent), "--interval", "60"]):
        cases[(*command, "--data", str(lake))] = (
            f"newswh {command[0]}: data folder {lake} is a lake (it holds _warehouse/): give the data folder that holds it, {lake.parent}"
        )
    # A commit renamed the new warehouse over the link: a file on this disk, the linked one left behind.
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "warehouse.duckdb").symlink_to(tmp_path / "bigger-disk" / "warehouse.duckdb")
    (tmp_path / "bigger-disk").mkdir()
    (tmp_path / "bigger-disk" / "warehouse.duckdb").write_bytes(b"")
    for command in (["ingest", str(SEED.parent)], ["rebuild"]):
        cases[(*command, "--data", str(linked))] = (
            f"newswh {command[0]}: {linked / 'warehouse.duckdb'} is a symlink (to {tmp_path / 'bigger-disk' / 'warehouse.duckdb'}), "
            "which a commit would replace"
        )
    for args, start in cases.items():
        line = _one_line(newswh(*args, env=_without_api()), 2 if args[0] == "serve" else 1)
        assert line.startswith(start), (args, line)
    assert not (a_file.parent / "data").exists() and sorted(lake.iterdir()) == [lake / "_warehouse"]
    # A service account's HOME=/nonexistent: a line from deep inside Prefect that named neither.
    for command in (["ingest", str(SEED.parent), "--data", str(tmp_path / "data")], ["serve", str(SEED.parent), "--interval", "60"]):
        environment = {key: value for key, value in _without_api().items() if key != "PREFECT_HOME"} | {"HOME": str(a_file)}
        line = _one_line(subprocess.run([NEWSWH, *command], capture_output=True, text=True, env=environment, timeout=120), 1)
        assert line == (
            f"newswh {command[0]}: Prefect's folder {a_file / '.prefect'} (from your home folder (HOME)) cannot be created "
            "(Not a directory): set PREFECT_HOME to a folder newswh may write"
        ), line


LOADED_AT_EXIT = """
import atexit, sys
atexit.register(lambda: print(sorted(name for name in ("duckdb", "pyarrow", "prefect") if name in sys.modules)))
from newswh.command import main
sys.argv = ["newswh", *sys.argv[1:]]
main()
"""
"""`newswh` with its arguments, as its console script runs it, saying at exit which of the
heavy libraries it had loaded."""


def test_commands_on_a_wrong_data_folder_refuse_before_loading_duckdb(a_file):
    """rebuild, verify and status checked the folder after importing DuckDB and pyarrow:
    0.4 s for a one-line refusal, now 0.17."""
    for command in (["rebuild"], ["verify"], ["verify", "--repair"], ["status"]):
        ran = subprocess.run(
            [sys.executable, "-c", LOADED_AT_EXIT, *command, "--data", str(a_file)], capture_output=True, text=True, env=_without_api(),
        )
        assert ran.returncode == 1 and f"data folder {a_file} is a file" in ran.stderr, (command, ran.stderr)
        assert ran.stdout.splitlines() == ["[]"], (command, ran.stdout)


def test_a_file_url_source_is_the_local_folder(prefect_harness, tmp_path):
    """fsspec's `file://` names a local folder; newswh said `source folder file:/… does not exist`."""
    result = newswh("ingest", f"file://{SEED.parent}", "--data", str(tmp_path / "data"), "-q", env=harness_api_env())
    assert result.returncode == 0, result.stderr
    assert query(tmp_path / "data", "select source, files_seen from ingest_runs") == [(str(SEED.parent), 1)]


def test_a_served_url_is_the_runs_source_as_given():
    from newswh.serving import deployment_parameters

    served = deployment_parameters("s3://bucket/raw", Path("data"))
    assert served["source"] == "s3://bucket/raw" and served["data"] == str(Path("data").resolve())
    assert deployment_parameters(Path("seeds"), Path("data"))["source"] == str(Path("seeds").resolve())


def test_a_storage_url_names_its_objects_as_it_was_given():
    """A URL with a host (`ftp://host:port/…`) keeps it: its objects are named by the URL, and
    reached by a filesystem made for that host."""
    from newswh.remote import Storage

    for url, root in (("s3://crawl/raw/", "crawl/raw"), ("ftp://127.0.0.1:2121/raw", "/raw"), (f"file://{SEED.parent}", str(SEED.parent))):
        storage = Storage(url)
        assert storage.path(url) == root
        assert storage.url_of(f"{root}/a.txt") == f"{url.rstrip('/')}/a.txt"
        assert storage.path(storage.url_of(f"{root}/a.txt")) == f"{root}/a.txt"


def test_output_that_cannot_be_written_is_one_line(example_data):
    """`newswh sql … > out.csv` on a full disk (here /dev/full) ended in a traceback, from
    whichever library was printing; with its output closed, `status` failed in one."""
    data = ("--data", str(example_data))
    for args in (("sql", "select * from range(100000)", "-f", "csv", *data), ("status", *data), ("--version",)):
        with open("/dev/full", "w") as full:
            result = subprocess.run([NEWSWH, *args], stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr == "newswh: could not write the output (No space left on device); it is incomplete\n", result.stderr
    closed = subprocess.run([NEWSWH, "status", "--data", str(example_data)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, timeout=120, preexec_fn=lambda: os.close(1))
    assert closed.returncode == 0 and closed.stderr == "", closed.stderr


def test_a_dashboard_on_a_taken_port_is_refused_before_it_gives_its_address(example_data):
    """Streamlit printed "Port N is not available" after newswh had printed the address to open."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _one_line(newswh("dashboard", "--data", str(example_data), "--port", str(port)), 1)
    assert line == f"newswh dashboard: cannot listen on 127.0.0.1:{port} (Address already in use): choose another --port"


def test_a_never_ingested_folder_says_to_ingest_first(tmp_path):
    for command in ("verify", "rebuild"):
        line = _one_line(newswh(command, "--data", str(tmp_path / "empty")), 1)
        assert line == f"newswh {command}: no warehouse in {tmp_path / 'empty'} yet: run `newswh ingest` first"
        assert not (tmp_path / "empty").exists()  # a mistyped --data is not created


def test_a_read_only_data_folder_is_refused(tmp_path):
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(read_only)], capture_output=True).returncode:
        pytest.skip("mounting a read-only file system needs root")  # root writes wherever permissions say no
    try:
        line = _one_line(newswh("ingest", str(SEED.parent), "--data", str(read_only / "data"), env=_without_api()), 1)
        assert line == f"newswh ingest: data folder {read_only / 'data'} cannot be created: {read_only} is not writable (permission denied)"
    finally:
        subprocess.run(["umount", "-l", str(read_only)], check=False)


def test_an_unreachable_prefect_server_is_named_with_the_ways_out(tmp_path):
    env = {"PREFECT_API_URL": UNREACHABLE}
    ingest = _one_line(newswh("ingest", str(SEED.parent), "--data", str(tmp_path / "data"), env=env), 1)
    assert ingest.startswith(f"newswh ingest: no Prefect server answers at PREFECT_API_URL={UNREACHABLE}")
    assert ingest.endswith("start it (`prefect server start`), or unset PREFECT_API_URL to run with a temporary one")
    serve = _one_line(newswh("serve", str(SEED.parent), "--data", str(tmp_path / "data"), "--interval", "60", env=env), 1)
    assert serve.startswith(f"newswh serve: no Prefect server answers at PREFECT_API_URL={UNREACHABLE}")
    assert serve.endswith("start it (`prefect server start`)")
    typo = _one_line(newswh("serve", str(SEED.parent), "--interval", "60", env={"PREFECT_API_URL": "127.0.0.1:4200/api"}), 1)
    assert typo == "newswh serve: PREFECT_API_URL='127.0.0.1:4200/api' is not a Prefect server's address: set it to one, e.g. http://127.0.0.1:4200/api"

    # Another web server on that port (a dashboard, say) answered, and the run failed in Prefect's client.
    import http.server
    import threading

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>a dashboard</html>")

        def log_message(self, *_: object) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page) as other:
        threading.Thread(target=other.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{other.server_address[1]}/api"
        line = _one_line(newswh("ingest", str(SEED.parent), "--data", str(tmp_path / "data"), env={"PREFECT_API_URL": url}), 1)
        other.shutdown()
    assert line.startswith(f"newswh ingest: no Prefect server answers at PREFECT_API_URL={url} (HTTP 200, b'<html>a dashboard</h'"), line
    assert "where a Prefect server answers JSON: not a Prefect server" in line


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("interrupt-corpus")
    write_corpus(folder, 3000, noise=0.02, seed=23)
    return folder


@dataclass(frozen=True)
class Interrupted:
    data: Path
    returncode: int
    output: str
    errors: str


PARSED = "parse: "
"""How the ingest's line that ends its parse stage (and begins its load) starts."""


def _interrupted(corpus: Path, data: Path, case: str, env: dict[str, str]) -> Interrupted:
    """An ingest given a Ctrl-C where `case` says: "mid-parse"; "twice", a second one 0.3 s
    into its shutdown; "mid-load", 0.05 s into its load, where the Ctrl-C lands in a DuckDB
    query (which raised "Query interrupted" in its place: newswh.interrupts); or
    "terminated-mid-load", a SIGTERM there, to its own process only, as `kill` does."""
    run = subprocess.Popen(
        [NEWSWH, "ingest", str(corpus), "--data", str(data), "--batch-files", "150"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True,
    )
    deadline = time.monotonic() + 180
    seen = ""
    if case.endswith("mid-load"):
        assert run.stderr is not None
        for line in run.stderr:  # plain lines, one per stage: stderr is not a terminal
            seen += line
            if line.startswith(PARSED):
                time.sleep(0.05)
                break
    else:
        while not any(DataPaths(data).staging.glob("run-*/stage_files/*.parquet")):  # mid-parse
            assert run.poll() is None and time.monotonic() < deadline, run.communicate()
            time.sleep(0.02)
    if case.startswith("terminated"):
        os.kill(run.pid, signal.SIGTERM)  # what `kill` sends: newswh's own process, not its workers
    else:
        os.killpg(run.pid, signal.SIGINT)  # what a terminal sends the whole job on Ctrl-C
    if case == "twice":
        time.sleep(0.3)
        os.killpg(run.pid, signal.SIGINT)
    out, err = run.communicate(timeout=30)  # a hang-detector; it takes about 1.5 s here
    interrupted = Interrupted(data, run.returncode, out, seen + err)
    assert (PARSED in interrupted.errors) == case.endswith("mid-load"), (case, interrupted.errors)
    return interrupted


@pytest.fixture(scope="module")
def interrupted_runs(corpus, tmp_path_factory, prefect_harness) -> dict[str, Interrupted]:
    """Ingests given a Ctrl-C mid-parse, with a temporary server, which must stop with them;
    and mid-load, given a Ctrl-C or a SIGTERM, on the session's server: there it is DuckDB's
    query the signal lands in, and a temporary server would only add its seconds of CPU."""
    return {
        case: _interrupted(corpus, tmp_path_factory.mktemp(f"interrupted-{case}") / "data", case, env)
        for case, env in (
            ("mid-parse", _without_api()), ("mid-load", {**os.environ, **harness_api_env()}),
            ("terminated-mid-load", {**os.environ, **harness_api_env()}),
        )
    }


@pytest.fixture(scope="module")
def interrupted_twice(corpus, tmp_path_factory) -> Interrupted:
    """An ingest with a temporary server given a second Ctrl-C 0.3 s into its shutdown. Made
    by the isolated test below: a busy second worker moved where the second Ctrl-C lands."""
    return _interrupted(corpus, tmp_path_factory.mktemp("interrupted-twice") / "data", "twice", _without_api())


def _stopped_in_one_line(case: str, run: Interrupted) -> None:
    word, code = ("terminated", 143) if case.startswith("terminated") else ("interrupted", 130)
    assert run.returncode == code, (case, run.errors)
    assert "Traceback" not in run.output + run.errors, (case, run.errors)
    assert run.errors.strip().splitlines()[-1] == f"newswh ingest: {word}; the warehouse is as it was before this run"
    assert not DataPaths(run.data).warehouse.exists()


@pytest.mark.slow
@pytest.mark.isolated  # its second Ctrl-C lands 0.3 s into the shutdown: a busy second worker moved that
def test_a_second_ctrl_c_in_the_shutdown_stops_the_ingest_in_one_line(interrupted_twice):
    _stopped_in_one_line("twice", interrupted_twice)


@pytest.mark.slow
def test_ctrl_c_stops_the_ingest_in_one_line_and_leaves_no_warehouse(interrupted_runs):
    """A SIGTERM stops it the same way, as 'terminated' with 143. In its load it failed the
    run ("Flow run encountered an exception: RuntimeError: Query interrupted", exit 1):
    Prefect's SIGTERM handler, which DuckDB swallowed, was in place of ours."""
    for case, run in interrupted_runs.items():
        _stopped_in_one_line(case, run)


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_the_next_run_after_a_ctrl_c_recovers(corpus, interrupted_runs, interrupted_twice):
    """On the session's server: what must recover is the data folder, and a temporary server
    would cost this test seconds of CPU a run (each run's temporary server is its own)."""
    for case, run in {**interrupted_runs, "twice": interrupted_twice}.items():
        again = newswh("ingest", str(corpus), "--data", str(run.data), env=harness_api_env())
        assert again.returncode == 0, (case, again.stderr)
        assert newswh("verify", "--data", str(run.data)).returncode == 0


def test_files_named_like_standard_modules_where_newswh_runs_change_nothing(tmp_path):
    """Each Python newswh starts put the working directory first on its import path: a
    queue.py there replaced the standard library's, and the temporary server exited with
    "No module named 'concurrent.futures'". Run on a temporary server and on parse
    processes (two batches), each of which imports queue."""
    here = tmp_path / "project"
    here.mkdir()
    for module in ("queue", "concurrent", "socket", "types"):
        (here / f"{module}.py").write_text("raise SystemExit('a module of the working directory was imported')\n")
    source = tmp_path / "source"
    write_corpus(source, 12, noise=0.0, seed=5)
    result = subprocess.run(
        [NEWSWH, "ingest", str(source), "--data", str(tmp_path / "data"), "--workers", "2", "--batch-files", "6"],
        capture_output=True, text=True, timeout=300, cwd=here, env=_without_api(),
    )
    assert result.returncode == 0, result.stderr
    assert "on 2 processes" in result.stderr or "parsed batch 2/2" in result.stderr, result.stderr


CTRL_C_HOOK = '''\
"""Test hook: a Ctrl-C lands just before or just after one function of newswh runs, as
NEWSWH_TEST_CTRL_C says: "module:attribute:before" or "module:Class.method:after"."""
import importlib.machinery
import importlib.util
import os
import signal
import sys


class _CtrlC:
    def __init__(self, module, attribute, when):
        self.module, self.attribute, self.when = module, attribute, when

    def find_spec(self, name, path=None, target=None):
        if name != self.module:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        load = spec.loader.exec_module

        def exec_module(module):
            load(module)
            *parents, attribute = self.attribute.split(".")
            owner = module
            for parent in parents:
                owner = getattr(owner, parent)
            original = getattr(owner, attribute)

            def with_ctrl_c(*args, **kwargs):
                if self.when == "before":
                    os.kill(os.getpid(), signal.SIGINT)
                result = original(*args, **kwargs)
                if self.when == "after":
                    os.kill(os.getpid(), signal.SIGINT)
                return result

            setattr(owner, attribute, with_ctrl_c)

        spec.loader.exec_module = exec_module
        return spec


if os.environ.get("NEWSWH_TEST_CTRL_C"):
    sys.meta_path.insert(0, _CtrlC(*os.environ["NEWSWH_TEST_CTRL_C"].split(":")))
'''


def _ctrl_c_at(tmp_path: Path, where: str) -> dict[str, str]:
    """The environment of a command whose Ctrl-C lands at `where` (CTRL_C_HOOK)."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(CTRL_C_HOOK)
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(hooks), os.environ.get("PYTHONPATH")])), "NEWSWH_TEST_CTRL_C": where}


@pytest.mark.usefixtures("prefect_harness")
def test_ctrl_c_after_a_first_run_committed_says_it_committed(tmp_path):
    """With no warehouse before the run there was no state to compare with, so a Ctrl-C
    after a first run's commit said "the warehouse is as it was before this run"."""
    data = tmp_path / "data"
    env = _ctrl_c_at(tmp_path, "newswh.lake:LakeChanges.publish:after") | harness_api_env()
    result = newswh("ingest", str(SEED.parent), "--data", str(data), "-q", env=env)
    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "newswh ingest: interrupted; the run had committed: the next run brings the lake up to date"
    )
    assert newswh("verify", "--data", str(data)).returncode == 0


@pytest.mark.parametrize(
    ("where", "lost", "outcome"),
    [
        ("newswh.integrity:failed_checks:before", False, "the warehouse was not changed; run `newswh rebuild` again"),
        ("newswh.integrity:commit:after", False, "the rebuild had finished: {warehouse} is the rebuilt warehouse"),
        ("newswh.integrity:failed_checks:before", True, "no warehouse was written; run `newswh rebuild` again"),
    ],
    ids=["before-its-commit", "after-its-commit", "no-warehouse-before"],
)
def test_ctrl_c_in_a_rebuild_says_what_it_left(example_data, tmp_path, where, lost, outcome):
    """A stopped rebuild said only "newswh: interrupted", where a user needs to know whether
    the warehouse is still the one it had (a rebuild renames the new one in as its last step)."""
    data = tmp_path / "data"
    shutil.copytree(example_data, data)
    warehouse = DataPaths(data).warehouse
    if lost:
        warehouse.unlink()
    before = None if lost else warehouse.read_bytes()
    said = _one_line(newswh("rebuild", "--data", str(data), env=_ctrl_c_at(tmp_path, where)), 130)
    assert said == f"newswh rebuild: interrupted; {outcome.format(warehouse=warehouse)}"
    finished = "had finished" in said
    now = warehouse.read_bytes() if warehouse.exists() else None
    assert (now is not None and now != before) if finished else now == before  # unchanged, or still missing
    assert len(list(data.glob("warehouse.duckdb.replaced-*"))) == (1 if finished else 0)  # the old one, kept
    assert newswh("rebuild" if lost else "verify", "--data", str(data)).returncode == 0


@pytest.mark.parametrize(
    "endless",
    [
        "select count(*) from range(1000000000000) as t(x) where x % 7 = 3",
        # Two long sources, one on a DuckDB thread of its own: stopping waits for that
        # thread to finish its task, which it never looks up from. newswh sql hung, deaf
        # to a second Ctrl-C, until killed.
        "select count(*) from (select range from range(1000000000000) "
        "union all select range from range(1000000000000)) where range % 7 = 3",
    ],
    ids=["stops", "would-hang-in-duckdb"],
)
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_in_a_long_query_is_one_line(example_data, endless, stop):
    """DuckDB stops the query and raises "Query interrupted" in place of the KeyboardInterrupt:
    `newswh sql` printed its traceback and exited 1."""
    run = subprocess.Popen(
        [NEWSWH, "sql", endless, "--data", str(example_data)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while len(os.listdir(f"/proc/{run.pid}/task")) == 1:  # DuckDB starts its threads as it opens the warehouse
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.01)
    time.sleep(0.5)  # into the query, which runs for minutes
    os.killpg(run.pid, stop)
    try:
        out, err = run.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGKILL)
        run.communicate()
        pytest.fail(f"newswh sql still ran 15 s after a {stop.name}")
    said = _one_line(subprocess.CompletedProcess(run.args, run.returncode, out, err), 128 + stop)
    assert said == ("newswh: interrupted" if stop == signal.SIGINT else "newswh: terminated")


def test_stop_signals_are_noticed_only_where_python_would_act_on_them():
    """A process that ignores SIGINT (started in the background without job control) keeps
    ignoring it, and one with its own SIGTERM handler keeps it; otherwise either signal
    raises KeyboardInterrupt, and is remembered with the exit code a shell would report."""
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    mine = lambda signum, frame: None  # noqa: E731
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, mine)
        notice_stop_signals()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN and signal.getsignal(signal.SIGTERM) is mine
        for number, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            notice_stop_signals()
            assert not stop_requested()
            with pytest.raises(KeyboardInterrupt):
                os.kill(os.getpid(), number)
                time.sleep(5)  # the handler runs at the next bytecode, long before this ends
            assert stop_requested() and stop_code() == code
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


CTRL_C_DURING_IMPORT = '''\
"""Test hook: Ctrl-C lands while `newswh` imports the module NEWSWH_TEST_CTRL_C names."""
import importlib.util
import os
import sys


class _CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == os.environ["NEWSWH_TEST_CTRL_C"]:
            raise KeyboardInterrupt
        return None


sys.meta_path.insert(0, _CtrlC())
'''


@pytest.mark.parametrize(
    ("module", "line"),
    [
        # the command's own import, a tenth of a second in: it printed a traceback
        ("typer", "newswh: interrupted"),
        # inside `newswh ingest`, before its arguments are checked: typer exited 130 in silence
        ("newswh.paths_check", "newswh: interrupted"),
        # as Prefect starts, a second in: it said only "newswh: interrupted", not what became of the run
        ("newswh.no_pandas", "newswh ingest: interrupted; the warehouse is as it was before this run"),
    ],
)
def test_ctrl_c_while_the_command_is_imported_is_one_line(tmp_path, module, line):
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(CTRL_C_DURING_IMPORT)
    path = os.pathsep.join(filter(None, [str(hooks), os.environ.get("PYTHONPATH")]))
    source = tmp_path / "source"
    source.mkdir()
    result = newswh("ingest", str(source), "--data", str(tmp_path / "data"), env={"PYTHONPATH": path, "NEWSWH_TEST_CTRL_C": module})
    assert _one_line(result, 130) == line


def test_a_folder_whose_name_is_not_utf8_is_one_line(example_data, tmp_path):
    """A folder named under another locale (`caf\\xe9`) gave DuckDB's "std::bad_cast" or
    httpx's UnicodeEncodeError as a traceback, after the ingest had made the data folder."""
    odd = os.fsdecode(b"caf\xe9")
    source, data = tmp_path / f"raw-{odd}", tmp_path / f"data-{odd}"
    source.mkdir()
    shutil.copy(SEED, source)
    shown = lambda path: os.fsencode(path).decode("utf-8", "backslashreplace")  # noqa: E731
    said = "its name, or a folder's above it, is not UTF-8, which DuckDB and Prefect need: rename it"
    ingest_from = _one_line(newswh("ingest", str(source), "--data", str(tmp_path / "data"), env=_without_api()), 1)
    assert ingest_from == f"newswh ingest: source folder {shown(source)}: {said}"
    ingest_into = _one_line(newswh("ingest", str(SEED.parent), "--data", str(data), env=_without_api()), 1)
    assert ingest_into == f"newswh ingest: data folder {shown(data)}: {said}"
    assert not data.exists() and not (tmp_path / "data").exists()
    shutil.copytree(example_data, data)
    for command in (["status"], ["verify"], ["rebuild"], ["sql", "select 1"], ["sql", "select 1", "--lake"], ["dashboard"]):
        line = _one_line(newswh(*command, "--data", str(data), env=_without_api()), 1)
        assert line == f"newswh {command[0]}: data folder {shown(data)}: {said}", command


def test_a_missing_storage_driver_names_the_package_it_needs():
    """gs:// said "the gs:// driver is not installed (None); install newswh[s3]", which
    would not have installed it."""
    from newswh.remote import Storage, StorageError

    pytest.importorskip("fsspec")
    if importlib.util.find_spec("gcsfs") is not None:
        pytest.skip("gcsfs is installed here")
    with pytest.raises(StorageError) as raised:
        Storage("gs://bucket/raw").filesystem()
    assert str(raised.value) == "cannot read gs://bucket/raw: the gs:// driver is not installed: Please install gcsfs to access Google Storage"
