"""The channel registry: built-ins found by discovery, what registration refuses, the
identity the sender de-duplicates by, and the sender's dispatch through it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from alerting import config
from alerting.channels import registry
from alerting.channels.base import Credential, Outbound, UrlPolicy
from alerting.channels.builtin import email, pagerduty
from alerting.channels.mail_message import MailMessage
from alerting.domain.delivery import Attempt, Outcome, Target
from alerting.domain.delivery_messages import OutgoingNotification
from alerting.domain.delivery_rate import Rate
from alerting.services.sender.channels import Channels
from tests.unit.channel_support import N, Recorded, target


@dataclass
class Named:
    """The smallest channel: delivers nothing, answers SENT."""

    name: str
    signed: bool = False
    credential: Credential | None = None
    default_rate: Rate | None = None

    async def validate(self, value: str, policy: UrlPolicy) -> str:
        return value

    def identity(self, value: str) -> str:
        return value

    def render(
        self, n: OutgoingNotification, target: Target, outbound: Outbound, now_s: float
    ) -> str:
        return n.title

    async def deliver(self, n: OutgoingNotification, target: Target, outbound: Outbound) -> Attempt:
        return Attempt.sent()


@pytest.fixture
def extra() -> Iterator[list[str]]:
    """Names a test registers; unregistered afterwards whatever happens."""
    names: list[str] = []
    try:
        yield names
    finally:
        for name in names:
            registry.unregister(name)


def test_the_builtin_channels_are_found_without_a_list() -> None:
    assert registry.names() == ("email", "pagerduty", "slack", "teams", "webhook")
    assert [registry.get(n).signed for n in registry.names()] == [False, False, False, False, True]
    credentials = [registry.get(n).credential for n in registry.names()]
    assert credentials == [None, pagerduty.ROUTING_KEY, None, None, None]
    assert registry.get("email") is email.CHANNEL


def test_a_registered_channel_is_listed_and_found_until_unregistered(extra: list[str]) -> None:
    pager = Named("pager_duty")
    registry.register(pager)
    extra.append(pager.name)
    assert registry.names() == ("email", "pager_duty", "pagerduty", "slack", "teams", "webhook")
    assert registry.find("pager_duty") is pager
    registry.unregister("pager_duty")
    assert registry.find("pager_duty") is None
    with pytest.raises(registry.UnknownChannel):
        registry.get("pager_duty")


@pytest.mark.parametrize("name", ["", "Pager", "1pager", "pager-duty", "p" * 33, "sms\n"])
def test_a_name_the_schema_would_refuse_is_refused_at_registration(
    name: str, extra: list[str]
) -> None:
    with pytest.raises(ValueError, match="does not match"):
        registry.register(Named(name))
        extra.append(name)
    assert registry.find(name) is None


def test_a_second_channel_of_a_name_and_a_non_channel_are_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Named("email"))
    assert registry.get("email") is email.CHANNEL
    with pytest.raises(TypeError, match="Channel protocol"):
        registry.register(object())  # type: ignore[arg-type]


def test_identity_asks_the_channel_and_keeps_unknown_types_as_they_are() -> None:
    assert registry.identity("email", "Ops@Example.com") == "ops@example.com"
    assert registry.identity("webhook", "https://H/X") == "https://H/X"
    assert registry.identity("gone", "Mixed") == "Mixed"


def test_a_credential_that_selects_the_destination_is_part_of_the_identity() -> None:
    url = "https://events.pagerduty.com/v2/enqueue"
    one, other = "a" * 32, "b" * 32
    assert registry.identity("pagerduty", url, one) == registry.identity("pagerduty", url, one)
    assert registry.identity("pagerduty", url, one) != registry.identity("pagerduty", url, other)
    assert one not in registry.identity("pagerduty", url, one)  # a digest, not the key
    # A generated signing secret selects nothing: one URL, one webhook message.
    hook = "https://h.example/x"
    assert registry.identity("webhook", hook, "s1") == registry.identity("webhook", hook, "s2")
    assert registry.identity("webhook", hook, "s1") == hook


async def test_the_sender_dispatches_by_type_and_fails_an_unknown_type_permanently() -> None:
    via = Recorded()
    settings = config.load({})
    channels = Channels(settings, via, via, via, wall_clock=lambda: 1_700_000_000.0)
    assert await channels.deliver(N, target("email", "oncall@acme.example")) == via.answer
    [(sent, recipient)] = via.mails
    assert isinstance(sent, MailMessage) and sent["From"] == settings.smtp.sender
    assert recipient == "oncall@acme.example"
    gone = await channels.deliver(N, target("sms", "+100"))
    assert gone.outcome is Outcome.FAILED and gone.error == "unknown endpoint type 'sms'"
    assert via.posts == []
