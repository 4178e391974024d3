"""Keep pandas out of a process that converts Python values to Arrow and has no use for it.

pyarrow imports pandas, where it is installed (the dashboard extra brings it), the first
time it converts a Python list or value, only to ask whether it is a pandas object: 0.2-0.4 s
and 45 MB in every process that does, for nothing. Refused, pyarrow carries on as where
pandas is not installed, and so does everything else in the process: a supported setup
(`pip install newswh` brings no pandas). So it is refused only in processes that are
newswh's own from start to end: a parse worker, and the `newswh ingest` command, whose flow
parses a small run's one batch in its own process. A flow called from a user's Python is
left alone (newswh.lake and newswh.discovered avoid the conversions there instead).
"""

from __future__ import annotations

import sys


class _NoPandas:
    """A meta path finder: pyarrow looks in sys.modules before importing, so a None placed
    there would reach it as the module; a finder that refuses makes the import fail as
    where pandas is not installed."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {name!r}: {self.reason}", name=name)
        return None


def refuse_pandas(reason: str) -> None:
    """Refuse pandas to this process from now on, unless it is imported already (then
    refusing would only break what uses it)."""
    if "pandas" in sys.modules or any(isinstance(finder, _NoPandas) for finder in sys.meta_path):
        return
    sys.meta_path.insert(0, _NoPandas(reason))
