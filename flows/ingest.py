"""The ingest flow where `prefect.yaml` (and `prefect deploy`) look for it: `flows/ingest.py:ingest`.

The code lives in the installed package, `newswh.ingest`; this file only names it.
"""

from newswh.ingest import ingest

__all__ = ["ingest"]
