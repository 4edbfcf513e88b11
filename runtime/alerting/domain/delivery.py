"""Delivery policy: how one attempt is judged, when to try again, what a notification becomes.

Pure functions over plain values, so the whole retry policy is unit-tested without a
network, a clock or a database. The sender's adapters turn HTTP/SMTP answers and
exceptions into ``Attempt`` values; ``decide`` turns a notification's attempts into its
next state.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

from alerting.domain.delivery_rate import strictest
from alerting.domain.excerpts import smtp_excerpt
from alerting.domain.grouping import GroupingPolicy

MAX_ENDPOINT_ERROR = 300
MAX_NOTIFICATION_ERROR = 2000
# Standard Webhooks: a Retry-After on 429, 502, 503 or 504 is honoured.
RETRY_AFTER_STATUSES = frozenset({429, 502, 503, 504})
GONE = 410


class Outcome(StrEnum):
    SENT = "SENT"
    RETRY = "RETRY"  # transient: worth trying again later
    FAILED = "FAILED"  # permanent: trying again cannot help until someone fixes something
    # Joined the endpoint's open group: a digest delivers it (docs/grouping.md), the
    # flusher records how that went. No call was made.
    GROUPED = "GROUPED"


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one delivery attempt to one endpoint came to."""

    outcome: Outcome
    error: str | None = None
    response_code: int | None = None
    retry_after_s: float | None = None  # the receiver asked us to wait this long
    # The receiver asked to be forgotten (a webhook's 410 Gone): the endpoint is disabled
    # with this reason, in the transaction that records the attempt.
    disable_reason: str | None = None
    # For the attempt log (delivery_attempts): the worker times the call (wall-clock
    # start, epoch seconds; duration in ms), the adapter keeps the start of the answer
    # (``domain.excerpts``). None where there was no call or no readable answer.
    started_at: float | None = None
    duration_ms: int | None = None
    excerpt: str | None = None

    def timed(self, started_at: float, duration_ms: int) -> Attempt:
        """This attempt with its call's timing."""
        return self._with(started_at, duration_ms, self.excerpt)

    def excerpted(self, excerpt: str) -> Attempt:
        """This attempt with the start of its answer."""
        return self._with(self.started_at, self.duration_ms, excerpt)

    def _with(
        self, started_at: float | None, duration_ms: int | None, excerpt: str | None
    ) -> Attempt:
        # Built field by field (a field added above must be added here; test_delivery
        # checks), not with ``dataclasses.replace``, whose field walk would cost every
        # delivery.
        return Attempt(
            self.outcome, self.error, self.response_code, self.retry_after_s,
            self.disable_reason, started_at, duration_ms, excerpt,
        )  # fmt: skip

    @staticmethod
    def sent(code: int | None = None) -> Attempt:
        # Shared, one per code (an attempt is immutable): a frozen dataclass' __init__
        # sets each of its fields through object.__setattr__, once per delivery.
        found = _SENT.get(code)
        if found is None:
            found = _SENT[code] = Attempt(Outcome.SENT, None, code)
        return found

    @staticmethod
    def transient(error: str, code: int | None = None) -> Attempt:
        return Attempt(Outcome.RETRY, truncate(error, MAX_ENDPOINT_ERROR), code)

    @staticmethod
    def permanent(error: str, code: int | None = None) -> Attempt:
        return Attempt(Outcome.FAILED, truncate(error, MAX_ENDPOINT_ERROR), code)


