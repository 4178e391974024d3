"""Recover the related-stories list from the PHP `var_dump` trailer at the end of a page.

The dump does not escape inner quotes and the crawl may cut it anywhere. Three readers,
fastest first: the standard object layout (newswh/_standard_list.pyx where the install
compiled it, else a regex), `json.loads` for valid JSON in another layout, and a tolerant
scanner that keeps every complete object before the damage.
"""

from __future__ import annotations

import html
import importlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache

from newswh.records import MediaKind, RelatedStatus, RelatedValues

TRAILER_HEADER = re.compile(r"string\((\d*)\)?[ \t]*\"?")
TRAILER_ANYWHERE = re.compile(r"string\((?:\d+\) \"\[|\d*\)?(?:[ \t]*\")?\s*\Z)")
"""A trailer inside a line (after `Category:`, say): its list's start, or its header cut by the
crawl. The spaces before the quote sit in their own group so no two runs of white space can
trade characters: that would be quadratic in a long run of blanks."""
_LEADING_BLANKS = re.compile(r"[ \t]*")
_OBJECT_LAYOUT = r'\{"id":"%s","sort":"%s","contenttypeid":"%s","pic":"%s","title":"%s"\}'
_VALUE = r'([^"]*+)'
_TITLE = r'((?:[^"]*+")*?[^"]*+)'
"""The site's usual object layout. The title may hold unescaped quotes, even `"}`: it is the
shortest text up to a `"}` that the next object or the list's end follows. It is matched a
run of non-quotes at a time (possessive, so never given back), not character by character
as a lazy `(.*?)` would: the same matches at half the cost, in the parser's hottest regex."""
_STANDARD_OBJECT = re.compile(
    _OBJECT_LAYOUT % (*(_VALUE.replace("(", "(?:", 1),) * 4, _TITLE.replace("(", "(?:", 1)) + r'(?=\s*(?:,\s*\{"id"|\]$))'
)
"""One object of the usual layout, as its whole text: the memo's key (`_values_of_object`)."""
_STANDARD_FIELDS = re.compile(_OBJECT_LAYOUT % (*(_VALUE,) * 4, _TITLE))
"""The same object's five values. Matched against an object's text alone, whose end is the
`"}` the list went on after, it finds the same title: the shortest that ends the text."""
_OBJECT_SEPARATOR = re.compile(r"\}\s*,\s*\{")
_LIST_END = re.compile(r"\}\s*\]$")
_KEY = re.compile(r"\"(id|sort|contenttypeid|pic|title)\"\s*:\s*\"")
_JSON_ESCAPE = re.compile(r"\\(u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|[\"\\/bfnrt])")
"""A JSON escape; a surrogate pair's two escapes (`\\ud83d\\ude00`, how JSON writes a
character beyond the Basic Multilingual Plane) as one."""
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
"""Half of a surrogate pair: a JSON escape (`\\ud83d` alone) or json.loads can leave one in a
string, and no UTF-8 can hold it, so the run's Arrow and Parquet could not either."""
_PIC_STANDARD = re.compile(r"/((?:19|20)\d\d)/(\d\d)/(\d\d)/alalam_(\d{18})[_.][^/]*$")
_PIC_FOLDER = re.compile(r"/((?:19|20)\d\d)/(\d\d)/(\d\d)/")
_PIC_EARLY = re.compile(r"/((?:19|20)\d\d)/(\d\d)/(\d\d)/alalam-(\d{18})\.[^/]*$")
_PIC_TICKS = re.compile(r"_(\d{18})(?=[_.])")
_IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "gif", "webp", "bmp"})
_VIDEO_EXTENSIONS = frozenset({"mp4", "flv", "webm", "mov", "avi", "m4v", "wmv", "3gp"})
_TICKS_EPOCH = datetime(1, 1, 1)
_TICKS_MAX_DAYS_FROM_FOLDER = 2
_EARLY_TICKS_MAX_DAYS_FROM_FOLDER = 0
_PLAUSIBLE_YEARS = range(2000, 2031)
_PLAUSIBLE_DAY_NUMBERS = range(date(_PLAUSIBLE_YEARS[0], 1, 1).toordinal(), date(_PLAUSIBLE_YEARS[-1], 12, 31).toordinal() + 1)
"""Proleptic Gregorian day numbers (date.toordinal) of the plausible years."""
_DAY_MICROSECONDS = 86_400_000_000
_TICKS_EPOCH_ORDINAL = _TICKS_EPOCH.toordinal()
_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_MEMO_SIZE = 1 << 12
"""Entries per memo: as many hits as 65,536 over a 40,000-page corpus (181,231 of 316,453),
and a worker holds 4,096 entries' values, not the 52 MB that 65,536 came to."""
SPLITTING_CONTROLS = "\t\r\x0b\x0c\x1c\x1d\x1e\x1f"
"""The ASCII characters besides space and newline that str.split() splits on: text with
none of them, no newline and single spaces only has nothing to fold."""
_MAX_DECLARED_DIGITS = 9  # a declared length beyond 999,999,999 bytes is damage, not a length


