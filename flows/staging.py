"""Parse a batch of files into staging Parquet files: the work each parse worker does.

Runs in worker processes, so it imports no Prefect and returns only small summaries:
the records travel by Parquet, not by pickling. The staging schemas mirror the DuckDB
tables in `sql/schema/` column for column (a test holds them to it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from flows.records import ParseResult
from flows.sources import SourceFile, read_and_parse

STAGE_FILES = pa.schema(
    [
        ("source_path", pa.string()),
        ("size_bytes", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("content_hash", pa.string()),
        ("outcome", pa.string()),
        ("article_id", pa.string()),
        ("reject_reason", pa.string()),
    ]
)
STAGE_CAPTURES = pa.schema(
    [
        ("article_id", pa.string()),
        ("source_path", pa.string()),
        ("content_hash", pa.string()),
        ("title", pa.string()),
        ("published_at", pa.timestamp("us")),
        ("lead", pa.string()),
        ("body", pa.string()),
        ("caption", pa.string()),
        ("attribution", pa.string()),
        ("sign_off", pa.string()),
        ("paragraph_count", pa.int32()),
        ("word_count", pa.int32()),
        ("related_status", pa.string()),
        ("related_declared_bytes", pa.int32()),
        ("related_actual_bytes", pa.int32()),
        ("related_count", pa.int32()),
        ("source_encoding", pa.string()),
        ("parser_version", pa.string()),
    ]
)
STAGE_RELATED = pa.schema(
    [
        ("source_path", pa.string()),
        ("article_id", pa.string()),
        ("position", pa.int32()),
        ("news_id", pa.int64()),
        ("sort_key", pa.int64()),
        ("content_type_id", pa.int64()),
        ("title", pa.string()),
        ("pic_path", pa.string()),
        ("media_kind", pa.string()),
        ("pic_date", pa.date32()),
        ("pic_uploaded_at", pa.timestamp("us")),
    ]
)
STAGE_REJECTS = pa.schema(
    [
        ("source_path", pa.string()),
        ("content_hash", pa.string()),
        ("size_bytes", pa.int64()),
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("parser_version", pa.string()),
    ]
)
STAGE_SCHEMAS = {
    "stage_files": STAGE_FILES,
    "stage_captures": STAGE_CAPTURES,
    "stage_related": STAGE_RELATED,
    "stage_rejects": STAGE_REJECTS,
}


@dataclass(frozen=True, slots=True)
class PlannedFile:
    """A file the plan says must be read, with the hash the manifest had for it."""

    source_path: str
    size_bytes: int
    mtime_ns: int
    outside_link: bool
    previous_hash: str | None


@dataclass(frozen=True, slots=True)
class BatchSummary:
    number: int
    files: int
    articles: int
    rejected: int
    touched: int


def stage_batch(number: int, batch: list[PlannedFile], staging: str, max_bytes: int) -> BatchSummary:
    """Read and parse `batch`, writing `<staging>/<table>/batch-<number>.parquet` per table.

    A file whose bytes hash to what the manifest already holds is `touched` (its mtime
    moved, its content did not) and produces no records, so no row changes.
    """
    rows: dict[str, list[dict[str, object]]] = {name: [] for name in STAGE_SCHEMAS}
    articles = rejected = touched = 0
    for planned in batch:
        source = SourceFile(planned.source_path, planned.size_bytes, planned.mtime_ns, planned.outside_link)
        result = read_and_parse(source, max_bytes)
        content_hash = _content_hash(result)
        if content_hash is not None and content_hash == planned.previous_hash:
            outcome = "touched"
            touched += 1
        elif result.article is not None:
            outcome = "article"
            articles += 1
            rows["stage_captures"].append(_capture_row(result))
            rows["stage_related"].extend(_related_rows(result))
        else:
            outcome = "rejected"
            rejected += 1
            rows["stage_rejects"].append(_reject_row(result))
        rows["stage_files"].append(
            {
                "source_path": planned.source_path,
                "size_bytes": planned.size_bytes,
                "mtime_ns": planned.mtime_ns,
                "content_hash": content_hash,
                "outcome": outcome,
                "article_id": result.article.article_id if result.article else None,
                "reject_reason": result.reject.reason if result.reject else None,
            }
        )
    for name, schema in STAGE_SCHEMAS.items():
        folder = Path(staging) / name
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(rows[name], schema=schema)
        pq.write_table(table, folder / f"batch-{number:06d}.parquet", compression="lz4")
    return BatchSummary(number, len(batch), articles, rejected, touched)


def _content_hash(result: ParseResult) -> str | None:
    if result.article is not None:
        return result.article.content_hash
    return result.reject.content_hash if result.reject else None


def _capture_row(result: ParseResult) -> dict[str, object]:
    article = result.article
    assert article is not None
    return {
        "article_id": article.article_id,
        "source_path": article.source_path,
        "content_hash": article.content_hash,
        "title": article.title,
        "published_at": article.published_at,
        "lead": article.lead,
        "body": article.body,
        "caption": article.caption,
        "attribution": article.attribution,
        "sign_off": article.sign_off,
        "paragraph_count": article.paragraph_count,
        "word_count": article.word_count,
        "related_status": article.related_status,
        "related_declared_bytes": article.related_declared_bytes,
        "related_actual_bytes": article.related_actual_bytes,
        "related_count": len(result.related_items),
        "source_encoding": article.source_encoding,
        "parser_version": article.parser_version,
    }


def _related_rows(result: ParseResult) -> list[dict[str, object]]:
    return [
        {
            "source_path": result.source_path,
            "article_id": item.article_id,
            "position": item.position,
            "news_id": item.news_id,
            "sort_key": item.sort_key,
            "content_type_id": item.content_type_id,
            "title": item.title,
            "pic_path": item.pic_path,
            "media_kind": item.media_kind,
            "pic_date": item.pic_date,
            "pic_uploaded_at": item.pic_uploaded_at,
        }
        for item in result.related_items
    ]


def _reject_row(result: ParseResult) -> dict[str, object]:
    reject = result.reject
    assert reject is not None
    return {
        "source_path": reject.source_path,
        "content_hash": reject.content_hash,
        "size_bytes": reject.size_bytes,
        "reason": reject.reason,
        "detail": reject.detail,
        "parser_version": reject.parser_version,
    }
