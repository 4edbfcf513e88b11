"""The contract of a delivery channel, and what the API and the sender hand to one.

A channel is used on both sides of the platform: the rule-service validates an endpoint
value and decides whether it gets a signing secret; the sender de-duplicates targets,
renders a notification and delivers it. Both sides reach it through the registry by the
endpoint's type name, so each channel is defined once, in its own module.

Channels import the domain, never a service: the transports they deliver through are
protocols here, implemented in ``alerting.adapters`` (``HttpPoster``, ``SmtpPool``,
``UrlGuard``) and handed in by the sender (and the rule-service's test sends).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

from alerting.adapters.dns import Resolver
from alerting.channels.mail_message import MailMessage
from alerting.domain.delivery import Attempt, Target
from alerting.domain.delivery_messages import Digest, OutgoingNotification
from alerting.domain.delivery_rate import Rate

# What the schema accepts as endpoints.type and deliveries.endpoint_type (migration
# 0003 checks the same pattern): enforced at registration, so a badly named channel
# fails when the process starts instead of on its first INSERT.
TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

Message_co = TypeVar("Message_co", covariant=True)


class InvalidValue(ValueError):
    """An endpoint value the channel cannot deliver to. The message is the API's 422
    detail for the ``value`` field, so it is written for the caller."""


@dataclass(frozen=True, slots=True)
class Credential:
    """A secret the caller supplies for an endpoint (a PagerDuty routing key), unlike a
    signing secret, which the platform generates. The API accepts it in the endpoint's
    ``secret`` field, whatever the channel: a new channel declaring one needs no API
    change. It is stored sealed like a signing secret and never returned."""

    what: str  # how the API's 422 names it: "a PagerDuty routing key"
    pattern: re.Pattern[str]  # what a valid one looks like (fullmatch)
    shape: str  # the refusal's explanation: "32 letters or digits"
    # Whether it selects the destination: endpoints with the same value and different
    # credentials are then different targets (two PagerDuty services behind one URL).
    selects_destination: bool = True

    def validate(self, secret: str) -> str:
        """``secret`` as stored; raise ``InvalidValue`` (never quoting it) when it is not one."""
        if not self.pattern.fullmatch(secret):
            raise InvalidValue(f"not {self.what}: expected {self.shape}")
        return secret


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """How the API checks a URL value: whether private addresses are allowed, and the
    resolver that finds out whether a host is one."""

    allow_private: bool
    resolver: Resolver


class HttpTransport(Protocol):
    async def post(
        self, url: str, body: bytes, headers: dict[str, str], now_s: float
    ) -> Attempt: ...


class MailTransport(Protocol):
    async def send(self, message: MailMessage, recipient: str) -> Attempt: ...


class UrlGate(Protocol):
    async def refusal(self, url: str) -> str | None:
        """Why ``url`` must not be called now, or None."""
        ...


@dataclass(frozen=True, slots=True)
class Outbound:
    """What a sender process delivers through, shared by every channel: built once per
    process, so a delivery costs no more than its own request."""

    http: HttpTransport
    mail: MailTransport
    url_guard: UrlGate
    mail_from: str  # the From of every email (and the envelope sender the pool uses)
    wall_clock: Callable[[], float]  # unix seconds: signature timestamps, Date headers


@runtime_checkable
class Channel(Protocol[Message_co]):
    """One delivery channel. ``Message_co`` is what it renders (an HTTP request, an
    email), so rendering can be tested byte for byte without delivering."""

    @property
    def name(self) -> str:
        """The endpoint type, e.g. ``webhook``: stored, shown and accepted by the API."""
        ...

    @property
    def signed(self) -> bool:
        """Whether an endpoint gets a signing secret at creation (shown once)."""
        ...

    @property
    def credential(self) -> Credential | None:
        """The secret a caller must supply with an endpoint, or None (most channels)."""
        ...

    @property
    def default_rate(self) -> Rate | None:
        """How fast the sender calls one destination of this channel unless its endpoint
        says otherwise: the limit the receiving service documents (Slack: about one
        message a second per webhook). None: the sender's ``ALERTING_SENDER_RATE_*``
        setting, for receivers with no documented limit (webhooks, email)."""
        ...

    async def validate(self, value: str, policy: UrlPolicy) -> str:
        """The value to store, normalized; raise ``InvalidValue`` when it is not one."""
        ...

    def identity(self, value: str) -> str:
        """The key two stripped values are the same destination by: endpoints with the
        same (type, identity) get one message."""
        ...

    def render(
        self, n: OutgoingNotification, target: Target, outbound: Outbound, now_s: float
    ) -> Message_co:
        """What ``deliver`` sends at wall-clock time ``now_s``; pure."""
        ...

    async def deliver(self, n: OutgoingNotification, target: Target, outbound: Outbound) -> Attempt:
        """Render and send one message; the answer (or the failure) as an ``Attempt``.
        Never raises for what a receiver does, and never retries: retries span claims."""
        ...


@runtime_checkable
class DigestChannel(Protocol[Message_co]):
    """A channel that delivers a group's digest (docs/grouping.md) as one message: a
    webhook's JSON array, one email listing the members, one Slack or Teams summary, one
    PagerDuty event per group. Every built-in channel is one; an endpoint of a channel
    that is not fails its grouped deliveries with the reason."""

    def render_digest(
        self, d: Digest, target: Target, outbound: Outbound, now_s: float
    ) -> Message_co:
        """What ``deliver_digest`` sends at wall-clock time ``now_s``; pure."""
        ...

    async def deliver_digest(self, d: Digest, target: Target, outbound: Outbound) -> Attempt:
        """Render and send the digest; like ``Channel.deliver``, never raises for what a
        receiver does and never retries."""
        ...
