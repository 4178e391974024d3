"""The lake's sync: which datasets a run may trust unchanged, and the partition splitter."""

import errno
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from itertools import groupby
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswh import lake
from newswh.lake import (
    DATASETS, FINGERPRINT_KEY, SYNC_MARK, Dataset, LakeChanges, _partitions, _write_dataset, expected_partitions, prepare_lake,
    read_fingerprint,
)
from newswh.settings import LAKE_MEMORY_LIMIT_BYTES, DataPaths
from newswh.warehouse import limit_bytes

BOOKKEEPING = frozenset({"source_files", "ingest_runs"})


@pytest.fixture
def paths(example_data, tmp_path) -> DataPaths:
    """A private copy of the example warehouse and its lake, whose articles the warehouse
    then loses one of behind the lake's back: a full sync would rewrite that partition."""
    copy = tmp_path / "data"
    shutil.copytree(example_data, copy)
    with duckdb.connect(str(DataPaths(copy).warehouse)) as con:
        con.execute("delete from best_captures where article_id = (select min(article_id) from articles)")
    return DataPaths(copy)


def _prepare(paths: DataPaths, changed: frozenset[str] | None, months: frozenset[tuple[object, ...]] | None = None) -> set[str]:
    """The datasets a run that wrote `changed` (in `months`) would rewrite (nothing is published)."""
    with duckdb.connect(str(paths.warehouse)) as con:
        run_id = con.execute("select max(run_id) + 1 from ingest_runs").fetchall()[0][0]
        changes: LakeChanges = prepare_lake(con, paths.lake, run_id, changed, months=months)
    changes.discard()
    return {path.relative_to(paths.lake).parts[0] for _, path in changes.staged}


@pytest.mark.parametrize("fixed", [False, True])
def test_the_lake_is_written_under_its_own_lower_memory_limit_then_the_limit_is_restored(paths, monkeypatch, fixed):
    """The lake stage was an ingest's peak of memory (issue 18): DuckDB fills its limit, so
    the lake's lower limit is what bounds it. A limit the user fixed is left alone."""
    monkeypatch.setattr(lake, "DUCKDB_MEMORY_LIMIT_FIXED", fixed)
    during = []
    with duckdb.connect(str(paths.warehouse), config={"memory_limit": "384MB"}) as con:
        run_id = con.execute("select max(run_id) + 1 from ingest_runs").fetchall()[0][0]
        before = limit_bytes(con)
        prepare_lake(con, paths.lake, run_id, before_runs=lambda: during.append(limit_bytes(con))).discard()
        after = limit_bytes(con)
    assert after == before
    if fixed:
        assert during == [before]
    else:
        assert during and LAKE_MEMORY_LIMIT_BYTES * 0.9 < during[0] <= LAKE_MEMORY_LIMIT_BYTES < before


def test_rows_written_that_differ_from_those_fingerprinted_fail_the_sync_and_leave_nothing(paths, monkeypatch):
    """A partition fingerprinted first is written with the fingerprint of the rows written,
    which must be the one it was compared by: else the footer would lie, and every later
    sync rewrite it. A difference is a bug, and the sync fails before anything is published."""
    fingerprinted = lake.expected_partitions

    def off_by_one_row(con, dataset, only=None, memo=None):
        expected = fingerprinted(con, dataset, only, memo)
        if dataset.name == "rejects":
            [(key, fingerprint)] = expected.items()
            expected = {key: lake._fingerprint(lake.fingerprint_rows(fingerprint) + 1, 0)}
        return expected

    monkeypatch.setattr(lake, "expected_partitions", off_by_one_row)
    _assert_the_sync_fails_and_leaves_nothing(paths, "rejects")


def _assert_the_sync_fails_and_leaves_nothing(paths: DataPaths, dataset: str) -> None:
    before = _files(paths.lake)
    with duckdb.connect(str(paths.warehouse)) as con, pytest.raises(RuntimeError, match=f"lake dataset {dataset}: the rows written differ"):
        run_id = con.execute("select max(run_id) + 1 from ingest_runs").fetchall()[0][0]
        prepare_lake(con, paths.lake, run_id)
    assert _files(paths.lake) == before


def _files(root: Path) -> dict[Path, int]:
    return {path: path.stat().st_mtime_ns for path in root.rglob("*") if path.is_file()}


