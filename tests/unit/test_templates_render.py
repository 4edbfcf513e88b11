"""Templates per channel: names, escaping per output format, test marking, validation
messages with line numbers."""

from __future__ import annotations

import dataclasses
import json

import pytest

from alerting.templates import variables
from alerting.templates.render import MAX_SOURCE, TemplateProblem, check, render
from tests.unit.channel_support import N

HOSTILE = dataclasses.replace(
    N, name="disk <!channel> & <https://evil.example|click>", context={"q": 'a"b\\c\u202e'}
)


def test_slack_text_escapes_values_but_keeps_the_templates_own_markup() -> None:
    out = render("slack", "text", "<!here> *{{ name }}* {{ context.q }}", HOSTILE)
    assert out == (
        '<!here> *disk &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;* a"b\\c\\u202e'
    )


def test_webhook_body_values_are_json_encoded_whatever_they_hold() -> None:
    source = '{"summary": {{ name }}, "labels": {{ context }}, "episode": {{ episode }}}'
    out = render("webhook", "body", source, HOSTILE)
    assert json.loads(out) == {
        "summary": HOSTILE.name,
        "labels": {"q": 'a"b\\c\u202e'},
        "episode": 1,
    }


def test_a_quoted_value_cannot_inject_fields_into_a_webhook_body() -> None:
    injecting = dataclasses.replace(N, name='x", "admin": true, "y": "')
    with pytest.raises(TemplateProblem, match="does not render valid JSON"):
        render("webhook", "body", '{"name": "{{ name }}"}', injecting)


def test_webhook_body_must_be_a_json_object() -> None:
    with pytest.raises(TemplateProblem, match="must render a JSON object"):
        render("webhook", "body", "[{{ name }}]", N)


def test_email_subject_is_folded_to_one_line_and_a_value_cannot_break_it() -> None:
    forged = dataclasses.replace(N, name="disk\nBcc: victim@example.com")
    out = render("email", "subject", "{{ severity }}\n  {{ name }}", forged)
    assert out == "HIGH disk\\u000aBcc: victim@example.com"


def test_email_body_keeps_the_templates_lines_and_escapes_a_values() -> None:
    forged = dataclasses.replace(N, name="a\nrules: forged")
    assert render("email", "body", "{{ name }}\nend", forged) == "a\\u000arules: forged\nend"


def test_a_test_send_says_so_in_every_format() -> None:
    test = dataclasses.replace(N, test=True)
    assert render("email", "subject", "{{ name }}", test) == "[TEST] checkout_errors"
    assert render("slack", "text", "{{ name }}", test) == "[TEST] checkout_errors"
    assert json.loads(render("webhook", "body", '{"n": {{ name }}}', test)) == {
        "n": "checkout_errors",
        "test": True,
    }
    assert render("email", "body", "{% if test %}TEST{% endif %}", test) == "TEST"


def test_the_variables_are_the_notifications_fields() -> None:
    names = variables.NAMES
    source = "{" + ", ".join(f'"{n}": {{{{ {n} }}}}' for n in names) + "}"
    assert json.loads(render("webhook", "body", source, N)) == {
        "status": "firing",
        "kind": "firing",
        "severity": "HIGH",
        "source": "payments",
        "name": "checkout_errors",
        "alert_id": "a-1",
        "episode": 1,
        "event_ts": 1_700_000_000,
        "event_time": "2023-11-14T22:13:20+00:00",
        "context": {"region": "eu", "note": "<b>&"},
        "rule_ids": ["r-1", "r-2"],
        "notification_id": N.notification_id,
        "client_id": "acme",
        "test": False,
        "title": "[FIRING] [HIGH] payments: checkout_errors",
    }


def test_check_names_every_problem_with_its_line() -> None:
    problems = check(
        "email",
        {"body": "one\ntwo\n{{ name }", "subject": "{% if %}", "footer": "x"},
    )
    assert [(p.name, str(p)) for p in problems] == [
        ("body", "line 3: unexpected '}'"),
        ("footer", "not a template of email endpoints (expected 'subject' or 'body')"),
        ("subject", "line 1: Expected an expression, got 'end of statement block'"),
    ]


def test_check_refuses_unknown_filters_an_oversized_source_and_a_channel_without_any() -> None:
    assert [str(p) for p in check("slack", {"text": "\n{{ name | shout }}"})] == [
        "line 2: No filter named 'shout'."
    ]
    assert [str(p) for p in check("slack", {"text": "x" * (MAX_SOURCE + 1)})] == [
        f"longer than {MAX_SOURCE} characters"
    ]
    assert [str(p) for p in check("teams", {"text": "x"})] == [
        "a teams endpoint takes no templates"
    ]
    assert [str(p) for p in check("email", {"body": "x\n{% include 'other' %}"})] == [
        "line 2: a template cannot extend, include or import another"
    ]
    assert check("webhook", {"body": '{"a": {{ name }}}'}) == []


def test_a_runtime_error_names_its_line() -> None:
    with pytest.raises(TemplateProblem) as caught:
        render("email", "body", "one\ntwo\n{{ name.nope() }}", N)
    assert str(caught.value) == "line 3: 'str object' has no attribute 'nope'"


@pytest.mark.parametrize(
    ("source", "kind", "message"),
    [
        # Each compiles, so it is saved; Jinja then raises what no except clause expected.
        ("one\n{% set c = cycler() %}{{ c.next() }}", "RuntimeError",
         "line 2: at least one item has to be provided"),
        ("{{ 'abc' | truncate(-5) }}", "AssertionError", "line 1: expected length >= 3, got -5"),
    ],
)  # fmt: skip
def test_any_error_a_render_raises_is_a_template_problem(
    source: str, kind: str, message: str
) -> None:
    assert check("email", {"body": source}) == []
    with pytest.raises(TemplateProblem) as caught:
        render("email", "body", source, N)
    assert (caught.value.kind, str(caught.value)) == (kind, message)


def test_nesting_too_deep_to_compile_is_a_problem_at_save_and_at_render() -> None:
    source = "{{ " + "[" * 200 + "]" * 200 + " }}"
    [problem] = check("webhook", {"body": source})
    assert (problem.name, problem.kind, str(problem)) == (
        "body",
        "RecursionError",
        "nests or calls itself too deeply",
    )
    with pytest.raises(TemplateProblem, match=r"^nests or calls itself too deeply$"):
        render("webhook", "body", source, N)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_webhook_body_never_writes_nan_or_infinity(value: str) -> None:
    # Python's json writes and reads NaN/Infinity; JSON and the receivers do not.
    n = dataclasses.replace(N, context={"x": value})
    with pytest.raises(TemplateProblem) as caught:
        render("webhook", "body", '{"x": {{ context.x | float }}}', n)
    assert str(caught.value) == "line 1: NaN and Infinity cannot be written as JSON"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_a_webhook_body_with_a_literal_nan_is_not_a_json_object(literal: str) -> None:
    with pytest.raises(TemplateProblem) as caught:
        render("webhook", "body", '{"x": ' + literal + "}", N)
    assert str(caught.value) == (f"does not render valid JSON: {literal} is not a JSON number")
