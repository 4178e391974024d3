"""The release benchmark: the whole ingest pipeline against a read-only baseline, in one run.

    python bench/run.py [--files 100000] [--noise 0.05] [--large-pages 0.01] [--workers 0]
                        [--runner process,dask] [--compare] [--repeats 1] [--json PATH]

Generates a corpus with the project's generator into a temporary folder, then measures:
- baseline: a plain Python pass that opens and reads every file (page cache warm);
- cold ingest: the `ingest` flow from an empty data folder to loaded;
- no-op re-run over the unchanged corpus;
- small increment: 1 % new files added, then a run.
Each run happens in a fresh process (as `newswh ingest` would), so its peak RSS is its
alone: the summed resident memory of its process tree (the run, its parse workers and the
temporary Prefect server it starts), polled from /proc, which is what a machine must hold.
Prefect's start-up is measured separately from the flow. The child first starts what
`newswh ingest` starts before Prefect loads (newswh.cli.start_ahead: the walk, the open and
the plan, on the other core), so the flow's stages are timed as the command runs them. `--large-pages 0.01` makes 1 %
of the clean pages 1-3 MB long (still articles, under the default --max-bytes). Machines
are shared and noisy: compare the ratios, not the seconds. `--repeats N` runs the cold
ingest N times, each into an empty data folder right after its own read baseline, and
reports the run whose ratio to its baseline is the median (every run is listed, and kept
in the JSON): both halves of that ratio move with the machine's load.

`--runner`: where the parse tasks run, `process` (the default: newswh's pool of parse
processes, newswh/parse_pool.py) and/or `dask` (a dask.distributed LocalCluster of `--workers` worker processes,
started by the benchmark's child before the flow, through `--dask`). Several, comma-
separated, run on the same corpus, each into its own data folder, stage by stage. Each
run's per-task overhead is what its parse stage took beyond the parsing itself, per batch:
(parse seconds x workers - seconds spent inside the parse tasks) / batches.
`--compare` also runs the peer pipeline (bench/peer.py: a regex parse yielded as nested
dicts into dlt's DuckDB destination; `pip install -e '.[bench]'`) on the same corpus after
the cold ingest, and reports newswh's speed as a multiple of the peer's, on each side's own
pipeline time (imports and Prefect's start-up excluded) and on wall time.
Under the table, the cold run's CPU by stage: the flow process's (all its threads) and its parse
workers', over each stage's wall time, so a stage that keeps every core busy shows as such
(it can only get faster by doing less), and the temporary Prefect server's beside them.
Prints one table and writes the same figures as JSON (default bench/results/).

Release figures are for newswh as users install it, `pip install '.[bench]'` (not `-e`), whose
parser is compiled (setup.py); an editable install runs the pure-Python parser, and the
table's title says which one ran.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
STAGES = ("open", "discover", "plan", "parse", "load", "lake", "commit")


def read_baseline(source: Path) -> float:
    """Seconds to list, open and read every raw file: what any pipeline pays."""
    start = time.perf_counter()
    for folder, _, names in os.walk(source):
        for name in names:
            if name.endswith(".txt"):
                with open(os.path.join(folder, name), "rb") as handle:
                    handle.read()
    return time.perf_counter() - start


def run_ingest(source: Path, data: Path, workers: int, runner: str = "process") -> dict[str, object]:
    """One ingest in a fresh process; its figures as the child reports them, and the peak
    memory of its whole process tree as seen from here."""
    from newswh.tree_rss import PeakTreeRss

    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", str(source), str(data), str(workers), runner],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PREFECT_LOGGING_LEVEL": "WARNING"},
    )
    with PeakTreeRss(child.pid) as tree:
        stdout, stderr = child.communicate()
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"ingest failed:\n{stdout[-3000:]}\n{stderr[-3000:]}")
    figures = json.loads(stdout.strip().splitlines()[-1])
    figures["runner"] = runner
    figures["workers"] = workers
    figures["wall_seconds"] = wall
    figures["startup_seconds"] = wall - figures["seconds"]["total"]
    figures["warehouse_bytes"] = (data / "warehouse.duckdb").stat().st_size  # what the run left on disk
    # Polling can miss a short spike; the largest single process is a floor for the sum.
    figures["peak_rss_largest_process_bytes"] = tree.largest
    figures["peak_rss_bytes"] = max(tree.peak, tree.largest, figures["peak_rss_main_bytes"])
    return figures


def _child(source: str, data: str, workers: int, runner: str) -> None:
    """Runs in the child process: the flow as the CLI runs it, then figures on stdout."""
    from contextlib import nullcontext

    from newswh.arrow_memory import arrow_allocates_with_malloc
    from newswh.cli import start_ahead
    from newswh.parse import DEFAULT_MAX_BYTES

    # As `newswh ingest` does, before the server and Prefect's imports: Arrow's allocator, the walk, the open,
    # the plan and the parse processes on the other core. The open and the plan show their own seconds, as the
    # CLI shows them; the flow's time counts what it waited for each of these (they ran while Prefect loaded).
    arrow_allocates_with_malloc()
    start_ahead(source, data, DEFAULT_MAX_BYTES, rehash=False, workers=workers or None, dask=runner == "dask")
    from newswh.no_pandas import refuse_pandas

    refuse_pandas("as `newswh ingest` refuses it")  # a run of one batch (the increment) parses here
    from newswh.server import starting_server
    from newswh.settings import quiet_ephemeral_prefect

    quiet_ephemeral_prefect()
    server_context = starting_server()  # as `newswh ingest` does: every worker reports to this one server
    server = server_context.__enter__()
    os.environ["PREFECT_API_URL"] = server.ready()  # before Prefect is imported

    from newswh.cli import one_shot_flow_settings
    from newswh.ingest import ingest
    from newswh.tree_rss import cpu_seconds, high_water_bytes

    cluster = nullcontext()
    if runner == "dask":
        from distributed import LocalCluster

        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
            host="127.0.0.1", dashboard_address=None,
        )
    with cluster as running, one_shot_flow_settings():  # no heartbeats, as `newswh ingest` runs it
        dask = running.scheduler_address if running is not None else None
        server_cpu, started = cpu_seconds(server.process.pid), time.perf_counter()
        state = ingest(source=source, data=data, workers=workers or None, dask=dask, return_state=True)
        flow_wall = time.perf_counter() - started
        server_cpu = cpu_seconds(server.process.pid) - server_cpu
    server_context.__exit__(None, None, None)
    if not state.is_completed():
        raise SystemExit(state.message)
    summary = state.result()
    print(json.dumps({
        "seconds": summary.seconds, "counts": summary.counts, "cpu_seconds": summary.cpu_seconds,
        "parse_tasks": summary.parse_tasks, "parse_task_seconds": summary.parse_task_seconds,
        "peak_rss_main_bytes": high_water_bytes(),  # not ru_maxrss: this process's own, not this bench's
        # From the flow's call to its return: Prefect's flow start-up and end are in it, the run's stages not all.
        "flow_call_seconds": flow_wall, "server_cpu_seconds": server_cpu,
    }))


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--files", type=int, default=100_000)
    options.add_argument("--noise", type=float, default=0.05)
    options.add_argument("--large-pages", type=float, default=0.0, help="share of clean pages made 1-3 MB long")
    options.add_argument("--workers", type=int, default=0, help="parser processes; 0 means one per core")
    options.add_argument("--runner", default="process", help="process, dask, or both comma-separated: process,dask")
    options.add_argument("--compare", action="store_true", help="also run the dlt peer pipeline (bench/peer.py) on the corpus")
    options.add_argument(
        "--repeats", type=int, default=1,
        help="cold ingests, each into an empty data folder right after its own read baseline; the table shows the median",
    )
    options.add_argument("--json", type=Path, help="where to write the figures (default bench/results/run-<time>.json)")
    options.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = options.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], int(args.child[2]), args.child[3])
        return
    runners = [name.strip() for name in args.runner.split(",") if name.strip()]
    if not runners or set(runners) - {"process", "dask"}:
        raise SystemExit("--runner: give process, dask, or process,dask")
    if args.compare and subprocess.run([sys.executable, "-c", "import dlt"], capture_output=True).returncode:
        raise SystemExit("--compare runs the dlt peer pipeline: pip install -e '.[bench]' first")

    from newswh import parser_build
    from newswh.synth import write_corpus

    with tempfile.TemporaryDirectory(prefix="newswh-bench-") as temp:
        source, data = Path(temp) / "raw", Path(temp) / "data"
        print(f"generating {args.files:,} files ({args.noise:.0%} damaged, {args.large_pages:.0%} large) in {temp} …", file=sys.stderr)
        write_corpus(source, args.files, noise=args.noise, seed=11, large_pages=args.large_pages)  # truth.jsonl is not a *.txt
        read_baseline(source)  # warm the page cache, as the targets assume

        runs: dict[str, dict[str, object]] = {runner: {} for runner in runners}
        colds: dict[str, list[dict[str, object]]] = {runner: [] for runner in runners}
        for repeat in range(max(1, args.repeats)):
            baseline = min(read_baseline(source) for _ in range(3))
            for runner in runners:
                print(f"cold ingest ({runner}{f', {repeat + 1} of {args.repeats}' if args.repeats > 1 else ''}) …", file=sys.stderr)
                folder = data.with_name(f"data-{runner}")
                shutil.rmtree(folder, ignore_errors=True)
                cold = run_ingest(source, folder, args.workers, runner)
                colds[runner].append({**cold, "baseline_read_seconds": baseline})
        for runner in runners:
            runs[runner]["cold"] = median_run(colds[runner])
        baseline = runs[runners[0]]["cold"]["baseline_read_seconds"]
        peer = run_peer(source, Path(temp) / "peer") if args.compare else None
        for runner in runners:
            print(f"no-op re-run ({runner}) …", file=sys.stderr)
            runs[runner]["noop"] = run_ingest(source, data.with_name(f"data-{runner}"), args.workers, runner)
        increment_files = max(1, args.files // 100)
        write_corpus(source / "increment", increment_files, noise=args.noise, seed=12, large_pages=args.large_pages)
        for runner in runners:
            print(f"increment of {increment_files:,} files ({runner}) …", file=sys.stderr)
            runs[runner]["increment"] = run_ingest(source, data.with_name(f"data-{runner}"), args.workers, runner)

    common = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "parser": parser_build(),
        "files": args.files, "noise": args.noise, "large_pages": args.large_pages, "increment_files": increment_files,
        "baseline_read_seconds": baseline,
    }
    results = {**common, **runs[runners[0]], "runner": runners[0]}
    if args.repeats > 1:
        results["cold_repeats"] = colds[runners[0]]
    if peer is not None:
        results["peer"] = peer
    if len(runners) > 1:
        results["runners"] = {runner: {**runs[runner], "runner": runner} for runner in runners}
    for runner in runners:
        _print_table({**common, **runs[runner], "runner": runner})
        if args.repeats > 1:
            _print_repeats(args.files, colds[runner])
    if len(runners) > 1:
        _print_runner_comparison(common["files"], runs)
    if peer is not None:
        _print_peer_comparison(runs[runners[0]]["cold"], peer)
    out = args.json or BENCH / "results" / f"run-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"figures written to {out}")


def median_run(colds: list[dict[str, object]]) -> dict[str, object]:
    """The cold run whose time, as a multiple of the read baseline measured just before it,
    is the median: this machine is shared, and both halves of a ratio move with its load."""
    ranked = sorted(colds, key=lambda cold: cold["seconds"]["total"] / cold["baseline_read_seconds"])
    return ranked[(len(ranked) - 1) // 2]


def _print_repeats(files: int, colds: list[dict[str, object]]) -> None:
    ratios = ", ".join(f"{cold['seconds']['total'] / cold['baseline_read_seconds']:.1f}x" for cold in colds)
    speeds = ", ".join(f"{files / cold['seconds']['total']:,.0f}" for cold in colds)
    print(f"cold ingest, {len(colds)} runs in turn: {speeds} files/s; {ratios} the read baseline measured before each (the table shows the median)")


def run_peer(source: Path, folder: Path) -> dict[str, object]:
    """The dlt peer on the same files, in a fresh process: its own figures and its wall time."""
    print("peer pipeline (dlt) …", file=sys.stderr)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(BENCH / "peer.py"), str(source), str(folder)], capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"the peer pipeline failed: {done.stderr.strip().splitlines()[-1:]}")
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "wall_seconds": wall}


def _print_peer_comparison(cold: dict[str, object], peer: dict[str, object]) -> None:
    newswh_seconds, newswh_wall = cold["seconds"]["total"], cold["wall_seconds"]
    print(
        f"peer (dlt) cold: {peer['files']:,} files in {peer['seconds']:.2f} s ({peer['files'] / peer['seconds']:,.0f} files/s), "
        f"{peer['wall_seconds']:.2f} s wall; newswh is {peer['seconds'] / newswh_seconds:.1f}x the peer on pipeline time "
        f"(target 14x) and {peer['wall_seconds'] / newswh_wall:.1f}x on wall time"
    )


def _print_table(results: dict[str, object]) -> None:
    from rich.console import Console
    from rich.table import Table

    files, baseline = results["files"], results["baseline_read_seconds"]
    cold_seconds = results["cold"]["seconds"]["total"]
    large = f", {results['large_pages']:.0%} large pages" if results.get("large_pages") else ""
    table = Table(
        title=f"newswh pipeline, {files:,} files{large} ({results['machine']['cpus']} cores), runner {results.get('runner', 'process')}, "
        f"parser {results.get('parser', '?')}"
    )
    for column in ("run", "files", "seconds", "files/s", "vs baseline", "start-up s", "peak RSS MB (tree)", *STAGES):
        table.add_column(column, justify="right" if column != "run" else "left")
    table.add_row("baseline: read every file", f"{files:,}", f"{baseline:.2f}", f"{files / baseline:,.0f}", "1.0x",
                  *[""] * (2 + len(STAGES)))
    for name, label, count in (
        ("cold", "cold ingest", files), ("noop", "no-op re-run", files), ("increment", "1 % increment", results["increment_files"])
    ):
        run = results[name]
        seconds = run["seconds"]["total"]
        table.add_row(
            label, f"{count:,}", f"{seconds:.2f}", f"{count / seconds:,.0f}", f"{seconds / baseline:.1f}x",
            f"{run['startup_seconds']:.1f}", f"{run['peak_rss_bytes'] / 1e6:,.0f}",
            *(f"{run['seconds'].get(stage, 0):.2f}" for stage in STAGES),
        )
    console = Console(width=200)
    console.print(table)
    share = cold_seconds * results["increment_files"] / files
    increment_seconds, noop_seconds = results["increment"]["seconds"]["total"], results["noop"]["seconds"]["total"]
    peak = max(results[run]["peak_rss_bytes"] for run in ("cold", "noop", "increment"))
    console.print(
        f"cold ingest: {files / cold_seconds:,.0f} files/s (target 10,000), {cold_seconds / baseline:.1f}x the read baseline (target at most 4x)\n"
        f"no-op re-run: {noop_seconds:.2f} s (target under 2 s at 100,000 files)\n"
        f"1 % increment: {increment_seconds / share:.1f}x its share of the cold run (target at most about 2x); "
        f"beyond the no-op every run pays, {(increment_seconds - noop_seconds) / share:.1f}x\n"
        f"warehouse file: {results['cold']['warehouse_bytes'] / 1e6:,.1f} MB after the cold ingest, "
        f"{results['increment']['warehouse_bytes'] / 1e6:,.1f} MB after the increment\n"
        f"peak RSS of the process tree (run, workers, Prefect server): "
        f"{peak / 1e6:,.0f} MB = {peak / 2**20:,.0f} MiB (target under 1 GB = 1,000 MB at 300,000 files)",
        highlight=False,
    )
    if "cpu_seconds" in results["cold"]:
        console.print(cpu_line(results["cold"], results["machine"]["cpus"]), highlight=False)


def cpu_line(run: dict[str, object], cores: int) -> str:
    """Where a run's CPU went, stage by stage, and how many cores each kept busy: a stage
    that keeps every core busy can only get faster by doing less."""
    seconds, cpu = run["seconds"], run["cpu_seconds"]
    stages = ", ".join(
        f"{stage} {cpu[stage]:.2f} ({cpu[stage] / seconds[stage]:.1f} cores)" for stage in STAGES if seconds.get(stage, 0) >= 0.05
    )
    server = run["server_cpu_seconds"]
    return (
        f"CPU of the cold run, CPU-s by stage (the flow process's threads and its parse workers): {stages}; "
        f"in all {cpu['total']:.2f} CPU-s in {seconds['total']:.2f} s, {cpu['total'] / seconds['total']:.2f} of {cores} cores busy. "
        f"The Prefect server used {server:.2f} CPU-s more over the flow's {run['flow_call_seconds']:.2f} s from call to return "
        f"(its start and end included: {run['flow_call_seconds'] - seconds['total']:.2f} s beyond the stages)"
    )


def task_overhead(run: dict[str, object]) -> float | None:
    """Seconds per parse task not spent parsing: (parse stage x workers - time inside the
    tasks) / tasks. None for a run with no parse task."""
    tasks = int(run.get("parse_tasks", 0))
    if not tasks:
        return None
    workers = min(run.get("workers") or os.cpu_count() or 1, tasks)
    return (run["seconds"]["parse"] * workers - run["parse_task_seconds"]) / tasks


def _print_runner_comparison(files: int, runs: dict[str, dict[str, object]]) -> None:
    """The cold runs side by side: files/s of the whole run and of the parse stage, and
    each runner's per-task overhead."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"task runners on the same {files:,} files (cold ingest)")
    for column in ("runner", "run s", "files/s", "parse s", "parse files/s", "tasks", "overhead per task s", "vs process"):
        table.add_column(column, justify="left" if column == "runner" else "right")
    base = runs.get("process", {}).get("cold")
    for runner, series in runs.items():
        cold = series["cold"]
        seconds = cold["seconds"]
        overhead = task_overhead(cold)
        ratio = f"{seconds['total'] / base['seconds']['total']:.2f}x" if base else ""
        table.add_row(
            runner, f"{seconds['total']:.2f}", f"{files / seconds['total']:,.0f}", f"{seconds['parse']:.2f}",
            f"{files / seconds['parse']:,.0f}", f"{int(cold.get('parse_tasks', 0))}",
            "" if overhead is None else f"{overhead:.3f}", ratio,
        )
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
