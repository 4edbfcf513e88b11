"""Sealed secrets (alerting.sealed) and their keyring setting, ALERTING_SECRET_KEYS."""

from __future__ import annotations

import base64
from collections.abc import Callable
from itertools import pairwise

import pytest

from alerting import config
from alerting.config import ConfigError
from alerting.sealed import (
    ENDPOINT_SIGNING_SECRET,
    Keyring,
    SealError,
    is_sealed,
    key_id_of,
)
from alerting.secret_keys import SecretKey, new_entry, parse_secret_keys

KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))
ROW = ENDPOINT_SIGNING_SECRET.binding("6f1c0d1e-0000-4000-8000-000000000001")
OTHER_ROW = ENDPOINT_SIGNING_SECRET.binding("6f1c0d1e-0000-4000-8000-000000000002")


def ring(*keys: tuple[str, bytes]) -> Keyring:
    return Keyring(tuple(SecretKey(kid, key) for kid, key in keys))


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def test_a_sealed_secret_opens_to_itself_and_shows_nothing_of_it() -> None:
    keyring = ring(("a", KEY_A))
    stored = keyring.seal("whsec_the-secret", ROW)
    assert stored.startswith("v1:a:") and is_sealed(stored) and key_id_of(stored) == "a"
    assert "the-secret" not in stored
    assert keyring.open(stored, ROW) == "whsec_the-secret"
    # A fresh nonce per seal: the same secret never looks the same twice.
    assert keyring.seal("whsec_the-secret", ROW) != stored


def test_a_value_does_not_open_under_another_key() -> None:
    stored = ring(("a", KEY_A)).seal("s", ROW)
    with pytest.raises(SealError, match="key id 'a', which is not in ALERTING_SECRET_KEYS"):
        ring(("b", KEY_B)).open(stored, ROW)
    # The same id holding another key: the tag does not verify.
    with pytest.raises(SealError, match="does not open"):
        ring(("a", KEY_B)).open(stored, ROW)


def test_a_value_copied_to_another_row_does_not_open() -> None:
    keyring = ring(("a", KEY_A))
    stored = keyring.seal("s", ROW)
    with pytest.raises(SealError, match="copied from another row"):
        keyring.open(stored, OTHER_ROW)


@pytest.mark.parametrize(
    ("edit", "error"),
    [
        (lambda s: s[:-4] + ("AAAA" if not s.endswith("AAAA") else "BBBB"), "does not open"),
        (lambda s: s[: len("v1:a:") + 10], "truncated|not base64"),
        (lambda s: s.replace("v1:a:", "v1:a:!!"), "not base64"),
        (lambda s: s.replace("v1:a:", "v1:b:"), "does not open"),
    ],
)
def test_an_altered_value_does_not_open(edit: Callable[[str], str], error: str) -> None:
    # Key "b" holds key "a"'s bytes: even then, renaming the key id breaks the tag.
    keyring = ring(("a", KEY_A), ("b", KEY_A))
    stored = keyring.seal("s", ROW)
    with pytest.raises(SealError, match=error):
        keyring.open(edit(stored), ROW)


def test_a_legacy_plain_text_value_opens_as_itself() -> None:
    keyring = ring(("a", KEY_A))
    legacy = "Zx3_-legacy-token-urlsafe-secret"
    assert not is_sealed(legacy) and key_id_of(legacy) is None
    assert keyring.open(legacy, ROW) == legacy
    assert not keyring.is_current(legacy)


def test_the_first_key_seals_and_every_key_opens() -> None:
    old = ring(("old", KEY_A))
    rotating = ring(("new", KEY_B), ("old", KEY_A))
    before = old.seal("s", ROW)
    after = rotating.seal("s", ROW)
    assert rotating.current == "new" and key_id_of(after) == "new"
    assert rotating.open(before, ROW) == rotating.open(after, ROW) == "s"
    assert rotating.is_current(after) and not rotating.is_current(before)
    with pytest.raises(SealError):
        old.open(after, ROW)


