"""Email: a plain-text message per recipient, through the sender's SMTP pool; a digest
is one message listing its members, one line each.

The address is normalized at the API (email-validator) and compared case-insensitively
when de-duplicating: two rules naming Ops@Example.com and ops@example.com reach one
mailbox, which gets one message.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime, formatdate, parseaddr
from typing import TYPE_CHECKING

from email_validator import EmailNotValidError, validate_email

from alerting.channels import templated
from alerting.channels.base import (
    Channel,
    Credential,
    DigestChannel,
    InvalidValue,
    Outbound,
    UrlPolicy,
)
from alerting.channels.mail_message import MailMessage, mail_message
from alerting.channels.rendering import headline, member_line
from alerting.domain.delivery import Attempt, Target
from alerting.domain.delivery_messages import Digest, OutgoingNotification, shown
from alerting.domain.delivery_rate import Rate


def text(n: OutgoingNotification) -> str:
    lines = [
        headline(n),
        "",
        f"status:          {n.kind} (episode {n.episode})",
        f"severity:        {n.severity}",
        f"source:          {shown(n.source)}",
        f"name:            {shown(n.name)}",
        f"alert_id:        {n.alert_id}",
        f"event_ts:        {formatdate(n.event_ts, usegmt=True)} ({n.event_ts})",
        f"client_id:       {n.client_id}",
        f"notification_id: {n.notification_id}",
        f"rules:           {', '.join(n.rule_ids)}",
    ]
    if n.context:
        context = sorted(n.context.items())
        lines += ["", "context:"] + [f"  {shown(k)}: {shown(v)}" for k, v in context]
    return "\n".join(lines) + "\n"


def digest_text(d: Digest) -> str:
    """The digest's title, the group and digest ids, then every member on one line
    (``member_line``: the same line the chat summaries list)."""
    kind = f"{d.kind}, a repeat of the members still firing" if d.repeat else d.kind
    lines = [
        d.title,
        "",
        f"status:    {kind}",
        f"members:   {len(d.members)}",
        f"group_id:  {d.group_id}",
        f"digest_id: {d.digest_id} (digest {d.seq} of the group)",
        f"client_id: {d.client_id}",
        "",
    ]
    lines += [member_line(n) for n in d.members]
    return "\n".join(lines) + "\n"


def message_id(unique: str, sender: str) -> str:
    """One id per notification (or digest: ``unique`` is its id), the same on every
    attempt, so a mail client folds a re-send (a retry, or a takeover after an outcome
    write was lost) into the first.

    Unique as RFC 5322 asks: the notification or digest id is a UUID, and the domain is the
    sender's own (no resolver look-up for this host's name, as ``make_msgid`` would do
    per email). Every recipient of one notification gets the same id: it is one message
    to several addresses (sent to each on its own, but that is the transport's choice),
    which RFC 5322 lets share one id; a mailbox reached through two of the addresses
    keeps one copy."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "alerting.invalid"
    return f"<{unique}@{domain}>"


def message(
    n: OutgoingNotification, to: str, sender: str, now_s: float, target: Target | None = None
) -> MailMessage:
    """The email to ``to``, dated ``now_s`` (the caller's wall clock: rendering is pure);
    ``target``'s ``subject`` and ``body`` templates, if any, replace the built-in ones."""
    subject = (
        headline(n) if target is None else templated.part(n, target, "subject", lambda: headline(n))
    )
    headers = [
        *_envelope_headers(sender, to, subject, now_s, n.notification_id),
        ("X-Alerting-Notification-Id", n.notification_id),
    ]
    body = text(n) if target is None else templated.part(n, target, "body", lambda: text(n))
    return mail_message(headers, body)


def digest_message(d: Digest, to: str, sender: str, now_s: float) -> MailMessage:
    """One email for the digest, dated ``now_s``. An endpoint's templates do not apply:
    they render one notification (docs/integrations.md)."""
    # The title is one line already: the labels go through ``shown``.
    headers = [
        *_envelope_headers(sender, to, d.title, now_s, d.digest_id),
        ("X-Alerting-Group-Id", d.group_id),
        ("X-Alerting-Digest-Id", d.digest_id),
    ]
    return mail_message(headers, digest_text(d))


def _envelope_headers(
    sender: str, to: str, subject: str, now_s: float, unique: str
) -> list[tuple[str, str]]:
    return [
        ("From", sender),
        ("To", to),
        ("Subject", subject),
        ("Date", format_datetime(datetime.fromtimestamp(now_s, UTC))),  # +0000, as RFC 5322
        ("Message-ID", message_id(unique, sender)),
    ]


class EmailChannel:
    name = "email"
    signed = False
    credential: Credential | None = None
    # The SMTP relay, not the recipient, is what throttles (Amazon SES: per account), and
    # one address's bucket cannot model that: the sender's setting, like webhooks.
    default_rate: Rate | None = None

    async def validate(self, value: str, policy: UrlPolicy) -> str:
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise InvalidValue(f"not a valid email address: {exc}") from None

    def identity(self, value: str) -> str:
        return value.lower()

    def render(
        self, n: OutgoingNotification, target: Target, outbound: Outbound, now_s: float
    ) -> MailMessage:
        return message(n, target.value, outbound.mail_from, now_s, target)

    async def deliver(self, n: OutgoingNotification, target: Target, outbound: Outbound) -> Attempt:
        rendered = self.render(n, target, outbound, outbound.wall_clock())
        return await outbound.mail.send(rendered, target.value)

    def render_digest(
        self, d: Digest, target: Target, outbound: Outbound, now_s: float
    ) -> MailMessage:
        return digest_message(d, target.value, outbound.mail_from, now_s)

    async def deliver_digest(self, d: Digest, target: Target, outbound: Outbound) -> Attempt:
        rendered = self.render_digest(d, target, outbound, outbound.wall_clock())
        return await outbound.mail.send(rendered, target.value)


CHANNEL: Channel[MailMessage] = EmailChannel()
if TYPE_CHECKING:  # mypy proves the class delivers digests (dispatch checks at run time)
    _DIGESTS: DigestChannel[MailMessage] = EmailChannel()
