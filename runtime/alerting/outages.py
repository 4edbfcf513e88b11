"""What a dependency being away looks like, as opposed to a bug.

An outage of Postgres, Redis or the broker is expected in production (a failover, a
restart, a network blip): the loops that talk to them retry, and their logs say so in
one line per state change (``alerting.dependency_log``). A traceback is kept for the
rest: an error nobody expected is a bug until shown otherwise.
"""

from __future__ import annotations

from aiokafka import errors as kafka_errors
from redis import exceptions as redis_errors

from alerting.adapters.postgres import UNAVAILABLE as POSTGRES_UNAVAILABLE

KAFKA_UNAVAILABLE: tuple[type[Exception], ...] = (
    kafka_errors.KafkaConnectionError,
    kafka_errors.NodeNotReadyError,
    kafka_errors.RequestTimedOutError,
    kafka_errors.KafkaTimeoutError,
    kafka_errors.LeaderNotAvailableError,
    kafka_errors.NotLeaderForPartitionError,
    kafka_errors.CoordinatorNotAvailableError,
    kafka_errors.CoordinatorLoadInProgressError,
    kafka_errors.NotCoordinatorForGroupError,
)
REDIS_UNAVAILABLE: tuple[type[Exception], ...] = (
    redis_errors.ConnectionError,  # refused, reset, closed by the server
    redis_errors.TimeoutError,
    redis_errors.BusyLoadingError,  # a restarted server still reading its data
)
# Postgres's list (refused or reset sockets, CannotConnectNow while it starts or stops,
# ConnectionDoesNotExist, TooManyConnections, ...) is the adapter's: callers that answer
# from what they had or retry a write catch exactly it.
UNAVAILABLE: tuple[type[Exception], ...] = (
    *POSTGRES_UNAVAILABLE,
    *KAFKA_UNAVAILABLE,
    *REDIS_UNAVAILABLE,
)
_MAX_CHAIN = 8


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc``, or what it was raised from (``raise Unavailable(...) from
    outage``), is a dependency being unreachable. Only explicit causes count: a bug in
    an ``except`` block handling an outage is still a bug."""
    seen: BaseException | None = exc
    for _ in range(_MAX_CHAIN):
        if seen is None:
            return False
        if isinstance(seen, UNAVAILABLE):
            return True
        seen = seen.__cause__
    return False
