"""Keyset cursors: round trip, and anything edited or foreign is refused."""

from __future__ import annotations

import base64
import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerting.services.rule_service import cursor
from alerting.services.rule_service.cursor import InvalidCursor, Position

ids = st.text(
    st.characters(blacklist_characters="|", blacklist_categories=("Cs",)), min_size=1, max_size=64
)
times = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)


@given(times, ids)
def test_round_trip(created_at: datetime, ident: str) -> None:
    position = Position(created_at, ident)
    token = cursor.encode("rules", position)
    assert token.isascii() and "=" not in token
    assert cursor.decode("rules", token) == position


def test_another_lists_cursor_is_refused() -> None:
    token = cursor.encode("rules", Position(datetime.now(UTC), "x"))
    with pytest.raises(InvalidCursor, match="another list"):
        cursor.decode("clients", token)


def test_edited_cursor_is_refused() -> None:
    token = cursor.encode("rules", Position(datetime(2024, 1, 1, tzinfo=UTC), "abc"))
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    edited = raw.replace("|abc|", "|abd|")
    forged = base64.urlsafe_b64encode(edited.encode()).decode().rstrip("=")
    with pytest.raises(InvalidCursor):
        cursor.decode("rules", forged)


@pytest.mark.parametrize("token", ["", "!!!", "YWJj", "a" * 1000, "w6k", "Yzl8cnVsZXN8eHx5fDA"])
def test_garbage_is_refused(token: str) -> None:
    with pytest.raises(InvalidCursor):
        cursor.decode("rules", token)


@given(st.text(max_size=200))
def test_decode_never_raises_anything_but_invalid_cursor(token: str) -> None:
    with contextlib.suppress(InvalidCursor):
        cursor.decode("rules", token)
