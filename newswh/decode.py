"""Turn a crawled file's bytes into clean text, repairing what a crawl typically breaks.

Pure: bytes in, text (or a reason it cannot be text) out. The order matters: binary
signatures before encodings, because a PNG happens to be "valid" windows-1256.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"\x1f\x8b", "gzip archive"),
    (b"BZh", "bzip2 archive"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"\x7fELF", "ELF executable"),
    (b"RIFF", "RIFF media file"),
)
_SIGNATURE_PREFIXES = tuple(signature for signature, _ in _BINARY_SIGNATURES)
_CONTROL_BYTES = bytes([*range(0x09), 0x0B, *range(0x0E, 0x20), 0x7F])
_SAMPLE_BYTES = 8192
_MAX_CONTROL_SHARE = 0.05
_MAX_REPLACED_SHARE = 0.005
_UTF16_NUL_SHARE = 0.3
_UTF16_ONE_SIDE_SHARE = 0.95
_UTF16_TEXT_SHARE = 0.8
_ASCII_TEXT_BYTES = b"\t\n\r" + bytes(range(0x20, 0x7F))
_NUL_RUN = re.compile(b"\x00{16,}")
_ARABIC_SCRIPT_SHARE = 0.3
_ARABIC_WORDS_SHARE = 0.6
_PUNCTUATION_BYTES = frozenset(b"\x80\x85\x91\x92\x93\x94\x96\x97")
"""windows-1252's and windows-1256's shared € … ‘ ’ “ ” – —."""
_SHARED_LETTER_BYTES = frozenset(b"\xd7\xe0\xe2\xe7\xe8\xe9\xea\xeb\xee\xef\xf4\xf7\xf9\xfb\xfc")
"""windows-1252's and windows-1256's shared × à â ç è é ê ë î ï ô ÷ ù û ü."""
_CP1252_UNDEFINED = b"\x81\x8d\x8f\x90\x9d"
_ARABIC_WORD = re.compile(r"[\u0600-\u06ff]{2,}")
_HIGH_BYTES = bytes(range(0x80, 0x100))
_SPACE_AND_CONTROL_BYTES = bytes(range(0x21))


@dataclass(slots=True)
class Decoded:
    text: str
    encoding: str


@dataclass(slots=True)
class Undecodable:
    reason: str  # a key of records.REJECT_REASONS
    detail: str


def decode_bytes(data: bytes) -> Decoded | Undecodable:
    """Best readable text for `data`, or why there is none.

    The text comes back with LF line ends and no NUL bytes; the encoding names what
    the bytes really were (`utf-8`, `utf-8-sig`, `utf-16`, `cp1252`, `cp1256`, or
    `utf-8-repaired` and `cp1252-repaired` when a few stray bytes had to be read another
    way or replaced).
    """
    if not data or data.isspace():
        return Undecodable("empty", "the file has no text (0 bytes or only white space)")
    if data.startswith(b"\xef\xbb\xbf"):
        return _finish(_decode_utf8(data[3:]), "utf-8-sig")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _decode_utf16(data)
    without_mark = _utf16_without_mark(data)
    if without_mark is not None:
        decoded = _decode_utf16(data, without_mark)
        if isinstance(decoded, Decoded):
            return decoded
    if data.startswith(b"\x00") or data.endswith(b"\x00"):
        # A page the crawl wrote into a file of NUL bytes, before or after it: the text is
        # whole. (NULs inside the text are dropped, as everywhere.)
        data = data.strip(b"\x00")
        if not data or data.isspace():
            return Undecodable("empty", "the file holds only NUL bytes (and perhaps white space), no text")
    if data.startswith(_SIGNATURE_PREFIXES):
        kind = next(kind for signature, kind in _BINARY_SIGNATURES if data.startswith(signature))
        return Undecodable("binary", f"starts like a {kind}, not a text page")
    sample = data[:_SAMPLE_BYTES]
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    # A run of NUL bytes inside the text (a hole the crawl left) is dropped with the rest of
    # the file's NULs: no sign of binary data, where NULs strewn between other bytes are.
    hole = len(sample) - len(_NUL_RUN.sub(b"", sample)) if 0 in sample else 0
    if controls - hole > _MAX_CONTROL_SHARE * (len(sample) - hole):
        return Undecodable("binary", f"{controls} of its first {len(sample)} bytes are control characters")
    return _finish(_decode_utf8(data), "utf-8")


def _decode_utf16(data: bytes, codec: str = "utf-16") -> Decoded | Undecodable:
    try:
        return _finish_text(data.decode(codec), "utf-16")
    except UnicodeDecodeError as error:
        if error.start >= len(data) - 3:
            # The crawl cut the last character (a byte of its two, or half a surrogate
            # pair): drop the fragment, as for UTF-8.
            return _finish_text(data[: error.start].decode(codec, errors="replace"), "utf-16")
        return Undecodable("undecodable", "starts with a UTF-16 byte-order mark but is not valid UTF-16")


def _utf16_without_mark(data: bytes) -> str | None:
    """`utf-16-le` or `utf-16-be` for UTF-16 text saved without its byte-order mark, else
    None. Latin text in UTF-16 has a NUL in every other byte, all on one side of each pair;
    a run of NULs the crawl left (or padding) has as many on either side."""
    nuls = data.count(0, 0, _SAMPLE_BYTES)
    if nuls < _UTF16_NUL_SHARE * min(len(data), _SAMPLE_BYTES):
        return None
    at_odd_offsets = data[1:_SAMPLE_BYTES:2].count(0)
    if at_odd_offsets >= _UTF16_ONE_SIDE_SHARE * nuls:
        codec, letters = "utf-16-le", data[0:_SAMPLE_BYTES:2]
    elif nuls - at_odd_offsets >= _UTF16_ONE_SIDE_SHARE * nuls:
        codec, letters = "utf-16-be", data[1:_SAMPLE_BYTES:2]
    else:
        return None
    # The other byte of each pair is then mostly ASCII text, or this is binary data (`\x00\xff` again and again).
    not_text = len(letters.translate(None, _ASCII_TEXT_BYTES))
    return codec if not_text <= (1 - _UTF16_TEXT_SHARE) * len(letters) else None


def _decode_utf8(data: bytes) -> Decoded | Undecodable:
    try:
        return Decoded(data.decode("utf-8"), "")
    except UnicodeDecodeError as error:
        if error.start >= len(data) - 3 and error.reason == "unexpected end of data":
            # The crawl cut a multi-byte character in half: drop the fragment.
            return Decoded(data[: error.start].decode("utf-8"), "")
    return _decode_legacy(data)


def _decode_legacy(data: bytes) -> Decoded | Undecodable:
    """Pick between UTF-8 with a few bad bytes, windows-1252 and windows-1256.

    English pages in windows-1252 use high bytes only for quotes, dashes and the odd
    accent; Arabic pages in windows-1256 are mostly high bytes. Mostly-valid UTF-8 with
    a handful of stray bytes is a damaged UTF-8 page, not a legacy one.
    """
    repaired = data.decode("utf-8", errors="replace")
    replaced = repaired.count("\ufffd")
    high_bytes = len(data) - len(data.translate(None, _HIGH_BYTES))
    genuine_non_ascii = len(repaired) - len(repaired.encode("ascii", errors="ignore")) - replaced
    if genuine_non_ascii:
        with_quotes = data.decode("utf-8", errors=_STRAY_PUNCTUATION)
        if replaced <= max(2, _MAX_REPLACED_SHARE * len(data)) and genuine_non_ascii >= replaced:
            return Decoded(with_quotes, "utf-8-repaired")
        if with_quotes.count("\ufffd") == data.count(b"\xef\xbf\xbd"):
            # Every stray byte a windows quote or dash, beside real UTF-8 characters: a UTF-8
            # page with a related list (or a paragraph) pasted in windows-1252. Read as
            # windows-1252 throughout, its UTF-8 quotes became `â€™`. (windows-1252 text
            # holds valid UTF-8 sequences only where it already is such garbage.)
            return Decoded(with_quotes, "utf-8-repaired")
    arabic_text = data.decode("cp1256")  # every byte has a meaning in windows-1256
    if _letters_in_arabic_words(arabic_text) >= high_bytes * _ARABIC_WORDS_SHARE:
        # Mostly Arabic words: a short Arabic page whose ASCII trailer outweighs its
        # text. By share of high bytes alone it read as windows-1252 (and then as English).
        return Decoded(arabic_text, "cp1256")
    letters = len(data.translate(None, _SPACE_AND_CONTROL_BYTES))
    if letters and high_bytes / letters < _ARABIC_SCRIPT_SHARE:
        try:
            return Decoded(data.decode("cp1252"), "cp1252")
        except UnicodeDecodeError:
            # A byte windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D): a few are
            # damage in a windows-1252 page, which is kept with them replaced.
            undefined = len(data) - len(data.translate(None, _CP1252_UNDEFINED))
            if undefined <= max(2, _MAX_REPLACED_SHARE * len(data)):
                return Decoded(data.decode("cp1252", errors="replace"), "cp1252-repaired")
    arabic = sum(1 for char in arabic_text if "\u0600" <= char <= "\u06ff")
    if arabic >= high_bytes * 0.6:
        return Decoded(arabic_text, "cp1256")
    return Undecodable(
        "undecodable",
        f"not UTF-8, and {high_bytes} non-ASCII bytes read as neither windows-1252 nor windows-1256 text",
    )


def _stray_punctuation(error: UnicodeError) -> tuple[str, int]:
    """A stray byte in UTF-8 text that windows-1252 and windows-1256 both read as the same
    quote, dash, ellipsis or euro sign (a quote pasted from a word processor) is that
    character, and so is one that both read as the same letter (`é`, `ü`) where it cannot
    be what is left of a UTF-8 character (a byte from 0xC0 up starts one, never ends one);
    any other is U+FFFD, as errors="replace" makes it."""
    assert isinstance(error, UnicodeDecodeError)
    stray = error.object[error.start : error.end]
    if len(stray) == 1 and (stray[0] in _PUNCTUATION_BYTES or stray[0] in _SHARED_LETTER_BYTES):
        return stray.decode("cp1252"), error.end
    return "\ufffd", error.end


_STRAY_PUNCTUATION = "newswh-stray-punctuation"
codecs.register_error(_STRAY_PUNCTUATION, _stray_punctuation)


def _letters_in_arabic_words(text: str) -> int:
    """Arabic letters in runs of two or more. An English page in windows-1252 read as
    windows-1256 has an Arabic letter here and there (`ñ`, `ó` fall on Arabic marks), never
    whole words of them."""
    return sum(map(len, _ARABIC_WORD.findall(text)))


def _finish(result: Decoded | Undecodable, default_encoding: str) -> Decoded | Undecodable:
    if isinstance(result, Undecodable):
        return result
    return _finish_text(result.text, result.encoding or default_encoding)


def _finish_text(text: str, encoding: str) -> Decoded:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        text = text.replace("\x00", "")
    if text.startswith("\ufeff"):
        text = text[1:]
    return Decoded(text, encoding)
