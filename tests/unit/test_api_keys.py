from __future__ import annotations

from alerting.domain import api_keys


def test_generated_key_verifies_and_stores_no_secret() -> None:
    key = api_keys.generate()
    assert key.token.startswith(f"alk_{key.prefix}_")
    assert api_keys.prefix_of(key.token) == key.prefix
    assert api_keys.matches(key.token, key.secret_hash)
    assert key.token not in key.secret_hash
    assert not api_keys.matches(key.token + "x", key.secret_hash)


def test_malformed_tokens_have_no_prefix() -> None:
    for token in (
        "",
        "alk",
        "alk__x",
        "xyz_0123456789ab_secret",
        "alk_short_secret",
        "alk_0123456789ab_",
    ):
        assert api_keys.prefix_of(token) is None
