"""The per-row Python of ``PostgresSenderStore``: a claimed row's context."""

from __future__ import annotations

from alerting.services.sender.repo import _context


def test_a_context_of_strings_is_taken_as_decoded() -> None:
    assert _context({"region": "eu", "host": "h-1"}) == {"region": "eu", "host": "h-1"}
    assert _context({}) == {}


def test_a_context_value_that_is_no_string_is_shown_as_json() -> None:
    assert _context({"region": "eu", "replicas": 3, "tags": ["a"]}) == {
        "region": "eu",
        "replicas": "3",
        "tags": '["a"]',
    }
    assert _context(None) == {}
    assert _context(["a", 1]) == {"context": '["a", 1]'}
