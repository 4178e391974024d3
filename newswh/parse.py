"""Parse one raw news-page file into an article and its related items, or a reject.

Pure and total: `parse_page` takes bytes and the path they came from, touches no file,
holds no state, and always returns exactly one article or one reject. See
`../shared/FORMAT.md` (copied into docs/) for the layout and its variants.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from datetime import datetime

from newswh.decode import Undecodable, decode_bytes
from newswh.records import Article, ParseResult, Reject
from newswh.trailer import SPLITTING_CONTROLS, Trailer, find_trailer_start, parse_trailer

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
"""Real pages are a few kB; anything this big is a crawl accident, not a story."""

_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
DATE_LINE = re.compile(
    r"^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"(\d{1,2}), (\d{4}) (\d{1,2}):(\d{2}):(\d{2})$"
)
SIGN_OFF = re.compile(r"^[A-Z]{1,5}(?: ?/ ?[A-Z]{1,5})+(?:[ /]+\d{1,4})?\.?$")
CATEGORY = re.compile(r"(?:^|\n)Category:[^\n]{0,80}$|(?:^|\s)Category:[^.!?:]{0,80}$")
"""Page chrome after the body or the sign-off: `Category:`, `Category: Middle East`. On a
line of its own, whatever it names (`Category: U.S.`); at the end of a line of text, only
what cannot be the end of a sentence."""
DATELINE = re.compile(r"^al[- ]?alam\s*[-–—]\s*[^\W\d_][^\W_]*(?:[ ,.'’-]+[^\W_]+){0,4}$", re.IGNORECASE)
"""The desk and country line, `Alalam - Syria`: short and unpunctuated like a caption, but not one."""
REPORTED = ("reported", "reports", "repoted", "reportd", "reproted", "reporterd")
"""The closing verb of an attribution, with the typos seen on real pages."""
_CREDIT = (
    r"[;,][\"”]?\s+(?:the\s+)?"
    r"((?:(?:al|el)-)?(?:[A-Z0-9][\w.&'’-]*)(?:\s+(?:of|al|el|de|and|[A-Z0-9][\w.&'’-]*)){0,5})"
    r"(?:\s+news\s+agency)?"
    rf"\s+(?:has\s+)?(?:{'|'.join(REPORTED)})"
)
ATTRIBUTION = re.compile(
    _CREDIT + r"(?:\s+(?:on\s+)?(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday))?\.?[\"”]?$"
)
"""`…; Press TV reported.`, and the forms around it: `…," IRNA reported on Sunday.`, `…,
al-Alam reports.`, `…, the Sana news agency reported.`, `…; Reuters reported Friday.`"""
ATTRIBUTION_INSIDE = re.compile(_CREDIT + r",\s")
"""FORMAT.md's outlet credited mid-paragraph: `…, al-Alam reports, adding that …`."""
_JSON_START = re.compile(r'[\[{]\s*(?:["{\[\]}]|-?\d|true\b|false\b|null\b)')
"""How a JSON document begins; a headline may begin with `[` too: `[VIDEO] …`."""
_CAPTION_MAX_CHARS = 160
_CAPTION_MAX_WORDS = 25
_SENTENCE_ENDINGS = (".", "!", "?", ":", ";", ",", "…", '."', ".”", '?"', "?”", '!"', "!”", ".’", ".'")
_TITLE_MAX_CHARS = 300
_INVISIBLE_CHARS = "\u200b\u200e\u200f\u2060\ufeff"
_DROP_INVISIBLE = str.maketrans("", "", _INVISIBLE_CHARS)
_WORD = re.compile(r"[^\W_]+")
_ARABIC_LETTER = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")
_PERSIAN_LETTERS = frozenset("پچژگکی")


