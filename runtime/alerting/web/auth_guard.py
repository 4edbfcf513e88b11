"""Failed authentications: throttled per source address and per API key prefix, and
logged without flooding the log (docs/security.md).

The bearer backend asks ``check`` with the source before it verifies anything (the
admin token included: otherwise guessing it would be unthrottled), and tells ``failed``
about every wrong credential. A source over its limit gets 429 with ``Retry-After``
before the key lookup and the digest: a flood from it costs a dictionary lookup per
request. Requests verified concurrently all pass ``check`` before their failures are
counted, so a burst may exceed a limit by its concurrency; the bucket then runs that far
below empty and the block lasts that much longer, so over time guesses still come at the
limit's rate.

The per-prefix limit counts failures only. Prefixes are public (listings, logs, audit
rows), so refusing a blocked prefix unseen would let anyone with enough sources lock a
tenant's key out; instead the token is still verified (the source limit bounds that
work), the right secret goes through, and a wrong one answers 429 instead of 401. The
secret is 256 random bits, so the prefix limit does not protect it from guessing; it
tells a flood aimed at one key to back off and caps its log lines, and an operator can
set it to 0. A source is blocked as a whole, valid credentials included: a client behind
the NAT of an attacker shares its fate.

Logging: the first failure of a source logs a line (naming the key prefix tried); then
one summary line per source or prefix and window ("N failed authentications from A in
the last 60 s"). All lines share one budget per window; what the budget does not cover
is counted and summarised in one line per window. The token is never logged, nor the
Authorization header: a line names the source, the key prefix (the public half of a
key) and why it failed.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable
from functools import partial

from starlette.requests import HTTPConnection

from alerting.config import AuthThrottleSettings
from alerting.domain.token_bucket import TokenBucket
from alerting.web.problems import ApiError, too_many_requests
from alerting.web.throttle import FailureLimit, FailureTable, Report

log = logging.getLogger(__name__)

LOG_LINES_PER_WINDOW = 20  # itemised lines (first failures, summaries) per window, at most
UNKNOWN_PEER = "unknown"
IPV6_GROUP = 64  # one IPv6 subscriber holds a whole /64: it counts as one source


def source_address(conn: HTTPConnection, trusted_hops: int) -> str:
    """Who is calling: the peer address, or with ``trusted_hops`` proxies in front, the
    X-Forwarded-For entry that many from the right (what the outermost trusted proxy
    saw). Entries further left are the caller's own text and are ignored; a header
    shorter than that, or an entry that is not an address, leaves the peer address
    (the request did not come through the proxies)."""
    peer = conn.client.host if conn.client is not None else UNKNOWN_PEER
    if trusted_hops:
        forwarded = [
            entry.strip()
            for header in conn.headers.getlist("x-forwarded-for")
            for entry in header.split(",")
        ]
        if len(forwarded) >= trusted_hops:
            return _grouped(forwarded[-trusted_hops]) or peer
    return _grouped(peer) or peer


def _grouped(text: str) -> str | None:
    """The source an address counts as: an IPv4 address itself (also when a dual-stack
    listener shows it IPv4-mapped, ``::ffff:a.b.c.d``: otherwise every IPv4 caller would
    share the /64 of ``::``), IPv6 loopback itself, any other IPv6 address its /64."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        if not address.is_loopback:
            return str(ipaddress.ip_network(f"{address}/{IPV6_GROUP}", strict=False))
    return str(address)


class FailedAuthGuard:
    def __init__(
        self,
        policy: AuthThrottleSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        policy = policy or AuthThrottleSettings()
        window = float(policy.window_s)
        self._hops = policy.trusted_proxy_hops
        self._window_s = window
        self._clock = clock
        self._sources = FailureTable(
            FailureLimit(policy.failures_per_source, window),
            clock,
            partial(self._summary, "from"),
            report_every_s=window,
        )
        self._prefixes = FailureTable(
            FailureLimit(policy.failures_per_prefix, window),
            clock,
            partial(self._summary, "with key prefix"),
            report_every_s=window,
        )
        self._lines = TokenBucket(LOG_LINES_PER_WINDOW / window, LOG_LINES_PER_WINDOW, clock)
        self._unlogged = 0  # failures the line budget did not cover, since ...
        self._unlogged_since = clock()

    def source_of(self, conn: HTTPConnection) -> str:
        return source_address(conn, self._hops)

    def check(self, source: str) -> None:
        """Raise 429 when ``source`` is over its limit. The prefix is not asked here:
        it is public, so a block on it must not refuse its holder's right secret."""
        wait = self._sources.blocked_for(source)
        if wait:
            raise blocked(wait)

    def failed(self, source: str, prefix: str | None, reason: str) -> float:
        """Count a failed authentication; log it if it is its source's first (the
        summaries come from the tables). A prefix's first failure is no line of its
        own: the source's line names it, and a flood of made-up prefixes would
        otherwise be a line each.

        Returns the seconds ``prefix`` is blocked for (0.0: it is not), in which case
        the failure answers 429 rather than 401. Such a failure takes nothing from the
        prefix's bucket (it does not lengthen the block), only from the source's."""
        first = self._sources.failed(source)
        wait = 0.0
        if prefix is not None:
            wait = self._prefixes.blocked_for(prefix)
            if not wait:
                self._prefixes.failed(prefix)
        if first:
            shown = prefix or "none"
            message = "failed authentication from %s (key prefix %s): %s"
            self._line(1, message, source, shown, reason)
        return wait

    def _summary(self, preposition: str, report: Report) -> None:
        self._line(
            report.failed + report.blocked,
            "%d failed authentications %s %s in the last %.0f s (%d more refused with 429)",
            report.failed,
            preposition,
            report.key,
            report.span_s,
            report.blocked,
        )

    def _line(self, failures: int, message: str, *args: object) -> None:
        """Log a line if the budget allows, else count its failures for the next
        budget summary; that summary goes out at most once per window."""
        now = self._clock()
        if self._lines.reserve() is not None:
            log.warning(message, *args)
        else:
            if not self._unlogged:
                self._unlogged_since = now
            self._unlogged += failures
        if self._unlogged and now - self._unlogged_since >= self._window_s:
            log.warning(
                "%d more failed (or refused) authentications in the last %.0f s were not"
                " itemised (log budget: %d lines per %.0f s)",
                self._unlogged,
                now - self._unlogged_since,
                LOG_LINES_PER_WINDOW,
                self._window_s,
            )
            self._unlogged = 0
            self._unlogged_since = now


def blocked(wait_s: float) -> ApiError:
    return too_many_requests("too many failed authentications; retry later", wait_s)
