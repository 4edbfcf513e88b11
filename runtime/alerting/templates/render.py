"""Compiling and rendering one template, every failure a ``TemplateProblem`` that names
the template and, where it knows one, the line.

Compiled templates are cached by (format, source): the sender renders the same few
sources for every notification of an endpoint.
"""

from __future__ import annotations

import functools
import gc
import time
from collections.abc import Callable, Mapping
from types import TracebackType

from jinja2 import Template
from jinja2.exceptions import TemplateSyntaxError

from alerting.domain.delivery_messages import OutgoingNotification
from alerting.templates import catalog
from alerting.templates.formats import Format, OutputError
from alerting.templates.sandbox import CURRENT, MAX_SIZE, BoundedEnvironment, Budget
from alerting.templates.variables import variables

MAX_SOURCE = 16 * 1024  # characters of one template's source (checked by the API)
MAX_OUTPUT = MAX_SIZE  # characters one render may produce
# CPU of the sender's one event-loop thread per render (an email renders two): small,
# so a heavy template delays other tenants' deliveries by little. A typical template
# takes well under a millisecond.
RENDER_BUDGET_S = 0.02
TEMPLATE_FILE = "<template>"  # the file name Jinja gives a template's code


class TemplateProblem(ValueError):
    """A template that cannot be compiled or rendered: ``str()`` is ``line 3: ...``.

    ``kind`` names the error's type (``UndefinedError``, ``BudgetExceeded``, ...): what
    the sender logs, since the message may quote an alert's values."""

    def __init__(
        self, name: str, message: str, line: int | None = None, kind: str = "TemplateProblem"
    ) -> None:
        self.name = name
        self.line = line
        self.message = message
        self.kind = kind
        super().__init__(f"line {line}: {message}" if line is not None else message)

    @classmethod
    def of(cls, name: str, exc: BaseException) -> TemplateProblem:
        """Any error a template's compiling or rendering raised, with the template line
        it was raised on when Jinja's traceback says."""
        if isinstance(exc, RecursionError):
            message = "nests or calls itself too deeply"
        else:
            message = _message(exc)
        return cls(name, message, _template_line(exc.__traceback__), type(exc).__name__)


@functools.cache
def _environment(fmt: Format) -> BoundedEnvironment:
    return BoundedEnvironment(fmt.finalize)


@functools.lru_cache(maxsize=1024)
def _compiled(fmt: Format, source: str) -> Template:
    env = _environment(fmt)
    return env.from_string(env.guarded(env.parse(source)))


def compile_template(channel: str, name: str, source: str) -> Template:
    fmt = _format(channel, name)
    if len(source) > MAX_SOURCE:
        raise TemplateProblem(name, f"longer than {MAX_SOURCE} characters")
    try:
        return _compiled(fmt, source)
    except TemplateSyntaxError as exc:
        kind = type(exc).__name__
        raise TemplateProblem(name, exc.message or "syntax error", exc.lineno, kind) from None
    except Exception as exc:  # deep nesting (RecursionError), a Jinja bug
        # Whatever the compiler raises is this source's problem: a 422 at save, never a 500.
        raise TemplateProblem.of(name, exc) from None


def check(channel: str, templates: Mapping[str, str]) -> list[TemplateProblem]:
    """Every problem of an endpoint's templates that compiling finds (names, sizes,
    syntax), in name order: the API's 422 lists them all."""
    found = []
    for name in sorted(templates):
        try:
            compile_template(channel, name, templates[name])
        except TemplateProblem as problem:
            found.append(problem)
    return found


def render(
    channel: str,
    name: str,
    source: str,
    n: OutgoingNotification,
    *,
    budget_s: float = RENDER_BUDGET_S,
    clock: Callable[[], float] = time.thread_time,
) -> str:
    """``source`` rendered for ``n``, as ``channel`` sends template ``name`` (a test send
    marked as one); raises ``TemplateProblem``, never runs past ``budget_s`` for long.

    The budget is CPU time of this thread (``time.thread_time``), not wall time: on a
    busy machine a trivial template can wait longer than the budget for a core, and it
    must not fail for that; a runaway template burns CPU and is stopped all the same."""
    fmt = _format(channel, name)
    template = compile_template(channel, name, source)  # raises TemplateProblem only
    collecting = gc.isenabled()
    if collecting:
        # A collection of the whole process's garbage is not the template's CPU; its own
        # garbage is bounded by the budget and the size caps, and collected right after.
        gc.disable()
    token = CURRENT.set(Budget(clock() + budget_s, budget_s, clock))
    try:
        text = _bounded_output(name, template, n)
        finished = fmt.finish(text)
        return fmt.mark_test(finished) if n.test else finished
    except OutputError as exc:
        raise TemplateProblem(name, str(exc), kind=type(exc).__name__) from None
    except TemplateProblem:
        raise
    except Exception as exc:  # a template can make Jinja raise anything
        # (cycler().next() a RuntimeError, truncate(-5) an AssertionError): each is this
        # template's failure, which the sender answers with the built-in rendering.
        raise TemplateProblem.of(name, exc) from None
    finally:
        CURRENT.reset(token)
        if collecting:
            gc.enable()


def _bounded_output(name: str, template: Template, n: OutgoingNotification) -> str:
    chunks: list[str] = []
    size = 0
    budget = CURRENT.get()
    for chunk in template.generate(variables(n)):
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise TemplateProblem(name, f"renders more than {MAX_OUTPUT} characters")
        if budget is not None:
            budget.check()
        chunks.append(chunk)
    return "".join(chunks)


def _format(channel: str, name: str) -> Format:
    fmt = catalog.format_of(channel, name)
    if fmt is None:
        raise TemplateProblem(name, catalog.unknown_name(channel, name) or "unknown template")
    return fmt


def _message(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(text.split())


def _template_line(tb: TracebackType | None) -> int | None:
    """The template line the error was raised on: Jinja rewrites a render's traceback so
    that frames of the template's code carry its line numbers."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == TEMPLATE_FILE:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
