"""``alerting.aio.wait_tasks``: the tasks still pending when it returns, as
``asyncio.wait(tasks, timeout=...)`` would leave them, never cancelled by it, and nothing
left behind (a done-callback on a task, a timer on the loop) however it ends.

The loop it is given records the timer it asks for, and the tasks count the
done-callbacks others hold on them: a leftover is harmless to see (the callback and the
timer find their waiter done) but not harmless to keep, a batch being hundreds of tasks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any, cast

import pytest

from alerting.aio import wait_tasks

Callback = Callable[..., object]


class Counted(asyncio.Task[str]):
    """A task that knows the done-callbacks it holds: those added and not removed, while
    it runs (once done, it has handed them to the loop and holds none)."""

    def __init__(self, coro: Coroutine[Any, Any, str], loop: asyncio.AbstractEventLoop) -> None:
        self._added: list[Callback] = []
        super().__init__(coro, loop=loop)

    @property
    def held(self) -> list[Callback]:
        return [] if self.done() else list(self._added)

    def add_done_callback(self, fn: Callback, *, context: Any = None) -> None:
        self._added.append(fn)
        super().add_done_callback(fn, context=context)

    def remove_done_callback(self, fn: Callback) -> int:
        self._added = [f for f in self._added if f is not fn]
        return super().remove_done_callback(fn)


class Recording:
    """The running loop, recording the futures and the timers ``wait_tasks`` asks of it.
    With ``fire=False`` a timer is only recorded (its handle still a real, cancellable
    one, due in an hour) and the test fires it with ``fire_timer`` when it chooses."""

    def __init__(self, fire: bool = True) -> None:
        self.loop = asyncio.get_running_loop()
        self.fire = fire
        self.futures = 0
        self.timers: list[asyncio.TimerHandle] = []
        self.due: list[tuple[Callback, tuple[object, ...]]] = []

    def create_future(self) -> asyncio.Future[Any]:
        self.futures += 1
        return self.loop.create_future()

    def call_later(self, delay: float, callback: Callback, *args: object) -> asyncio.TimerHandle:
        self.due.append((callback, args))
        handle = self.loop.call_later(delay if self.fire else 3600, callback, *args)
        self.timers.append(handle)
        return handle

    def fire_timer(self) -> None:
        [(callback, args)] = self.due
        callback(*args)

    def as_loop(self) -> asyncio.AbstractEventLoop:
        return cast(asyncio.AbstractEventLoop, self)


@pytest.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """What the loop's exception handler is given meanwhile ("Exception in callback").
    Async, so that it is the tests' running loop: a plain fixture's
    ``get_event_loop()`` fails once an earlier test in the worker has run its own loop
    to the end (``asyncio.run`` leaves no current loop)."""
    loop = asyncio.get_running_loop()
    before = loop.get_exception_handler()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: errors.append(context))
    yield errors
    loop.set_exception_handler(before)


def counted(coro: Coroutine[Any, Any, str]) -> Counted:
    return Counted(coro, asyncio.get_running_loop())


async def answer(text: str, gate: asyncio.Event | None = None) -> str:
    if gate is not None:
        await gate.wait()
    return text


def blocked(gate: asyncio.Event, *names: str) -> list[Counted]:
    return [counted(answer(n, gate)) for n in names]


def untouched(tasks: Sequence[Counted]) -> None:
    """No callback of wait_tasks' left on the tasks, none of them cancelled."""
    assert [t.held for t in tasks] == [[] for _ in tasks]
    assert not any(t.cancelled() for t in tasks)


async def finish(gate: asyncio.Event, tasks: Sequence[Counted]) -> list[str]:
    """The tasks, left running, still finish as they would have."""
    assert not any(t.done() for t in tasks)
    gate.set()
    async with asyncio.timeout(1):
        return list(await asyncio.gather(*tasks))


async def test_tasks_all_done_before_the_call_return_at_once() -> None:
    tasks = [counted(answer("a")), counted(answer("b"))]
    await asyncio.gather(*tasks)
    loop = Recording()
    call = wait_tasks(loop.as_loop(), tasks, 10.0)
    # Returns without suspending: no waiter, no timer, no callback on the tasks.
    with pytest.raises(StopIteration) as returned:
        call.send(None)
    assert returned.value.value == []
    assert (loop.futures, loop.timers) == (0, [])
    untouched(tasks)
    done, pending = await asyncio.wait(tasks, timeout=10.0)
    assert (done, pending) == (set(tasks), set())


