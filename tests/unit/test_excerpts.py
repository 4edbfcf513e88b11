"""The attempt log's answer excerpt: which answers are text, the 1 KB bound, and what
Postgres text cannot hold."""

from __future__ import annotations

import pytest

from alerting.domain.delivery import Outcome, classify_smtp
from alerting.domain.excerpts import EXCERPT_CHARS, http_excerpt, is_textual, smtp_excerpt


@pytest.mark.parametrize(
    ("content_type", "textual"),
    [("text/plain", True), ("text/html; charset=utf-8", True), ("application/json", True),
     ("application/problem+json", True), ("Application/XML", True), ("image/svg+xml", True),
     ("application/octet-stream", False), ("image/png", False), ("application/gzip", False),
     (None, False)],
)  # fmt: skip
def test_text_types(content_type: str | None, textual: bool) -> None:
    assert is_textual(content_type) is textual


def test_a_text_answer_is_cut_at_1024_characters() -> None:
    assert http_excerpt("text/plain", b"a" * 5000) == "a" * EXCERPT_CHARS
    assert http_excerpt("application/json", b'{"ok":true}') == '{"ok":true}'


def test_a_character_cut_at_the_byte_limit_is_left_out_not_garbled() -> None:
    # 1023 ASCII bytes, then a two-byte character whose second byte is past the limit.
    assert http_excerpt("text/plain", b"a" * 1023 + "é".encode() * 3) == "a" * 1023


def test_invalid_utf8_is_replaced_and_nul_too() -> None:
    assert http_excerpt("text/plain", b"bad \xff byte\x00") == "bad \ufffd byte\ufffd"


def test_a_named_charset_is_honoured() -> None:
    page = "Erreur: délai dépassé".encode("iso-8859-1")
    assert http_excerpt("text/html; charset=ISO-8859-1", page) == "Erreur: délai dépassé"
    assert http_excerpt('text/plain; Charset="windows-1252"', b"\x80 5") == "€ 5"
    assert http_excerpt("text/plain;charset=utf-16-le", "ok ✓".encode("utf-16-le")) == "ok ✓"


@pytest.mark.parametrize("charset", ["no-such-charset", "base64", "zlib", "rot13", ""])
def test_an_unknown_or_non_text_charset_falls_back_to_utf8(charset: str) -> None:
    body = "délai ✓".encode()
    assert http_excerpt(f"text/plain; charset={charset}", body) == "délai ✓"
    assert http_excerpt(f"text/plain; charset={charset}", b"bad \xff") == "bad \ufffd"


def test_binary_and_empty_answers_are_not_kept() -> None:
    assert http_excerpt("image/png", b"\x89PNG\r\n") is None
    assert http_excerpt("text/plain", b"") is None


def test_without_a_content_type_the_bytes_decide() -> None:
    assert http_excerpt(None, "accepted ✓".encode()) == "accepted ✓"
    assert http_excerpt(None, b"\x1f\x8b\x08\x00") is None  # gzip: not UTF-8
    assert http_excerpt(None, b"a\x00b") is None


def test_smtp_replies_are_kept_as_said() -> None:
    assert smtp_excerpt(250, "OK: queued as 12345") == "250 OK: queued as 12345"
    refused = classify_smtp(550, "5.1.1 no such\nmailbox")
    assert refused.outcome is Outcome.FAILED
    assert refused.excerpt == "550 5.1.1 no such\nmailbox"
    assert len(smtp_excerpt(451, "x" * 5000)) == EXCERPT_CHARS
