"""Hostile source folders: files that change under a running ingest, names and links that
cannot be read, trees deeper than any recursion limit, settings that change outcomes.

The rule under test: every file that enters a run ends up an article or a reject a person
can act on; a run never fails with a traceback and never loses archived data.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from newswh import sources as sources_module
from newswh.sources import discover, discover_rows, read_and_parse
from newswh.staging import PlannedFile, stage_batch
from newswh.synth import write_corpus
from tests.conftest import PAGES, SEED
from tests.helpers import harness_api_env, newswh, query, run_ingest, table_fingerprints

STAMP = 1_700_000_000 * 10**9
"""The mtime given to every file touched or created between the first and second run."""
PAGE = (PAGES / "headline_once.txt").read_bytes()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """Twelve good pages, each a different story; copied (mtimes kept) for every scenario."""
    folder = tmp_path_factory.mktemp("pristine")
    write_corpus(folder, 12, noise=0.0, seed=5)
    (folder / "truth.jsonl").unlink()
    return folder


# ---------------------------------------------------------------- files that vanish mid-run

Change = Callable[[Path], None]


def delete(path: Path) -> None:
    path.unlink()


def rename(path: Path) -> None:
    path.rename(path.with_name("renamed.txt"))


def replace_by_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()
    inner = path / "inner.txt"
    inner.write_bytes(SEED.read_bytes())
    os.utime(inner, ns=(STAMP, STAMP))


def prepare_second_run(source: Path) -> dict[Path, Change]:
    """Touch three archived files (so the second run must read them again) and add a new
    one; return the change each of those four then undergoes."""
    files = sorted(source.glob("*.txt"))
    for path in files[:3]:
        os.utime(path, ns=(STAMP, STAMP))
    fresh = source / "fresh.txt"
    fresh.write_bytes(PAGE)
    os.utime(fresh, ns=(STAMP, STAMP))
    return {files[0]: delete, files[1]: rename, files[2]: replace_by_folder, fresh: delete}


def changed_between_runs(pristine: Path, source: Path, data: Path) -> dict[str, tuple[int, int]]:
    """The reference: the same changes made while no run is going."""
    shutil.copytree(pristine, source)
    run_ingest(source, data)
    for path, change in prepare_second_run(source).items():
        change(path)
    run_ingest(source, data)
    return table_fingerprints(data)


def change_on_open(monkeypatch: pytest.MonkeyPatch, changes: dict[Path, Change]) -> dict[str, Change]:
    """Make each change happen just before the ingest opens that file: after discovery and
    planning, before the read, the window a crawler deleting files falls into. With one
    batch and one worker the flow parses in this process, so the hook is seen."""
    pending = {str(path.resolve()): change for path, change in changes.items()}
    real_read = sources_module.read_whole

    def read_after_change(path: str, max_bytes: int, listed=None):  # type: ignore[no-untyped-def]
        change = pending.pop(path, None)
        if change is not None:
            change(Path(path))
        return real_read(path, max_bytes, listed)

    monkeypatch.setattr(sources_module, "read_whole", read_after_change)
    return pending


@pytest.mark.usefixtures("prefect_harness")
def test_files_vanishing_during_a_run_are_missing_not_rejected(pristine, tmp_path, monkeypatch):
    source = tmp_path / "source"
    reference = changed_between_runs(pristine, source, tmp_path / "between")
    shutil.rmtree(source)

    data = tmp_path / "during"
    shutil.copytree(pristine, source)
    first = run_ingest(source, data)
    changes = prepare_second_run(source)
    gone = [str(path.resolve()) for path in changes if path.name != "fresh.txt"]
    archived = query(data, "select source_path, article_id from captures where source_path in (?, ?, ?) order by 1", gone)
    assert len(archived) == 3
    pending = change_on_open(monkeypatch, changes)
    during = run_ingest(source, data, workers=1)
    monkeypatch.undo()
    assert not pending, "every change happened between discovery and reading"

    # Exactly as if the files had gone before the run: missing, data kept, nothing rejected.
    assert during.counts["files_seen"] == first.counts["files_seen"] - 3
    assert (during.counts["files_new"], during.counts["files_changed"], during.counts["rejected"]) == (0, 0, 0)
    assert during.counts["files_missing"] == 3
    assert query(data, "select count(*) from rejects") == [(0,)]
    assert query(
        data, "select source_path, is_present, missing_since_run_id from source_files where not is_present order by 1"
    ) == [(path, False, during.run_id) for path in sorted(gone)]
    assert query(data, "select source_path, article_id from captures where source_path in (?, ?, ?) order by 1", gone) == archived
    assert query(data, "select count(*) from articles where article_id in (select article_id from captures where source_path in (?, ?, ?))", gone) == [(3,)]
    assert query(data, "select bool_and(is_conserved) from ingest_runs") == [(True,)]

    run_ingest(source, data)  # the renamed file and the folder's page are found now
    assert table_fingerprints(data) == reference


VANISH_HOOK = '''\
"""Test hook for a real `newswh ingest` process: delete the listed files just before they are opened."""
import os

_real_open = os.open
_pending = set(filter(None, os.environ.get("NEWSWH_TEST_VANISH", "").split(os.pathsep)))


def _open(path, *args, **kwargs):
    if isinstance(path, str) and path in _pending:
        _pending.discard(path)
        os.unlink(path)
    return _real_open(path, *args, **kwargs)


os.open = _open
'''


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_files_vanishing_during_a_cli_run_are_missing_not_rejected(pristine, tmp_path):
    def deletions(source: Path) -> list[Path]:
        changes = prepare_second_run(source)
        return [path for path, change in changes.items() if change is delete]

    source = tmp_path / "source"
    shutil.copytree(pristine, source)
    run_ingest(source, tmp_path / "between")
    for path in deletions(source):
        path.unlink()
    run_ingest(source, tmp_path / "between")
    reference = table_fingerprints(tmp_path / "between")
    shutil.rmtree(source)

    data = tmp_path / "during"
    shutil.copytree(pristine, source)
    run_ingest(source, data)
    doomed = deletions(source)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(VANISH_HOOK)
    done = newswh(
        "ingest", str(source), "--data", str(data), "--workers", "1",
        env={
            **harness_api_env(),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(hooks), os.environ.get("PYTHONPATH")])),
            "NEWSWH_TEST_VANISH": os.pathsep.join(str(path.resolve()) for path in doomed),
        },
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert not any(path.exists() for path in doomed), "the hook deleted the files during the run"
    said = " ".join(done.stderr.split())  # the display wraps long lines
    assert f"load: {len(doomed)} of the files listed were gone when read: not counted in this run" in said, done.stderr
    assert query(data, "select count(*) from rejects") == [(0,)]
    assert query(data, "select count(*) from source_files where not is_present") == [(1,)]  # the new one never arrived
    run_ingest(source, data)
    assert table_fingerprints(data) == reference


def test_a_vanished_file_is_staged_as_vanished_not_rejected(tmp_path):
    import pyarrow.parquet as pq

    names = ("deleted.txt", "folder.txt", "parent.txt/page.txt", "kept.txt")
    (tmp_path / "parent.txt").mkdir()
    for name in names:
        (tmp_path / name).write_bytes(PAGE)
    planned = [PlannedFile(str(tmp_path / name), len(PAGE), 0, None, None) for name in names]
    (tmp_path / "deleted.txt").unlink()  # ENOENT
    (tmp_path / "folder.txt").unlink()
    (tmp_path / "folder.txt").mkdir()  # EISDIR
    shutil.rmtree(tmp_path / "parent.txt")
    (tmp_path / "parent.txt").write_bytes(PAGE)  # ENOTDIR: its folder is a file now
    summary = stage_batch(0, planned, str(tmp_path / "staging"), 10_000)
    files = pq.read_table(tmp_path / "staging" / "stage_files").to_pylist()
    outcomes = {os.path.relpath(row["source_path"], tmp_path): row["outcome"] for row in files}
    assert outcomes == {"deleted.txt": "vanished", "folder.txt": "vanished", "parent.txt/page.txt": "vanished", "kept.txt": "article"}
    assert all(row["content_hash"] is None for row in files if row["outcome"] == "vanished")
    assert pq.read_table(tmp_path / "staging" / "stage_rejects").num_rows == 0
    assert (summary.files, summary.articles, summary.rejected) == (4, 1, 0)


# ----------------------------------------------------- names, links and trees that cannot be read


def write_bytes_name(folder: Path, name: bytes, data: bytes) -> None:
    """Create a file whose name is raw bytes (maybe not UTF-8), as a crawler might."""
    fd = os.open(os.fsencode(folder) + b"/" + name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


DEEP_LEVELS = 1_100


def build_deep_tree(top: Path, levels: int, name: str, data: bytes) -> Path:
    """`levels` nested one-letter folders under `top` with a file at the bottom, made relative
    to a folder descriptor at each step so no call sees a long path; returns the file's path."""
    top.mkdir()
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(levels):
            os.mkdir("d", dir_fd=fd)
            child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        page = os.open(name, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        with os.fdopen(page, "wb") as handle:
            handle.write(data)
    finally:
        os.close(fd)
    return top.joinpath(*["d"] * levels, name)


def remove_deep_tree(top: Path, levels: int, name: str) -> None:
    """Bottom up, without recursion: shutil.rmtree on 3.11 recurses once per level."""
    deepest = top.joinpath(*["d"] * levels)
    (deepest / name).unlink(missing_ok=True)
    for depth in range(levels, 0, -1):
        top.joinpath(*["d"] * depth).rmdir()
    top.rmdir()


@pytest.fixture
def hostile_source(tmp_path):
    """Good pages, with beside them every entry that used to fail every run."""
    pages = tmp_path / "pages"
    write_corpus(pages, 3, noise=0.0, seed=8)
    good = sorted(pages.glob("*.txt"))
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy2(good[0], source / "good.txt")
    (source / "sub").mkdir()
    shutil.copy2(good[1], source / "sub" / "good.txt")
    write_bytes_name(source, b"caf\xe9.txt", PAGE)
    (source / "loop.txt").symlink_to("loop.txt")
    (source / "ping.txt").symlink_to("pong.txt")
    (source / "pong.txt").symlink_to("ping.txt")
    (source / "dangling.txt").symlink_to("nowhere.txt")
    (tmp_path / "outside.txt").write_bytes(PAGE)
    (source / "escape.txt").symlink_to(tmp_path / "outside.txt")
    (source / "folder_link.txt").symlink_to("sub", target_is_directory=True)
    bottom = build_deep_tree(source / "deep", DEEP_LEVELS, "bottom.txt", good[2].read_bytes())
    yield source, bottom
    remove_deep_tree(source / "deep", DEEP_LEVELS, "bottom.txt")


EXPECTED_REJECTS = {
    "caf\\xe9.txt": "the file name is not valid UTF-8 (caf\\xe9.txt); rename it to ingest it",
    "dangling.txt": "a dangling symlink to nowhere.txt, which does not exist; not followed",
    "escape.txt": "a symlink that leads outside the source folder; not followed",
    "folder_link.txt": "a symlink to a folder, not to a file; not followed",
    "loop.txt": "a symlink loop: following it never reaches a file; not followed",
    "ping.txt": "a symlink loop: following it never reaches a file; not followed",
    "pong.txt": "a symlink loop: following it never reaches a file; not followed",
}


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_hostile_entries_are_rejects_and_the_rest_ingests(hostile_source, tmp_path):
    source, bottom = hostile_source
    data = tmp_path / "data"
    root = str(source.resolve())
    for attempt in (1, 2):
        done = newswh("ingest", str(source), "--data", str(data), env=harness_api_env())
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stdout + done.stderr
        if attempt == 1:
            first = table_fingerprints(data)
    assert table_fingerprints(data) == first  # the second run changed nothing
    captures = [row[0] for row in query(data, "select source_path from captures order by 1")]
    assert captures == sorted([f"{root}/good.txt", f"{root}/sub/good.txt", str(bottom.resolve())])
    assert query(data, "select count(*) from articles") == [(3,)]
    rejects = query(data, "select source_path, reason, detail, size_bytes from rejects order by 1")
    assert {path.removeprefix(root + "/"): detail for path, _, detail, _ in rejects} == EXPECTED_REJECTS
    assert {reason for _, reason, _, _ in rejects} == {"unreadable"}
    runs = query(data, "select files_seen, files_new, files_changed, files_unchanged, is_conserved from ingest_runs order by run_id")
    assert runs == [(10, 10, 0, 0, True), (10, 0, 0, 10, True)]


def test_discovery_is_depth_first_by_name_without_recursion(tmp_path):
    for relative in ("b.txt", "b/c.txt", "b/a/z.txt", "a.txt", "c/d.txt", "b/d.TXT", "b/e.json"):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(PAGE)
    found = [os.path.relpath(source.path, tmp_path) for source in discover(tmp_path)]
    assert found == ["a.txt", "b/a/z.txt", "b/c.txt", "b.txt", "c/d.txt"]
    bottom = build_deep_tree(tmp_path / "deep", DEEP_LEVELS, "bottom.txt", PAGE)
    try:
        deep = [source for source in discover(tmp_path / "deep")]
        assert [source.path for source in deep] == [str(bottom)]
        assert deep[0].problem is None and read_and_parse(deep[0]).status == "article"
    finally:
        remove_deep_tree(tmp_path / "deep", DEEP_LEVELS, "bottom.txt")


def test_an_escaped_name_never_collides_with_a_real_one(tmp_path):
    write_bytes_name(tmp_path, b"caf\xe9.txt", PAGE)
    (tmp_path / "caf\\xe9.txt").write_bytes(PAGE)  # a real, valid name: backslash, x, e, 9
    rows = list(discover_rows(tmp_path))
    paths = [row[0] for row in rows]
    assert len(set(paths)) == 2
    assert all(path.encode("utf-8") for path in paths)
    problems = {os.path.basename(row[0]): row[3] for row in rows}
    assert problems[r"caf\xe9.txt"] is None
    assert sum(problem is not None and "not valid UTF-8" in problem for problem in problems.values()) == 1


def test_a_folder_with_a_non_utf8_name_is_one_reject(tmp_path):
    os.mkdir(os.fsencode(tmp_path) + b"/d\xfcr")
    write_bytes_name(tmp_path, b"d\xfcr/page.txt", PAGE)
    (tmp_path / "page.txt").write_bytes(PAGE)
    results = {os.path.basename(s.path): read_and_parse(s) for s in discover(tmp_path)}
    assert results["page.txt"].status == "article"
    assert results[r"d\xfcr"].reject.reason == "unreadable"
    assert results[r"d\xfcr"].reject.detail == r"the folder name is not valid UTF-8 (d\xfcr); rename it to ingest the files in it"


@pytest.mark.parametrize("code", [errno.EACCES, errno.ENAMETOOLONG, errno.EIO])
def test_a_folder_that_cannot_be_listed_is_a_reject(tmp_path, monkeypatch, code):
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "page.txt").write_bytes(PAGE)
    (tmp_path / "page.txt").write_bytes(PAGE)
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if os.fspath(path).endswith("locked"):
            raise OSError(code, os.strerror(code), os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(sources_module.os, "scandir", scandir)
    results = {os.path.basename(s.path): read_and_parse(s) for s in discover(tmp_path)}
    assert sorted(results) == ["locked", "page.txt"]
    assert results["locked"].reject.reason == "unreadable"
    assert results["locked"].reject.detail == f"cannot list this folder: {os.strerror(code)}"


def test_a_folder_that_vanishes_while_listed_is_skipped(tmp_path, monkeypatch):
    (tmp_path / "gone").mkdir()
    (tmp_path / "page.txt").write_bytes(PAGE)
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if os.fspath(path).endswith("gone"):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(sources_module.os, "scandir", scandir)
    assert [os.path.basename(s.path) for s in discover(tmp_path)] == ["page.txt"]


def test_newswh_parse_reports_hostile_entries_without_a_traceback(hostile_source):
    import json

    source, _ = hostile_source
    done = newswh("parse", str(source))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    details = {os.path.basename(r["source_path"]): r["reject_detail"] for r in records if r["status"] == "rejected"}
    assert details == EXPECTED_REJECTS
    assert sum(r["status"] == "article" for r in records) == 3


# ----------------------------------------------------------- settings that change outcomes


@pytest.mark.usefixtures("prefect_harness")
def test_raising_max_bytes_reads_too_large_files_again(tmp_path):
    source, data = tmp_path / "source", tmp_path / "data"
    source.mkdir()
    shutil.copy(SEED, source / "page.txt")
    small = SEED.stat().st_size - 1
    first = run_ingest(source, data, max_bytes=small)
    assert first.counts["rejected"] == 1
    assert query(data, "select reason from rejects") == [("too_large",)]
    again = run_ingest(source, data, max_bytes=small)  # same setting: nothing to read
    assert again.counts["files_unchanged"] == 1
    raised = run_ingest(source, data, max_bytes=small + 1)
    assert (raised.counts["files_changed"], raised.counts["articles_written"]) == (1, 1)
    assert query(data, "select count(*) from rejects") == [(0,)]
    assert query(data, "select outcome, reject_reason from source_files") == [("article", None)]
    assert run_ingest(source, data).counts["files_unchanged"] == 1
