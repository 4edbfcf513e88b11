"""`alerting loadgen`: post generated alerts to ingest's HTTP API at a given rate.

Unlike an ingest job (which produces from inside the service), this goes through the
public API, so it measures what an upstream system would see. A refused request (4xx:
bad token, bad input) stops the run at once, since repeating it cannot help; 5xx
answers and timeouts are counted and the run goes on, unless nothing succeeds ten
times in a row. Every failure is one line; the exit status is 0 only when every alert
was accepted.
"""

from __future__ import annotations

import argparse
import dataclasses
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from alerting import config
from alerting.aio import one_line
from alerting.runner import load_settings_or_exit
from alerting.services.ingest import loadgen

PATH = "/api/v1/alerts"
MAX_CONSECUTIVE_ERRORS = 10
PROGRESS_EVERY_S = 1.0


class Abort(Exception):
    """Stop the run; the message is the one line the user sees."""


def _number(kind: type[float] | type[int], lo: float, hi: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{text} is outside [{lo:g}, {hi:g}]")
        return value

    return parse


def _weights(what: str) -> Callable[[str], dict[str, float]]:
    def parse(text: str) -> dict[str, float]:
        try:
            return loadgen.parse_weights(text, what)
        except loadgen.SpecError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def configure(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--url", help="ingest base URL [default: http://127.0.0.1:<ALERTING_INGEST_PORT>]")
    add("--token", help="bearer token: admin or ingest key [default: ALERTING_ADMIN_TOKEN]")
    add("--rate", type=_number(float, 0.001, 1_000_000), default=100.0, help="alerts/s")
    bound = parser.add_mutually_exclusive_group(required=True)
    bound.add_argument("--count", type=_number(int, 1, 10**9), help="alerts to send")
    bound.add_argument("--duration", type=_number(float, 0.001, 86_400 * 7), help="seconds")
    add("--seed", type=_number(int, 0, 2**63 - 1), help="same seed, same alerts [random]")
    add("--tag", help="run tag in every alert id [random: reruns are not deduplicated]")
    add("--severity", type=_weights("severity"), help="weights, e.g. HIGH=3,LOW=1")
    add("--source", type=_weights("source"), help="weights, e.g. payments=2,auth=1")
    add("--name", type=_weights("name"), help="weights, e.g. error_rate_high,disk_full")
    add("--batch", type=_number(int, 1, loadgen.MAX_BATCH), help="alerts per request")
    add("--timeout", type=_number(float, 0.1, 600), default=30.0, help="per request, s")
    parser.epilog = config.describe(("ALERTING_ADMIN_TOKEN", "ALERTING_INGEST_PORT"))


@dataclass
class Tally:
    started: float = dataclasses.field(default_factory=time.monotonic)
    sent: int = 0
    failed: int = 0
    consecutive_errors: int = 0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def line(self) -> str:
        elapsed = self.elapsed
        rate = self.sent / elapsed if elapsed > 0 else 0.0
        return f"{self.sent} sent, {self.failed} failed, {rate:.0f}/s over {elapsed:.1f}s"


def _detail(response: httpx.Response) -> str:
    try:
        detail = str(response.json().get("detail", ""))
    except (ValueError, AttributeError):
        detail = response.text
    return " ".join(detail.split())[:300]


def _post(http: httpx.Client, body: object, url: str) -> httpx.Response | None:
    """The response, or None for a timeout (counted, not fatal)."""
    try:
        return http.post(PATH, json=body)
    except httpx.TimeoutException:
        return None
    except httpx.ConnectError as exc:
        raise Abort(f"cannot connect to {url}: {one_line(exc)}") from None
    except httpx.HTTPError as exc:
        raise Abort(f"{url}: {one_line(exc)}") from None


def _drive(
    http: httpx.Client, url: str, stream: loadgen.AlertStream, args: argparse.Namespace
) -> Tally:
    tally = Tally()
    batch = args.batch or loadgen.default_batch(args.rate)
    next_progress = tally.started + PROGRESS_EVERY_S
    for n in loadgen.batch_sizes(args.count, batch):
        if args.duration is not None and tally.elapsed >= args.duration:
            break
        alerts = stream.take(n, int(time.time()))
        response = _post(http, {"alerts": [dataclasses.asdict(a) for a in alerts]}, url)
        if response is not None and response.status_code == 202:
            tally.sent += n
            tally.consecutive_errors = 0
        elif response is not None and response.status_code < 500:
            status = f"HTTP {response.status_code} {response.reason_phrase}"
            raise Abort(f"{url}{PATH}: {status}: {_detail(response)}")
        else:
            tally.failed += n
            tally.consecutive_errors += 1
            if tally.consecutive_errors >= MAX_CONSECUTIVE_ERRORS:
                why = "timed out" if response is None else f"HTTP {response.status_code}"
                raise Abort(f"{url}{PATH}: {MAX_CONSECUTIVE_ERRORS} requests in a row {why}")
        if time.monotonic() >= next_progress:
            print(tally.line(), flush=True)
            next_progress += PROGRESS_EVERY_S
        wait = loadgen.delay_before_next(tally.sent + tally.failed, args.rate, tally.elapsed)
        if args.duration is not None:
            wait = min(wait, max(0.0, args.duration - tally.elapsed))
        time.sleep(wait)
    return tally


def run(args: argparse.Namespace) -> int:
    settings = load_settings_or_exit()
    url = (args.url or f"http://127.0.0.1:{settings.port('ingest')}").rstrip("/")
    token = args.token or settings.admin_token
    if not token:
        print(
            "alerting loadgen: no token: pass --token or set ALERTING_ADMIN_TOKEN", file=sys.stderr
        )
        return 2
    defaults = loadgen.LoadSpec()
    spec = loadgen.LoadSpec(
        seed=secrets.randbelow(2**31) if args.seed is None else args.seed,
        tag=args.tag or secrets.token_hex(4),
        severities=args.severity or defaults.severities,
        sources=args.source or defaults.sources,
        names=args.name or defaults.names,
    )
    try:
        stream = loadgen.AlertStream(spec)
    except loadgen.SpecError as exc:
        print(f"alerting loadgen: {exc}", file=sys.stderr)
        return 2
    print(f"posting to {url}{PATH} at {args.rate:g}/s: seed {spec.seed}, tag {spec.tag}")
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=args.timeout) as http:
            tally = _drive(http, url, stream, args)
    except Abort as exc:
        print(f"alerting loadgen: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("alerting loadgen: interrupted", file=sys.stderr)
        return 130
    print(f"done: {tally.line()}")
    return 0 if tally.failed == 0 else 1
