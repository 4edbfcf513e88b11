"""The template sandbox's bounds: time, size, unsafe attributes, amplifying operations.

Each bound is proved with a template that would otherwise run for minutes, allocate
gigabytes or reach Python internals; each must fail within the budget with a message
naming what was refused (and the line, where the template has one)."""

from __future__ import annotations

import time

import pytest

from alerting.templates.render import RENDER_BUDGET_S, TemplateProblem, render
from tests.unit.channel_support import N

# Generous against a loaded CI machine, yet far below what any of these would take.
WALL_LIMIT_S = 2.0


def failure(source: str, channel: str = "email", name: str = "body") -> TemplateProblem:
    started = time.monotonic()
    with pytest.raises(TemplateProblem) as caught:
        render(channel, name, source, N)
    assert time.monotonic() - started < WALL_LIMIT_S
    return caught.value


def test_nested_loops_that_would_take_minutes_stop_at_the_budget() -> None:
    source = (
        "line one\n{% for i in range(1000) %}{% for j in range(1000) %}"
        "{% for k in range(1000) %}{% endfor %}{% endfor %}{% endfor %}"
    )
    started = time.monotonic()
    problem = failure(source)
    assert str(problem) == "line 2: rendering used more than 20 ms of CPU and was stopped"
    assert time.monotonic() - started >= RENDER_BUDGET_S


def test_loops_over_long_text_without_calls_stop_at_the_budget_too() -> None:
    # No call, lookup or output inside: only the loop guard sees these iterations.
    source = "{% set s = 'x' * 60000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}"
    assert "more than 20 ms of CPU" in str(failure(source))


def test_output_past_the_cap_is_refused_not_built() -> None:
    # 1000 x 60,000 characters: 60 MB if it were allowed to run.
    problem = failure("{% for i in range(1000) %}{{ 'x' * 60000 }}{% endfor %}")
    assert str(problem) == "renders more than 65536 characters"


@pytest.mark.parametrize(
    "source",
    ["{{ ''.__class__ }}", "{{ context.__class__.__mro__ }}", "{{ name.__len__() }}"],
)
def test_private_attributes_are_refused_with_an_error(source: str) -> None:
    problem = failure(source, "slack", "text")
    assert problem.line == 1
    assert "is not allowed" in problem.message


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ 'x' * 10000000 }}", "repeating a value past 65536 items was refused"),
        ("{{ 9 ** 1000 }}", "an exponent above 64 was refused"),
        ("{{ '%1000000000s' % name }}", "'%' formatting is not available"),
        ("{{ '{:>1000000000}'.format(name) }}", "attribute 'format' of a 'str' value"),
        ("{{ name.zfill(1000000000) }}", "attribute 'zfill' of a 'str' value"),
        ("{{ range(5000) | list }}", "range() of more than 1000 items was refused"),
        ("{{ name | truncate(1000000000) }}", "an argument larger than 65536 was refused"),
        ("{{ name | center(1000000000) }}", "No filter named 'center'"),
        ("{{ lipsum() }}", "'lipsum' is undefined"),
        ("{{ ('x' * 60000) | replace('x', 'yy') }}", "replace() would build text longer"),
        (
            "{% set ns = namespace(s='x') %}{% for i in range(64) %}"
            "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
            "'~' would build text longer than 65536",
        ),
        # Short lists whose text is huge: 65,536 references to one 60,000-character string.
        ("{% set s = 'x' * 60000 %}{{ [s] * 65536 }}", "a list value longer than 65536"),
        ("{% set s = 'x' * 60000 %}{{ [s, s] | string }}", "a list value longer than 65536"),
        ("{% set s = 'x' * 60000 %}{{ s | join(s) }}", "join() would build text longer"),
        ("{% set s = 'x' * 60000 %}{{ s ~ s }}", "'~' would build text longer than 65536"),
        # Buffered blocks are joined in one go: checked before the join.
        (
            "{% set s = 'x' * 1000 %}{% filter upper %}{% for i in range(100) %}{{ s }}"
            "{% endfor %}{% endfilter %}",
            "a block renders more than 65536 characters",
        ),
        (
            "{% macro m() %}{% for i in range(100) %}{{ 'x' * 1000 }}{% endfor %}"
            "{% endmacro %}{{ m() | length }}",
            "a block renders more than 65536 characters",
        ),
        (
            "{% set s = 'x' * 60000 %}{% set ns = namespace() %}{% set ns.a = [s, s] %}{{ ns }}",
            "a Namespace value longer than 65536",
        ),
        ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "nests or calls itself too deeply"),
        ("{% set l = [1] %}{{ l.append(2) }}", "attribute 'append' of a 'list' value"),
    ],
)
def test_amplifying_and_mutating_operations_are_refused(source: str, expected: str) -> None:
    assert expected in str(failure(source))


def test_a_missing_value_renders_empty_and_the_default_filter_fills_it() -> None:
    out = render("email", "body", "[{{ context.missing }}] [{{ context.gone | d('-') }}]", N)
    assert out == "[] [-]"


def test_the_usual_tools_still_work() -> None:
    source = (
        "{% for k, v in context | dictsort %}{{ k | upper }}={{ v }};{% endfor %}"
        " {{ rule_ids | join(',') }} {{ name.split('_') | first }} {{ severity | lower }}"
        " {{ episode + 1 }} {% if test %}test{% else %}real{% endif %}"
    )
    assert render("email", "body", source, N) == (
        "NOTE=<b>&;REGION=eu; r-1,r-2 checkout high 2 real"
    )