def test_a_run_that_wrote_no_data_trusts_the_lake_the_last_run_left(paths):
    assert "articles" not in _prepare(paths, BOOKKEEPING)
    assert "articles" in _prepare(paths, None)  # a run that read files compares everything


def test_a_run_that_read_files_compares_only_the_months_they_touch(paths):
    """The fixture's warehouse lost an article behind the lake's back: a run whose files
    touch other months leaves that month's partition alone (it never reads it); one whose
    files touch that month rewrites it. Unpartitioned datasets are compared whole."""
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        [lost] = con.execute(
            "select year(published_at), month(published_at) from captures "
            "where article_id not in (select article_id from best_captures)"
        ).fetchall()
    elsewhere = frozenset({(1999, 1)})
    assert "articles" not in _prepare(paths, None, elsewhere)
    assert "articles" in _prepare(paths, None, elsewhere | {lost})
    stray = paths.lake / "articles" / "year=1999" / "month=1" / "part-0.parquet"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"")  # the lake is no longer as the last run left it
    assert "articles" in _prepare(paths, None, elsewhere)


def test_a_lake_file_touched_since_the_last_run_is_compared_again(paths):
    touched = next((paths.lake / "articles").rglob("*.parquet"))
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 1))
    assert "articles" in _prepare(paths, BOOKKEEPING)


@pytest.mark.parametrize("mark", ["missing", "from another run", "from another release", "garbled"])
def test_without_the_last_runs_mark_every_dataset_is_compared(paths, mark):
    path = paths.lake / SYNC_MARK
    if mark == "missing":
        path.unlink()
    elif mark == "from another run":
        path.write_text(path.read_text().replace('"run_id": ', '"run_id": 1000'))
    elif mark == "from another release":
        path.write_text(path.read_text().replace('"sql": "', '"sql": "0'))
    else:
        path.write_text("{not json")
    assert "articles" in _prepare(paths, BOOKKEEPING)

KEYS = st.tuples(st.one_of(st.none(), st.integers(2012, 2014)), st.one_of(st.none(), st.integers(1, 3)))


def _stream(rows: list[tuple[int | None, int | None]], batch_rows: int) -> pa.RecordBatchReader:
    table = pa.table({
        "year": pa.array([year for year, _ in rows], pa.int64()),
        "month": pa.array([month for _, month in rows], pa.int64()),
        "row": pa.array(range(len(rows)), pa.int64()),
    })
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=batch_rows))


def _sorted(rows):
    return sorted(rows, key=lambda key: (key[0] is None, key[0] or 0, key[1] is None, key[1] or 0))


@given(st.lists(KEYS, max_size=60), st.integers(1, 7))
def test_every_row_lands_in_its_partition_once_whatever_the_batches(keys, batch_rows):
    rows = _sorted(keys)
    slices = list(_partitions(_stream(rows, batch_rows), ("year", "month")))
    runs = [key for key, _ in groupby(key for key, _ in slices)]
    assert runs == list(dict.fromkeys(rows))  # each partition's slices in one run, in order
    for key, batch in slices:
        assert set(zip(batch["year"].to_pylist(), batch["month"].to_pylist())) == {key}
    assert sorted(row for _, batch in slices for row in batch["row"].to_pylist()) == list(range(len(rows)))


def _written(con, dataset, keys, tmp_path) -> list[pq.ParquetFile]:
    """Every partition of the dataset written, in the order of `keys`; each file's footer
    holds the fingerprint the warehouse's rows have."""
    paths = {key: tmp_path / f"{number}.parquet" for number, key in enumerate(keys)}
    with ThreadPoolExecutor(2) as writers:
        written = _write_dataset(con, dataset, None, paths.__getitem__, writers, None)
    assert written == {key: (fingerprint, paths[key]) for key, fingerprint in expected_partitions(con, dataset).items()}
    for fingerprint, path in written.values():
        assert read_fingerprint(path) == fingerprint
    return [pq.ParquetFile(path) for path in paths.values()]


def test_an_unpartitioned_dataset_has_its_file_even_when_empty(tmp_path):
    from newswh.warehouse import apply_schema

    with duckdb.connect() as con:
        apply_schema(con)
        [written] = _written(con, next(d for d in DATASETS if d.name == "rejects"), [()], tmp_path)
        assert written.metadata.num_rows == 0
        assert written.schema_arrow.names == [name for (name,) in con.execute("select name from pragma_table_info('rejects')").fetchall()]
        assert written.metadata.metadata[FINGERPRINT_KEY] == b"v2:0:0"


