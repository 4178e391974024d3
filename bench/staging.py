"""A parse worker's whole job on one core: `stage_batch` (read, parse, to Arrow, write
Parquet) over a generated corpus, against a plain read of the same files in the same run.

    python bench/staging.py [--files 20000] [--noise 0.02] [--repeat 3] [--corpus DIR]

`--corpus DIR` reuses (or first fills) a folder of generated pages, so a profiler run
(`pyinstrument bench/staging.py --corpus DIR --repeat 1`) times the same files as the
benchmark. Batches are the sizes an ingest on this machine's cores gives its parse tasks
(`newswh.batches.batch_sizes`); the page cache is warm, as it is for the read baseline.
Machines are shared and noisy: compare the ratios, and the CPU-time figures (files per
CPU second, one core) before the wall-clock ones.
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
from pathlib import Path

from parser import best_seconds, report  # bench/parser.py, beside this script

from newswh.batches import batch_sizes
from newswh.staging import PlannedFile, stage_batch
from newswh.synth import write_corpus


def planned_files(corpus: Path) -> list[PlannedFile]:
    files = []
    for path in sorted(corpus.glob("*.txt")):
        stat = path.stat()
        files.append(PlannedFile(str(path), stat.st_size, stat.st_mtime_ns, None, None))
    return files


def read_all(files: list[PlannedFile]) -> None:
    for planned in files:
        with open(planned.source_path, "rb") as handle:
            handle.read()


def stage_all(files: list[PlannedFile], staging: Path) -> None:
    start = 0
    for number, size in enumerate(batch_sizes(len(files), os.cpu_count() or 1)):
        stage_batch(number, files[start : start + size], str(staging), 5 * 1024 * 1024)
        start += size


def cyclic_garbage(work) -> int:  # type: ignore[no-untyped-def]
    """Objects only the cycle collector could free after `work`, which stage_batch runs with
    that collector paused: it must be none, or the pause would hold memory."""
    gc.collect()
    gc.disable()
    try:
        work()
        return gc.collect()
    finally:
        gc.enable()


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--files", type=int, default=20_000)
    options.add_argument("--noise", type=float, default=0.02)
    options.add_argument("--repeat", type=int, default=3)
    options.add_argument("--corpus", type=Path, default=None)
    args = options.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        corpus = args.corpus or Path(folder) / "corpus"
        if not corpus.is_dir() or not any(corpus.glob("*.txt")):
            corpus.mkdir(parents=True, exist_ok=True)
            write_corpus(corpus, args.files, noise=args.noise)
        files = planned_files(corpus)
        staging = Path(folder) / "staging"
        read_all(files)  # warm the page cache for both measures
        timings = {
            "read (baseline)": best_seconds(lambda: read_all(files), args.repeat),
            "stage_batch": best_seconds(lambda: stage_all(files, staging), args.repeat),
        }
        garbage = cyclic_garbage(lambda: stage_all(files, staging))
    print(f"cyclic garbage left by stage_batch: {garbage} objects")
    report(timings, len(files), cyclic_garbage=garbage)


if __name__ == "__main__":
    main()