def parse_page(data: bytes, source_path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> ParseResult:
    """Exactly one article or one reject for these bytes; never raises.

    A bug in here must not lose a file either: anything unexpected becomes a
    `parser_error` reject that names the exception, and the tests assert it never occurs.
    """
    content_hash = hashlib.sha256(data).hexdigest()
    try:
        return _parse(data, source_path, content_hash, max_bytes)
    except Exception as error:  # noqa: BLE001 - the one place a file may not be lost
        detail = f"parser bug: {type(error).__name__}: {error}"[:500]
        return _rejected(source_path, content_hash, len(data), "parser_error", detail)


def reject_result(source_path: str, data_hash: str | None, size: int, reason: str, detail: str) -> ParseResult:
    """A reject made outside the parser (unreadable or oversized files), same shape."""
    return _rejected(source_path, data_hash, size, reason, detail)


def _rejected(source_path: str, content_hash: str | None, size: int, reason: str, detail: str) -> ParseResult:
    return ParseResult(source_path, reject=Reject(source_path, content_hash, size, reason, detail))


def _parse(data: bytes, source_path: str, content_hash: str, max_bytes: int) -> ParseResult:
    size = len(data)

    def reject(reason: str, detail: str) -> ParseResult:
        return _rejected(source_path, content_hash, size, reason, detail)

    if size > max_bytes:
        return reject("too_large", f"{size:,} bytes is over the {max_bytes:,}-byte cap")
    decoded = decode_bytes(data)
    if isinstance(decoded, Undecodable):
        return reject(decoded.reason, decoded.detail)
    text = decoded.text
    head = text[:1024].lstrip()
    if head.startswith("<") and any(tag in head.lower() for tag in ("<html", "<!doctype", "<body")):
        return reject("not_article", "an HTML document, not the text of a news page")
    if _JSON_START.match(head) and not _dated_headline(head):
        return reject("not_article", "JSON data, not the text of a news page")

    trailer_start = find_trailer_start(text)
    lines = clean_lines(text if trailer_start == -1 else text[:trailer_start])
    if not lines:
        if trailer_start != -1:
            return reject("no_title", "only a related-stories trailer, no headline or body")
        return reject("empty", "the file has no text (0 bytes or only white space)")

    language = _foreign_language(lines[:4])
    if language:
        return reject("foreign_language", f"the page is in {language}, from a sister site, not en.alalam.ir")
    title = lines[0]
    if DATE_LINE.match(title):
        return reject("no_title", "the page starts with its date line; the headline is missing")
    if len(title) > _TITLE_MAX_CHARS:
        return reject("no_title", f"the first line is {len(title)} characters long: a paragraph, not a headline")

    cursor = 1
    # The headline again (FORMAT.md: once or twice; a crawl can repeat it more). The date
    # line is looked for first: comparing it with the headline, as text, is the slower test.
    while cursor < len(lines) and not DATE_LINE.match(lines[cursor]) and _same_text(lines[cursor], title):
        cursor += 1
    date_line = DATE_LINE.match(lines[cursor]) if len(lines) > cursor else None
    if date_line is None and len(lines) > cursor + 1 and len(lines[cursor]) <= _TITLE_MAX_CHARS:
        date_line = DATE_LINE.match(lines[cursor + 1])
        if date_line is not None:
            cursor += 1  # the headline again, the date line right under it: even when the copy differs ("+ VIDEO")
    has_date_line = date_line is not None
    published_at = None
    if date_line is not None:
        published_at = _timestamp(date_line)
        cursor += 1
        while cursor < len(lines) and DATE_LINE.match(lines[cursor]):
            cursor += 1  # the date line again: no paragraph of the story
    if not has_date_line and trailer_start == -1:
        return reject("not_article", "no date line under the headline and no related-stories trailer")

    paragraphs = lines[cursor:]
    had_category = drop_category(paragraphs)
    while had_category and drop_category(paragraphs):  # `Category: Iran`, then `Category: Middle East`
        pass
    sign_off = None
    if paragraphs and SIGN_OFF.match(paragraphs[-1]):
        sign_off = paragraphs.pop()
    dateline = pop_dateline(paragraphs)
    if not paragraphs:
        return reject("no_body", "a headline and date but no body paragraph")
    # A short last line that ends the file may be a paragraph the crawl cut, not a caption.
    page_goes_on = len(paragraphs) >= 3 or trailer_start != -1 or sign_off is not None or had_category
    caption = None
    if len(paragraphs) >= 2 and page_goes_on and is_caption(paragraphs[1]):
        caption = paragraphs.pop(1)

    body = "\n\n".join(paragraphs)
    article_id = derive_article_id(title, published_at, paragraphs[0])
    trailer = Trailer("absent") if trailer_start == -1 else parse_trailer(text[trailer_start:])
    article = Article(
        article_id=article_id,
        source_path=source_path,
        content_hash=content_hash,
        title=title,
        published_at=published_at,
        lead=paragraphs[0],
        body=body,
        caption=caption,
        attribution=find_attribution(paragraphs[-1]),
        sign_off=sign_off,
        paragraph_count=len(paragraphs),
        word_count=count_words(body, len(paragraphs)),
        related_status=trailer.status,
        related_declared_bytes=trailer.declared_bytes,
        related_actual_bytes=trailer.actual_bytes,
        source_encoding=decoded.encoding,
        dateline=dateline,
    )
    return ParseResult(source_path, article=article, related_positions=trailer.positions, related_values=trailer.values)


def clean_lines(page: str) -> list[str]:
    """The page's non-blank lines: entities decoded, invisible characters dropped, white
    space folded to single spaces. Most lines are clean already, so they skip the folding."""
    if not page.isascii() and any(char in page for char in _INVISIBLE_CHARS):
        page = page.translate(_DROP_INVISIBLE)
    if page.isascii() and "  " not in page and "\t" not in page and "&" not in page:
        return [line for line in map(str.strip, page.split("\n")) if line]  # the usual page: no folding
    lines = []
    for line in page.split("\n"):
        if "&" in line:
            # Line by line: an entity may stand for a line break (`&#10;`), which is then
            # a space in its line, not a new line that splits a headline in two.
            line = html.unescape(line)
            if not line.isascii():
                line = line.translate(_DROP_INVISIBLE)
            line = " ".join(line.split())
        elif "  " in line or "\t" in line or not line.isascii():
            line = " ".join(line.split())
        else:
            line = line.strip()
        if line:
            lines.append(line)
    return lines


def count_words(body: str, paragraph_count: int) -> int:
    """`len(body.split())`, without building a string per word (about a tenth of the parse
    of an ordinary page). The paragraphs come from clean_lines, so each is non-empty, has no
    white space at its ends and no two spaces in a row; unless it holds other white space
    (a form feed, say, that no folding met: any other white space is not ASCII, and
    clean_lines folds every line that holds one), its words are its spaces plus one."""
    if any(control in body for control in SPLITTING_CONTROLS):
        return len(body.split())
    return body.count(" ") + paragraph_count


def parse_date_line(line: str) -> datetime | None:
    """The timestamp as printed (naive, site-local); None for an impossible date."""
    match = DATE_LINE.match(line)
    return _timestamp(match) if match else None


def _timestamp(date_line: re.Match[str]) -> datetime | None:
    month, day, year, hour, minute, second = date_line.groups()
    try:
        return datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second))
    except ValueError:
        return None


