"""What a run's discovery found, as the Arrow table the plan compares with the manifest.

Apart from newswh.manifest (which needs DuckDB) because the walk runs in a child process
of its own while `newswh ingest` starts (newswh.walk_ahead): that child imports this,
the walk and pyarrow, and not DuckDB, which took a third of its start-up on the cores
the start of a run is short of.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from itertools import accumulate, islice
from pathlib import Path

import pyarrow as pa

from newswh.sources import discover_rows

DISCOVERED_SCHEMA = pa.schema(
    [("source_path", pa.string()), ("size_bytes", pa.int64()), ("mtime_ns", pa.int64()), ("problem", pa.string())]
)
"""One row per discovered entry; `problem` says why it cannot be read (null for a file to read)."""


_ROWS_PER_BATCH = 65_536


def discovered_table(source: Path) -> pa.Table:
    """Path, size and mtime of every raw file: all that is needed to skip unchanged ones."""
    return rows_table(discover_rows(source))


def rows_table(rows: Iterator[tuple[str, int, int, str | None]]) -> pa.Table:
    """Discovered rows (a folder's walk, or a bucket's listing) as the `discovered` table.

    Built a batch at a time: as Python objects a file's row costs ~10x its Arrow form.
    Built from buffers, not with pa.array: pyarrow's first conversion of a Python list
    imports pandas wherever it is installed (the dashboard extra brings it), only to ask
    whether the list is a pandas object; that cost every run 0.4 s and 45 MB.
    """
    batches = []
    while chunk := list(islice(rows, _ROWS_PER_BATCH)):
        paths, sizes, mtimes, problems = zip(*chunk)
        columns = [_strings(paths), _int64s(sizes), _int64s(mtimes), _strings(problems)]
        batches.append(pa.RecordBatch.from_arrays(columns, schema=DISCOVERED_SCHEMA))
    return pa.Table.from_batches(batches, schema=DISCOVERED_SCHEMA)


def _int64s(values: Sequence[int]) -> pa.Array:
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(array("q", values))])


def _strings(values: Sequence[str | None]) -> pa.Array:
    """A string array; null where a value is None (Arrow's validity bitmap, least bit first)."""
    encoded = [b"" if value is None else value.encode("utf-8") for value in values]
    offsets = array("i", accumulate(map(len, encoded), initial=0))
    validity = None
    if None in values:
        bits = bytearray((len(values) + 7) // 8)
        for index, value in enumerate(values):
            if value is not None:
                bits[index >> 3] |= 1 << (index & 7)
        validity = pa.py_buffer(bits)
    return pa.Array.from_buffers(pa.string(), len(values), [validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))])
