"""Finding and reading raw files: the only module of the parsing side that touches the disk.

Reading is defensive because the folder is fed by a crawler: a file may vanish, be
unreadable, be huge, be a symlink to somewhere it should not lead or to nowhere, carry a
name that is not UTF-8, or sit in folders nested thousands deep. Each becomes a row with
a reason, never an exception that fails the whole run.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path

from newswh.parse import DEFAULT_MAX_BYTES, parse_page, reject_result
from newswh.records import ParseResult

RAW_SUFFIX = ".txt"


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A discovered file: what the manifest compares to decide whether to read it again."""

    path: str
    size_bytes: int
    mtime_ns: int
    problem: str | None = None
    """Why this entry cannot be read (a symlink loop, a name that is not UTF-8...), said so a
    person can act on it; None for a file to read."""


@dataclass(frozen=True, slots=True)
class Vanished:
    """A file that was gone (deleted, renamed, replaced by a folder) when its turn to be read
    came: the ingest counts it missing, as if deleted before the run, and keeps its data."""

    path: str
    detail: str


VANISHED_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EISDIR})
"""How opening or listing fails when the entry, or a folder above it, is no longer what
discovery saw: there is nothing left there to read or to reject."""


def discover(root: Path) -> Iterator[SourceFile]:
    """Every `*.txt` below `root` (or `root` itself if it is not a folder), in path order.

    Symlinked folders are not entered (no cycles, no escaping the tree). A symlinked file
    is kept only if it resolves to a file inside `root`. Whatever cannot be read (a symlink
    that dangles, loops or leads outside; a name that is not UTF-8; a folder that cannot be
    listed) is still reported, with its `problem`, so it becomes a reject instead of
    silently vanishing or failing the run.
    """
    for row in discover_rows(root):
        yield SourceFile(*row)


DiscoveredRow = tuple[str, int, int, str | None]
"""path, size_bytes, mtime_ns, problem: a SourceFile as a plain tuple."""


def discover_rows(root: Path) -> Iterator[DiscoveredRow]:
    """`discover` as tuples: a re-run over a big corpus is mostly this loop (unchanged files
    are never opened), and a tuple costs a fraction of a frozen dataclass to make."""
    path = str(root)
    if not root.is_dir():
        row = _describe(path, root.parent.resolve())
        if row is not None:
            yield row
    elif not is_utf8(path):
        row = _problem_row(path, _text(path), _bad_name("folder", _text(path)))
        if row is not None:
            yield row
    else:
        yield from _walk(path, root.resolve())


def _walk(root: str, real_root: Path) -> Iterator[DiscoveredRow]:
    """Depth first, each folder's entries in name order: what a recursive walk yields, with
    a stack of listings instead of the call stack, so folders nested thousands deep (a
    crawler bug away) are walked like any others."""
    entries, stand_ins, problem = _listing(root)
    if problem is not None:
        row = _problem_row(root, root, problem)
        if row is not None:
            yield row
        return
    stack = [(iter(entries), stand_ins)]
    while stack:
        listing, stand_ins = stack[-1]
        entry = next(listing, None)
        if entry is None:
            stack.pop()
            continue
        stand_in = stand_ins.get(entry.name) if stand_ins else None
        try:
            kind = _kind(entry)
        except OSError as error:
            if error.errno not in VANISHED_ERRNOS:
                yield _stored_path(entry, stand_in), 0, 0, f"cannot tell what this entry is: {_why(error)}"
            continue
        if kind is None:
            continue
        if stand_in is not None:
            row = _misnamed(entry, kind, stand_in)
        elif kind == "file":
            try:
                info = os.lstat(entry.path)  # not entry.stat(): each entry would keep its result
            except OSError:
                row = entry.path, 0, 0, None  # the read says what became of it
            else:
                row = entry.path, info.st_size, info.st_mtime_ns, None
        elif kind == "folder":
            entries, inner_stand_ins, problem = _listing(entry.path)
            if problem is None:
                stack.append((iter(entries), inner_stand_ins))
                continue
            row = _problem_row(entry.path, entry.path, problem)
        elif kind == "link":
            row = _describe_link(entry.path, real_root)
        elif kind == "folder link":
            row = _describe_folder_link(entry.path, real_root)
        else:
            row = _problem_row(entry.path, entry.path, _NOT_A_FILE)
        if row is not None:
            yield row


_BY_NAME = attrgetter("name")


def _listing(folder: str) -> tuple[list[os.DirEntry[str]], dict[str, str], str | None]:
    """A folder's entries by name, a stand-in for each name that is not UTF-8, and why the
    folder cannot be listed (None if it can). A folder that vanished lists as empty."""
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=_BY_NAME)
    except OSError as error:
        if error.errno in VANISHED_ERRNOS:
            return [], {}, None
        return [], {}, f"cannot list this folder: {_why(error)}"
    names = [entry.name for entry in entries]
    return entries, ({} if all(map(is_utf8, names)) else _stand_ins(names)), None


