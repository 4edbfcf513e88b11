"""Small asyncio helpers shared by the services."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

log = logging.getLogger(__name__)

# Hot paths take the event loop once and pass it on (``wait_tasks``' ``loop``, the HTTP
# client's kept loop) instead of asking again: asyncio.get_running_loop(), and
# asyncio.create_task through it, costs a getpid() system call on Python 3.11.


def one_line(exc: BaseException) -> str:
    """An exception as one log-friendly line: drivers like to wrap their messages."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def wait_tasks(
    loop: asyncio.AbstractEventLoop, tasks: Sequence[asyncio.Task[Any]], timeout_s: float
) -> list[asyncio.Task[Any]]:
    """``asyncio.wait(tasks, timeout=timeout_s)`` for a batch's own tasks: those still
    pending when it returns. ``asyncio.wait`` checks every awaitable it is given against
    ``collections.abc.Coroutine`` (an ABC ``isinstance``, per task, per batch) and
    copies them into a set: a sender batch is hundreds of tasks."""
    pending = [t for t in tasks if not t.done()]
    left = len(pending)
    if left:
        waiter: asyncio.Future[None] = loop.create_future()

        def finished(_: asyncio.Task[Any]) -> None:
            nonlocal left
            left -= 1
            if left == 0 and not waiter.done():
                waiter.set_result(None)

        timer = loop.call_later(timeout_s, _wake, waiter)
        for t in pending:
            t.add_done_callback(finished)
        try:
            await waiter
        finally:
            timer.cancel()
            for t in pending:
                t.remove_done_callback(finished)
    return [t for t in pending if not t.done()]


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


async def sleep_unless(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to ``seconds``, waking early when ``stop`` is set; True if stopped."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


async def retry_until_stopped(
    attempt: Callable[[], Awaitable[object]],
    stop: asyncio.Event,
    what: str,
    max_delay_s: float = 10.0,
) -> bool:
    """Run ``attempt`` until it succeeds; True on success, False if stopped first.

    A dependency that is down at start (the broker, the database) is waited for, not
    treated as fatal: orchestrators restart crashed containers, but a crash loop hides
    the one useful log line, "waiting for X".
    """
    from alerting.dependency_log import DependencyLog  # it builds on this module

    delay = 0.5
    state = DependencyLog(log, what)
    while not stop.is_set():
        try:
            await attempt()
            state.ok()
            return True
        except Exception as exc:  # any failure to reach a dependency is retried
            state.failed(exc)
            if await sleep_unless(stop, delay):
                break
            delay = min(delay * 2, max_delay_s)
    return False


async def run_every(
    one_pass: Callable[[], Awaitable[object]],
    stop: asyncio.Event,
    interval_s: float,
    what: str,
    logger: logging.Logger,
) -> None:
    """A background loop: ``one_pass``, then ``interval_s`` of sleep, until ``stop``. A
    pass that fails (a database that does not answer) is one line per state change in
    ``logger`` (``DependencyLog``), not a traceback per pass; the next pass tries again."""
    from alerting.dependency_log import DependencyLog  # it builds on this module

    state = DependencyLog(logger, what)
    while not stop.is_set():
        try:
            await one_pass()
        except Exception as exc:  # tried again at the next pass
            state.failed(exc)
        else:
            state.ok()
        await sleep_unless(stop, interval_s)
