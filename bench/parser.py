"""Parser throughput on one core, against baselines measured in the same run.

    python bench/parser.py [--files 20000] [--noise 0.05] [--repeat 3]

Files are generated, then read into memory once, so only parsing is timed. Baselines:
`read` is a plain open-and-read pass over the same files (what any pipeline pays);
`sha256` hashes every file's bytes (the least per-file work a parser must do).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from newswh import parser_build
from newswh.parse import parse_page
from newswh.synth import write_corpus

SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_d0dfd935ff761f50.txt"


def best_seconds(work, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Best wall and best CPU seconds of `repeat` runs. On a shared machine the CPU time
    (this process's) is the steadier figure: other people's work stretches the wall time."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    return best_wall, best_cpu


def report(timings: dict[str, tuple[float, float]], files: int, **extra: object) -> None:
    """One table row per measure, files/s by wall and by CPU time and each against the first
    measure (the read baseline), then the same figures as one JSON line."""
    base_wall, base_cpu = next(iter(timings.values()))
    rows = {
        name: {
            "files_per_s": round(files / wall),
            "files_per_cpu_s": round(files / cpu),
            "x_read_baseline": round(wall / base_wall, 2),
            "x_read_baseline_cpu": round(cpu / base_cpu, 2),
        }
        for name, (wall, cpu) in timings.items()
    }
    print(f"parser: {parser_build()}")
    print(f"{'measure':32} {'files/s':>10} {'vs read':>8} {'files/cpu-s':>12} {'vs read':>8}")
    for name, row in rows.items():
        print(
            f"{name:32} {row['files_per_s']:>10,} {row['x_read_baseline']:>7}x"
            f" {row['files_per_cpu_s']:>12,} {row['x_read_baseline_cpu']:>7}x"
        )
    print(json.dumps({"files": files, "parser": parser_build(), **extra, "results": rows}))


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--files", type=int, default=20_000)
    options.add_argument("--noise", type=float, default=0.05)
    options.add_argument("--repeat", type=int, default=3)
    args = options.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder)
        write_corpus(corpus, args.files, noise=args.noise)
        paths = sorted(str(path) for path in corpus.glob("*.txt"))

        def read_all() -> list[bytes]:
            blobs = []
            for path in paths:
                with open(path, "rb") as handle:
                    blobs.append(handle.read())
            return blobs

        blobs = read_all()
        real = [SEED.read_bytes()] * len(paths)
        import hashlib

        timings = {
            "read (baseline)": best_seconds(read_all, args.repeat),
            "sha256 (baseline)": best_seconds(lambda: [hashlib.sha256(b).digest() for b in blobs], args.repeat),
            "parse generated corpus": best_seconds(lambda: [parse_page(b, p) for b, p in zip(blobs, paths)], args.repeat),
            "parse real sample, repeated": best_seconds(lambda: [parse_page(b, "seed") for b in real], args.repeat),
        }
    report(timings, len(paths), noise=args.noise)


if __name__ == "__main__":
    main()