def _pages_dataset(monkeypatch) -> Dataset:
    """A page-text dataset over a test table `pages`, partitioned by month of published_at."""
    monkeypatch.setattr(
        Dataset, "query", property(lambda self: "select year(published_at) as year, month(published_at) as month, * from pages")
    )
    return Dataset("pages", ("year", "month"), ("page",), page_text=True)


def test_months_of_large_pages_are_read_in_pieces_and_written_in_row_groups(tmp_path, monkeypatch):
    """Months of large pages are read a piece at a time and streamed to their files a row
    group at a time, never held whole; each file still holds its month's rows once, in order."""
    import newswh.lake

    monkeypatch.setattr(newswh.lake, "_ROW_GROUP_BYTES", 100_000)
    monkeypatch.setattr(newswh.lake, "_PIECE_BYTES", 1_000_000)
    dataset = _pages_dataset(monkeypatch)
    with duckdb.connect() as con:
        con.execute(
            "create table pages as select range as page, 'page-' || range as source_path, "
            "timestamp '2015-11-01' + to_hours(range * 10) as published_at, "
            "repeat(chr((65 + range % 26)::integer), 30_000) as text from range(200)"
        )
        con.execute("create table source_files as select source_path, 30_000 as size_bytes from pages")
        months = [(2015, 11), (2015, 12), (2016, 1)]
        assert len(newswh.lake._pieces(con, dataset)) > len(months)
        files = _written(con, dataset, months, tmp_path)
        assert all(written.metadata.num_row_groups > 1 for written in files)
        expected = newswh.lake.expected_partitions(con, dataset)
        for (year, month), written in zip(months, files):
            table = written.read()
            assert table.column_names == ["page", "source_path", "published_at", "text"]
            pages = [page for (page,) in con.execute(
                "select page from pages where year(published_at) = ? and month(published_at) = ? order by page", [year, month]
            ).fetchall()]
            assert table["page"].to_pylist() == pages
            assert table["text"].to_pylist() == [chr(65 + page % 26) * 30_000 for page in pages]
            [(count, checksum)] = con.execute(
                f"select count(*), {newswh.lake.ROW_CHECKSUM} from ({dataset.query}) as rows where year = ? and month = ?",
                [year, month],
            ).fetchall()
            assert expected[(year, month)] == newswh.lake._fingerprint(count, checksum)


def test_one_piece_spans_months_of_small_pages_and_writes_only_the_stale_ones(tmp_path, monkeypatch):
    """Small pages: one piece holds several months (a query per month scanned the whole
    dataset once per month). When only some months are stale, they share a piece too, and
    the piece's query must not hand the writer rows of the current months between them."""
    import newswh.lake

    dataset = _pages_dataset(monkeypatch)
    with duckdb.connect() as con:
        con.execute(
            "create table pages as select range as page, 'page-' || range as source_path, "
            "timestamp '2015-11-01' + to_hours(range * 10) as published_at, 'text ' || range as text from range(300)"
        )
        con.execute("create table source_files as select source_path, 2_000 as size_bytes from pages")
        months = [(2015, 11), (2015, 12), (2016, 1), (2016, 2), (2016, 3)]
        [piece] = newswh.lake._pieces(con, dataset)
        assert (piece.first, piece.last) == (months[0], months[-1])
        stale = {months[0]: tmp_path / "a.parquet", months[2]: tmp_path / "b.parquet"}
        # The stale months alone (as a small run picks them) are one piece too, not a query each.
        [piece] = newswh.lake._pieces(con, dataset, *newswh.lake._partitions_filter(dataset, frozenset(stale)))
        assert (piece.first, piece.last) == (months[0], months[2])
        with ThreadPoolExecutor(2) as writers:
            written = _write_dataset(con, dataset, frozenset(stale), stale.__getitem__, writers, None)
        assert written.keys() == stale.keys()
        for (year, month), path in stale.items():
            pages = [page for (page,) in con.execute(
                "select page from pages where year(published_at) = ? and month(published_at) = ? order by page", [year, month]
            ).fetchall()]
            assert pq.read_table(path)["page"].to_pylist() == pages


