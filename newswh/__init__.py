"""newswh: raw scraped news pages to a DuckDB warehouse and a Parquet lake, with Prefect flows.

The command is `newswh` (newswh.cli); the flow is newswh.ingest.ingest; the parser is the
pure function newswh.parse.parse_page.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("newswh")
except PackageNotFoundError:  # imported from a checkout that was never installed
    __version__ = "0+unknown"
