"""Wrong folders (and addresses) refused in one line before anything starts: Prefect takes
seconds to start, and a person who mistyped a path should hear so at once."""

from __future__ import annotations

import os
import re
from pathlib import Path

from newswh.settings import INTERNAL_FOLDER, DataPaths, not_a_file


def name_problem(path: Path, what: str) -> str | None:
    """Why `path` cannot be named to DuckDB and Prefect, or None: a name that is not UTF-8
    (a folder made under another locale, `caf\\xe9`) failed each with a traceback, DuckDB's
    "std::bad_cast" or httpx's UnicodeEncodeError."""
    try:
        os.path.abspath(path).encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")
        return f"{what} {shown}: its name, or a folder's above it, is not UTF-8, which DuckDB and Prefect need: rename it"
    return None


def source_problem(source: Path) -> str | None:
    """Why `source` cannot be ingested from, or None."""
    named = name_problem(source, "source folder")
    if named is not None:
        return named
    try:
        return _source_problem(source)
    except OSError as error:  # a name too long for the file system, say: a traceback
        return f"source folder {source} cannot be used: {error.strerror or error}"


def _source_problem(source: Path) -> str | None:
    if not source.exists():
        if source.is_symlink():
            return f"source folder {source} is a link to {os.readlink(source)}, which does not exist (or links back)"
        return f"source folder {source} does not exist"
    if not source.is_dir():
        return f"source {source} is a file, not a folder: give the folder that holds the raw files"
    if not os.access(source, os.R_OK | os.X_OK):
        return f"source folder {source} cannot be read (permission denied)"
    return None


def data_problem(data: Path, must_exist: bool = False, what: str = "data folder") -> str | None:
    """Why `data` cannot be used as a data folder (or another folder newswh writes, `what`), or None.

    `must_exist`: for commands that only read (a data folder that is not there yet is then
    not an error to create, but a sign of a mistyped path).
    """
    named = name_problem(data, what)
    if named is not None:
        return named
    if what == "data folder" and "?" in os.path.abspath(data):
        # newswh.warehouse checks it too, but only once the run has begun, the folder made.
        return (
            f"{what} {data}: DuckDB cannot keep a database under it, as it reads what follows '?' in a path as options; "
            "choose a data folder whose path has no '?'"
        )
    try:
        return _data_problem(data, must_exist, what)
    except OSError as error:  # a name too long for the file system, say: a traceback
        return f"{what} {data} cannot be used: {error.strerror or error}"


def _data_problem(data: Path, must_exist: bool, what: str) -> str | None:
    if data.is_symlink() and not data.exists():
        # A link to an unmounted disk: the run started Prefect, then said "File exists".
        return f"{what} {data} is a link to {os.readlink(data)}, which does not exist (or links back): mount it, or fix the link"
    if data.exists():
        if not data.is_dir():
            return f"{what} {data} is a file: give a folder (it is created if missing)"
        if not os.access(data, os.W_OK | os.X_OK):
            return f"{what} {data} is not writable (permission denied)"
        warehouse = DataPaths(data).warehouse
        if what == "data folder" and warehouse.exists() and not warehouse.is_file():
            return not_a_file(warehouse)
        if what == "data folder" and not must_exist and warehouse.is_symlink():  # a command that commits a warehouse
            # A commit renames the new warehouse over the old: it replaced the link with a file
            # on the data folder's disk and left the linked one behind, without a word.
            return (
                f"{warehouse} is a symlink (to {os.readlink(warehouse)}), which a commit would replace with the new "
                "warehouse, leaving the linked file behind: give the folder on that disk as the data folder (--data), "
                "or link the whole data folder"
            )
        if what == "data folder" and (data / INTERNAL_FOLDER).is_dir() and not DataPaths(data).lake.exists():
            # `sql --data` takes a lake folder; an ingest into one nested a second warehouse and lake in it.
            return f"{what} {data} is a lake (it holds {INTERNAL_FOLDER}/): give the data folder that holds it, {data.absolute().parent}"
        return None
    if must_exist:
        return f"no {what} at {data}"
    ancestor = data.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"{what} {data} cannot be created: {ancestor} is a file"
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return f"{what} {data} cannot be created: {ancestor} is not writable (permission denied)"
    return None