def test_page_text_fingerprints_by_one_scan_equal_those_by_pieces(monkeypatch):
    """Ordinary pages are checksummed in one scan, pages too wide for it a piece at a time:
    a lake file fingerprinted one way must be current the other way."""
    import newswh.lake

    monkeypatch.setattr(newswh.lake, "_PIECE_BYTES", 1_000_000)
    dataset = _pages_dataset(monkeypatch)
    with duckdb.connect(config={"threads": 2}) as con:
        con.execute(
            "create table pages as select range as page, 'page-' || range as source_path, "
            "timestamp '2015-11-01' + to_hours(range * 10) as published_at, "
            "repeat(chr((65 + range % 26)::integer), 30_000) as text from range(200)"
        )
        con.execute("create table source_files as select source_path, 30_000 as size_bytes from pages")
        con.execute("set memory_limit = '1GB'")  # 30 kB x 2048 rows x 2 threads x 4 fits
        assert newswh.lake._one_scan_fits(con, dataset)
        by_scan = newswh.lake.expected_partitions(con, dataset)
        con.execute("set memory_limit = '400MB'")
        assert not newswh.lake._one_scan_fits(con, dataset)
        assert len(newswh.lake._pieces(con, dataset)) > 3
        assert newswh.lake.expected_partitions(con, dataset) == by_scan
        assert set(by_scan) == {(2015, 11), (2015, 12), (2016, 1)}


def test_the_last_month_a_timestamp_has_and_undated_pages_are_read_in_pieces_too(tmp_path, monkeypatch):
    """A piece's month is a range of published_at; December 9999 has no next month, and
    undated pages have no month at all."""
    import newswh.lake

    dataset = _pages_dataset(monkeypatch)
    with duckdb.connect() as con:
        con.execute(
            "create table pages as select * from (values (1, 'a', timestamp '9999-12-31 23:00:00', 'last'), "
            "(2, 'b', null, 'undated'), (3, 'c', null, 'undated too')) as t(page, source_path, published_at, text)"
        )
        con.execute("create table source_files as select source_path, 1000 as size_bytes from pages")
        last, undated = _written(con, dataset, [(9999, 12), (None, None)], tmp_path)
        assert last.read()["text"].to_pylist() == ["last"]
        assert undated.read()["text"].to_pylist() == ["undated", "undated too"]
        assert set(newswh.lake.expected_partitions(con, dataset)) == {(9999, 12), (None, None)}


def test_each_check_and_lake_dataset_knows_every_table_it_reads():
    """tables_read decides what a run may skip, so it must miss no table a query names."""
    import re

    from newswh.lake import DATASETS
    from newswh.settings import SQL_DIR
    from newswh.warehouse import apply_schema, check_scope_file, run_sql_file, sql_files, tables_read

    with duckdb.connect() as con:
        apply_schema(con)
        run_sql_file(con, check_scope_file("whole"))
        tables = {name for (name,) in con.execute("select table_name from duckdb_tables()").fetchall()}
        # the views of sql/schema/ (articles) and those the checks read rows through
        # (checked_*), and the tables each reads, as DuckDB keeps its SQL
        behind = {
            view: {table for table in tables if re.search(rf"\b{table}\b", sql)}
            for view, sql in con.execute("select view_name, sql from duckdb_views() where not internal").fetchall()
        }
    assert behind["articles"] == {"captures", "best_captures"}
    queries = {path.stem: path.read_text() for path in sql_files(SQL_DIR / "checks")}
    queries |= {f"lake {dataset.name}": dataset.query for dataset in DATASETS}
    for name, query in queries.items():
        code = re.sub(r"--[^\n]*", "", query)
        named = {table for table in tables if re.search(rf"\b{table}\b", code)}
        named |= {table for view, read in behind.items() if re.search(rf"\b{view}\b", code) for table in read}
        assert named and tables_read(query) == named, name


def test_a_failure_in_the_lake_stage_is_not_hidden_by_restoring_the_memory_limit():
    """A writer that fails (a full disk) while the next dataset is being read leaves that
    read's result open; DuckDB then refuses to change the limit back, and that refusal
    used to replace the failure, which the run could then not name."""
    con = duckdb.connect(config={"memory_limit": f"{2 * LAKE_MEMORY_LIMIT_BYTES // 10**6}MB"})
    with pytest.raises(OSError, match="No space left on device"):
        with lake.memory_for_lake(con):
            reader = con.sql("select * from range(100000)").to_arrow_reader(1024)
            reader.read_next_batch()  # mid-stream
            raise OSError(28, "No space left on device")


