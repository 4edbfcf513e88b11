"""A webhook digest: a JSON array whose items are byte for byte single bodies, signed
under the digest's id (checked with the official ``standardwebhooks`` package), the
group's headers, 410 Gone, and no endpoint template."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from alerting.channels.base import DigestChannel
from alerting.channels.builtin.webhook import CHANNEL, body, digest_body
from alerting.channels.builtin.webhook import WebhookChannel as Webhooks
from alerting.channels.standard_webhooks import new_secret, signature, signing_key
from alerting.domain.delivery import Attempt, Outcome
from tests.unit.channel_support import N2, NOW_S, D, N, Recorded, target

DIGESTS = Webhooks()
URL = "https://h.example/x"


def test_the_body_is_an_array_of_exactly_the_single_bodies() -> None:
    assert digest_body(D) == b"[" + body(N) + b"," + body(N2) + b"]"
    items = json.loads(digest_body(D))
    # A receiver parses each item with its single-notification code: same object.
    assert items == [json.loads(body(N)), json.loads(body(N2))]
    assert items[1]["name"] == N2.name  # JSON carries alert text as data, never markup


def test_the_headers_name_the_digest_its_group_and_its_place() -> None:
    secret = new_secret()
    request = DIGESTS.render_digest(D, target("webhook", URL, secret), Recorded().outbound(),
                                    NOW_S)  # fmt: skip
    assert request.url == URL and request.body == digest_body(D)
    assert request.headers == {
        "Content-Type": "application/json",
        "User-Agent": "alerting-sender/1",
        "Idempotency-Key": D.digest_id,
        "webhook-id": D.digest_id,
        "webhook-timestamp": "1700000005",
        "webhook-signature": signature(signing_key(secret), D.digest_id, 1_700_000_005,
                                       request.body),
        "X-Alerting-Group-Id": D.group_id,
        "X-Alerting-Digest-Seq": "2",
    }  # fmt: skip


def test_the_standard_verifier_accepts_both_secrets_of_a_rotation() -> None:
    old, new = new_secret(), new_secret()
    rotating = dataclasses.replace(target("webhook", URL, new), previous_secret=old)
    request = DIGESTS.render_digest(D, rotating, Recorded().outbound(), time.time())
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        verified = Webhook(secret).verify(request.body, request.headers)
        assert [item["alert_id"] for item in verified] == ["a-1", "a-2"]
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(request.body, request.headers)
    # Signed under the digest id: the same body under a member's id does not verify.
    moved = {**request.headers, "webhook-id": N.notification_id}
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(new).verify(request.body, moved)


def test_every_try_of_a_digest_carries_one_id() -> None:
    hook = target("webhook", URL, new_secret())
    first = DIGESTS.render_digest(D, hook, Recorded().outbound(), NOW_S)
    again = DIGESTS.render_digest(dataclasses.replace(D, attempts=3), hook,
                                  Recorded().outbound(), NOW_S + 60)  # fmt: skip
    assert first.headers["webhook-id"] == again.headers["webhook-id"] == D.digest_id
    assert first.body == again.body


def test_an_endpoint_template_does_not_apply_to_a_digest() -> None:
    templated = dataclasses.replace(target("webhook", URL, "k"), templates={"body": "{}"})
    request = DIGESTS.render_digest(D, templated, Recorded().outbound(), NOW_S)
    assert request.body == digest_body(D)


async def test_deliver_digest_posts_it_signed_at_the_wall_clock() -> None:
    via = Recorded()
    now = time.time()
    secret = new_secret()
    found = await DIGESTS.deliver_digest(D, target("webhook", URL, secret), via.outbound(now))
    assert found == via.answer
    [(url, sent, headers, now_s)] = via.posts
    assert (url, sent, now_s) == (URL, digest_body(D), now)
    assert len(Webhook(secret).verify(sent, headers)) == 2


async def test_a_410_gone_disables_the_endpoint_as_for_a_single_notification() -> None:
    via = Recorded(answer=Attempt.permanent("HTTP 410", 410))
    found = await DIGESTS.deliver_digest(D, target("webhook", URL, "k"), via.outbound())
    assert found == Attempt(
        Outcome.FAILED, "HTTP 410", 410,
        disable_reason="receiver answered 410 Gone at 2023-11-14T22:13:25Z",
    )  # fmt: skip


def test_the_registered_channel_delivers_digests() -> None:
    assert isinstance(CHANNEL, DigestChannel)