@dataclass(slots=True)
class Trailer:
    status: RelatedStatus
    declared_bytes: int | None = None
    actual_bytes: int | None = None
    positions: list[int] = field(default_factory=list)
    """Each item's place in the list; a damaged list's unreadable objects leave gaps."""
    values: list[RelatedValues] = field(default_factory=list)
    """Each item's typed values, one tuple per position (see ParseResult.related_values)."""


def find_trailer_start(text: str) -> int:
    """Offset where the trailer begins, or -1. It normally starts a line; rarely it does not.

    A line's only place for one is after its leading blanks, so each line with a `string(`
    is looked at once: trying every `string(` of a line against the text before it took
    time quadratic in the line's length (28 s for a 1 MB line of them)."""
    index = text.rfind("string(")
    while index != -1:
        line_start = text.rfind("\n", 0, index) + 1
        first = _LEADING_BLANKS.match(text, line_start).end()  # type: ignore[union-attr]
        if text.startswith("string(", first):
            return first
        index = text.rfind("string(", 0, line_start)
    last = None
    for last in TRAILER_ANYWHERE.finditer(text):
        pass
    return last.start() if last else -1


def parse_trailer(raw: str) -> Trailer:
    """Items and status of a trailer text starting at `string(`; never raises."""
    header = TRAILER_HEADER.match(raw)
    digits = header.group(1) if header else ""
    declared = int(digits) if digits and len(digits) <= _MAX_DECLARED_DIGITS else None
    quote = raw.find('"')
    if quote == -1:
        return Trailer("truncated", declared, 0)
    payload = raw[quote + 1 :].rstrip()
    closed = payload.endswith('"')
    if closed:
        payload = payload[:-1]
    actual = len(payload) if payload.isascii() else len(payload.encode("utf-8", errors="surrogatepass"))
    body = payload.strip()
    if closed and (not body or (body.startswith("[") and body[1:].strip() == "]")):  # `[]`, `[ ]`, or `""`
        return Trailer("empty", declared, actual)
    if not body.startswith("["):
        return Trailer("truncated" if not body else "malformed", declared, actual)
    complete_list = closed and _LIST_END.search(body) is not None
    if closed and not complete_list and body.endswith("]"):  # closed, but not a list of objects: `["a"]`, `[{…},]`
        scanned_positions, scanned_values, _ = _scan_objects(body)
        return Trailer("malformed", declared, actual, scanned_positions, scanned_values)
    if complete_list:
        values = _read_standard(body)
        if values is None:
            values = _read_json(body)
        if values is not None:
            return Trailer("ok", declared, actual, list(range(len(values))), values)
    positions, values, clean = _scan_objects(body)
    status: RelatedStatus = "ok" if complete_list and clean else ("malformed" if complete_list else "truncated")
    return Trailer(status, declared, actual, positions, values)


def _read_standard(body: str) -> list[RelatedValues] | None:
    """Every item's values if every object has the site's usual layout and valid values, else None.

    The hot loop of the parser (most pages list a dozen items). Where the install compiled
    newswh/_standard_list.pyx, it reads the list, in half the time; it answers
    only when it is sure, as this module's reader would, and leaves every other list to it."""
    if _READ_STANDARD_COMPILED is not None:
        compiled = _READ_STANDARD_COMPILED(body)
        if compiled is not None:
            return compiled
    return read_standard_here(body)


def read_standard_here(body: str) -> list[RelatedValues] | None:
    """_read_standard in Python: an object's values are read only when the memo has not
    seen its text.

    Every object of the list must be one the layout found: the search skips whatever does
    not match it, so an object written otherwise (`{"id": "5", …}`, valid JSON with a space
    after its colons, or with its keys in another order) would be lost, not read, and one
    that follows a title could be swallowed into that title. Each object opens with `{`, and
    one the layout found holds no other `{` unless its title does: so as many `{` as
    objects found means none was skipped or swallowed; anything else (a title with a `{`
    in it, rarely) goes to the JSON reader or the object scanner, which read every object."""
    found = _STANDARD_OBJECT.findall(body)
    if len(found) != body.count("{"):
        return None
    items = []
    for text in found:
        values = _values_of_object(text)
        if values is None:
            return None
        items.append(values)
    return items