_CAPTURE_COLUMNS = (
    "article_id source_path content_hash title published_at lead body caption attribution sign_off paragraph_count "
    "word_count related_status related_declared_bytes related_actual_bytes related_count source_encoding parser_version"
)
LAKE_COLUMNS = {
    "source_files": "source_path size_bytes mtime_ns content_hash outcome article_id reject_reason parser_version "
    "first_seen_run_id last_changed_run_id is_present missing_since_run_id",
    "articles": f"{_CAPTURE_COLUMNS} capture_count language site dateline",
    "related_items": "article_id position news_id sort_key",
    "news_items": "news_id title content_type_id pic_path media_kind pic_date pic_uploaded_at link_count first_linked_at last_linked_at",
    "rejects": "source_path content_hash size_bytes reason detail parser_version",
    "duplicate_captures": f"{_CAPTURE_COLUMNS} language site dateline",
    "capture_related": "source_path article_id position news_id sort_key content_type_id title pic_path media_kind pic_date pic_uploaded_at",
    "ingest_runs": "run_id flow_run_id source started_at finished_at parser_version files_seen files_new files_changed "
    "files_unchanged files_missing articles_written duplicates rejected is_conserved",
}
"""Each lake dataset's columns as the last release wrote them (partition columns aside)."""


def test_the_lake_keeps_the_last_releases_columns_so_its_lakes_still_rebuild(example_data):
    """`rebuild` (and an ingest whose warehouse is gone) restores the warehouse from a lake
    that an earlier release may have written, and checks each table against its lake file:
    a column added to a table the lake mirrors makes every such lake fail that check. So a
    new column needs a way for rebuild to take the old files first; then update this list."""
    lake_folder = DataPaths(example_data).lake
    for dataset in DATASETS:
        [first, *_] = sorted((lake_folder / dataset.folder).rglob("*.parquet"))
        columns = [name for name in pq.read_schema(first).names if name not in dataset.partition_by]
        assert columns == LAKE_COLUMNS[dataset.name].split(), dataset.name


def test_only_the_columns_whose_values_repeat_are_written_with_a_dictionary(example_data):
    """Dashboards group by the repeating columns (dictionary pages keep that fast); a
    dictionary of ids or text is built and dropped at a cost, so those are written plain.
    pyarrow ignores a name that is no column, so a renamed column would lose its dictionary
    without a word: every name must be one of the dataset's columns."""
    lake_folder = DataPaths(example_data).lake
    for dataset in DATASETS:
        [first, *_] = sorted((lake_folder / dataset.folder).rglob("*.parquet"))
        metadata = pq.read_metadata(first)
        assert set(dataset.repeating) <= set(metadata.schema.names), dataset.name
        for index in range(metadata.num_columns):
            chunk = metadata.row_group(0).column(index)
            with_dictionary = chunk.dictionary_page_offset is not None
            assert with_dictionary == (chunk.path_in_schema in dataset.repeating), (dataset.name, chunk.path_in_schema)


@given(
    rows=st.lists(st.tuples(st.none() | st.integers(0, 5), st.none() | st.integers(0, 5)), max_size=30),
    picked=st.sets(st.none() | st.integers(0, 5), max_size=7),
    pairs=st.sets(st.tuples(st.none() | st.integers(0, 5), st.none() | st.integers(0, 5)), max_size=7),
)
def test_a_keys_filter_keeps_exactly_the_rows_of_the_partitions_it_names(rows, picked, pairs):
    """One column's keys as an IN list (and `is null` for the null partition), several
    columns' as a chain of comparisons: either way exactly the named partitions' rows."""
    con = duckdb.connect()
    con.execute("create table t (a integer, b integer)")
    if rows:
        con.executemany("insert into t values (?, ?)", rows)

    where, params = lake._keys_filter(("a",), [(value,) for value in picked])
    assert sorted(con.execute(f"select a from t {where}", params).fetchall(), key=repr) == sorted(
        [(a,) for a, _ in rows if a in picked], key=repr
    )
    where, params = lake._keys_filter(("a", "b"), pairs)
    assert sorted(con.execute(f"select a, b from t {where}", params).fetchall(), key=repr) == sorted(
        [row for row in rows if row in pairs], key=repr
    )


MONTHS = st.none() | st.tuples(st.sampled_from([2000, 9999]), st.sampled_from([1, 2, 3, 11, 12]))


