"""Foreign alerts' contexts are cleaned and cut to fit, never refused: what survives, in
which order, and how the loss is recorded."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerting.domain.foreign_context import (
    _LINE_BREAKS,
    ContextLimits,
    Entry,
    clean_key,
    clean_value,
    cut,
    fit,
    ordered_entries,
)
from alerting.domain.text import LABEL, VALUE

LIMITS = ContextLimits(entries=4, key_chars=8, value_chars=10)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Disk full\n", "Disk full"),  # YAML's `description: |` keeps the line feed
        ("a\n  VALUE = 3", "a   VALUE = 3"),  # awesome-prometheus-alerts' descriptions
        ("a\r\nb\rc\u2028d\x85e", "a b c d e"),
        ("tab\tkept", "tab\tkept"),
        ("\u202eevil", "\\u202eevil"),
        ("bell\x07nul\x00", "bell\\u0007nul\\u0000"),
        ("  both ends \t\n", "both ends"),
        ("", ""),
    ],
)
def test_a_value_is_one_line_with_refused_characters_escaped(raw: str, clean: str) -> None:
    assert clean_value(raw, 1024) == clean
    assert VALUE.violation(clean) is None


def test_a_long_value_is_cut_with_a_marker_after_escaping() -> None:
    assert clean_value("x" * 2000, 1024) == "x" * 1023 + "…"
    assert clean_value("x" * 1024, 1024) == "x" * 1024
    escaped = clean_value("\x1b" * 300, 1024)  # each escape is 6 characters
    assert len(escaped) == 1024 and escaped.endswith("…")


def test_a_key_is_a_label_or_nothing() -> None:
    assert clean_key("bad\u202ekey", 128) == "bad\\u202ekey"
    assert clean_key("tab\there", 128) == "tab\\u0009here"  # a label holds no tab
    assert clean_key(" \n ", 128) == ""
    assert clean_key("k" * 200, 128) == "k" * 127 + "…"
    assert LABEL.violation(clean_key("a\x00\ud800b", 128)) is None


def test_entries_come_in_the_documented_priority() -> None:
    labels = {"zeta": "1", "alertname": "A", "alpha": "2", "job": "j", "severity": "s"}
    annotations = {"summary": "s", "description": "d"}
    entries = ordered_entries(labels, annotations, "http://p", ["alertname", "severity", "job"])
    assert [e.loc for e in entries] == [
        ("labels", "alertname"),
        ("labels", "severity"),
        ("labels", "job"),
        ("labels", "alpha"),
        ("labels", "zeta"),
        ("annotations", "description"),
        ("annotations", "summary"),
        ("generatorURL",),
    ]
    # a label the mapping names twice, or not at all, is listed once or not first
    again = ordered_entries({"b": "1", "a": "2"}, {}, "", ["missing", "b", "b"])
    assert [e.key for e in again] == ["b", "a"]


def test_over_the_limit_the_last_entries_go_and_the_marker_counts_in_the_limit() -> None:
    entries = [Entry(f"k{i}", "v", ("labels", f"k{i}")) for i in range(6)]
    result = fit(entries, LIMITS)
    assert result.context == {"k0": "v", "k1": "v", "k2": "v", "context_truncated": "3"}
    assert result.dropped == 3
    assert set(result.origins) == {"k0", "k1", "k2"}
    exact = fit(entries[:4], LIMITS)
    assert (exact.context, exact.dropped) == ({f"k{i}": "v" for i in range(4)}, 0)


def test_a_key_with_nothing_visible_is_dropped_and_counted() -> None:
    entries = [Entry("\n", "v", ("labels", "\n")), Entry("a", "v", ("labels", "a"))]
    assert fit(entries, LIMITS).context == {"a": "v", "context_truncated": "1"}
    full = [*entries, *(Entry(f"k{i}", "v", ("labels", f"k{i}")) for i in range(3))]
    # 4 visible keys fit, but the marker needs a place: one more goes
    assert fit(full, LIMITS).context == {"a": "v", "k0": "v", "k1": "v", "context_truncated": "2"}


def test_keys_that_collide_after_cleaning_or_with_the_marker_are_suffixed() -> None:
    entries = [
        Entry("context_truncated", "label", ("labels", "context_truncated")),
        Entry("a\nb", "1", ("labels", "a\nb")),
        Entry("a b", "2", ("labels", "a b")),
        Entry("k" * 21, "3", ("labels", "k" * 21)),
        Entry("k" * 22, "4", ("annotations", "k" * 22)),
    ]
    result = fit(entries, ContextLimits(8, 20, 10))
    assert result.context == {
        "context_truncated_2": "label",  # the marker's key stays the platform's
        "a b": "1",
        "a b_2": "2",
        "k" * 19 + "…": "3",
        "annotations." + "k" * 7 + "…": "4",  # same key once cut: prefixed, cut again
    }
    assert result.origins["a b_2"] == ("labels", "a b")


# Printable text skips the line-break substitution and the escaping (a fast path): the
# result must be what the full cleaning gives, for any text, printable or not.
SPACED = st.sampled_from(["", " ", "  "])
# Either side of the fast path: text Python calls printable (no category C or Z but
# the ASCII space), spaced at either end, and text with line breaks, controls, bidi.
PRINTABLE = st.text(
    st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs")),
    max_size=30,
)
TEXT = st.one_of(
    st.builds(lambda a, t, b: a + t + b, SPACED, PRINTABLE, SPACED),
    st.text(
        st.one_of(
            st.characters(blacklist_categories=("Cs",)),
            st.sampled_from(" \t\r\n\x0b\x0c\x85\u2028\u2029\u202e\x00\x1b"),
        ),
        max_size=40,
    ),
)


@given(TEXT, st.integers(min_value=1, max_value=50))
def test_cleaning_printable_text_quickly_gives_what_the_full_cleaning_gives(
    text: str, limit: int
) -> None:
    one_line = _LINE_BREAKS.sub(" ", text).strip()
    assert clean_value(text, limit) == cut(VALUE.neutralised(one_line), limit)
    assert clean_key(text, limit) == cut(LABEL.neutralised(one_line), limit)