async def test_a_timeout_of_zero_returns_the_pending_tasks_still_running(
    loop_errors: list[dict[str, Any]],
) -> None:
    gate = asyncio.Event()
    ready = counted(answer("ready"))
    await ready
    first, second = blocked(gate, "first", "second")
    loop = Recording()
    async with asyncio.timeout(1):
        late = await wait_tasks(loop.as_loop(), [first, ready, second], 0.0)
    assert late == [first, second]  # in the order given, the done one left out
    untouched([first, second])
    assert [t.cancelled() for t in loop.timers] == [True]
    _, pending = await asyncio.wait([first, ready, second], timeout=0)
    assert pending == set(late)
    assert await finish(gate, [first, second]) == ["first", "second"]
    assert loop_errors == []


async def test_at_the_timeout_the_unfinished_tasks_are_returned_not_cancelled(
    loop_errors: list[dict[str, Any]],
) -> None:
    gate = asyncio.Event()
    quick = counted(answer("quick"))
    slow_1, slow_2 = blocked(gate, "slow 1", "slow 2")
    tasks = [slow_1, quick, slow_2]
    loop = Recording()
    started = loop.loop.time()
    async with asyncio.timeout(1):
        late = await wait_tasks(loop.as_loop(), tasks, 0.05)
    assert loop.loop.time() - started >= 0.05
    assert late == [slow_1, slow_2]
    assert quick.result() == "quick"
    untouched(tasks)
    assert [t.cancelled() for t in loop.timers] == [True]
    _, pending = await asyncio.wait(tasks, timeout=0.01)
    assert pending == set(late)
    assert await finish(gate, late) == ["slow 1", "slow 2"]
    assert loop_errors == []


async def test_tasks_finishing_before_the_timeout_end_the_wait_there() -> None:
    gate = asyncio.Event()
    tasks = blocked(gate, "a", "b")
    loop = Recording()
    asyncio.get_running_loop().call_later(0.01, gate.set)
    started = loop.loop.time()
    async with asyncio.timeout(1):
        late = await wait_tasks(loop.as_loop(), tasks, 30.0)
    assert late == []
    assert loop.loop.time() - started < 1
    assert [t.result() for t in tasks] == ["a", "b"]
    untouched(tasks)
    assert [t.cancelled() for t in loop.timers] == [True]  # not left for 30 s on the loop


async def test_a_cancelled_caller_leaves_no_callback_nor_timer_and_the_tasks_running(
    loop_errors: list[dict[str, Any]],
) -> None:
    gate = asyncio.Event()
    tasks = blocked(gate, "a", "b")
    loop = Recording()
    waiting = asyncio.create_task(wait_tasks(loop.as_loop(), tasks, 30.0))
    for _ in range(3):
        await asyncio.sleep(0)
    assert len(loop.timers) == 1 and all(t.held for t in tasks)  # it is waiting on them
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    untouched(tasks)
    assert [t.cancelled() for t in loop.timers] == [True]
    assert await finish(gate, tasks) == ["a", "b"]
    assert loop_errors == []


async def test_the_last_task_finishing_as_the_timer_fires_is_not_late(
    loop_errors: list[dict[str, Any]],
) -> None:
    """The timer fires, then the last task finishes, in one loop iteration: wait_tasks
    resumes before the task's done-callback runs. The task is done by then, so not late
    (as asyncio.wait would say), and its callback finding the wait over is no error."""
    gate = asyncio.Event()
    tasks = blocked(gate, "a")
    loop = Recording(fire=False)
    waiting = asyncio.create_task(wait_tasks(loop.as_loop(), tasks, 30.0))
    await asyncio.sleep(0)
    asyncio.get_running_loop().call_soon(loop.fire_timer)
    gate.set()  # the task's last step, right after the timer
    async with asyncio.timeout(1):
        assert await waiting == []
    await asyncio.sleep(0)  # the task's done-callback has run
    untouched(tasks)
    assert [t.cancelled() for t in loop.timers] == [True]
    assert loop_errors == []


async def test_the_timer_firing_just_after_the_last_task_finished_is_no_error(
    loop_errors: list[dict[str, Any]],
) -> None:
    """The other order in one loop iteration: the last task's done-callback ends the
    wait, then the timer fires before wait_tasks resumes to cancel it."""
    gate = asyncio.Event()
    [task] = blocked(gate, "a")
    loop = Recording(fire=False)
    waiting = asyncio.create_task(wait_tasks(loop.as_loop(), [task], 30.0))
    await asyncio.sleep(0)
    # Added after wait_tasks' own callback, so run right after it.
    asyncio.Task.add_done_callback(task, lambda _: loop.fire_timer())
    gate.set()
    async with asyncio.timeout(1):
        assert await waiting == []
    assert task.held == []
    assert [t.cancelled() for t in loop.timers] == [True]
    assert loop_errors == []
