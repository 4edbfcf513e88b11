"""The sender's side of sealed secrets: endpoints read with their secrets opened, each
stored value decrypted once per process (not per delivery), and a secret that does not
open never turned into an unsigned request."""

from __future__ import annotations

import logging
from typing import Any, cast

import pytest

from alerting import config
from alerting.domain.delivery import Outcome, Target
from alerting.domain.delivery_messages import OutgoingNotification
from alerting.sealed import ENDPOINT_SIGNING_SECRET, Keyring
from alerting.secret_keys import SecretKey
from alerting.services.sender.channels import Channels
from alerting.services.sender.repo import Pool, PostgresSenderStore

NID = "6f1c0d1e-8a8e-4a43-9d5c-2b1d4c9e0a11"
EID = "0b7e4a52-3f1e-4c1d-9a0e-7f5d2c1b9e88"
SECRET = "the-webhook-signing-secret"


class CountingKeyring(Keyring):
    def __init__(self, keys: tuple[SecretKey, ...]) -> None:
        super().__init__(keys)
        self.opened = 0

    def open(self, stored: str, binding: str) -> str:
        self.opened += 1
        return super().open(stored, binding)


RID = "00000000-0000-4000-8000-0000000000aa"


class EndpointsPool:
    """Answers the ENDPOINTS statement with one webhook row holding ``stored``."""

    def __init__(self, stored: str) -> None:
        self.stored = stored

    async def fetch(self, _sql: str, ids: list[str]) -> list[dict[str, Any]]:
        return [
            {
                "notification_id": i,
                "endpoint_id": EID,
                "type": "webhook",
                "value": "https://hooks.example/x",
                "signing_secret": self.stored,
                "prior_status": None,
                "prior_error": None,
                "previous_secret": None,  # no rotation in progress
                "templates": None,
                "rate_per_s": None,  # the channel's default rate
                "rate_burst": None,
                "rule_id": RID,
                "grouping": None,  # an ungrouped rule
            }
            for i in ids
        ]


def keyring() -> CountingKeyring:
    return CountingKeyring((SecretKey("k1", bytes(range(32))),))


async def secrets_read(store: PostgresSenderStore) -> list[str | None]:
    found = await store.endpoints_for([NID])
    return [e.signing_secret for e in found[NID]]


async def test_a_sealed_secret_is_opened_once_per_stored_value() -> None:
    ring = keyring()
    pool = EndpointsPool(ring.seal(SECRET, ENDPOINT_SIGNING_SECRET.binding(EID)))
    store = PostgresSenderStore(cast(Pool, pool), ring)
    for _ in range(5):  # five batches delivering to the same endpoint
        assert await secrets_read(store) == [SECRET]
    assert ring.opened == 1
    # Re-sealed (a rotation): a new stored value, opened afresh, never a stale hit.
    pool.stored = ring.seal(SECRET, ENDPOINT_SIGNING_SECRET.binding(EID))
    assert await secrets_read(store) == [SECRET]
    assert ring.opened == 2


async def test_legacy_plain_text_is_used_as_it_is() -> None:
    store = PostgresSenderStore(cast(Pool, EndpointsPool("plain-legacy-secret")), keyring())
    assert await secrets_read(store) == ["plain-legacy-secret"]


async def test_a_secret_that_does_not_open_is_none_and_logged_without_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    other = Keyring((SecretKey("k0", bytes(32)),))
    stored = other.seal(SECRET, ENDPOINT_SIGNING_SECRET.binding(EID))
    store = PostgresSenderStore(cast(Pool, EndpointsPool(stored)), keyring())
    with caplog.at_level(logging.ERROR):
        assert await secrets_read(store) == [None]
        assert await secrets_read(store) == [None]
    (record,) = caplog.records  # once per stored value, not per batch
    assert EID in record.getMessage() and "'k0'" in record.getMessage()
    assert SECRET not in caplog.text and stored not in caplog.text


class NoTransport:
    async def post(self, *args: object) -> Any:
        raise AssertionError("nothing may be sent")

    async def send(self, *args: object) -> Any:
        raise AssertionError("nothing may be sent")

    async def refusal(self, url: str) -> str | None:
        return None


async def test_a_signed_channel_without_its_secret_is_retried_not_sent_unsigned() -> None:
    none = NoTransport()
    channels = Channels(config.load({}), cast(Any, none), cast(Any, none), cast(Any, none))
    n = OutgoingNotification(NID, "c", "a", "HIGH", "s", "n", 0, (), 1, {})
    target = Target("webhook", "https://hooks.example/x", None, (EID,), None)
    attempt = await channels.deliver(n, target)
    assert attempt.outcome is Outcome.RETRY
    assert "cannot be opened with ALERTING_SECRET_KEYS" in (attempt.error or "")
