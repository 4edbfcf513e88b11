"""Which characters caller-supplied text may carry (``alerting.domain.text``), the
field validators built on it (``alerting.web.models``) and how a refused mapping key is
named in a 422 (``alerting.web.problems.field_path``)."""

from __future__ import annotations

import sys
from typing import Annotated

import pytest
from pydantic import AfterValidator, BaseModel, ValidationError

from alerting.domain.foreign_context import _LINE_BREAKS
from alerting.domain.text import LABEL, STORABLE, VALUE, describe
from alerting.web.models import label, storable, value_text
from alerting.web.problems import field_path, from_validation

# One character of each class a notification must not show, and how it is named.
REFUSED = [
    ("\n", "control character U+000A (LF)"),
    ("\r", "control character U+000D (CR)"),
    ("\x07", "control character U+0007"),
    ("\x1b", "control character U+001B (ESC)"),
    ("\x7f", "control character U+007F (DEL)"),
    ("\x85", "control character U+0085 (NEL)"),
    ("\x9b", "control character U+009B"),
    ("\u2028", "line separator U+2028"),
    ("\u2029", "line separator U+2029"),
    ("\u202a", "bidi control U+202A"),
    ("\u202e", "bidi control U+202E"),
    ("\u2066", "bidi control U+2066"),
    ("\u2069", "bidi control U+2069"),
    ("\x00", "control character U+0000 (NUL)"),
    ("\ud800", "lone surrogate U+D800"),
]
# Neighbours of the refused ranges, and text people really send: all fine.
ALLOWED = ["caf\u00e9", "\u00a0nbsp", "\u2027", "1\u202f0", "\u2065", "\u206a", "\U0001f525", "a b"]


@pytest.mark.parametrize(("char", "named"), REFUSED, ids=lambda v: repr(v))
def test_each_class_is_refused_and_named(char: str, named: str) -> None:
    for policy in (LABEL, VALUE):
        assert policy.violation(f"db{char}01") == f"{named} is not allowed"
    assert describe(char) == named


@pytest.mark.parametrize("text", ALLOWED)
def test_ordinary_text_is_allowed(text: str) -> None:
    assert LABEL.violation(text) is None
    assert VALUE.violation(text) is None


def test_a_tab_is_allowed_in_a_value_only() -> None:
    assert LABEL.violation("a\tb") == "control character U+0009 (TAB) is not allowed"
    assert VALUE.violation("a\tb") is None


def test_a_label_must_show_something_a_value_need_not() -> None:
    assert LABEL.violation(" \u3000 ") == "must not be only whitespace"
    assert VALUE.violation("   ") is None and STORABLE.violation(" ") is None


def test_the_first_refused_character_is_named() -> None:
    assert LABEL.violation("ok\u202eevil\n") == "bidi control U+202E is not allowed"


def test_storable_refuses_only_what_postgres_cannot_hold() -> None:
    assert STORABLE.violation("two\nlines\twith tabs \u202e") is None
    assert STORABLE.violation("a\x00") == "control character U+0000 (NUL) is not allowed"
    assert STORABLE.violation("\udfff") == "lone surrogate U+DFFF is not allowed"


def test_neutralised_text_shows_escapes_instead_of_obeying_them() -> None:
    assert LABEL.neutralised("ok\nrules: forged\u202e") == "ok\\u000arules: forged\\u202e"
    assert VALUE.neutralised("a\tb") == "a\tb"
    assert LABEL.neutralised("plain") == "plain"


class Labels(BaseModel):
    name: Annotated[str, AfterValidator(label)]
    context: dict[
        Annotated[str, AfterValidator(label)],
        Annotated[str, AfterValidator(value_text)],
    ] = {}
    note: Annotated[str, AfterValidator(storable)] = ""


def problem(data: object) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as info:
        Labels.model_validate(data)
    return from_validation(info.value, "body").errors


def test_validators_answer_the_policy_message_for_the_field() -> None:
    assert problem({"name": "a\nb"}) == [("name", "control character U+000A (LF) is not allowed")]
    assert problem({"name": "n", "context": {"host": "x\u202e"}}) == [
        ("context.host", "bidi control U+202E is not allowed")
    ]
    assert Labels.model_validate({"name": "n", "context": {"k": "a\tb"}}).context == {"k": "a\tb"}
    assert Labels.model_validate({"name": "n", "note": "two\nlines"}).note == "two\nlines"


@pytest.mark.parametrize("blank", [" ", "   ", "\u00a0", "\u3000"])
def test_a_label_must_not_be_only_whitespace(blank: str) -> None:
    assert problem({"name": blank}) == [("name", "must not be only whitespace")]
    assert Labels.model_validate({"name": "n", "context": {"k": blank}}).context == {"k": blank}


def test_a_refused_key_is_named_with_escapes_not_raw() -> None:
    assert problem({"name": "n", "context": {"ho\nst": "v"}}) == [
        ("context.ho\\u000ast[key]", "control character U+000A (LF) is not allowed")
    ]
    assert field_path(("alerts", 3, "context", "host", "[key]")) == "alerts[3].context.host[key]"


# Every code point, surrogates included: what a policy refuses is checked over all of it,
# so a range added to a policy later is covered too.
EVERY_CHARACTER = "".join(map(chr, range(sys.maxunicode + 1)))


def test_every_refused_character_is_unprintable() -> None:
    """``violation`` skips the search for printable text, and ``foreign_context``'s
    cleaning skips its escaping: that is only right while no refused character is
    printable."""
    for policy in (STORABLE, LABEL, VALUE):
        refused = policy.refused.findall(EVERY_CHARACTER)
        assert refused and not [c for c in refused if c.isprintable()]


def test_every_line_break_is_unprintable() -> None:
    """``foreign_context`` leaves printable text's line breaks alone: it has none."""
    breaks = _LINE_BREAKS.findall(EVERY_CHARACTER)
    assert breaks and not [c for c in breaks if c.isprintable()]