def _kind(entry: os.DirEntry[str]) -> str | None:
    """'file', 'folder', 'link', 'special' (a pipe, socket or device named like a raw
    file, which becomes a reject rather than vanish from the count) or 'folder link' (a
    symlink to a folder, whatever its name) for what discovery cares about, None for the rest."""
    if entry.name.endswith(RAW_SUFFIX) and entry.is_file(follow_symlinks=False):
        return "file"
    if entry.is_dir(follow_symlinks=False):
        return "folder"
    if entry.name.endswith(RAW_SUFFIX):
        return "link" if entry.is_symlink() else "special"
    if entry.is_symlink() and os.path.isdir(entry.path):  # followed: False for a dangling link or a loop
        return "folder link"
    return None


_NOT_A_FILE = "a pipe, device or socket, not a file; not read"


def is_utf8(text: str) -> bool:
    """False for a name os.scandir decoded with surrogate escapes (bytes that are not UTF-8):
    no Arrow or DuckDB string can hold it."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text(path: str) -> str:
    r"""A path as valid text: bytes that are not UTF-8 shown as \xNN, the same every run."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _stand_ins(names: list[str]) -> dict[str, str]:
    r"""For each name that is not UTF-8, the name its row is stored under: its text form
    (`caf\xe9.txt`), made distinct from every sibling's name (a real file may well be named
    `caf\xe9.txt`) by a suffix, so two entries never share a path."""
    taken = {name for name in names if is_utf8(name)}
    stand_ins = {}
    for name in names:
        if name in taken:
            continue
        text = candidate = _text(name)
        copies = 1
        while candidate in taken:
            copies += 1
            candidate = f"{text} ({copies})"
        taken.add(candidate)
        stand_ins[name] = candidate
    return stand_ins


def _misnamed(entry: os.DirEntry[str], kind: str, stand_in: str) -> DiscoveredRow | None:
    """A file or folder whose name is not UTF-8: one reject, stored under its stand-in name.
    Such a folder is not entered, so the folder above any path stored is valid text."""
    what = "folder" if kind == "folder" else "file"
    return _problem_row(entry.path, _stored_path(entry, stand_in), _bad_name(what, _text(entry.name)))


def _stored_path(entry: os.DirEntry[str], stand_in: str | None) -> str:
    """The entry's path as stored: its own, or with its stand-in for a name that is not UTF-8."""
    if stand_in is None:
        return entry.path
    return entry.path[: len(entry.path) - len(entry.name)] + stand_in


def _bad_name(what: str, shown: str) -> str:
    if what == "folder":
        return f"the folder name is not valid UTF-8 ({shown}); rename it to ingest the files in it"
    return f"the file name is not valid UTF-8 ({shown}); rename it to ingest it"


def _problem_row(path: str, stored_path: str, problem: str) -> DiscoveredRow | None:
    """An entry that cannot be read, with its own (not followed) size and mtime: a changed or
    re-pointed entry is looked at again, an unchanged one is not. None if it vanished."""
    try:
        info = os.lstat(path)
    except OSError as error:
        if error.errno in VANISHED_ERRNOS:
            return None
        return stored_path, 0, 0, problem
    return stored_path, info.st_size, info.st_mtime_ns, problem


def _describe(path: str, real_root: Path) -> DiscoveredRow | None:
    """A path given by itself rather than found in a folder (`newswh parse page.txt`)."""
    if not is_utf8(path):
        return _problem_row(path, _text(path), _bad_name("file", _text(os.path.basename(path))))
    if os.path.islink(path):
        return _describe_link(path, real_root)
    try:
        info = os.stat(path)
    except OSError as error:
        return None if error.errno in VANISHED_ERRNOS else (path, 0, 0, None)
    return path, info.st_size, info.st_mtime_ns, None if stat.S_ISREG(info.st_mode) else _NOT_A_FILE


def _describe_link(path: str, real_root: Path) -> DiscoveredRow | None:
    """A symlink is read, with its target's size and mtime, only if it leads to a file inside
    the source folder; otherwise it is reported as what it is."""
    try:
        link = os.lstat(path)
    except OSError as error:
        return None if error.errno in VANISHED_ERRNOS else (path, 0, 0, f"cannot read the symlink: {_why(error)}")
    try:
        target = os.stat(path)
    except OSError as error:
        return path, link.st_size, link.st_mtime_ns, _broken_link(path, error)
    if not Path(os.path.realpath(path)).is_relative_to(real_root):
        problem = "a symlink that leads outside the source folder; not followed"
    elif stat.S_ISDIR(target.st_mode):
        problem = "a symlink to a folder, not to a file; not followed"
    elif not stat.S_ISREG(target.st_mode):
        problem = "a symlink to a device, pipe or socket, not to a file; not followed"
    else:
        return path, target.st_size, target.st_mtime_ns, None
    return path, link.st_size, link.st_mtime_ns, problem