_SENT: dict[int | None, Attempt] = {}  # Attempt.sent's, by code: few (HTTP and SMTP codes)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def classify_http(status: int, retry_after: str | None = None, *, now_s: float = 0.0) -> Attempt:
    """2xx sent; 408, 429 and 5xx transient; anything else permanent.

    A 3xx is permanent: redirects are not followed (a redirect could steer the request
    past the URL safety check), so a redirecting endpoint needs its URL fixed.
    """
    if 200 <= status < 300:
        return Attempt.sent(status)
    if status in (408, 429) or 500 <= status < 600:
        wait = parse_retry_after(retry_after, now_s) if status in RETRY_AFTER_STATUSES else None
        return Attempt(Outcome.RETRY, f"HTTP {status}", status, wait)
    if 300 <= status < 400:
        return Attempt.permanent(f"HTTP {status}: redirects are not followed", status)
    return Attempt.permanent(f"HTTP {status}", status)


def receiver_gone(attempt: Attempt, at_s: float) -> Attempt:
    """A 410 Gone from a Standard Webhooks receiver: it asks us to stop sending, so the
    delivery fails for good and the endpoint is disabled (with why and when) until
    someone enables it again; any other answer is returned as it is."""
    if attempt.response_code != GONE:
        return attempt
    at = datetime.fromtimestamp(at_s, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    reason = f"receiver answered 410 Gone at {at}"
    return replace(attempt, outcome=Outcome.FAILED, retry_after_s=None, disable_reason=reason)


def classify_smtp(code: int, message: str) -> Attempt:
    """SMTP 4xx is a temporary refusal (greylisting, full mailbox); 5xx is final."""
    text = f"SMTP {code} {' '.join(message.split())}".strip()
    if 400 <= code < 500:
        attempt = Attempt.transient(text, code)
    elif code >= 500:
        attempt = Attempt.permanent(text, code)
    else:
        attempt = Attempt.transient(text, code)  # a nonsense code: do not give up on it
    return replace(attempt, excerpt=smtp_excerpt(code, message))


def parse_retry_after(value: str | None, now_s: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now_s)


def backoff_s(attempt: int, base_ms: int, max_ms: int, rng: random.Random) -> float:
    """Delay before retry number ``attempt`` (1 = after the first failure).

    Exponential from ``base_ms``, capped at ``max_ms``, with *equal* jitter: half the
    delay is fixed and half random. Full jitter can pick ~0 and hammer a struggling
    receiver at once; equal jitter still spreads a thundering herd over half the window.
    """
    exponent = min(max(attempt, 1) - 1, 62)
    ceiling = min(float(max_ms), float(base_ms) * float(2**exponent))
    half = ceiling / 2
    jitter: float = rng.uniform(0, half)
    return (half + jitter) / 1000


def retry_delay_s(
    attempt: int,
    attempts: Iterable[Attempt],
    base_ms: int,
    max_ms: int,
    rng: random.Random,
) -> float:
    """The backoff, stretched to honour a receiver's Retry-After (capped at ``max_ms``)."""
    delay = backoff_s(attempt, base_ms, max_ms, rng)
    asked = [a.retry_after_s for a in attempts if a.retry_after_s is not None]
    if asked:
        delay = max(delay, min(max(asked), max_ms / 1000))
    return delay


JOINED = Attempt(Outcome.GROUPED)


@dataclass(frozen=True, slots=True)
class Decision:
    """The next state of a notification after one claim."""

    status: Outcome
    delay_s: float = 0.0  # RETRY only: how long until it is due again
    error: str | None = None
    refund_attempt: bool = False  # RETRY only because of rate limiting: not a real attempt


DELIVERED = Decision(Outcome.SENT)  # shared: a decision is immutable


def decide(
    *,
    attempt: int,
    max_attempts: int,
    results: Mapping[str, Attempt],
    deferred_s: Sequence[float],
    rule_ids: Sequence[str],
    base_ms: int,
    max_ms: int,
    rng: random.Random,
    resolved: bool = False,
) -> Decision:
    """Combine per-endpoint results (keyed by a label such as ``webhook https://...``).

    ``results`` holds every endpoint's standing, including those settled by earlier
    claims; ``deferred_s`` the waits of endpoints skipped by rate limiting this time.
    A deferral alone gives back the attempt: the receiver was never called.

    A ``resolved`` notification goes only to the endpoints its firing one reached and
    that want resolved messages; with none of those there is nobody to tell, which is
    its complete delivery (SENT, nothing recorded), not a failure: the firing one's
    failure is already on record, and an endpoint with ``send_resolved`` off asked for
    exactly this.

    A GROUPED result was handed to its group's digest. Transient failures and
    deferrals still come first (RETRY: the joined endpoint is not joined again, its
    deliveries row makes it a GROUPED prior next time). Otherwise one GROUPED result
    makes the notification GROUPED, even beside a permanent failure (kept as its
    error): the flusher makes it SENT or FAILED once its digests are done. So does a
    give-up after ``max_attempts`` that leaves a GROUPED result.
    """
    if not results and not deferred_s:
        if resolved:
            return Decision(Outcome.SENT)
        return Decision(
            Outcome.FAILED, error=f"no enabled endpoint for rules {', '.join(rule_ids)}"
        )
    if not deferred_s and all(a.outcome is Outcome.SENT for a in results.values()):
        return DELIVERED  # what the checks below come to, the common case taken first
    transient = [a for a in results.values() if a.outcome is Outcome.RETRY]
    grouped = any(a.outcome is Outcome.GROUPED for a in results.values())
    summary = _summary(results)
    if transient:
        if attempt < max_attempts:
            delay = retry_delay_s(attempt, transient, base_ms, max_ms, rng)
            return Decision(Outcome.RETRY, max([delay, *deferred_s]), summary)
        error = truncate(f"gave up after {attempt} attempts: {summary}", MAX_NOTIFICATION_ERROR)
        return Decision(Outcome.GROUPED if grouped else Outcome.FAILED, error=error)
    if deferred_s:
        # Nothing failed transiently; what is left only waits for a rate-limit token.
        return Decision(Outcome.RETRY, max(deferred_s), summary, refund_attempt=True)
    if grouped:
        return Decision(Outcome.GROUPED, error=summary)
    if summary is None:
        return Decision(Outcome.SENT)
    return Decision(Outcome.FAILED, error=summary)


def _summary(results: Mapping[str, Attempt]) -> str | None:
    # A GROUPED result is neither delivered nor failed: not part of the summary.
    settled = (Outcome.SENT, Outcome.GROUPED)
    failed = [f"{label}: {a.error}" for label, a in results.items() if a.outcome not in settled]
    return truncate("; ".join(failed), MAX_NOTIFICATION_ERROR) if failed else None


@dataclass(frozen=True, slots=True)
class NotificationEndpoint:
    """An enabled endpoint of a notification's rules, with its delivery record so far."""

    endpoint_id: str
    type: str  # a channel name (alerting.channels): email, slack, webhook, ...
    value: str
    signing_secret: str | None = None
    prior_status: str | None = None  # the deliveries row's status, if any
    prior_error: str | None = None
    # A rotated-out secret still within its grace period: signed with too (Standard
    # Webhooks, one signature per valid secret).
    previous_secret: str | None = None
    # Template name -> source (alerting.templates); None renders the channel's default.
    templates: Mapping[str, str] | None = None
    # The endpoint's delivery rate override (NULL: the channel's, ``delivery_rate``).
    rate_per_s: float | None = None
    rate_burst: int | None = None
    # The rule the endpoint belongs to, and its grouping policy (None: ungrouped).
    rule_id: str | None = None
    grouping: GroupingPolicy | None = None

    @property
    def joins_groups(self) -> bool:
        """Delivered through its own groups (a policy, or a delivery already waiting in
        one since the policy was removed): never one target with other endpoints."""
        return self.grouping is not None or self.prior_status == Outcome.GROUPED


@dataclass(frozen=True, slots=True)
class Target:
    """One distinct destination: endpoints with the same (type, identity) are one target,
    so an address listed by two matching rules gets one message, recorded for both."""

    type: str
    value: str
    signing_secret: str | None
    endpoint_ids: tuple[str, ...]
    prior: Attempt | None  # settled by an earlier claim: SENT or FAILED; None to deliver
    previous_secret: str | None = None  # see NotificationEndpoint.previous_secret
    templates: Mapping[str, str] | None = None  # the first member endpoint's
    # What its endpoints were grouped by (``Identity``); empty: the value.
    identity: str = ""
    # The strictest rate override among its endpoints (``delivery_rate.effective``).
    rate_per_s: float | None = None
    rate_burst: int | None = None
    # A grouped endpoint's (always a target of its own): it joins a group of this rule.
    rule_id: str | None = None
    grouping: GroupingPolicy | None = None

    @property
    def label(self) -> str:
        # The id, not the value: Slack and webhook URLs often embed a secret token.
        return f"{self.type} {self.endpoint_ids[0]}"

    @property
    def key(self) -> tuple[str, str]:
        # The destination, for rate limiting: two PagerDuty services behind one URL are
        # two buckets, not one shared by every tenant.
        return (self.type, self.identity or self.value)


_NEVER_DELIVERED = frozenset({None})  # the prior statuses of endpoints without a deliveries row
# (channel name, stripped value, the endpoint's opened secret) -> the key two endpoints
# of that channel are the same destination by (an address's case does not matter, a
# URL's does; a PagerDuty routing key picks the service, a webhook's signing secret
# picks nothing). The channels know; the domain is handed their answer so it names none
# of them.
Identity = Callable[[str, str, str | None], str]


def targets(endpoints: Iterable[NotificationEndpoint], identity: Identity) -> list[Target]:
    """Distinct targets in first-seen order. A target any of whose endpoints already
    succeeded is never called again; one that failed permanently waits for a re-drive;
    one waiting in a group (GROUPED) waits for its digest.

    A grouped endpoint is a target of its own, never merged with others of the same
    address: each gets its own digests, on its own rule's timers (docs/grouping.md)."""
    groups: dict[tuple[str, str, str], list[NotificationEndpoint]] = {}
    seen: set[str] = set()
    for e in endpoints:
        if e.endpoint_id not in seen:
            seen.add(e.endpoint_id)
            key = identity(e.type, e.value.strip(), e.signing_secret)
            alone = e.endpoint_id if e.joins_groups else ""
            groups.setdefault((e.type, key, alone), []).append(e)
    result = []
    for (_, same, _), members in groups.items():
        statuses = {m.prior_status for m in members}
        prior: Attempt | None = None
        if statuses == _NEVER_DELIVERED:  # the common case, without hashing an Outcome
            pass
        elif Outcome.SENT in statuses:
            prior = Attempt.sent()
        elif Outcome.FAILED in statuses:
            error = next(m.prior_error for m in members if m.prior_status == Outcome.FAILED)
            prior = Attempt.permanent(error or "failed permanently")
        elif Outcome.GROUPED in statuses:
            prior = JOINED
        first = members[0]
        ids: tuple[str, ...]
        if len(members) == 1:  # the common case: the member is its own source and rate
            source, ids = first, (first.endpoint_id,)
            per_s, burst = first.rate_per_s, first.rate_burst
        else:
            # Secret, previous secret and templates all from one member (the first with
            # a secret): a body rendered by one endpoint's template and signed with
            # another's secret would verify for neither's expectations.
            source = next((m for m in members if m.signing_secret), first)
            ids = tuple(m.endpoint_id for m in members)
            per_s = strictest(m.rate_per_s for m in members)
            burst = strictest(m.rate_burst for m in members)
        value = first.value.strip()
        secret, previous = source.signing_secret, source.previous_secret
        result.append(
            Target(
                first.type, value, secret, ids, prior, previous, source.templates, same,
                rate_per_s=per_s, rate_burst=burst, rule_id=first.rule_id,
                grouping=first.grouping,
            )
        )  # fmt: skip
    return result
