"""The sender's CPU per webhook notification, its Python path alone: run by hand, not
part of the bench (docs/sender.md).

    .venv/bin/python tools/bench_sender_cpu.py [--rounds 9] [--batch 500] [--claims] [--record]

Each round hands ``Worker.deliver`` a batch of claimed notifications, one webhook
endpoint each (signed, as the bench's), through the real channels, URL guard and HTTP
client to a minimal keep-alive HTTP/1.1 server in another process (so its CPU is not
counted), with an in-memory store (tests/unit/sender_support.py's). It prints this
process's CPU time (``time.process_time``) per notification, each round's and their
median. ``--claims`` also times the ready path's per-row Python: decoding a
``notifications.ready`` message, then turning a claimed row (a dict standing in for an
asyncpg record) into a ``Claim``. ``--record`` times ``PostgresSenderStore._record``'s
Python alone (sorting the rows, building the statements' argument arrays) over a fake
connection: asyncpg's encoding of those arrays and the round trips are not counted.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import uvloop

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "runtime")]

from alerting.adapters.http_post import HttpPoster  # noqa: E402
from alerting.adapters.url_guard import UrlGuard  # noqa: E402
from alerting.channels.standard_webhooks import new_secret  # noqa: E402
from alerting.codec import decode_notification_ready, encode_notification_ready  # noqa: E402
from alerting.config import SenderSettings  # noqa: E402
from alerting.domain.delivery import NotificationEndpoint  # noqa: E402
from alerting.domain.model import NotificationReady  # noqa: E402
from alerting.runner import tune_collector  # noqa: E402
from alerting.services.sender import repo  # noqa: E402
from alerting.services.sender.channels import Channels  # noqa: E402
from alerting.services.sender.store import Claim, DeliveryRow, Finish  # noqa: E402
from alerting.services.sender.worker import Worker, canonical_uuid  # noqa: E402
from tests.unit.channel_support import N  # noqa: E402
from tests.unit.sender_support import MemoryStore  # noqa: E402

# A keep-alive server answering every request 200 with the bench sink's short JSON body
# (so each attempt keeps an excerpt, as there): as little work on its side as a request
# allows, so the box's other core is not the limit.
SERVER = r"""
import asyncio, sys

ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n"
    b'{"received":true}'
)

class Sink(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buffer = transport, b""

    def data_received(self, data):
        buffer = self.buffer + data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end].lower()
            at = head.find(b"content-length:")
            size = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
            if len(buffer) < end + 4 + size:
                break
            buffer = buffer[end + 4 + size :]
            self.transport.write(ANSWER)
        self.buffer = buffer

