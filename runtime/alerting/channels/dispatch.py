"""One delivery through the channel a target's type names: what the sender does per
target and the rule-service's test send does once, so both judge a target alike."""

from __future__ import annotations

from alerting.channels import registry
from alerting.channels.base import Channel, DigestChannel, Outbound
from alerting.domain.delivery import Attempt, Target
from alerting.domain.delivery_messages import Digest, OutgoingNotification


async def deliver(n: OutgoingNotification, target: Target, outbound: Outbound) -> Attempt:
    # Looked up per delivery (a dict read), not cached: a channel registered after the
    # process started (a test's) is found all the same.
    channel = registry.find(target.type)
    if channel is None:
        return Attempt.permanent(f"unknown endpoint type {target.type!r}")
    refusal = _refusal(channel, target)
    if refusal is not None:
        return refusal
    return await channel.deliver(n, target, outbound)


async def deliver_digest(d: Digest, target: Target, outbound: Outbound) -> Attempt:
    """A group's digest through the target's channel, judged like ``deliver``."""
    channel = registry.find(target.type)
    if channel is None:
        return Attempt.permanent(f"unknown endpoint type {target.type!r}")
    if not isinstance(channel, DigestChannel):
        return Attempt.permanent(f"{target.type} endpoints cannot deliver grouped digests")
    refusal = _refusal(channel, target)
    if refusal is not None:
        return refusal
    return await channel.deliver_digest(d, target, outbound)


def _refusal(channel: Channel[object], target: Target) -> Attempt | None:
    if (channel.signed or channel.credential is not None) and not target.signing_secret:
        # Never an unsigned request to a receiver that verifies, nor one without its
        # routing key (a credential's channel). Transient: the usual cause is a key
        # missing from this process's ALERTING_SECRET_KEYS (a roll-out in progress),
        # which a retry after the fix gets past.
        return Attempt.transient(
            "the endpoint's signing secret cannot be opened with ALERTING_SECRET_KEYS"
            " (the sender's log names the key id)"
        )
    return None