@lru_cache(maxsize=_MEMO_SIZE)
def _values_of_object(text: str) -> RelatedValues | None:
    """Memoized on the object's whole text, one string to hash and compare: a site's related
    lists keep pointing at the same few hundred recent stories, and five values cut out of
    each object, to be hashed as the key, cost more than reading the values of a new one.
    Escapes are rare, so they are looked for inline rather than by a call per value."""
    fields = _STANDARD_FIELDS.fullmatch(text)
    if fields is None:  # the same layout matched it in its list
        return None
    news_id, sort, content_type, pic, title = fields.groups()
    if "\\" in pic:
        pic = _unescape_json(pic)
    if "\\" in title:
        title = _unescape_json(title)
    return _typed_values(news_id, sort, content_type, pic, title)


def _read_json(body: str) -> list[RelatedValues] | None:
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(decoded, list):
        return None
    items = []
    for entry in decoded:
        values = _values_from_entry(entry) if isinstance(entry, dict) else None
        if values is None:
            return None
        items.append(values)
    return items


def _scan_objects(body: str) -> tuple[list[int], list[RelatedValues], bool]:
    """Every well-formed object of a damaged list, with its position; `clean` is False if any was bad."""
    inner = body[1:]
    if inner.endswith("]"):
        inner = inner[:-1]
    chunks = _OBJECT_SEPARATOR.split(inner.strip())
    positions: list[int] = []
    items: list[RelatedValues] = []
    clean = True
    for position, chunk in enumerate(chunks):
        chunk = chunk.strip()
        if position == 0:
            if not chunk.startswith("{"):
                clean = False
                continue
            chunk = chunk[1:]
        if position == len(chunks) - 1:
            chunk = chunk.removesuffix(",").rstrip()  # cut right after an object's separator: the object is whole
            if not chunk.endswith("}"):
                break  # cut off by the crawl: not an item, and not damage of the list
            chunk = chunk[:-1]
        values = _values_from_entry(_scan_fields(chunk))
        if values is None:
            clean = False
        else:
            positions.append(position)
            items.append(values)
    return positions, items, clean


def _scan_fields(chunk: str) -> dict[str, str]:
    """Split `"k":"v","k2":"v2"` on the known keys, so quotes inside values survive."""
    keys = list(_KEY.finditer(chunk))
    fields: dict[str, str] = {}
    for index, key in enumerate(keys):
        end = keys[index + 1].start() if index + 1 < len(keys) else len(chunk)
        value = chunk[key.end() : end].rstrip()
        if index + 1 < len(keys):
            value = value.removesuffix(",").rstrip()
        if not value.endswith('"'):
            return {}
        fields[key.group(1)] = _unescape_json(value[:-1])
    return fields


def _unescape_json(value: str) -> str:
    if "\\" not in value:
        return value
    return _JSON_ESCAPE.sub(_replace_escape, value)


def _replace_escape(match: re.Match[str]) -> str:
    code = match.group(1)
    if code[0] == "u":
        if len(code) == 5:
            return chr(int(code[1:], 16))
        high, low = int(code[1:5], 16), int(code[7:], 16)
        return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    return _SIMPLE_ESCAPES[code]


def _whole_characters(text: str) -> str:
    """`text` with each lone half of a surrogate pair replaced by U+FFFD, as a UTF-8 decoder
    replaces a broken sequence: the title stays, and so does the run."""
    if text.isascii():
        return text
    return _LONE_SURROGATE.sub("\ufffd", text)


def _values_from_entry(entry: Mapping[str, object]) -> RelatedValues | None:
    values = tuple(entry.get(key) for key in ("id", "sort", "contenttypeid", "pic", "title"))
    if all(value.__class__ is str for value in values):
        return _values_from_strings(*values)  # type: ignore[arg-type]
    return _typed_values(*values)


@lru_cache(maxsize=_MEMO_SIZE)
def _values_from_strings(news_id: str, sort: str, content_type: str, pic: str, title: str) -> RelatedValues | None:
    """Memoized: a site's related lists keep pointing at the same few hundred recent stories."""
    return _typed_values(news_id, sort, content_type, pic, title)


