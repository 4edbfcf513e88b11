"""Which characters a caller-supplied text may carry, and how one is shown safely.

Alert fields end up in email bodies, Slack messages and operators' terminals. A line
feed there starts a line the caller wrote ("rules: ..." that no rule produced), other
C0/C1 controls drive terminals, and bidi overrides (U+202E) make text read differently
from what it is. Postgres text, for its part, holds neither NUL nor lone surrogates.

Each policy is one compiled character class; on the ingest hot path a string costs one
C-level ``isprintable`` scan, and the search runs only when that finds something.
``CharacterPolicy.violation`` names the first refused character by code point, so a
422 says exactly what to remove.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# What Postgres text cannot hold: NUL, and surrogates (not encodable as UTF-8).
_UNSTORABLE = "\x00\ud800-\udfff"
# C0 controls but TAB (U+0009), DEL and the C1 controls (NEL U+0085 among them).
_CONTROLS_BUT_TAB = "\x00-\x08\x0a-\x1f\x7f-\x9f"
# Unicode's own line and paragraph separators: a new line to many renderers.
_SEPARATORS = "\u2028\u2029"
# Bidi embeddings and overrides (U+202A-U+202E), isolates (U+2066-U+2069).
_BIDI = "\u202a-\u202e\u2066-\u2069"
_NAMES = {0x00: "NUL", 0x09: "TAB", 0x0A: "LF", 0x0D: "CR", 0x1B: "ESC", 0x7F: "DEL", 0x85: "NEL"}


def _kind(code: int) -> str:
    if 0xD800 <= code <= 0xDFFF:
        return "lone surrogate"
    if code in (0x2028, 0x2029):
        return "line separator"
    if 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069:
        return "bidi control"
    return "control character"


def describe(char: str) -> str:
    """``control character U+000A (LF)``: how an error names a refused character."""
    code = ord(char)
    name = _NAMES.get(code)
    return f"{_kind(code)} U+{code:04X}" + (f" ({name})" if name else "")


@dataclass(frozen=True)
class CharacterPolicy:
    """A set of refused characters, as one compiled character class, and whether text
    may be only whitespace."""

    refused: re.Pattern[str]
    blank: bool = True

    @classmethod
    def refusing(cls, *ranges: str, blank: bool = True) -> CharacterPolicy:
        return cls(re.compile("[" + "".join(ranges) + "]"), blank)

    def violation(self, text: str) -> str | None:
        """Why ``text`` is refused (its first refused character), or None."""
        # Every refused character is unprintable to Python (Cc, Cf, Zl, Zp, Cs), so
        # printable text, nearly all of it, skips the search: one C-level scan.
        found = None if text.isprintable() else self.refused.search(text)
        if found is not None:
            return f"{describe(found.group())} is not allowed"
        if not self.blank and text.isspace():
            return "must not be only whitespace"
        return None

    def neutralised(self, text: str) -> str:
        """``text`` with each refused character written as its escape (``\\u000a``), so
        a renderer shows what was sent instead of obeying it."""
        return self.refused.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# Free text Postgres stores as is (descriptions, endpoint values): NUL and surrogates.
STORABLE = CharacterPolicy.refusing(_UNSTORABLE)
# A label a notification shows on one line (an alert's source and name, a context key):
# no controls at all, tab included (a tab in an identifier is always a mistake), and
# something visible.
LABEL = CharacterPolicy.refusing(
    _UNSTORABLE, "\x09", _CONTROLS_BUT_TAB, _SEPARATORS, _BIDI, blank=False
)
# A context value: one line too, but a tab is allowed: it cannot start a line or reorder
# text (it renders as blank space), and values pasted from logs or tables carry tabs.
VALUE = CharacterPolicy.refusing(_UNSTORABLE, _CONTROLS_BUT_TAB, _SEPARATORS, _BIDI)