@given(
    stamps=st.lists(
        st.none()
        | st.sampled_from([datetime(2000, 2, 1), datetime(2000, 1, 31, 23, 59, 59, 999999), datetime(9999, 12, 1), datetime.max])
        | st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2000, 3, 2))
        | st.datetimes(min_value=datetime(9999, 11, 30)),
        max_size=20,
    ),
    months=st.sets(MONTHS.map(lambda key: (None, None) if key is None else key), max_size=5),
)
def test_a_months_filter_keeps_exactly_the_rows_published_in_those_months(stamps, months):
    """Page text is cut into pieces over ranges of published_at (which DuckDB applies in its
    scan), not year() and month(): the same rows, December 9999 and undated pages included."""
    con = duckdb.connect()
    con.execute("create table t (published_at timestamp)")
    if stamps:
        con.executemany("insert into t values (?)", [(stamp,) for stamp in stamps])
    where, params = lake._months_filter(frozenset(months), "published_at")

    kept = con.execute(f"select published_at from t {where}", params).fetchall()
    expected = [(stamp,) for stamp in stamps if ((stamp.year, stamp.month) if stamp else (None, None)) in months]
    assert sorted(kept, key=repr) == sorted(expected, key=repr)



def test_a_datasets_listing_holds_its_files_at_any_depth_and_nothing_else(tmp_path):
    """What the sync mark records and compares: every file (a link to one counts as it), with
    its size and mtime; not folders, dangling links, or what a linked folder holds."""
    folder = tmp_path / "articles"
    (folder / "year=2014" / "month=1").mkdir(parents=True)
    (folder / "year=2014" / "month=1" / "part-0.parquet").write_bytes(b"12345")
    (folder / ".part-0.parquet.run-3.tmp").write_bytes(b"1")
    (folder / "linked.parquet").symlink_to(folder / "year=2014" / "month=1" / "part-0.parquet")
    (folder / "dangling.parquet").symlink_to(tmp_path / "nowhere")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "hidden.parquet").write_bytes(b"x")
    (folder / "year=2015").symlink_to(tmp_path / "elsewhere")
    dataset = next(dataset for dataset in lake.DATASETS if dataset.name == "articles")

    listing = lake._listing(tmp_path, dataset)

    part = (folder / "year=2014" / "month=1" / "part-0.parquet").stat()
    assert listing == {
        ".part-0.parquet.run-3.tmp": [1, (folder / ".part-0.parquet.run-3.tmp").stat().st_mtime_ns],
        "linked.parquet": [5, part.st_mtime_ns],
        os.path.join("year=2014", "month=1", "part-0.parquet"): [5, part.st_mtime_ns],
    }
    assert lake._listing(tmp_path / "absent", dataset) == {}


def test_a_partition_whose_row_count_changed_is_rewritten_without_being_checksummed_first(paths, monkeypatch):
    """Rows are counted before they are hashed: the month that lost an article (the fixture)
    holds fewer rows than its lake file, so it is stale whatever its checksum, and only the
    other months are checksummed to find whether they are current. Rewritten, its footer
    holds the true fingerprint, summed from the rows written."""
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        [lost] = con.execute(
            "select year(published_at), month(published_at) from captures "
            "where article_id not in (select article_id from best_captures)"
        ).fetchall()
    checksummed: dict[str, list[frozenset[tuple[object, ...]] | None]] = {}
    fingerprinted = lake.expected_partitions

    def spied(con, dataset, only=None, memo=None):
        checksummed.setdefault(dataset.name, []).append(only)
        return fingerprinted(con, dataset, only, memo)

    monkeypatch.setattr(lake, "expected_partitions", spied)
    with duckdb.connect(str(paths.warehouse)) as con:
        run_id = con.execute("select max(run_id) + 1 from ingest_runs").fetchall()[0][0]
        changes = prepare_lake(con, paths.lake, run_id)
    [only] = checksummed["articles"]
    assert only and tuple(lost) not in only  # the other months, checksummed to find whether they are current
    staged = {path.relative_to(paths.lake) for _, path in changes.staged}
    assert Path("articles", f"year={lost[0]}", f"month={lost[1]}", "part-0.parquet") in staged
    changes.publish()
    articles = next(dataset for dataset in DATASETS if dataset.name == "articles")
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        for key, fingerprint in fingerprinted(con, articles).items():
            assert read_fingerprint(lake.partition_folder(paths.lake, articles, key) / lake.PART_FILE) == fingerprint, key


