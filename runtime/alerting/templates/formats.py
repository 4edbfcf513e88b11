"""How a template's output is written, per kind of text a channel sends.

Alert fields are attacker-controlled: whatever a ``{{ expression }}`` writes is made
inert for the format it lands in (``finalize``), while the template's own literal text is
the author's and kept as written (a Slack template may write ``<!here>`` itself; an
alert's name cannot). There is no ``|safe``: every expression is treated alike.

* ``text`` (an email body, plain text): control characters, line breaks and bidi
  overrides inside a value are written as escapes (``domain.text``), as the built-in
  rendering does;
* ``line`` (an email subject): the same, then the whole output folded to one line;
* ``mrkdwn`` (Slack): the same, plus ``&``, ``<``, ``>`` as entities, so a value cannot
  form a link or a mention (``<!channel>``);
* ``json`` (a webhook body): each expression writes a JSON value (a string is quoted and
  escaped: ``"name": {{ name }}``, not ``"name": "{{ name }}"``), and the output must
  parse as a JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jinja2.runtime import Undefined

from alerting.domain.delivery_messages import shown

TEST_PREFIX = "[TEST] "  # as the built-in renderings' headline (channels.rendering)


class OutputError(ValueError):
    """The output does not fit its format (blank subject, a body that is not JSON)."""


def _text(value: Any) -> str:
    if value is None or isinstance(value, Undefined):
        return ""
    return shown(value if isinstance(value, str) else str(value))


def _mrkdwn(value: Any) -> str:
    return _text(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _json(value: Any) -> str:
    if isinstance(value, Undefined):
        value = None
    try:
        # NaN and Infinity are not JSON: receivers' parsers refuse them.
        return json.dumps(value, ensure_ascii=False, default=str, allow_nan=False)
    except ValueError:
        raise ValueError("NaN and Infinity cannot be written as JSON") from None


def _as_is(text: str) -> str:
    return text


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    if not line:
        raise OutputError("renders to blank text")
    return line


def _not_json(constant: str) -> Any:
    raise OutputError(f"does not render valid JSON: {constant} is not a JSON number")


def _json_object(text: str) -> str:
    try:
        # Python's parser takes NaN and Infinity, which JSON (and receivers) do not.
        parsed = json.loads(text, parse_constant=_not_json)
    except OutputError:
        raise
    except ValueError as exc:
        raise OutputError(f"does not render valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise OutputError("must render a JSON object")
    return text


def _prefixed(text: str) -> str:
    return TEST_PREFIX + text


def _test_field(text: str) -> str:
    # Re-encoded only for a test send; a real delivery's bytes are the rendered ones.
    return json.dumps({**json.loads(text), "test": True}, ensure_ascii=False, allow_nan=False)


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    finalize: Callable[[Any], str]  # how a {{ value }} is written
    finish: Callable[[str], str]  # the whole output, checked (raises OutputError)
    mark_test: Callable[[str], str]  # how a test send says it is one


TEXT = Format("text", _text, _as_is, _as_is)  # an email's subject says it already
LINE = Format("line", _text, _one_line, _prefixed)
MRKDWN = Format("mrkdwn", _mrkdwn, _as_is, _prefixed)
JSON = Format("json", _json, _json_object, _test_field)