def _typed_values(news_id: object, sort: object, content_type: object, pic: object, title: object) -> RelatedValues | None:
    parsed_id = _to_int(news_id)
    if parsed_id is None or not isinstance(title, str):
        return None
    pic_path = _pic_value(pic) if isinstance(pic, str) else None
    pic_date, uploaded_at = pic_times(pic_path) if pic_path else (None, None)
    return (
        parsed_id,
        _to_int(sort),
        _to_int(content_type),
        _title_value(title),
        pic_path,
        media_kind(pic_path),
        pic_date,
        uploaded_at,
    )


def _pic_value(pic: str) -> str | None:
    return _whole_characters(pic).strip() or None


def _title_value(title: str) -> str:
    return clean_title(_whole_characters(title))


def _to_int(value: object) -> int | None:
    if isinstance(value, str):
        value = value.strip()
        if value.isdigit() and value.isascii() and len(value) <= 18:
            return int(value)
    elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**18:
        return value
    return None


def clean_title(title: str) -> str:
    """Entities decoded, white space folded: what a person would type to search for it.
    Most titles have nothing to fold, and are kept as they are rather than split and joined."""
    if "&" in title:
        title = html.unescape(title)
    if title.isascii() and title.strip() == title and "  " not in title and "\n" not in title:
        if not any(control in title for control in SPLITTING_CONTROLS):
            return title
    return " ".join(title.split())


def media_kind(pic_path: str | None) -> MediaKind:
    if not pic_path:
        return "other"
    extension = pic_path.rpartition(".")[2].lower()
    if extension in _IMAGE_EXTENSIONS:
        return "image"
    if extension in _VIDEO_EXTENSIONS:
        return "video"
    return "other"


def pic_times(pic_path: str) -> tuple[date | None, datetime | None]:
    """Upload date from the path's folder and exact upload time from its .NET ticks.

    The ticks count 100 ns since 0001-01-01; we keep whole microseconds (truncating),
    which is what Parquet and DuckDB timestamps hold. The time is trusted only when it
    lands in a plausible year and, where the path has a date folder, within two days
    of it (a folder's impossible date, 2015/02/30, agrees with none); otherwise it stays
    null rather than a guess. Early names (`alalam-<ticks>.jpg`)
    are trusted only on their folder's very date (FORMAT.md: a decoded date that
    disagrees with the folder is not trusted).
    """
    tolerance_days = _TICKS_MAX_DAYS_FROM_FOLDER
    standard = _PIC_STANDARD.search(pic_path) or _PIC_EARLY.search(pic_path)
    if standard:
        year, month, day, ticks = standard.groups()
        if standard.re is _PIC_EARLY:
            tolerance_days = _EARLY_TICKS_MAX_DAYS_FROM_FOLDER
    else:
        folder = _PIC_FOLDER.search(pic_path)
        year, month, day = folder.groups() if folder else (None, None, None)
        found = _PIC_TICKS.search(pic_path, pic_path.rfind("/") + 1)
        ticks = found[1] if found else None
    folder_date = _folder_date(year, month, day) if year else None
    if not ticks or (year and folder_date is None):  # a folder no calendar has (02/30): no date to agree with
        return folder_date, None
    # Checked on day numbers first: most items pass, and building a datetime to compare
    # dates cost more than the rest of this function.
    microseconds = int(ticks) // 10
    day_number = microseconds // _DAY_MICROSECONDS + _TICKS_EPOCH_ORDINAL
    if day_number not in _PLAUSIBLE_DAY_NUMBERS:
        return folder_date, None
    if folder_date and abs(day_number - folder_date.toordinal()) > tolerance_days:
        return folder_date, None
    return folder_date, _TICKS_EPOCH + timedelta(microseconds=microseconds)


@lru_cache(maxsize=_MEMO_SIZE)
def _folder_date(year: str, month: str, day: str) -> date | None:
    """Memoized: a corpus's pictures sit in a few thousand day folders at most."""
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def _compiled_reader() -> Callable[[str], list[RelatedValues] | None] | None:
    """newswh._standard_list's reader, handed this module's rules, where the install built it."""
    try:
        module = importlib.import_module("newswh._standard_list")
    except ImportError:
        return None
    module.configure(
        _to_int, _title_value, _pic_value, pic_times, _IMAGE_EXTENSIONS, _VIDEO_EXTENSIONS, _PLAUSIBLE_DAY_NUMBERS,
        _TICKS_EPOCH_ORDINAL, _DAY_MICROSECONDS, _TICKS_MAX_DAYS_FROM_FOLDER, _EARLY_TICKS_MAX_DAYS_FROM_FOLDER,
    )
    reader: Callable[[str], list[RelatedValues] | None] = module.read_standard
    return reader


_READ_STANDARD_COMPILED = _compiled_reader()