def test_the_setting_parses_into_an_ordered_keyring() -> None:
    raw = f" new:{b64(KEY_B)} , old:{base64.urlsafe_b64encode(KEY_A).decode()}"
    keys = config.load({"ALERTING_SECRET_KEYS": raw}).require_secret_keys()
    assert keys == (SecretKey("new", KEY_B), SecretKey("old", KEY_A))
    assert Keyring(keys).current == "new"


def test_the_keys_are_required_where_secrets_are_stored_and_never_shown() -> None:
    assert config.load({}).secret_keys is None
    with pytest.raises(ConfigError, match="ALERTING_SECRET_KEYS is required"):
        Keyring.from_settings(config.load({}))
    settings = config.load({"ALERTING_SECRET_KEYS": f"k1:{b64(KEY_A)}"})
    assert b64(KEY_A) not in repr(settings) and repr(KEY_A) not in repr(settings)
    assert config.SETTINGS[[s.env for s in config.SETTINGS].index("ALERTING_SECRET_KEYS")].secret


SHORT = b64(b"x" * 16)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b64(KEY_A), "item 1 must be <key id>:<base64 key>"),
        (f"k1:{b64(KEY_A)},", "item 2 must be <key id>:<base64 key>"),
        (f"k1:{b64(KEY_A)},k2:", "item 2 must be <key id>:<base64 key>"),
        (f"bad id:{b64(KEY_A)}", "item 1: the key id must be 1-32 letters"),
        (f"{'k' * 33}:{b64(KEY_A)}", "item 1: the key id must be 1-32 letters"),
        ("k1:not*base64", "key 'k1' is not valid base64"),
        (f"k1:{SHORT}", "key 'k1' decodes to 16 bytes; AES-256 needs 32"),
        (f"k1:{b64(KEY_A)},k1:{b64(KEY_B)}", "lists key id 'k1' twice"),
    ],
)
def test_a_bad_keyring_is_refused_with_a_precise_line_that_holds_no_key(
    raw: str, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        config.load({"ALERTING_SECRET_KEYS": raw})
    text = str(info.value)
    assert message in text and "ALERTING_SECRET_KEYS" in text and "\n" not in text
    for key in (KEY_A, KEY_B, b"x" * 16):
        assert b64(key) not in text and base64.urlsafe_b64encode(key).decode() not in text


def test_a_new_entry_is_a_fresh_key_the_keyring_accepts() -> None:
    first, second = new_entry("k_2027"), new_entry("k_2027")
    parsed = parse_secret_keys(f"{first},{second.replace('k_2027', 'other', 1)}")
    assert parsed is not None and parsed[0].key_id == "k_2027" and len(parsed[0].key) == 32
    assert first != second  # random per call
    with pytest.raises(ValueError, match="key id"):
        new_entry("no:colons")


def _roll_is_safe(before: Keyring, after: Keyring) -> bool:
    """During a roll-out tasks of both keyrings run side by side: whatever one seals,
    every other must open."""
    sealed = [before.seal("s", ROW), after.seal("s", ROW)]
    try:
        return all(r.open(v, ROW) == "s" for r in (before, after) for v in sealed)
    except SealError:
        return False


def test_the_documented_rotation_never_seals_with_a_key_a_running_task_lacks() -> None:
    """docs/deployment.md: add the new key second and roll, move it first and roll,
    re-seal, drop the old key and roll. Putting it first at once is not safe: a new
    rule-service task would seal with a key the old sender tasks cannot open."""
    old, new = ("old", KEY_A), ("new", KEY_B)
    steps = [ring(old), ring(old, new), ring(new, old)]
    assert all(_roll_is_safe(a, b) for a, b in pairwise(steps))
    # After `rotate` nothing is left under the old key, so dropping it is safe too.
    assert _roll_is_safe(ring(new, old), ring(new))
    assert not _roll_is_safe(ring(old), ring(new, old))
