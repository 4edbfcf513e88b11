"""DependencyLog and LibraryRepeats: an outage is a few state changes in the log, a bug
keeps its traceback but not once per retry. A fake clock drives the reminders."""

from __future__ import annotations

import logging

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError, NodeNotReadyError
from redis.exceptions import ConnectionError as RedisConnectionError

from alerting.dependency_log import DependencyLog
from alerting.logs import LibraryRepeats
from alerting.outages import is_outage


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> DependencyLog:
    return DependencyLog(logging.getLogger("alerting.test"), "polling (Postgres)", clock=clock)


def records(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, bool]]:
    return [(r.levelname, r.getMessage(), r.exc_info is not None) for r in caplog.records]


def test_an_outage_is_one_line_down_reminders_and_one_line_recovered(
    state: DependencyLog, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(121):  # 250 ms retries for 30 s: one line, then the first reminder
        state.failed(ConnectionRefusedError(111, "Connection refused"))
        clock.now += 0.25
    assert state.down
    clock.now += 19.75  # 50 s down
    state.failed(asyncpg.CannotConnectNowError("the database system is starting up"))
    state.ok()
    state.ok()  # already up: nothing more
    assert records(caplog) == [
        ("WARNING", "polling (Postgres) unavailable: ConnectionRefusedError: [Errno 111]"
         " Connection refused", False),
        ("WARNING", "polling (Postgres) still unavailable after 30 s (121 failed tries):"
         " ConnectionRefusedError: [Errno 111] Connection refused", False),
        ("INFO", "polling (Postgres) recovered after 50.0 s (122 failed tries)", False),
    ]  # fmt: skip
    assert not state.down


def test_the_next_outage_starts_afresh(
    state: DependencyLog, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    state.failed(TimeoutError())
    clock.now += 1
    state.ok()
    clock.now += 100
    state.failed(TimeoutError())
    assert [m for _, m, _ in records(caplog)] == [
        "polling (Postgres) unavailable: TimeoutError",
        "polling (Postgres) recovered after 1.0 s (1 failed tries)",
        "polling (Postgres) unavailable: TimeoutError",
    ]


def test_a_bug_keeps_its_traceback_once_per_interval_with_a_count(
    state: DependencyLog, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(10):
        state.failed(KeyError("rule_id"))
        clock.now += 1
    clock.now += 25  # 34 s after the first: logged again, with the nine left out
    state.failed(KeyError("rule_id"))
    state.failed(ValueError("other"))  # a different error is not held back by the first
    assert records(caplog) == [
        ("ERROR", "polling (Postgres) failed: KeyError: 'rule_id'", True),
        ("ERROR", "polling (Postgres) failed: KeyError: 'rule_id' (9 more like it since the"
         " last)", True),
        ("ERROR", "polling (Postgres) failed: ValueError: other", True),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
        asyncpg.CannotConnectNowError("the database system is shutting down"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
        KafkaConnectionError("Unable to bootstrap"),
        NodeNotReadyError("node 0"),
    ],
)
def test_expected_outage_errors(exc: Exception) -> None:
    assert is_outage(exc)


def test_an_outage_raised_as_another_error_is_still_one() -> None:
    class StoreUnavailable(Exception):
        pass

    try:
        try:
            raise ConnectionRefusedError(111, "refused")
        except OSError as exc:
            raise StoreUnavailable("Postgres is away") from exc
    except StoreUnavailable as wrapped:
        assert is_outage(wrapped)


def test_a_bug_is_not_an_outage_even_while_handling_one() -> None:
    assert not is_outage(KeyError("x"))
    assert not is_outage(asyncpg.UniqueViolationError("duplicate key"))
    try:
        try:
            raise ConnectionRefusedError(111, "refused")
        except OSError:
            raise AttributeError("bug in the handler")  # noqa: B904 - the point of the test
    except AttributeError as bug:
        assert not is_outage(bug)


def _record(
    name: str, msg: str, args: tuple[object, ...], exc: BaseException | None
) -> logging.LogRecord:
    exc_info = (type(exc), exc, None) if exc is not None else None
    return logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args, exc_info)


def test_library_lines_about_an_outage_lose_the_traceback_and_repeat_once_per_interval(
    clock: Clock,
) -> None:
    quiet = LibraryRepeats(is_outage, every_s=30, clock=clock)
    refused = ConnectionRefusedError(111, "Connection refused")
    first = _record(
        "asyncpg.pool", "Failed to restore the pool connection floor; retrying", (), refused
    )
    assert quiet.filter(first)
    assert first.exc_info is None
    assert first.getMessage() == (
        "Failed to restore the pool connection floor; retrying"
        " (ConnectionRefusedError: [Errno 111] Connection refused)"
    )
    clock.now += 10
    again = _record(
        "asyncpg.pool", "Failed to restore the pool connection floor; retrying", (), refused
    )
    assert not quiet.filter(again)
    other = _record("aiokafka", "Unable connect to %r: %s", ("127.0.0.1:9092", ""), None)
    assert quiet.filter(other)  # another message is not held back by the first
    clock.now += 25
    assert quiet.filter(again)


def test_library_bugs_keep_their_traceback_and_the_services_lines_pass(clock: Clock) -> None:
    quiet = LibraryRepeats(is_outage, every_s=30, clock=clock)
    bug = _record("asyncpg.pool", "callback failed", (), KeyError("x"))
    assert quiet.filter(bug)
    assert bug.exc_info is not None
    for _ in range(3):
        own = _record("alerting.sender", "polling failed", (), ConnectionRefusedError())
        assert quiet.filter(own)
        assert own.exc_info is not None  # the services decide for themselves


def test_different_library_bugs_under_one_format_each_show(clock: Clock) -> None:
    """uvicorn logs every application error under one format: a second, different bug in
    the same interval must not be hidden behind the first; the same one repeated is."""
    quiet = LibraryRepeats(is_outage, every_s=30, clock=clock)
    fmt = "Exception in ASGI application"
    assert quiet.filter(_record("uvicorn.error", fmt, (), KeyError("x")))
    assert quiet.filter(_record("uvicorn.error", fmt, (), ValueError("bad")))
    assert not quiet.filter(_record("uvicorn.error", fmt, (), KeyError("x")))


def test_tries_side_by_side_that_began_before_the_recovery_are_not_a_new_outage(
    state: DependencyLog, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """Ingest's requests wait for the broker side by side: when it is back, the first to
    succeed logs the recovery, and those still timing out had begun during the outage."""
    caplog.set_level(logging.INFO)
    waiting = [state.began() for _ in range(5)]
    state.failed(TimeoutError(), waiting[0])
    clock.now += 20
    state.ok()
    clock.now += 0.1
    for began in waiting[1:]:
        state.failed(TimeoutError(), began)
    assert not state.down
    state.failed(TimeoutError(), state.began())  # begun after the recovery: a new outage
    assert [m for _, m, _ in records(caplog)] == [
        "polling (Postgres) unavailable: TimeoutError",
        "polling (Postgres) recovered after 20.0 s (1 failed tries)",
        "polling (Postgres) unavailable: TimeoutError",
    ]