def drop_category(paragraphs: list[str]) -> bool:
    """Remove the `Category:` chrome from the last line, keeping a sign-off it shares the
    line with; True if there was one."""
    if not paragraphs or "Category:" not in paragraphs[-1]:
        return False
    found = CATEGORY.search(paragraphs[-1])
    if not found:
        return False
    rest = paragraphs[-1][: found.start()].rstrip()
    if rest:
        paragraphs[-1] = rest
    else:
        paragraphs.pop()
    return True


def pop_dateline(paragraphs: list[str]) -> str | None:
    """Take out the first dateline line (`Alalam - Syria`): the page's desk and country, not text."""
    for index, paragraph in enumerate(paragraphs):
        if len(paragraph) <= _CAPTION_MAX_CHARS and DATELINE.match(paragraph):
            return paragraphs.pop(index)
    return None


def is_caption(line: str) -> bool:
    """A photo caption is a short line with no closing punctuation."""
    return (
        len(line) <= _CAPTION_MAX_CHARS
        and len(line.split()) <= _CAPTION_MAX_WORDS
        and not line.endswith(_SENTENCE_ENDINGS)
    )


def find_attribution(last_paragraph: str) -> str | None:
    match = ATTRIBUTION.search(last_paragraph) or ATTRIBUTION_INSIDE.search(last_paragraph)
    return match.group(1) if match else None


def derive_article_id(title: str, published_at: datetime | None, lead: str) -> str:
    """16 hex digits of sha256 over the story's identity, not over the file.

    Identity is the normalized headline (NFKC, case-folded, punctuation and spacing
    removed) plus the printed publication time, so the same story captured twice (http
    and https, or re-crawled with another related list) gets one id while the site's
    recurring headlines on different days stay apart. A page with no date line falls
    back to the headline plus its normalized lead paragraph.
    """
    basis = normalize_for_identity(title) + "\x1f"
    if published_at is not None:
        basis += published_at.isoformat()
    else:
        basis += "\x1f" + normalize_for_identity(lead)
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:16]


def normalize_for_identity(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_WORD.findall(folded))


def _dated_headline(head: str) -> bool:
    """Whether the page's second or third non-blank line is a date line: a headline over it,
    whatever the headline begins with (`[2015] in review`)."""
    lines = [line.strip() for line in head.split("\n", 8)[:8] if line.strip()]
    return any(DATE_LINE.match(" ".join(line.split())) for line in lines[1:3])


def _same_text(left: str, right: str) -> bool:
    return left == right or normalize_for_identity(left) == normalize_for_identity(right)


def _foreign_language(lines: list[str]) -> str | None:
    sample = " ".join(lines)
    if sample.isascii() or not _ARABIC_LETTER.search(sample):
        return None
    arabic = len(_ARABIC_LETTER.findall(sample))
    if arabic <= len(_LATIN_LETTER.findall(sample)):
        return None
    return "Persian" if any(char in _PERSIAN_LETTERS for char in sample) else "Arabic"

