"""Small runs: what a scheduled `newswh ingest` that finds 10 new files costs, end to end.

    python bench/small_run.py [--corpus DIR] [--files 100000] [--data DIR] [--repeats 5]
                              [--temporary-repeats 3] [--json PATH]

Issue 18, target 2: with a Prefect server already running (PREFECT_API_URL set, as under
`newswh serve` or a worker), an ingest that finds 10 new files in a 100,000-file corpus
takes at most 3 s of wall time, process start included; and a no-op re-run stays under
2 s of flow time. Each run is `newswh ingest SRC --data D --quiet` as a subprocess, timed
from before its start to its exit, so interpreter start, imports and Prefect's shutdown
are in the figure, as a person or a scheduler pays them.

The corpus (`--corpus`, generated with the project's generator if it holds no truth.jsonl)
is ingested once into `--data` if that holds no warehouse yet. Then a real
`prefect server start` runs on a free loopback port with its own PREFECT_HOME, and, with
PREFECT_API_URL set to it, each repeat times, interleaved so a noisy neighbour hits all
alike: `python -c pass` and `python -c "import prefect"` (the baselines: read the runs as
ratios to them), a no-op run, and a run after 10 fresh files (another seed) appear in a
new subfolder `added/<tag>-<n>/`. The same two runs follow without PREFECT_API_URL, where
`newswh ingest` starts its temporary server: the floor that server sets. Each run's flow
seconds are what its own line says (`… in N s`: the flow, commit included).

The added folders stay in the corpus (the next invocation's runs see them as unchanged),
so a reused corpus grows by 10 files a repeat. Prints a table; writes JSON (default
bench/results/small-run-<time>.json, which git ignores).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from newswh.server import free_port, stop_process, wait_until_healthy
from newswh.settings import DataPaths
from newswh.synth import write_corpus

BENCH = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
NEWSWH = str(BIN / "newswh")
PREFECT = str(BIN / "prefect")
SMALL_FILES = 10


_FLOW_SECONDS = re.compile(r" in ([\d.]+) s\s*$")
"""The end of `newswh ingest --quiet`'s one line: the flow's own seconds, commit included."""


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall seconds of a command from before its process starts to its exit, and its
    stdout; fails loudly."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def last_run(data: Path, stdout: str) -> dict[str, object]:
    """The newest run's flow seconds (as its line says) and counts (as its ingest_runs row says)."""
    flow = _FLOW_SECONDS.search(stdout)
    if flow is None:
        raise SystemExit(f"no flow seconds in the ingest's line: {stdout!r}")
    with duckdb.connect(str(DataPaths(data).warehouse), read_only=True) as con:
        seen, new, written = con.execute(
            "select files_seen, files_new, articles_written from ingest_runs order by run_id desc limit 1"
        ).fetchone()
    return {"flow_seconds": float(flow.group(1)), "files_seen": seen, "files_new": new, "articles_written": written}


def client_env(api: str | None) -> dict[str, str]:
    """The environment of a timed run: PREFECT_API_URL set to `api`, or unset (a temporary server)."""
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    return env | ({"PREFECT_API_URL": api} if api else {})


@contextmanager
def prefect_server(home: Path) -> Iterator[str]:
    """A real `prefect server start` on a free loopback port, with its own PREFECT_HOME,
    health-checked; stopped by its PID (and its process group, which only it is in)."""
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env |= {"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false"}
    log = open(home.parent / "server.log", "wb")
    server = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        wait_until_healthy(server, api, seconds=180)
        yield api
    finally:
        stop_process(server, timeout=15)
        log.close()


def add_files(corpus: Path, tag: str, number: int, seed: int) -> Path:
    folder = corpus / "added" / f"{tag}-{number}"
    write_corpus(folder, SMALL_FILES, noise=0.02, seed=seed)
    return folder


def stats(values: list[float]) -> dict[str, float]:
    return {"best": min(values), "median": statistics.median(values), "runs": len(values)}


def load_average() -> float:
    return os.getloadavg()[0]


