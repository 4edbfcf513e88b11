"""The start of a receiver's answer, as the attempt log keeps it (delivery_attempts).

"We got it twice" and "we never got it" are often settled by what the receiver said:
its error page, its JSON error, the SMTP server's reply. A bounded excerpt of it is
enough and costs little: at most ``EXCERPT_CHARS`` characters (the column's check),
text only. A binary answer (an image, gzip) says nothing a person can read and is not
kept; Postgres text cannot hold NUL, so one in a text answer is replaced.

Pure: the HTTP adapter hands over the answer's first bytes and its Content-Type.
"""

from __future__ import annotations

import codecs

# Characters kept; the HTTP adapter reads this many bytes (a UTF-8 character is at
# least one byte, so the decoded excerpt never exceeds it).
EXCERPT_CHARS = 1024
EXCERPT_BYTES = EXCERPT_CHARS
REPLACEMENT = "\ufffd"
# Media types whose bodies are text without a text/ prefix.
TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/xml",
        "application/javascript",
        "application/x-www-form-urlencoded",
        "application/x-ndjson",
    }
)


def is_textual(content_type: str | None) -> bool:
    """A text/* type, JSON or XML (also as +json/+xml suffixes, problem+json among them)."""
    if content_type is None:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return (
        media.startswith("text/")
        or media in TEXT_TYPES
        or media.endswith("+json")
        or media.endswith("+xml")
    )


def http_excerpt(content_type: str | None, head: bytes) -> str | None:
    """The first ``EXCERPT_CHARS`` characters of an answer whose body starts with
    ``head``, decoded in the ``charset`` its Content-Type names (a legacy receiver's
    ISO-8859-1 error page reads as written), else as UTF-8, with replacement; None for
    an empty or binary answer.

    Without a Content-Type (many receivers send none), the bytes decide: kept when they
    are UTF-8 without NUL, which is what a text answer looks like and binary rarely is.
    """
    head = head[:EXCERPT_BYTES]
    if not head:
        return None
    if content_type is None:
        if b"\x00" in head:
            return None
        try:
            text = _decoder("strict").decode(head, final=False)
        except UnicodeDecodeError:
            return None
    elif is_textual(content_type):
        text = _decoder("replace", charset_of(content_type)).decode(head, final=False)
    else:
        return None
    return _clean(text) or None


def smtp_excerpt(code: int, message: str) -> str:
    """An SMTP server's reply as it said it: code and text (multi-line replies joined)."""
    return _clean(f"{code} {message}".strip())


def charset_of(content_type: str) -> str:
    """The text encoding a Content-Type's ``charset`` parameter names, when Python knows
    it as one; UTF-8 otherwise. The name is the receiver's: an unknown one, or a codec
    that is no text encoding (``base64``, ``zlib``, ``rot13``), is not used."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            try:
                info = codecs.lookup(value.strip().strip('"'))
            except LookupError:
                return "utf-8"
            # CodecInfo has no public flag: _is_text_encoding marks the str <-> bytes ones.
            return info.name if getattr(info, "_is_text_encoding", False) else "utf-8"
    return "utf-8"


def _decoder(errors: str, charset: str = "utf-8") -> codecs.IncrementalDecoder:
    # Incremental with final=False: a character cut at the byte limit is left out
    # instead of turning into a replacement character (or a decoding error).
    return codecs.getincrementaldecoder(charset)(errors)


def _clean(text: str) -> str:
    return text.replace("\x00", REPLACEMENT)[:EXCERPT_CHARS]
