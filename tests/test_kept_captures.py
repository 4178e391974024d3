"""A raw file emptied, cut short or overwritten in place never takes its archived article
with it: the capture archived from its earlier content is kept, and the new content is a
reject that says so (sql/load/10_affected.sql). Content that holds as much or more of the
same story replaces the capture, as before.

Each test changes one archived file of the seed corpus in place, runs the real flow, and
reads the warehouse, the lake and `newswh verify`/`rebuild` back.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from newswh.integrity import rebuild, verify
from newswh.settings import DataPaths
from tests.conftest import SEED
from tests.helpers import harness_api_env, newswh, query, run_ingest

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

KEPT_ROWS = """
    select s.outcome, s.article_id, s.reject_reason, r.reason, r.detail, c.content_hash
    from source_files as s
    left join rejects as r using (source_path)
    left join captures as c using (source_path)
    where s.source_path = ?
"""


@pytest.fixture
def archived(tmp_path) -> tuple[Path, Path, Path, dict[str, object]]:
    """The seed page and a second one, ingested: the seed's file, the data folder and what
    the warehouse archived from it (its article row)."""
    source = tmp_path / "source"
    source.mkdir()
    page = source / "page.txt"
    shutil.copy(SEED, page)
    shutil.copy(Path(__file__).parent / "fixtures" / "corpus" / "104_airstrikes.txt", source / "other.txt")
    data = tmp_path / "data"
    run_ingest(source, data)
    return page, source, data, _article(data, page)


def _article(data: Path, page: Path) -> dict[str, object]:
    rows = query(
        data,
        "select article_id, title, body, related_count, content_hash from articles where source_path = ?",
        [str(page.resolve())],
    )
    assert len(rows) == 1, rows
    return dict(zip(("article_id", "title", "body", "related_count", "content_hash"), rows[0]))


def _rewrite(page: Path, content: bytes) -> None:
    page.write_bytes(content)
    os.utime(page, ns=(10**18, 10**18))  # a new mtime whatever the clock's resolution


def _lake_articles(data: Path) -> list[tuple[str, str]]:
    table = pq.read_table(DataPaths(data).lake / "articles", columns=["source_path", "body"])
    return sorted(zip(table.column("source_path").to_pylist(), table.column("body").to_pylist()))


def _assert_kept(page: Path, data: Path, before: dict[str, object], reason: str, detail_has: str) -> None:
    assert _article(data, page) == before  # the archived article, body and all, is still the article
    [(outcome, article_id, reject_reason, rejects_reason, detail, capture_hash)] = query(data, KEPT_ROWS, [str(page.resolve())])
    assert (outcome, article_id, reject_reason, rejects_reason) == ("rejected", before["article_id"], reason, reason)
    assert detail_has in detail and f"story {before['article_id']}" in detail and "kept" in detail, detail
    assert capture_hash == before["content_hash"]
    assert (str(page.resolve()), before["body"]) in _lake_articles(data)
    result = verify(DataPaths(data))
    assert result.problems == []


@pytest.mark.parametrize(
    "damage, reason, detail_has",
    [
        (lambda raw: b"", "empty", "no text"),
        (lambda raw: raw[:300], "shrunk", "cut short or damaged"),
        (lambda raw: raw[: len(raw) - 200], "shrunk", "related list truncated"),
        (lambda raw: b"\x00\xff" * 500, "binary", "control characters"),
    ],
    ids=["emptied", "cut-to-300-bytes", "trailer-cut", "binary"],
)
def test_a_file_damaged_in_place_keeps_its_archived_article(archived, damage, reason, detail_has):
    page, source, data, before = archived
    _rewrite(page, damage(SEED.read_bytes()))
    summary = run_ingest(source, data)
    counts = summary.counts
    assert (counts["files_changed"], counts["rejected"], counts["captures_kept"], counts["articles_written"]) == (1, 1, 1, 0)
    assert counts["files_seen"] == counts["files_unchanged"] + counts["articles_written"] + counts["duplicates"] + counts["rejected"]
    assert [path for path, *_ in summary.run_rejects] == [str(page.resolve())]
    _assert_kept(page, data, before, reason, detail_has)
    # the next run leaves it so, and restoring the file makes it an article again
    assert run_ingest(source, data).counts["files_unchanged"] == 2
    _assert_kept(page, data, before, reason, detail_has)
    _rewrite(page, SEED.read_bytes())
    summary = run_ingest(source, data)
    assert (summary.counts["rejected"], summary.counts["captures_kept"]) == (0, 0)
    assert query(data, KEPT_ROWS, [str(page.resolve())]) == [("article", before["article_id"], None, None, None, before["content_hash"])]
    assert query(data, "select count(*) from rejects") == [(0,)]


def test_a_file_overwritten_with_another_story_keeps_the_first_until_moved(archived):
    page, source, data, before = archived
    other = (source / "other.txt").read_bytes()
    _rewrite(page, other.replace(b"Russia", b"Moscow"))  # another story: its headline differs
    summary = run_ingest(source, data)
    assert (summary.counts["captures_kept"], summary.counts["rejected"]) == (1, 1)
    _assert_kept(page, data, before, "other_story", "move this file to a new name")
    # As the detail says: moved to a name of its own, the new story is archived too, and
    # the old one stays, its file now missing.
    page.rename(source / "moved.txt")
    summary = run_ingest(source, data)
    assert (summary.counts["files_new"], summary.counts["files_missing"], summary.counts["articles_written"]) == (1, 1, 1)
    assert _article(data, page) == before
    assert query(data, "select count(*) from articles") == [(3,)]
    # the old path keeps what it held, as any missing file does: its capture and its reject
    assert query(data, "select source_path, reason from rejects") == [(str(page.resolve()), "other_story")]
    assert query(data, "select is_present from source_files where source_path = ?", [str(page.resolve())]) == [(False,)]
    assert verify(DataPaths(data)).problems == []


def test_content_that_holds_more_of_the_story_replaces_its_capture(archived):
    page, source, data, before = archived
    raw = SEED.read_bytes()
    paragraph = b"The crisis in Syria, which flared in March 2011,"
    assert raw.count(paragraph) == 1
    _rewrite(page, raw.replace(paragraph, b"A new paragraph the site added later.\n\n" + paragraph))
    summary = run_ingest(source, data)
    assert (summary.counts["articles_written"], summary.counts["rejected"], summary.counts["captures_kept"]) == (1, 0, 0)
    after = _article(data, page)
    assert after["article_id"] == before["article_id"] and "A new paragraph" in after["body"]
    assert after["content_hash"] != before["content_hash"]


def test_rebuild_from_the_lake_keeps_a_kept_capture_and_its_reject(archived):
    page, source, data, before = archived
    _rewrite(page, b"")
    run_ingest(source, data)
    paths = DataPaths(data)
    paths.warehouse.unlink()
    rebuild(paths)
    _assert_kept(page, data, before, "empty", "no text")
    assert run_ingest(source, data).counts["files_unchanged"] == 2


@pytest.mark.parametrize("quiet", [False, True], ids=["stage-lines", "quiet"])
def test_the_command_says_once_which_files_kept_their_archived_capture(archived, quiet):
    page, source, data, before = archived
    _rewrite(page, SEED.read_bytes()[:300])
    result = newswh("ingest", str(source), "--data", str(data), *(["-q"] if quiet else []), env=harness_api_env())
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    # once: the load's stage line says it, or, with --quiet (no stage lines), the command
    [line] = [line for line in result.stderr.splitlines() if "holds less than the capture" in line]
    assert line.startswith("newswh ingest: " if quiet else "load: "), line
    said = " ".join(result.stderr.split())  # a stage line may wrap
    assert "1 changed file now holds less than the capture archived from it" in said and "select r.* from rejects" in said
    assert "every file accounted for" in result.stdout
    assert _article(data, page) == before


# ---------------------------------------------------------------- never loses, whatever is done


CORPUS = Path(__file__).parent / "fixtures" / "corpus"
PAGES_USED = ("000_d0dfd935ff761f50.txt", "101_putin_next_target.txt", "104_airstrikes.txt", "105_aleppo.txt")
NAMES = ("a.txt", "b.txt", "c.txt")


def _content(page: str) -> bytes:
    return (CORPUS / page).read_bytes()


_CHANGES = st.one_of(
    st.just(("empty", None)),
    st.just(("binary", None)),
    st.tuples(st.just("cut"), st.integers(min_value=1, max_value=4000)),
    st.tuples(st.just("page"), st.sampled_from(PAGES_USED)),  # a whole page: the same story, or another
    st.tuples(st.just("grow"), st.sampled_from(PAGES_USED)),  # a page with a paragraph more
    st.just(("delete", None)),
)


def _apply(path: Path, change: tuple[str, object]) -> None:
    kind, value = change
    current = path.read_bytes() if path.exists() else b""
    if kind == "delete":
        path.unlink(missing_ok=True)
        return
    if kind == "empty":
        content = b""
    elif kind == "binary":
        content = b"\x00\x01\xfe" * 300
    elif kind == "cut":
        content = current[: int(value)] if current else _content(PAGES_USED[0])[: int(value)]  # type: ignore[call-overload]
    elif kind == "page":
        content = _content(str(value))
    else:
        raw = _content(str(value))
        first_blank = raw.index(b"\n\n", raw.index(b"\n\n") + 2)
        content = raw[:first_blank] + b"\n\nA paragraph added later, as sites do." + raw[first_blank:]
    path.write_bytes(content)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# found by this test: a kept file touched again with the same bytes (a new mtime) is unchanged, not kept again
@example(rounds=[[("a.txt", ("empty", None))], [("a.txt", ("empty", None))]])
@given(rounds=st.lists(st.lists(st.tuples(st.sampled_from(NAMES), _CHANGES), min_size=1, max_size=3), min_size=2, max_size=3))
def test_no_story_archived_is_ever_lost_whatever_is_done_to_the_files(rounds):
    """Whatever is done to the raw files between runs (emptied, cut anywhere, made binary,
    overwritten with the same or another story, grown, deleted, brought back), no story a
    run archived leaves the warehouse or the lake, every run adds up, and verify passes."""
    with tempfile.TemporaryDirectory() as folder:
        source, data = Path(folder) / "source", Path(folder) / "data"
        source.mkdir()
        for name, page in zip(NAMES, PAGES_USED):
            (source / name).write_bytes(_content(page))
        run_ingest(source, data)
        archived = {row[0] for row in query(data, "select article_id from articles")}
        for changes in rounds:
            for name, change in changes:
                _apply(source / name, change)
            summary = run_ingest(source, data)
            stories = {row[0] for row in query(data, "select article_id from articles")}
            assert archived <= stories, (changes, archived - stories)
            archived = stories
            counts = summary.counts
            assert counts["files_seen"] == sum(counts[key] for key in ("files_unchanged", "articles_written", "duplicates", "rejected"))
            lake = pq.read_table(DataPaths(data).lake / "articles", columns=["article_id"]).column("article_id").to_pylist()
            assert set(lake) == stories
        assert verify(DataPaths(data)).problems == []
