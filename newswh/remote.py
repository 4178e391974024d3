"""Raw files in object storage (any fsspec URL, `s3://bucket/prefix` above all).

A bucket holds millions of raw files, so discovery is one paged listing (`find(...,
detail=True)`), never a request per file: each listed object brings its size and its
modification time, which is all the manifest compares (an overwritten object gets a new
LastModified, so a changed file is never taken for unchanged). Reading happens on the
parse workers, a batch at a time, with a filesystem each worker makes for itself from
the storage options: no raw bytes pass through the flow process. Needs `newswh[s3]`.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from newswh.failures import first_line
from newswh.parse import DEFAULT_MAX_BYTES, parse_page, reject_result
from newswh.records import ParseResult
from newswh.sources import RAW_SUFFIX, SourceFile, Vanished


class StorageError(RuntimeError):
    """Object storage cannot be used as asked (no such bucket, refused credentials, no
    fsspec driver); the message is one line a person can act on."""


def is_url(location: str) -> bool:
    """True for `scheme://…` other than `file://`: a location read through fsspec."""
    scheme, sep, _ = location.partition("://")
    return bool(sep) and scheme.isidentifier() and scheme != "file"


def parse_storage_options(text: str | None) -> dict[str, Any]:
    """`--storage-options` JSON (an object) as keyword arguments for the fsspec filesystem."""
    if not text:
        return {}
    try:
        options = json.loads(text)
    except json.JSONDecodeError as error:
        raise StorageError(f"--storage-options is not valid JSON: {error}") from None
    if not isinstance(options, dict):
        raise StorageError("--storage-options must be a JSON object, e.g. '{\"anon\": false}'")
    return options


@dataclass(frozen=True)
class Storage:
    """Where raw files (or staged Parquet) live: a URL and the options to reach it.

    Plain data, so it pickles to any worker; each process makes its own filesystem from it
    (fsspec caches the instance, so a worker makes one per set of options)."""

    url: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def protocol(self) -> str:
        return self.url.partition("://")[0]

    def filesystem(self) -> Any:
        """The fsspec filesystem of the URL's scheme, with what the URL names besides a
        path (an FTP server's host and port) and the storage options."""
        try:
            driver = fsspec_class(self.protocol)
            return driver(**{**driver._get_kwargs_from_urls(self.url), **self.options})
        except ImportError as error:
            # fsspec's own words name the package its driver needs ("Please install gcsfs to
            # access Google Storage"); only s3:// is one of newswh's extras.
            extra = "install newswh[s3] (pip install 'newswh[s3]')" if self.protocol in ("s3", "s3a") else first_line(error)
            raise StorageError(f"cannot read {self.url}: the {self.protocol}:// driver is not installed: {extra}") from None
        except (TypeError, ValueError) as error:
            raise StorageError(f"cannot use --storage-options for {self.url}: {error}") from None
        except OSError as error:  # a driver that connects as it starts: FTP
            raise StorageError(f"cannot reach {self.url}: {first_line(error)}") from None

    def __str__(self) -> str:
        return self.url

    def path(self, url: str) -> str:
        """A URL of this storage as its filesystem names it: without the scheme, and
        without a host where the URL names one (`ftp://host:21/raw` is `/raw`)."""
        return str(fsspec_class(self.protocol)._strip_protocol(url)) if "://" in url else url

    def url_of(self, path: str) -> str:
        """The URL of a `path` of this storage, the inverse of `path`."""
        root = self.path(self.url)
        before_root = self.url.rstrip("/")[: -len(root)] if root and self.url.rstrip("/").endswith(root) else f"{self.protocol}://"
        return f"{before_root}{path}"


def fsspec_class(protocol: str) -> Any:
    """fsspec's filesystem class for a scheme; ImportError when its driver is missing."""
    import fsspec

    return fsspec.get_filesystem_class(protocol)


def discover_rows(storage: Storage) -> Iterator[tuple[str, int, int, str | None]]:
    """Every `*.txt` object below the URL, in path order, as (url, size, mtime_ns, problem).

    One paged listing; failures that stop the whole listing (no bucket, refused
    credentials, unreachable endpoint) raise StorageError with one line."""
    fs = storage.filesystem()
    root = storage.path(storage.url).rstrip("/")
    try:
        if not fs.exists(root):
            raise StorageError(f"source {storage.url} does not exist (no such bucket or prefix)")
        listing = fs.find(root, detail=True)
    except StorageError:
        raise
    except FileNotFoundError:
        raise StorageError(f"source {storage.url} does not exist (no such bucket or prefix)") from None
    except PermissionError as error:
        raise StorageError(f"source {storage.url} cannot be listed: access denied ({first_line(error)}); check the credentials") from None
    except Exception as error:  # botocore and aiohttp raise their own types, none shared
        raise StorageError(f"source {storage.url} cannot be listed: {first_line(error)}") from None
    for path in sorted(listing):
        info = listing[path]
        if not path.endswith(RAW_SUFFIX) or info.get("type") == "directory":
            continue
        yield storage.url_of(path), int(info.get("size") or 0), _mtime_ns(info), None


def _mtime_ns(info: dict[str, Any]) -> int:
    """An object's modification time in ns: s3fs says LastModified (a datetime); other
    drivers say mtime (seconds, or a datetime). 0 if the driver says neither."""
    stamp = info.get("LastModified", info.get("mtime", info.get("last_modified")))
    if isinstance(stamp, datetime):
        return int(stamp.timestamp() * 1_000_000) * 1000
    if isinstance(stamp, (int, float)):
        return int(stamp * 1_000_000_000)
    return 0


def read_object(storage: Storage, source: SourceFile, max_bytes: int = DEFAULT_MAX_BYTES) -> ParseResult | Vanished:
    """`sources.read_source` for an object: parse it, or say in its reject why it could not
    be read; an object deleted since discovery is Vanished, as a local file would be."""
    if source.size_bytes > max_bytes:
        return reject_result(
            source.path, None, source.size_bytes, "too_large",
            f"{source.size_bytes:,} bytes is over the {max_bytes:,}-byte cap; not parsed",
        )
    try:
        data = storage.filesystem().cat_file(storage.path(source.path))
    except FileNotFoundError as error:
        return Vanished(source.path, f"cannot read the object: {first_line(error)}")
    except (OSError, PermissionError) as error:
        return reject_result(source.path, None, 0, "unreadable", f"cannot read the object: {first_line(error)}")
    return parse_page(data, source.path, max_bytes)


@dataclass(frozen=True)
class ObjectReader:
    """A picklable `read(source, max_bytes)` for the parse workers: reads from `storage`."""

    storage: Storage

    def __call__(self, source: SourceFile, max_bytes: int = DEFAULT_MAX_BYTES) -> ParseResult | Vanished:
        return read_object(self.storage, source, max_bytes)



def check_staging(storage: Storage) -> None:
    """Refuse staging in a bucket that does not exist. s3fs creates the bucket a write
    names, so a typo in `--staging` made a new bucket (with the account's default policy)
    and staged the run's rows in it. A local folder (file://) is checked as a folder."""
    if storage.protocol == "file":
        return
    fs = storage.filesystem()
    bucket = storage.path(storage.url).strip("/").partition("/")[0]
    try:
        exists = bool(bucket) and fs.exists(bucket)
    except PermissionError as error:
        raise StorageError(f"staging {storage.url} cannot be reached: access denied ({first_line(error)}); check the credentials") from None
    except Exception as error:  # botocore and aiohttp raise their own types, none shared
        raise StorageError(f"staging {storage.url} cannot be reached: {first_line(error)}") from None
    if not exists:
        raise StorageError(
            f"staging {storage.url}: there is no bucket {bucket!r}; create it, or correct --staging "
            "(newswh does not create buckets)"
        )


def upload_tree(local: Path, storage: Storage) -> None:
    """Copy every file below the local folder to the same relative path below `storage`."""
    fs, root = storage.filesystem(), storage.path(storage.url)
    folders = {root}
    for file in sorted(local.rglob("*")):
        if file.is_file():
            target = f"{root}/{file.relative_to(local).as_posix()}"
            if posixpath.dirname(target) not in folders:  # a local folder must exist; a bucket has none
                folders.add(posixpath.dirname(target))
                fs.makedirs(posixpath.dirname(target), exist_ok=True)
            fs.put_file(str(file), target)


def download_tree(storage: Storage, local: Path) -> None:
    """Copy every object below `storage` to the same relative path below the local folder
    (nothing there, nothing copied: a run whose batches staged nothing)."""
    fs, root = storage.filesystem(), storage.path(storage.url)
    try:
        found = fs.find(root)
    except FileNotFoundError:
        return
    for path in found:
        target = local / path[len(root):].lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        fs.get_file(path, str(target))


def remove_tree(storage: Storage) -> None:
    """Remove a run's staged objects; already gone is fine."""
    fs, root = storage.filesystem(), storage.path(storage.url)
    try:
        fs.rm(root, recursive=True)
    except FileNotFoundError:
        pass
