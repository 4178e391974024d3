"""Reading from a crawler-fed folder: every file found becomes an outcome, whatever its state."""

import os
from pathlib import Path

import pytest

from newswh.sources import discover, read_and_parse, read_whole
from tests.conftest import PAGES, SEED

PAGE = (PAGES / "headline_once.txt").read_bytes()


def outcomes(root):
    return {os.path.basename(s.path): read_and_parse(s, max_bytes=10_000) for s in discover(root)}


def test_odd_file_names_work(tmp_path):
    for name in ("with space.txt", "ünïcødé.txt", "new\nline.txt"):
        (tmp_path / name).write_bytes(PAGE)
    results = outcomes(tmp_path)
    assert sorted(results) == sorted(["with space.txt", "ünïcødé.txt", "new\nline.txt"])
    assert all(result.status == "article" for result in results.values())


def test_symlink_outside_the_folder_is_a_reject_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(PAGE)
    source = tmp_path / "source"
    source.mkdir()
    (source / "link.txt").symlink_to(outside / "secret.txt")
    (source / "inner.txt").write_bytes(PAGE)
    (source / "inner_link.txt").symlink_to(source / "inner.txt")
    (source / "loop").symlink_to(source, target_is_directory=True)
    results = outcomes(source)
    assert sorted(results) == ["inner.txt", "inner_link.txt", "link.txt"]
    assert results["link.txt"].reject.reason == "unreadable"
    assert "outside the source folder" in results["link.txt"].reject.detail
    assert results["inner_link.txt"].status == "article"


def test_a_broken_symlink_says_what_it_is(tmp_path):
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    (tmp_path / "loop.txt").symlink_to("loop.txt")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder_link.txt").symlink_to("folder", target_is_directory=True)
    details = {name: result.reject.detail for name, result in outcomes(tmp_path).items()}
    assert details == {
        "dangling.txt": f"a dangling symlink to {tmp_path / 'nowhere.txt'}, which does not exist; not followed",
        "loop.txt": "a symlink loop: following it never reaches a file; not followed",
        "folder_link.txt": "a symlink to a folder, not to a file; not followed",
    }


def test_a_symlink_named_on_its_own_is_described_too(tmp_path):
    (tmp_path / "loop.txt").symlink_to("loop.txt")
    [source] = list(discover(tmp_path / "loop.txt"))
    assert "symlink loop" in source.problem
    assert read_and_parse(source).reject.reason == "unreadable"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_a_reject(tmp_path):
    path = tmp_path / "locked.txt"
    path.write_bytes(PAGE)
    path.chmod(0)
    assert outcomes(tmp_path)["locked.txt"].reject.reason == "unreadable"


def test_vanished_file_is_an_unreadable_reject(tmp_path):
    path = tmp_path / "gone.txt"
    path.write_bytes(PAGE)
    [source] = list(discover(tmp_path))
    path.unlink()
    result = read_and_parse(source)
    assert result.reject.reason == "unreadable"
    assert "No such file" in result.reject.detail


def test_file_over_the_cap_is_rejected_without_being_read(tmp_path):
    (tmp_path / "huge.txt").write_bytes(PAGE * 100)
    result = outcomes(tmp_path)["huge.txt"]
    assert result.reject.reason == "too_large"
    assert result.reject.content_hash is None
    assert result.reject.size_bytes == len(PAGE) * 100


@pytest.mark.timeout(20)
def test_a_pipe_put_where_a_file_was_is_rejected_without_hanging(tmp_path):
    """A pipe has no writer to wait for: opening it blocking would hang the run for good."""
    path = tmp_path / "page.txt"
    path.write_bytes(PAGE)
    [source] = list(discover(tmp_path))
    path.unlink()
    os.mkfifo(path)
    result = read_and_parse(source)
    assert result.reject.reason == "unreadable"
    assert "no longer a regular file" in result.reject.detail


def test_a_file_longer_than_its_size_said_is_read_to_its_end():
    """Files whose size says 0 while they hold text (/proc's, some network file systems') are
    read on past what fstat said, and one that turns out over the cap is not parsed."""
    whole = read_whole("/proc/self/status", 2**20)
    assert isinstance(whole, bytes) and len(whole) > 64 and whole.startswith(b"Name:")
    capped = read_whole("/proc/self/status", 16)
    assert not isinstance(capped, bytes) and capped.reason == "too_large"


@pytest.mark.timeout(20)
def test_a_pipe_named_like_a_page_is_a_reject_not_skipped(tmp_path):
    """Every entry named like a raw file is counted: a pipe was skipped, unseen by the run."""
    (tmp_path / "page.txt").write_bytes(PAGE)
    os.mkfifo(tmp_path / "pipe.txt")
    results = outcomes(tmp_path)
    assert sorted(results) == ["page.txt", "pipe.txt"]
    assert results["page.txt"].status == "article"
    assert (results["pipe.txt"].reject.reason, results["pipe.txt"].reject.detail) == (
        "unreadable",
        "a pipe, device or socket, not a file; not read",
    )
    [alone] = list(discover(tmp_path / "pipe.txt"))  # `newswh parse pipe.txt`
    assert alone.problem == "a pipe, device or socket, not a file; not read"


def test_a_file_swapped_for_a_symlink_after_discovery_is_not_followed(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    outside = tmp_path / "secret.txt"
    outside.write_bytes(SEED.read_bytes())  # parses as an article: reading it would be a leak
    page = source / "page.txt"
    page.write_bytes(SEED.read_bytes())
    [listed] = discover(source)
    page.unlink()
    page.symlink_to(outside)
    result = read_and_parse(listed)
    assert result.article is None and result.reject.reason == "unreadable"
    assert "a symlink now" in result.reject.detail


def test_a_symlink_inside_the_source_is_read_unless_re_pointed_after_discovery(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    (source / "target.txt").write_bytes(SEED.read_bytes())
    (source / "link.txt").symlink_to(source / "target.txt")
    listed = {Path(entry.path).name: entry for entry in discover(source)}
    assert read_and_parse(listed["link.txt"]).article is not None
    outside = tmp_path / "other.txt"
    outside.write_bytes(SEED.read_bytes() + b"\n")
    (source / "link.txt").unlink()
    (source / "link.txt").symlink_to(outside)
    result = read_and_parse(listed["link.txt"])
    assert result.article is None and "a symlink now, or one whose target changed" in result.reject.detail


def test_a_symlink_to_a_folder_outside_is_a_reject_not_a_silence(tmp_path):
    """`src/2016 -> /mnt/disk2/2016`: the files behind it were neither read nor counted, and
    the run said every file was accounted for. One to a folder inside the source folder loses
    nothing (its files are read where they are)."""
    outside = tmp_path / "disk2" / "2016"
    outside.mkdir(parents=True)
    (outside / "page.txt").write_bytes(PAGE)
    source = tmp_path / "source"
    (source / "2015").mkdir(parents=True)
    (source / "2015" / "page.txt").write_bytes(PAGE)
    (source / "2016").symlink_to(outside, target_is_directory=True)
    (source / "latest").symlink_to(source / "2015", target_is_directory=True)
    (source / "gone").symlink_to(tmp_path / "unmounted", target_is_directory=True)
    results = outcomes(source)
    assert sorted(results) == ["2016", "page.txt"]
    assert results["2016"].reject.reason == "unreadable"
    assert results["2016"].reject.detail == (
        f"a symlink to a folder outside the source folder ({outside}); not followed: ingest that folder as a source of "
        "its own, or move its files into this one"
    )
