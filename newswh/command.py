"""The `newswh` console script, which imports the command only once it can stop cleanly.

Importing the command (typer, rich, the parser) takes a few tenths of a second, before
newswh.cli.main can turn a Ctrl-C into its one line: one landing then printed a
KeyboardInterrupt traceback. This module imports nothing itself, so the window left is
the interpreter's own start.

Python's cycle collector is off while the command's modules load: importing them (Prefect
above all) allocates a few hundred thousand objects that live as long as the process, and
the collector walked them about 350 times, 0.1–0.2 s of every `newswh ingest`, to find
nothing. `newswh.cli.modules_loaded` turns it back on once a command's work begins.
"""

from __future__ import annotations

import gc
import sys


def main() -> None:
    gc.disable()
    try:
        from newswh.cli import main as run_command
    except KeyboardInterrupt:
        sys.stderr.write("newswh: interrupted\n")
        raise SystemExit(130) from None
    run_command()
