"""Turn a crawled file's bytes into clean text, repairing what a crawl typically breaks.

Pure: bytes in, text (or a reason it cannot be text) out. The order matters: binary
signatures before encodings, because a PNG happens to be "valid" windows-1256.
"""

from __future__ import annotations

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
    (b"\x00\x00\x00", "binary data"),
)
_SIGNATURE_PREFIXES = tuple(signature for signature, _ in _BINARY_SIGNATURES)
_CONTROL_BYTES = bytes([*range(0x09), 0x0B, *range(0x0E, 0x20), 0x7F])
_SAMPLE_BYTES = 8192
_MAX_CONTROL_SHARE = 0.05
_MAX_REPLACED_SHARE = 0.005
_ARABIC_SCRIPT_SHARE = 0.3
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
    `utf-8-repaired` when a few stray bytes had to be replaced).
    """
    if not data or data.isspace():
        return Undecodable("empty", "the file has no text (0 bytes or only white space)")
    if data.startswith(b"\xef\xbb\xbf"):
        return _finish(_decode_utf8(data[3:]), "utf-8-sig")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _finish_text(data.decode("utf-16"), "utf-16")
        except UnicodeDecodeError:
            return Undecodable("undecodable", "starts with a UTF-16 byte-order mark but is not valid UTF-16")
    if data.startswith(_SIGNATURE_PREFIXES):
        kind = next(kind for signature, kind in _BINARY_SIGNATURES if data.startswith(signature))
        return Undecodable("binary", f"starts like a {kind}, not a text page")
    sample = data[:_SAMPLE_BYTES]
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    if controls > _MAX_CONTROL_SHARE * len(sample):
        return Undecodable("binary", f"{controls} of its first {len(sample)} bytes are control characters")
    return _finish(_decode_utf8(data), "utf-8")


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
    if replaced <= max(2, _MAX_REPLACED_SHARE * len(data)):
        genuine_non_ascii = len(repaired) - len(repaired.encode("ascii", errors="ignore")) - replaced
        if genuine_non_ascii >= replaced:
            return Decoded(repaired, "utf-8-repaired")
    letters = len(data.translate(None, _SPACE_AND_CONTROL_BYTES))
    if letters and high_bytes / letters < _ARABIC_SCRIPT_SHARE:
        try:
            return Decoded(data.decode("cp1252"), "cp1252")
        except UnicodeDecodeError:
            pass
    text = data.decode("cp1256")
    arabic = sum(1 for char in text if "\u0600" <= char <= "\u06ff")
    if arabic >= high_bytes * 0.6:
        return Decoded(text, "cp1256")
    return Undecodable(
        "undecodable",
        f"not UTF-8, and {high_bytes} non-ASCII bytes read as neither windows-1252 nor windows-1256 text",
    )


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
