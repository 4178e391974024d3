"""The release benchmark: the whole ingest pipeline against a read-only baseline, in one run.

    python bench/run.py [--files 100000] [--noise 0.05] [--large-pages 0.01] [--workers 0] [--json PATH]

Generates a corpus with the project's generator into a temporary folder, then measures:
- baseline: a plain Python pass that opens and reads every file (page cache warm);
- cold ingest: the `ingest` flow from an empty data folder to loaded;
- no-op re-run over the unchanged corpus;
- small increment: 1 % new files added, then a run.
Each run happens in a fresh process (as `newswh ingest` would), so its peak RSS is its
alone: the summed resident memory of its process tree (the run, its parse workers and the
temporary Prefect server it starts), polled from /proc, which is what a machine must hold.
Prefect's start-up is measured separately from the flow. `--large-pages 0.01` makes 1 % of
the clean pages 1-3 MB long (still articles, under the default --max-bytes). Machines are
shared and noisy: compare the ratios, not the seconds.
Prints one table and writes the same figures as JSON (default bench/results/).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
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


def run_ingest(source: Path, data: Path, workers: int) -> dict[str, object]:
    """One ingest in a fresh process; its figures as the child reports them, and the peak
    memory of its whole process tree as seen from here."""
    from newswh.tree_rss import PeakTreeRss

    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", str(source), str(data), str(workers)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PREFECT_LOGGING_LEVEL": "WARNING"},
    )
    with PeakTreeRss(child.pid) as tree:
        stdout, stderr = child.communicate()
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"ingest failed:\n{stdout[-3000:]}\n{stderr[-3000:]}")
    figures = json.loads(stdout.strip().splitlines()[-1])
    figures["wall_seconds"] = wall
    figures["startup_seconds"] = wall - figures["seconds"]["total"]
    figures["warehouse_bytes"] = (data / "warehouse.duckdb").stat().st_size  # what the run left on disk
    # Polling can miss a short spike; the largest single process is a floor for the sum.
    figures["peak_rss_bytes"] = max(tree.peak, figures["peak_rss_main_bytes"], figures["peak_rss_worker_bytes"])
    return figures


def _child(source: str, data: str, workers: int) -> None:
    """Runs in the child process: the flow as the CLI runs it, then figures on stdout."""
    from newswh.ingest import ingest
    from newswh.settings import quiet_ephemeral_prefect

    quiet_ephemeral_prefect()
    state = ingest(source=source, data=data, workers=workers or None, return_state=True)
    if not state.is_completed():
        raise SystemExit(state.message)
    summary = state.result()
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    rss_workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(json.dumps({
        "seconds": summary.seconds, "counts": summary.counts,
        "peak_rss_main_bytes": rss_self, "peak_rss_worker_bytes": rss_workers,
    }))


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--files", type=int, default=100_000)
    options.add_argument("--noise", type=float, default=0.05)
    options.add_argument("--large-pages", type=float, default=0.0, help="share of clean pages made 1-3 MB long")
    options.add_argument("--workers", type=int, default=0, help="parser processes; 0 means one per core")
    options.add_argument("--json", type=Path, help="where to write the figures (default bench/results/run-<time>.json)")
    options.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = options.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], int(args.child[2]))
        return

    from newswh.synth import write_corpus

    with tempfile.TemporaryDirectory(prefix="newswh-bench-") as temp:
        source, data = Path(temp) / "raw", Path(temp) / "data"
        print(f"generating {args.files:,} files ({args.noise:.0%} damaged, {args.large_pages:.0%} large) in {temp} …", file=sys.stderr)
        write_corpus(source, args.files, noise=args.noise, seed=11, large_pages=args.large_pages)  # truth.jsonl is not a *.txt
        read_baseline(source)  # warm the page cache, as the targets assume
        baseline = min(read_baseline(source) for _ in range(3))

        print("cold ingest …", file=sys.stderr)
        cold = run_ingest(source, data, args.workers)
        print("no-op re-run …", file=sys.stderr)
        noop = run_ingest(source, data, args.workers)
        increment_files = max(1, args.files // 100)
        write_corpus(source / "increment", increment_files, noise=args.noise, seed=12, large_pages=args.large_pages)
        print(f"increment of {increment_files:,} files …", file=sys.stderr)
        increment = run_ingest(source, data, args.workers)

    results = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "files": args.files, "noise": args.noise, "large_pages": args.large_pages, "increment_files": increment_files,
        "baseline_read_seconds": baseline, "cold": cold, "noop": noop, "increment": increment,
    }
    _print_table(results)
    out = args.json or BENCH / "results" / f"run-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"figures written to {out}")


def _print_table(results: dict[str, object]) -> None:
    from rich.console import Console
    from rich.table import Table

    files, baseline = results["files"], results["baseline_read_seconds"]
    cold_seconds = results["cold"]["seconds"]["total"]
    large = f", {results['large_pages']:.0%} large pages" if results.get("large_pages") else ""
    table = Table(title=f"newswh pipeline, {files:,} files{large} ({results['machine']['cpus']} cores)")
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
            f"{run['startup_seconds']:.1f}", f"{run['peak_rss_bytes'] / 2**20:,.0f}",
            *(f"{run['seconds'].get(stage, 0):.2f}" for stage in STAGES),
        )
    console = Console(width=200)
    console.print(table)
    share = cold_seconds * results["increment_files"] / files
    increment_seconds, noop_seconds = results["increment"]["seconds"]["total"], results["noop"]["seconds"]["total"]
    console.print(
        f"cold ingest: {files / cold_seconds:,.0f} files/s (target 10,000), {cold_seconds / baseline:.1f}x the read baseline (target about 4x)\n"
        f"no-op re-run: {noop_seconds:.2f} s (target under 2 s at 100,000 files)\n"
        f"1 % increment: {increment_seconds / share:.1f}x its share of the cold run (target at most about 2x); "
        f"beyond the no-op every run pays, {(increment_seconds - noop_seconds) / share:.1f}x\n"
        f"warehouse file: {results['cold']['warehouse_bytes'] / 2**20:,.1f} MB after the cold ingest, "
        f"{results['increment']['warehouse_bytes'] / 2**20:,.1f} MB after the increment\n"
        f"peak RSS of the process tree (run, workers, Prefect server): "
        f"{max(results[r]['peak_rss_bytes'] for r in ('cold', 'noop', 'increment')) / 2**20:,.0f} MB (target under 1,536 MB)",
        highlight=False,
    )


if __name__ == "__main__":
    main()