def _describe_folder_link(path: str, real_root: Path) -> DiscoveredRow | None:
    """A symlink to a folder outside the source folder (`2016 -> /mnt/disk2/2016`) is a
    reject, not a silence: its files were neither read nor counted. One to a folder inside
    it is no loss (its files are read where they are), and nothing is said."""
    target = os.path.realpath(path)
    if Path(target).is_relative_to(real_root):
        return None
    try:
        link = os.lstat(path)
    except OSError as error:
        return None if error.errno in VANISHED_ERRNOS else (path, 0, 0, f"cannot read the symlink: {_why(error)}")
    return path, link.st_size, link.st_mtime_ns, (
        f"a symlink to a folder outside the source folder ({_text(target)}); not followed: ingest that folder as a "
        "source of its own, or move its files into this one"
    )


def _broken_link(path: str, error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "a symlink loop: following it never reaches a file; not followed"
    if error.errno in (errno.ENOENT, errno.ENOTDIR):
        try:
            target = _text(os.readlink(path))
        except OSError:
            target = "a path"
        return f"a dangling symlink to {target}, which does not exist; not followed"
    return f"a symlink that cannot be followed: {_why(error)}; not followed"


def _why(error: OSError) -> str:
    return error.strerror or type(error).__name__


def read_source(source: SourceFile, max_bytes: int = DEFAULT_MAX_BYTES) -> ParseResult | Vanished:
    """Parse one file, turning every way of not being able to read it into a reject, except
    one: a file no longer there (deleted, renamed, replaced by a folder since discovery) is
    `Vanished`, which is not the file's fault and must not replace what it held before."""
    if source.problem is not None:
        return reject_result(source.path, None, 0, "unreadable", source.problem)
    try:
        data = read_whole(source.path, max_bytes, (source.size_bytes, source.mtime_ns))
    except OSError as error:
        detail = f"cannot read the file: {_why(error)}"
        if error.errno in VANISHED_ERRNOS:
            return Vanished(source.path, detail)
        return reject_result(source.path, None, 0, "unreadable", detail)
    if isinstance(data, _Unread):
        return reject_result(source.path, None, data.size, data.reason, data.detail)
    return parse_page(data, source.path, max_bytes)


@dataclass(frozen=True, slots=True)
class _Unread:
    """A file not read, and why: too large, or no longer a regular file."""

    size: int
    reason: str
    detail: str


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
"""Non-blocking, so a pipe put where discovery saw a file cannot hang the run in open();
it changes nothing for a regular file."""


def read_whole(path: str, max_bytes: int, listed: tuple[int, int] | None = None) -> bytes | _Unread:
    """The file's bytes, in as few system calls as a file allows (open, fstat, read until
    the end, close): half of what open().read() makes, a few microseconds a file, which is
    a few percent of a parse worker's time on pages of a few kB.

    With `listed`, the (size, mtime) discovery saw, a symlink is followed only if it leads
    to what discovery saw: discovery lets a symlink through only when it leads to a file
    inside the source folder, and a file swapped for a symlink (to /etc/hostname, say)
    after that check must not be read. Such an entry is an `unreadable` reject this run;
    the next run's discovery looks at it again."""
    descriptor = _open(path, listed)
    if isinstance(descriptor, _Unread):
        return descriptor
    try:
        status = os.fstat(descriptor)
        if stat.S_ISDIR(status.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        if not stat.S_ISREG(status.st_mode):
            return _Unread(0, "unreadable", "no longer a regular file (a pipe, device or socket now); not read")
        size = status.st_size
        if size > max_bytes:
            return _Unread(size, "too_large", f"{size:,} bytes is over the {max_bytes:,}-byte cap; not parsed")
        chunks = [os.read(descriptor, size + 1)]  # one byte more than fstat said: a grown file reads on
        read = len(chunks[0])
        while chunks[-1]:
            if read > max_bytes:
                return _Unread(read, "too_large", f"over {max_bytes:,} bytes (it grew while read); not parsed")
            chunks.append(os.read(descriptor, max(size, 1 << 16)))
            read += len(chunks[-1])
        return chunks[0] if len(chunks) == 2 else b"".join(chunks)
    finally:
        os.close(descriptor)


_RE_POINTED = _Unread(
    0, "unreadable", "a symlink now, or one whose target changed, since the folder was listed; not followed this run"
)


def _open(path: str, listed: tuple[int, int] | None) -> int | _Unread:
    if listed is None:
        return os.open(path, _OPEN_FLAGS)
    try:
        return os.open(path, _OPEN_FLAGS | os.O_NOFOLLOW)
    except OSError as error:
        if error.errno != errno.ELOOP:
            raise
    descriptor = os.open(path, _OPEN_FLAGS)  # a symlink: read only if it leads where discovery saw
    status = os.fstat(descriptor)
    if (status.st_size, status.st_mtime_ns) != listed:
        os.close(descriptor)
        return _RE_POINTED
    return descriptor


def read_and_parse(source: SourceFile, max_bytes: int = DEFAULT_MAX_BYTES) -> ParseResult:
    """`read_source` for one-off parsing (`newswh parse`), where a file that vanished is
    simply a file that could not be read: an `unreadable` reject."""
    result = read_source(source, max_bytes)
    if isinstance(result, Vanished):
        return reject_result(result.path, None, 0, "unreadable", result.detail)
    return result


def discover_all(paths: Iterable[Path]) -> Iterator[SourceFile]:
    for path in paths:
        yield from discover(path)
