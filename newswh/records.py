"""The records the parser emits. Their field names are the warehouse's column contract."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Literal

PARSER_VERSION = "1.3.0"
"""Bump when the parser's output for some input changes, so ingests know to re-parse.
1.1.0: Category lines, datelines, two-paragraph captions, early pic names, cut trailers,
attribution typos; new article fields language, site and dateline.
1.1.1: a complete related list whose objects are not all in the site's usual layout (JSON
with spaces after the colons, keys in another order) yields every object, where 1.1.0 read
only the usual ones (none, when none was); a title JSON-escaped as a surrogate pair (an
emoji) is its character, where 1.1.0 kept two halves no UTF-8 holds and failed the run.
1.2.0: what an adversarial pass over FORMAT.md found. Pages: a headline that starts with `[`
(`[VIDEO] …`) is not JSON; a second headline copy that differs is not the lead; a short
Arabic page in windows-1256 is Arabic, not windows-1252 English; a UTF-16 page cut mid-
character and a page padded with NUL bytes keep their text; a stray windows quote in UTF-8
is that quote; an entity for a line break does not split its line; more attribution and
sign-off forms. Trailers: a list cut right after `} ,` keeps the object before it; a closed
list is never `truncated` (`[ ]` is empty, `["a"]` malformed); a line of many `string(`
is read in linear time (it took minutes near the size cap).
1.2.1: a `Category:` line of its own is chrome whatever it names (`Category: U.S.` stayed in
the body); a UTF-8 page whose related list (or a paragraph) is in windows-1252 keeps its
UTF-8 characters, where it was read as windows-1252 throughout when its stray quotes
outnumbered them.
1.3.0: a crawl's damage that rejected readable pages. NUL bytes inside a page are dropped
(it was rejected as binary); a UTF-16 page without its byte-order mark is UTF-16 (binary);
a windows-1252 page with a few bytes that code page leaves undefined is `cp1252-repaired`
(undecodable); a stray letter in UTF-8 text that windows-1252 and windows-1256 read alike
(`é`) is that letter, where it was U+FFFD. Also: an outlet credited mid-paragraph (`…,
al-Alam reports, adding …`) or `reported Friday` is the attribution; a picture's ticks in a
folder no calendar has (`2015/02/30`) are not trusted; of two `Category:` lines, the first is
chrome too (it was the body's last paragraph); a date line repeated is not the lead, and a
third headline copy does not leave the article undated."""

SITE = "en.alalam.ir"
"""The one site whose pages become articles; pages of its sister sites are rejected."""
LANGUAGE = "en"
"""ISO 639-1 code of every article: Arabic and Persian pages are rejected as foreign_language."""

RelatedStatus = Literal["ok", "empty", "absent", "truncated", "malformed"]
MediaKind = Literal["image", "video", "other"]

REJECT_REASONS: dict[str, str] = {
    "empty": "the file has no bytes, or only white space",
    "too_large": "the file is larger than the configured size cap",
    "binary": "the file holds binary data, not text",
    "undecodable": "no text encoding yields readable text",
    "unreadable": "the file could not be read (permissions, vanished, I/O error)",
    "not_article": "the text does not have the layout of a news page",
    "foreign_language": "the page is in Arabic or Persian, from a sister site",
    "no_title": "no usable headline line at the top of the page",
    "no_body": "a headline but no body paragraph",
    "shrunk": "the file holds less of its story than the capture archived from it, which is kept",
    "other_story": "the file holds another story than the one archived from it, which is kept",
}
"""Every reject reason, with what it means; the one place that lists them. The parser gives
the first nine; the load the last two, comparing a changed file with its archived capture
(sql/load/10_affected.sql)."""


@dataclass(slots=True)
class Article:
    article_id: str
    source_path: str
    content_hash: str
    title: str
    published_at: datetime | None
    lead: str
    body: str
    caption: str | None
    attribution: str | None
    sign_off: str | None
    paragraph_count: int
    word_count: int
    related_status: RelatedStatus
    related_declared_bytes: int | None
    related_actual_bytes: int | None
    source_encoding: str
    parser_version: str = PARSER_VERSION
    language: str = LANGUAGE
    site: str = SITE
    dateline: str | None = None


@dataclass(slots=True)
class RelatedItem:
    article_id: str
    position: int
    news_id: int
    sort_key: int | None
    content_type_id: int | None
    title: str
    pic_path: str | None
    media_kind: MediaKind
    pic_date: date | None
    pic_uploaded_at: datetime | None


RelatedValues = tuple[int, "int | None", "int | None", str, "str | None", MediaKind, "date | None", "datetime | None"]
"""A related item's typed values, from news_id to pic_uploaded_at, in RelatedItem order."""


@dataclass(slots=True)
class Reject:
    source_path: str
    content_hash: str | None  # None when the bytes were never read (unreadable, too large)
    size_bytes: int
    reason: str
    detail: str
    parser_version: str = PARSER_VERSION


@dataclass(slots=True)
class ParseResult:
    """Exactly one of `article` or `reject` is set: that is how nothing gets lost."""

    source_path: str
    article: Article | None = None
    reject: Reject | None = None
    related_positions: list[int] = field(default_factory=list)
    related_values: list[RelatedValues] = field(default_factory=list)
    """The article's related items as their positions and their values, not as a
    RelatedItem each: a parse worker stages them column by column (newswh.staging), and
    an object per item, built and taken apart again, cost about a tenth of its time. Their
    values are shared, too: the parser memoizes them (newswh.trailer)."""

    @property
    def status(self) -> Literal["article", "rejected"]:
        return "article" if self.article is not None else "rejected"

    @property
    def related_items(self) -> list[RelatedItem]:
        """The related items, in page order, each as a record."""
        if self.article is None:
            return []
        article_id = self.article.article_id
        return [RelatedItem(article_id, position, *values) for position, values in zip(self.related_positions, self.related_values)]

    def to_json_dict(self) -> dict[str, Any]:
        """The shape `newswh parse` prints: plain JSON types, ISO 8601 timestamps."""
        return {
            "source_path": self.source_path,
            "status": self.status,
            "reject_reason": self.reject.reason if self.reject else None,
            "reject_detail": self.reject.detail if self.reject else None,
            "article": _jsonable(asdict(self.article)) if self.article else None,
            "related_items": [_jsonable(asdict(item)) for item in self.related_items],
        }


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, (date, datetime)) else value
        for key, value in record.items()
    }
