"""Keyset cursors: round trip, and anything edited, forged or foreign is refused."""

from __future__ import annotations

import base64
import contextlib
import hashlib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerting import config
from alerting.services.rule_service.cursor import Cursors, InvalidCursor, Position

ids = st.text(
    st.characters(blacklist_characters="|", blacklist_categories=("Cs",)), min_size=1, max_size=64
)
CURSORS = Cursors(b"a test cursor key of 32 bytes..")
times = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)


@given(times, ids)
def test_round_trip(created_at: datetime, ident: str) -> None:
    position = Position(created_at, ident)
    token = CURSORS.encode("rules", position)
    assert token.isascii() and "=" not in token
    assert CURSORS.decode("rules", token) == position


def test_another_lists_cursor_is_refused() -> None:
    token = CURSORS.encode("rules", Position(datetime.now(UTC), "x"))
    with pytest.raises(InvalidCursor, match="another list"):
        CURSORS.decode("clients", token)


def test_edited_cursor_is_refused() -> None:
    token = CURSORS.encode("rules", Position(datetime(2024, 1, 1, tzinfo=UTC), "abc"))
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    edited = raw.replace("|abc|", "|abd|")
    forged = base64.urlsafe_b64encode(edited.encode()).decode().rstrip("=")
    with pytest.raises(InvalidCursor):
        CURSORS.decode("rules", forged)


@pytest.mark.parametrize("token", ["", "!!!", "YWJj", "a" * 1000, "w6k", "Yzl8cnVsZXN8eHx5fDA"])
def test_garbage_is_refused(token: str) -> None:
    with pytest.raises(InvalidCursor):
        CURSORS.decode("rules", token)


@given(st.text(max_size=200))
def test_decode_never_raises_anything_but_invalid_cursor(token: str) -> None:
    with contextlib.suppress(InvalidCursor):
        CURSORS.decode("rules", token)


def _text_of(token: str) -> str:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()


def _token_of(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_a_cursor_forged_with_a_recomputed_checksum_is_refused() -> None:
    """The format is public: a client can rewrite the position and recompute any
    unkeyed check over it (here blake2s, what the cursor used to carry)."""
    token = CURSORS.encode("rules", Position(datetime(2024, 1, 1, tzinfo=UTC), "abc"))
    body, _, check = _text_of(token).rpartition("|")
    forged_body = body.replace("|abc", "|00000000-0000-0000-0000-000000000000")
    digest = hashlib.blake2s(forged_body.encode(), digest_size=len(check) // 2).hexdigest()
    with pytest.raises(InvalidCursor, match="not issued by this service"):
        CURSORS.decode("rules", _token_of(f"{forged_body}|{digest}"))


def test_a_cursor_under_another_key_is_refused() -> None:
    token = Cursors(b"another key of at least 16 bytes").encode(
        "rules", Position(datetime.now(UTC), "x")
    )
    with pytest.raises(InvalidCursor, match="not issued by this service"):
        CURSORS.decode("rules", token)


def test_the_key_is_the_setting_or_derived_from_the_admin_token() -> None:
    position = Position(datetime(2024, 1, 1, tzinfo=UTC), "abc")
    admin = {"ALERTING_ADMIN_TOKEN": "an-admin-token-of-some-length"}
    derived = Cursors.for_settings(config.load(admin))
    token = derived.encode("rules", position)
    assert Cursors.for_settings(config.load(admin)).decode("rules", token) == position
    assert token != CURSORS.encode("rules", position)
    other_admin = config.load({"ALERTING_ADMIN_TOKEN": "another-admin-token-entirely"})
    with pytest.raises(InvalidCursor):
        Cursors.for_settings(other_admin).decode("rules", token)
    configured = Cursors.for_settings(
        config.load({**admin, "ALERTING_CURSOR_KEY": "a-configured-cursor-key"})
    )
    with pytest.raises(InvalidCursor):
        configured.decode("rules", token)
    assert configured.decode("rules", configured.encode("rules", position)) == position


def test_a_short_cursor_key_stops_the_start() -> None:
    with pytest.raises(config.ConfigError, match="ALERTING_CURSOR_KEY"):
        config.load({"ALERTING_CURSOR_KEY": "short"})