def test_rows_written_that_differ_from_those_counted_fail_the_sync(paths, monkeypatch):
    """A partition found stale by its row count is written with the rows counted, or the sync fails."""
    counted = lake._expected_or_counted

    def one_row_more(con, root, dataset, only=None, memo=None):
        expected = counted(con, root, dataset, only, memo)
        if dataset.name == "articles":
            expected = {
                key: lake._fingerprint(lake.fingerprint_rows(value) + 1, lake.UNSUMMED) if value.endswith(lake.UNSUMMED) else value
                for key, value in expected.items()
            }
        return expected

    monkeypatch.setattr(lake, "_expected_or_counted", one_row_more)
    _assert_the_sync_fails_and_leaves_nothing(paths, "articles")


@pytest.mark.parametrize("footer", [b"v2:x", b"v2", b"v2::", b"not ours", "v2:\u0663:0".encode()])
def test_a_lake_file_whose_footer_is_not_our_fingerprint_is_stale_not_a_failure(paths, footer):
    """Counting first reads the row count out of each footer: metadata someone else wrote
    under our key makes the file stale, to be rewritten, and never fails the sync."""
    damaged = {next((paths.lake / name).rglob(lake.PART_FILE)) for name in ("articles", "related_items")}
    for path in damaged:
        pq.write_table(pq.read_table(path).replace_schema_metadata({FINGERPRINT_KEY: footer}), path)
    with duckdb.connect(str(paths.warehouse)) as con:
        run_id = con.execute("select max(run_id) + 1 from ingest_runs").fetchall()[0][0]
        changes = prepare_lake(con, paths.lake, run_id)
    changes.discard()
    assert damaged <= {path for _, path in changes.staged}


def test_every_file_a_sync_writes_is_on_disk_before_it_can_be_published(paths, monkeypatch):
    """The files are written on writer threads while the next are read; prepare_lake still
    returns only once each is flushed to disk, as publish renames them into place and a
    crash after that must find them whole. (The slow flush makes a missing wait show.)"""
    shutil.rmtree(paths.lake / "related_items")
    flushed: set[Path] = set()
    flush = lake.fsync_path

    def slow_flush(path: Path) -> None:
        time.sleep(0.05)
        flush(path)
        flushed.add(path)

    monkeypatch.setattr(lake, "fsync_path", slow_flush)
    with duckdb.connect(str(paths.warehouse)) as con:
        run_id = con.execute("select max(run_id) + 1 from ingest_runs").fetchall()[0][0]
        changes = prepare_lake(con, paths.lake, run_id)
    staged = {temporary for temporary, _ in changes.staged}
    assert any("related_items" in path.parts for _, path in changes.staged)  # written whole: its folder was gone
    assert staged <= flushed, sorted(staged - flushed)
    changes.discard()


def test_a_file_that_cannot_be_flushed_fails_the_sync_and_leaves_nothing(paths, monkeypatch):
    """A disk that fails an fsync (EIO) fails the run's lake stage, with no file left behind."""
    shutil.rmtree(paths.lake / "related_items")
    before = _files(paths.lake)
    flush = lake.fsync_path

    def failing_flush(path: Path) -> None:
        if "related_items" in path.parts:
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(path))
        flush(path)

    monkeypatch.setattr(lake, "fsync_path", failing_flush)
    with duckdb.connect(str(paths.warehouse)) as con, pytest.raises(OSError) as failure:
        run_id = con.execute("select max(run_id) + 1 from ingest_runs").fetchall()[0][0]
        prepare_lake(con, paths.lake, run_id)
    assert failure.value.errno == errno.EIO
    assert _files(paths.lake) == before


@pytest.mark.parametrize("limit", ["99999TB", "5000000TB", "384MB"])
def test_any_memory_limit_duckdb_takes_is_read_back(limit):
    """NEWSWH_DUCKDB_MEMORY_LIMIT=99999TB: DuckDB shows it as '88.8 PiB', which failed the
    run with "ValueError: not a size" after Prefect had started."""
    from newswh.warehouse import limit_bytes

    con = duckdb.connect(config={"memory_limit": limit})
    shown = con.execute("select current_setting('memory_limit')").fetchall()[0][0]
    given = float(limit[:-2]) * {"TB": 10**12, "MB": 10**6}[limit[-2:]]
    assert abs(limit_bytes(con) - given) <= given * 0.001, shown
