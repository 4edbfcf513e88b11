"""An email as the sender sends it: a few headers and a plain-text UTF-8 body, flattened
to RFC 5322 bytes here rather than by ``email.message.EmailMessage`` and its generator.

Why: every email has the same simple shape, and the general machinery (a header parse
tree per header, folding by policy, content-manager heuristics) cost most of the
sender's CPU per email (docs/performance.md, issue 19). The rules this module keeps:

* No header injection: alert text is attacker-controlled. A header value holding a CR,
  LF or other control character (tab aside) is refused, as ``EmailMessage`` does; the
  callers fold subjects to one line before (``shown``, the ``line`` template format).
* A value that is not plain printable ASCII, or that holds ``=?`` (a reader would take
  it for an encoded word), or a word too long to fold, goes out as RFC 2047 encoded
  words (base64, at UTF-8 character boundaries); an address keeps its addr-spec as is
  and only its display name is encoded (``formataddr``).
* Lines are folded at spaces before 78 characters where they can be, and never exceed
  998; the body is 7bit when it is ASCII with short lines, else quoted-printable, so no
  8BITMIME is needed. Lines end in CRLF; dot-stuffing is the transport's (DATA).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import formataddr, parseaddr
from functools import lru_cache

FOLD_AT = 78  # RFC 5322 2.1.1: SHOULD
MAX_LINE = 998  # RFC 5322 2.1.1: MUST
CHUNK_BYTES = 45  # base64 of 45 bytes is 60 characters: "=?utf-8?b?" + 60 + "?=" < 75
ADDRESS_HEADERS = frozenset({"from", "to", "cc", "reply-to", "sender"})
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_PLAIN = re.compile(r"[\t\x20-\x7e]*")


@dataclass(frozen=True, slots=True)
class MailMessage:
    """Headers in order and the body text; read like ``EmailMessage`` (``msg["Subject"]``,
    ``get_content()``), flattened once by ``as_bytes``."""

    headers: tuple[tuple[str, str], ...]
    body: str

    def __getitem__(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    def get_content(self) -> str:
        return self.body

    def as_bytes(self) -> bytes:
        """The message as DATA carries it, before dot-stuffing."""
        lines = [_header(name, value) for name, value in self.headers]
        cte, body = _body(self.body)
        lines += [
            "MIME-Version: 1.0",
            'Content-Type: text/plain; charset="utf-8"',
            f"Content-Transfer-Encoding: {cte}",
            "",
        ]
        return ("\r\n".join(lines) + "\r\n").encode() + body  # UTF-8 only in an SMTPUTF8 address

    def as_string(self) -> str:
        return self.as_bytes().decode("ascii").replace("\r\n", "\n")


def mail_message(headers: Sequence[tuple[str, str]], body: str) -> MailMessage:
    """A message with these headers (names are ours, values may be anyone's); ValueError
    when a value would break out of its header."""
    for name, value in headers:
        if _CONTROL.search(value):
            raise ValueError(f"the {name} header holds a control character")
    return MailMessage(tuple(headers), body)


def _header(name: str, value: str) -> str:
    if name.lower() in ADDRESS_HEADERS:
        return f"{name}: {_address(value)}"
    return _unstructured(name, value)


@lru_cache(maxsize=1024)
def _address(value: str) -> str:
    """One address; its display name encoded when it is not plain ASCII. An addr-spec
    that is not ASCII stays UTF-8 (RFC 6532): the transport then needs SMTPUTF8."""
    display, addr = parseaddr(value)
    if not addr:
        raise ValueError(f"not an address: {value!r}")
    return formataddr((display, addr), charset="utf-8") if display else addr


def _unstructured(name: str, value: str) -> str:
    head = f"{name}: "
    words = value.split(" ")
    if (
        _PLAIN.fullmatch(value)
        and "=?" not in value
        and all(len(w) < MAX_LINE - len(head) for w in words)
    ):
        return head + _fold(words, len(head))
    return head + "\r\n ".join(_encoded_words(value))


def _fold(words: list[str], used: int) -> str:
    """Words joined by their spaces, a line break before a space where a line would pass
    FOLD_AT (unfolding removes only the CRLF, so the value reads back the same)."""
    out = [words[0]]
    width = used + len(words[0])
    for word in words[1:]:
        if width + 1 + len(word) > FOLD_AT and width > used:
            out.append("\r\n ")
            width = 1 + len(word)
        else:
            out.append(" ")
            width += 1 + len(word)
        out.append(word)
    return "".join(out)


def _encoded_words(value: str) -> list[str]:
    """RFC 2047 base64 words of at most CHUNK_BYTES bytes each, split between characters
    (a decoder joins adjacent words, ignoring the folding space between them)."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for ch in value:
        n = len(ch.encode())
        if size + n > CHUNK_BYTES:
            chunks.append("".join(current))
            current, size = [], 0
        current.append(ch)
        size += n
    if current or not chunks:
        chunks.append("".join(current))
    return [f"=?utf-8?b?{base64.b64encode(c.encode()).decode('ascii')}?=" for c in chunks]


def _body(text: str) -> tuple[str, bytes]:
    """The transfer encoding and the encoded body, lines ending in CRLF."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()
    if text.isascii() and "\x00" not in text and all(len(line) <= MAX_LINE for line in lines):
        return "7bit", "".join(line + "\r\n" for line in lines).encode("ascii")
    raw = "".join(line + "\n" for line in lines).encode()
    encoded = binascii.b2a_qp(raw, quotetabs=False, istext=True, header=False)
    return "quoted-printable", encoded.replace(b"\n", b"\r\n")