def measure(
    corpus: Path, data: Path, api: str | None, repeats: int, tag: str, seed: int, other_code: Path | None = None
) -> dict[str, object]:
    """Interleaved repeats of the baselines, a no-op run and a 10-new-file run; with
    `other_code` (a checkout's root, put first on PYTHONPATH), each run is followed by the
    same run of that code, so two versions meet the same noise."""
    env = client_env(api)
    variants = {"": env}
    if other_code is not None:
        variants[" (other code)"] = env | {"PYTHONPATH": str(other_code)}
    ingest = [NEWSWH, "ingest", str(corpus), "--data", str(data), "--quiet"]
    walls: dict[str, list[float]] = {"python -c pass": [], "import prefect": []}
    flows: dict[str, list[float]] = {}
    seen = 0
    for number in range(repeats):
        walls["python -c pass"].append(timed([sys.executable, "-c", "pass"], env)[0])
        walls["import prefect"].append(timed([sys.executable, "-c", "import prefect"], env)[0])
        for label, variant_env in variants.items():
            seconds, stdout = timed(ingest, variant_env)
            run = last_run(data, stdout)
            if run["files_new"]:
                raise SystemExit(f"the no-op run found {run['files_new']} new files: is something else writing {corpus}?")
            walls.setdefault(f"no-op{label}", []).append(seconds)
            flows.setdefault(f"no-op{label}", []).append(run["flow_seconds"])
        for index, (label, variant_env) in enumerate(variants.items()):
            add_files(corpus, tag, number * len(variants) + index, seed + number * len(variants) + index)
            seconds, stdout = timed(ingest, variant_env)
            run = last_run(data, stdout)
            if run["files_new"] != SMALL_FILES:
                raise SystemExit(f"the 10-file run found {run['files_new']} new files, not {SMALL_FILES}")
            walls.setdefault(f"10 new{label}", []).append(seconds)
            flows.setdefault(f"10 new{label}", []).append(run["flow_seconds"])
            seen = run["files_seen"]
    return {
        "wall": {name: stats(values) for name, values in walls.items()},
        "flow": {name: stats(values) for name, values in flows.items()},
        "files_seen": seen,
    }


def print_table(results: dict[str, dict[str, object]]) -> None:
    print(f"\n{'':30} {'wall best':>10} {'median':>8} {'/prefect':>9} {'flow med':>9}")
    for label, result in results.items():
        prefect = result["wall"]["import prefect"]["median"]
        print(f"-- {label} (files seen: {result['files_seen']:,})")
        for name, wall in result["wall"].items():
            flow = result["flow"].get(name)
            print(
                f"  {name:28} {wall['best']:10.2f} {wall['median']:8.2f} {wall['median'] / prefect:9.2f} "
                + (f"{flow['median']:9.2f}" if flow else f"{'':9}")
            )


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--files", type=int, default=100_000, help="corpus size when generating one")
    options.add_argument("--corpus", type=Path, help="corpus folder to reuse or create (default /tmp/small/corpus-<files>)")
    options.add_argument("--data", type=Path, help="data folder (default: beside the corpus, <corpus>.data)")
    options.add_argument("--repeats", type=int, default=5, help="repeats with a running server")
    options.add_argument("--temporary-repeats", type=int, default=3, help="repeats with the temporary server (0: skip)")
    options.add_argument("--json", type=Path, help="where to write the figures")
    options.add_argument(
        "--other-code", type=Path,
        help="root of another checkout of newswh (e.g. `git worktree add /tmp/base main`): each run is repeated "
        "with it first on PYTHONPATH, interleaved, for a before/after under the same noise",
    )
    args = options.parse_args()
    corpus = args.corpus or Path(f"/tmp/small/corpus-{args.files}")
    data = args.data or corpus.with_name(corpus.name + ".data")
    if not (corpus / "truth.jsonl").exists():
        print(f"generating {args.files:,} files in {corpus} …", file=sys.stderr)
        write_corpus(corpus, args.files, noise=0.02, seed=11)
    if not DataPaths(data).warehouse.exists():
        print(f"first ingest into {data} …", file=sys.stderr)
        seconds, _ = timed([NEWSWH, "ingest", str(corpus), "--data", str(data), "--quiet"], client_env(None))
        print(f"  {seconds:.1f} s", file=sys.stderr)
    tag = f"{datetime.now():%Y%m%d%H%M%S}"
    seed = int(time.time()) % 1_000_000 * 100  # fresh pages each invocation: new stories, not duplicates
    load_before = load_average()
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="small-run-prefect-", dir=corpus.parent) as home:
        with prefect_server(Path(home) / "home") as api:
            print(f"with a running server at {api} …", file=sys.stderr)
            timed([NEWSWH, "ingest", str(corpus), "--data", str(data), "--quiet"], client_env(api))  # server's first flow
            results["running server"] = measure(corpus, data, api, args.repeats, f"{tag}-s", seed, args.other_code)
    if args.temporary_repeats:
        print("with the temporary server …", file=sys.stderr)
        results["temporary server"] = measure(corpus, data, None, args.temporary_repeats, f"{tag}-t", seed + 50, args.other_code)
    print_table(results)
    load_after = load_average()
    print(f"\nload average (1 min): {load_before:.2f} before, {load_after:.2f} after; {os.cpu_count()} cpus")
    figures = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "corpus": str(corpus), "data": str(data), "load_average": [load_before, load_after],
        "other_code": str(args.other_code) if args.other_code else None,
        "results": results,
    }
    out = args.json or BENCH / "results" / f"small-run-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()