async def main():
    server = await asyncio.get_running_loop().create_server(Sink, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()

asyncio.run(main())
"""

SETTINGS = SenderSettings(
    concurrency=64,
    max_attempts=10,
    backoff_base_ms=1000,
    backoff_max_ms=60_000,
    lease_s=60,
    poll_interval_ms=500,
    http_timeout_s=10,
    rate_per_s=1_000_000,
    rate_burst=1_000_000,
    smtp_pool_size=1,
    smtp_timeout_s=5,
)
LEASE = datetime(2030, 1, 1, tzinfo=UTC)


def batch(size: int, url: str, secret: str) -> MemoryStore:
    claims, endpoints = [], {}
    for i in range(size):
        nid = str(uuid.uuid4())
        n = dataclasses.replace(N, notification_id=nid, alert_id=f"a-{i}")
        claims.append(Claim(n, LEASE, False))
        endpoints[nid] = [NotificationEndpoint(f"e-{i % 20}", "webhook", url, secret)]
    return MemoryStore(claims, endpoints)


async def deliveries(port: int, rounds: int, size: int) -> list[float]:
    url = f"http://127.0.0.1:{port}/hooks/bench"
    http = HttpPoster(SETTINGS.concurrency, SETTINGS.http_timeout_s, allow_private=True)
    settings = cast(Any, SimpleNamespace(smtp=SimpleNamespace(sender="bench@example.com")))
    channels = Channels(settings, http, cast(Any, None), UrlGuard(allow_private=True))
    secret = new_secret()
    per_notification = []
    for round_ in range(rounds + 1):  # the first warms the pool and the caches
        store = batch(size, url, secret)
        # A worker per round: its rate buckets (one a target) are made within the timed
        # round, noise next to the batch's deliveries.
        worker = Worker(store, channels, SETTINGS, "bench:1")
        claims = list(store.claimable.values())
        started = time.process_time()
        await worker.deliver(claims, "ready")
        spent = time.process_time() - started
        sent = sum(r.status == "SENT" for r in store.only.deliveries)
        if sent != size:
            raise SystemExit(f"only {sent} of {size} delivered")
        if round_:
            per_notification.append(spent / size * 1e6)
    await http.close()
    return per_notification


def claims_path(rounds: int, size: int) -> list[float]:
    """Decoding ready messages and building Claims from claimed rows, per notification."""
    messages = [
        encode_notification_ready(NotificationReady(str(uuid.uuid4()), "acme", f"a-{i}"))
        for i in range(size)
    ]
    rows = [
        {
            "notification_id": str(uuid.uuid4()), "client_id": "acme", "alert_id": f"a-{i}",
            "severity": "HIGH", "source": "payments", "name": "checkout_errors",
            "event_ts": 1_700_000_000, "rule_ids": ["r-1"], "context": {"region": "eu"},
            "kind": "firing", "episode": 1, "attempts": 1, "claim_expires_at": LEASE,
            "previous_status": "PENDING",
        }
        for i in range(size)
    ]  # fmt: skip
    found = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(20):
            ids = {canonical_uuid(decode_notification_ready(m).notification_id) for m in messages}
            claimed = [repo._claim(cast(Any, r)) for r in rows]
        found.append((time.process_time() - started) / (20 * size) * 1e6)
    assert len(ids) == len(claimed) == size
    return found


class FakeConnection:
    """Answers HELD (every claim held) and FINISH (no wake-up) as Postgres would, with
    answers built beforehand."""

    def __init__(self, size: int) -> None:
        self.held = [{"i": i, "ctid": f"(0,{i})", "held": True} for i in range(1, size + 1)]
        self.finished = [{"notification_id": str(uuid.uuid4()), "wakes": False}] * size

    async def execute(self, query: str, *args: object) -> None:
        return None

    async def fetch(self, query: str, *args: object) -> list[dict[str, Any]]:
        return self.held if query == repo.sql.HELD else self.finished

    def acquire(self) -> FakeConnection:  # the pool's, which hands out itself
        return self

    def transaction(self) -> FakeConnection:
        return self

    async def __aenter__(self) -> FakeConnection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


def record_path(rounds: int, size: int) -> list[float]:
    """``_record``'s argument building for a batch of one SENT webhook each, per
    notification."""
    ids = [str(uuid.uuid4()) for _ in range(size)]
    deliveries = [
        DeliveryRow(n, f"e-{i % 20}", "webhook", "SENT", None, 200, None, 1.7e9, 12, None)
        for i, n in enumerate(ids)
    ]
    finishes = [Finish(n, LEASE, "SENT", 0, None, False) for n in ids]
    store = repo.PostgresSenderStore(cast(Any, FakeConnection(size)))
    loop = uvloop.new_event_loop()
    found = []
    try:
        for _ in range(rounds):
            started = time.process_time()
            for _ in range(20):
                loop.run_until_complete(store._record("bench:1", deliveries, finishes, ()))
            found.append((time.process_time() - started) / (20 * size) * 1e6)
    finally:
        loop.close()
    return found


def show(what: str, figures: list[float]) -> None:
    each = " ".join(f"{f:.1f}" for f in figures)
    print(f"{what}: median {statistics.median(figures):.1f} us/notification ({each})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--claims", action="store_true", help="also time decode + claim rows")
    parser.add_argument("--record", action="store_true", help="also time _record's arguments")
    args = parser.parse_args()
    command = [sys.executable, "-c", SERVER]  # our own script, no input of anyone's
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: S603
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        # as a service runs: uvloop, the collector tuned (alerting.runner)
        tune_collector()
        loop = uvloop.new_event_loop()
        try:
            show("deliver", loop.run_until_complete(deliveries(port, args.rounds, args.batch)))
        finally:
            loop.close()
        if args.claims:
            show("decode + claim", claims_path(args.rounds, args.batch))
        if args.record:
            show("record arguments", record_path(args.rounds, args.batch))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
