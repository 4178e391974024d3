"""Finding and reading raw files: the only module of the parsing side that touches the disk.

Reading is defensive because the folder is fed by a crawler: a file may vanish, be
unreadable, be huge, or be a symlink to somewhere it should not lead.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from flows.parse import DEFAULT_MAX_BYTES, parse_page, reject_result
from flows.records import ParseResult

RAW_SUFFIX = ".txt"


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A discovered file: what the manifest compares to decide whether to read it again."""

    path: str
    size_bytes: int
    mtime_ns: int
    outside_link: bool = False


def discover(root: Path) -> Iterator[SourceFile]:
    """Every `*.txt` below `root` (or `root` itself if it is a file), in path order.

    Symlinked folders are not entered (no cycles, no escaping the tree). A symlinked
    file is kept only if it resolves inside `root`; one that points outside is still
    reported, flagged, so it becomes a reject instead of silently vanishing.
    """
    for row in discover_rows(root):
        yield SourceFile(*row)


DiscoveredRow = tuple[str, int, int, bool]
"""path, size_bytes, mtime_ns, outside_link: a SourceFile as a plain tuple."""


def discover_rows(root: Path) -> Iterator[DiscoveredRow]:
    """`discover` as tuples: a re-run over a big corpus is mostly this loop (unchanged files
    are never opened), and a tuple costs a fraction of a frozen dataclass to make."""
    if root.is_file():
        yield _describe(root, root.parent.resolve())
        return
    yield from _walk(str(root), root.resolve())


def _walk(folder: str, real_root: Path) -> Iterator[DiscoveredRow]:
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.endswith(RAW_SUFFIX) and entry.is_file(follow_symlinks=False):
            try:
                stat = entry.stat(follow_symlinks=False)
            except OSError:
                yield entry.path, 0, 0, False
                continue
            yield entry.path, stat.st_size, stat.st_mtime_ns, False
        elif entry.is_dir(follow_symlinks=False):
            yield from _walk(entry.path, real_root)
        elif entry.name.endswith(RAW_SUFFIX) and entry.is_symlink():
            yield _describe(Path(entry.path), real_root)


def _describe(path: Path, real_root: Path) -> DiscoveredRow:
    if path.is_symlink():
        target = path.resolve()
        if not target.is_relative_to(real_root) or not target.is_file():
            return str(path), 0, 0, True
    try:
        stat = path.stat()
    except OSError:
        return str(path), 0, 0, False
    return str(path), stat.st_size, stat.st_mtime_ns, False


def read_and_parse(source: SourceFile, max_bytes: int = DEFAULT_MAX_BYTES) -> ParseResult:
    """Parse one file, turning every way of not being able to read it into a reject."""
    if source.outside_link:
        return reject_result(
            source.path, None, 0, "unreadable", "a symlink that leads outside the source folder; not followed"
        )
    try:
        with open(source.path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                return reject_result(
                    source.path,
                    None,
                    size,
                    "too_large",
                    f"{size:,} bytes is over the {max_bytes:,}-byte cap; not parsed",
                )
            data = handle.read()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        return reject_result(source.path, None, 0, "unreadable", f"cannot read the file: {reason}")
    return parse_page(data, source.path, max_bytes)


def discover_all(paths: Iterable[Path]) -> Iterator[SourceFile]:
    for path in paths:
        yield from discover(path)
