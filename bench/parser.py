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

from newswh.parse import parse_page
from newswh.synth import write_corpus

SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_d0dfd935ff761f50.txt"


def best_seconds(work, repeat: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


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
    baseline = timings["read (baseline)"]
    rows = {
        name: {"files_per_s": round(len(paths) / seconds), "x_read_baseline": round(seconds / baseline, 2)}
        for name, seconds in timings.items()
    }
    print(f"{'measure':32} {'files/s':>10} {'time vs read':>13}")
    for name, row in rows.items():
        print(f"{name:32} {row['files_per_s']:>10,} {row['x_read_baseline']:>12}x")
    print(json.dumps({"files": len(paths), "noise": args.noise, "results": rows}))


if __name__ == "__main__":
    main()