def prefect_home_problem() -> str | None:
    """Why Prefect cannot keep its files (PREFECT_HOME, by default ~/.prefect), or None. A
    service account's HOME=/nonexistent, or a file there, failed the temporary server with
    a line from deep inside Prefect that named neither."""
    given = os.environ.get("PREFECT_HOME")
    home = Path(given or Path("~") / ".prefect").expanduser()
    from_where = "PREFECT_HOME" if given else "your home folder (HOME)"
    try:
        home.mkdir(parents=True, exist_ok=True)
        writable = os.access(home, os.W_OK | os.X_OK)
    except (OSError, RuntimeError) as error:  # RuntimeError: "Could not determine home directory"
        return (
            f"Prefect's folder {home} (from {from_where}) cannot be created ({getattr(error, 'strerror', None) or error}): "
            "set PREFECT_HOME to a folder newswh may write"
        )
    if not writable:
        return f"Prefect's folder {home} (from {from_where}) is not writable: set PREFECT_HOME to a folder newswh may write"
    return None


def api_problem(url: str, timeout: float = 3.0, temporary_ok: bool = True) -> str | None:
    """Why the Prefect server at `url` (PREFECT_API_URL) cannot be used, or None.

    `temporary_ok`: the command can run with a temporary server instead (an ingest can,
    `newswh serve` cannot: its schedule lives in the server)."""
    if not url.lower().startswith(("http://", "https://")):  # "start it" was no advice for a typo
        return f"PREFECT_API_URL={url!r} is not a Prefect server's address: set it to one, e.g. http://127.0.0.1:4200/api"
    reason = server_silence(url, timeout)
    if reason is None:
        return None
    other_way = ", or unset PREFECT_API_URL to run with a temporary one" if temporary_ok else ""
    return f"no Prefect server answers at PREFECT_API_URL={url} ({reason}): start it (`prefect server start`){other_way}"


def server_silence(url: str, timeout: float = 3.0) -> str | None:
    """Why the Prefect server at `url` gives no healthy answer ("Connection refused",
    "HTTP 503", ...), or None when it does."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=timeout) as response:
            answer = response.read(4096).strip()
            if response.status == 200 and _is_json(answer):
                return None
            # Another web server on that port (a dashboard, say): Prefect's client failed the
            # run on its answer, with a 90-line traceback.
            return f"HTTP {response.status}, {answer[:20]!r} where a Prefect server answers JSON: not a Prefect server"
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except (OSError, ValueError) as error:
        return str(getattr(error, "reason", error))


def _is_json(text: bytes) -> bool:
    import json

    try:
        json.loads(text)
    except ValueError:
        return False
    return True


_DASK_ADDRESS = re.compile(r"(?:(?P<scheme>[A-Za-z]+)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[^:/\s\[\]]+):(?P<port>\d{1,5})/?")
_DASK_SCHEMES = frozenset({"tcp", "tls", "ws", "wss", "ucx"})


def dask_address_problem(address: str) -> str | None:
    """Why `address` is no Dask scheduler's address (`tcp://host:8786`), or None. Dask says
    so only once the run has begun (ingest: "Flow run encountered an exception: ValueError";
    serve: a traceback in every scheduled run)."""
    match = _DASK_ADDRESS.fullmatch(address.strip())
    if match is None:
        return f"--dask {address!r} is not a scheduler address: give tcp://host:port, e.g. tcp://127.0.0.1:8786"
    scheme = (match["scheme"] or "tcp").lower()
    if scheme not in _DASK_SCHEMES:
        return f"--dask {address!r}: Dask has no {scheme}:// connections; give tcp://host:port, e.g. tcp://127.0.0.1:8786"
    if not 0 < int(match["port"]) < 65536:
        return f"--dask {address!r}: port {match['port']} is out of range"
    return None
