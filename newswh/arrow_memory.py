"""Arrow's buffers from the C library's malloc, in the processes newswh's commands start.

pyarrow allocates from mimalloc by default, which keeps what a process has freed for its
next allocations rather than giving it back. A parse worker builds a part's Arrow columns,
writes them and frees them, over and over, and the lake's writers in the flow process do
the same: at 300,000 files each parse worker held about 30 MB more with mimalloc than with
malloc, and the flow process about 50 MB more while it wrote the lake. In interleaved runs
of `newswh ingest` at 300,000 files, malloc's parse and lake stages took the same time
within the noise, and its load 0-5 % longer.

pyarrow reads its choice (ARROW_DEFAULT_MEMORY_POOL) once, when first imported, and
setting a pool after that leaves what pyarrow allocated on import with mimalloc (a parse
worker then held 20 MB more than one started with the variable). So `newswh ingest` and
`newswh serve` set the variable first thing, and every process they start inherits it:
the parse workers, and the flow runs `serve` starts. As with newswh.no_pandas, a flow called
from a user's Python is left alone, and so is a pool the user chose with the variable.
"""

from __future__ import annotations

import os
import sys

VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"


def arrow_allocates_with_malloc() -> None:
    """Make malloc Arrow's pool in this process and those it starts, unless the user chose one."""
    if VARIABLE in os.environ:
        return
    os.environ[VARIABLE] = "system"
    if "pyarrow" in sys.modules:  # too late for the variable here: what comes next, then
        import pyarrow as pa

        pa.set_memory_pool(pa.system_memory_pool())
