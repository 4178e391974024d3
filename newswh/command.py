"""The `newswh` console script, which imports the command only once it can stop cleanly.

Importing the command (typer, rich, the parser) takes a few tenths of a second, before
newswh.cli.main can turn a Ctrl-C into its one line: one landing then printed a
KeyboardInterrupt traceback. This module imports nothing itself, so the window left is
the interpreter's own start.
"""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from newswh.cli import main as run_command
    except KeyboardInterrupt:
        sys.stderr.write("newswh: interrupted\n")
        raise SystemExit(130) from None
    run_command()
