"""The Jinja2 sandbox templates run in, with bounds on time and size.

A template is a customer's text that the sender runs for every notification of the
endpoint, so a bad one must fail fast and alone: never loop for minutes, never build a
gigabyte, never reach Python internals. Jinja's ``ImmutableSandboxedEnvironment`` already
refuses ``_``-prefixed and internal attributes and changes to lists and dicts; on top:

* a time budget, checked wherever the template's own code runs: every call, attribute and
  item lookup, intercepted operator, filter, ``for`` iteration and ``~`` (each loop's
  iterable and each ``~`` are wrapped in a guard when the template is compiled) and output
  chunk. Jinja cannot interrupt a single C-level operation, so those are bounded by size
  instead:
* sizes: ``range`` yields at most ``MAX_RANGE`` items, an integer argument to a call or a
  filter is at most ``MAX_SIZE``, and so is the ``weight`` (the size as text) of any value
  a filter takes or makes, a call, operator or lookup produces, ``~`` or ``join`` builds
  (``*``, ``**``, ``+``, ``~`` and ``join`` are checked before they build);
* amplifying operations are left out: ``%`` and ``str.format`` on text (a width in the
  format string allocates before anything can check it), the ``format``, ``center``,
  ``indent``, ``wordwrap``, ``urlize``, ``random`` ... filters, ``lipsum``; only listed
  ``str`` methods are callable;
* an unsafe attribute (``''.__class__``) raises at once instead of rendering as empty.

The budget is per render, held in a context variable, so one environment (and its
compiled templates) serves every render.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, nodes, pass_environment
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.filters import FILTERS as DEFAULT_FILTERS
from jinja2.filters import make_attrgetter
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace
from jinja2.visitor import NodeTransformer

MAX_SIZE = 64 * 1024  # characters of any string, items of any list, an integer argument
MAX_RANGE = 1000
MAX_EXPONENT = 64
MAX_INT_BITS = 4096
LOOP_CHECK_EVERY = 64  # iterations between two clock reads in a for loop
LOOP_GUARD = "loop_guard"
CONCAT_GUARD = "concat_guard"

# Filters that cannot amplify beyond the size checks (each checked as it returns).
FILTERS = (
    "abs", "attr", "batch", "capitalize", "count", "d", "default", "dictsort", "first",
    "float", "groupby", "int", "items", "join", "last", "length", "list", "lower", "map",
    "max", "min", "reject", "rejectattr", "replace", "reverse", "round", "select",
    "selectattr", "slice", "sort", "string", "sum", "title", "tojson", "trim", "truncate",
    "unique", "upper", "urlencode", "wordcount",
)  # fmt: skip
# The str methods a template may call; the rest allocate by an argument (center, ljust,
# zfill, expandtabs, replace: the filter checks its result's size first) or format.
STR_METHODS = frozenset({
    "capitalize", "count", "endswith", "find", "isalnum", "isalpha", "isdigit", "islower",
    "isspace", "isupper", "lower", "lstrip", "rfind", "rsplit", "rstrip", "split",
    "splitlines", "startswith", "strip", "title", "upper",
})  # fmt: skip


class BudgetExceeded(SecurityError):
    """The render ran out of time."""


@dataclass
class Budget:
    """When the current render must stop, by ``clock``."""

    deadline: float
    budget_s: float
    clock: Callable[[], float] = time.thread_time

    def check(self) -> None:
        if self.clock() > self.deadline:
            raise BudgetExceeded(
                f"rendering used more than {self.budget_s * 1000:.0f} ms of CPU and was stopped"
            )


CURRENT: ContextVar[Budget | None] = ContextVar("template_budget", default=None)


def check_time() -> None:
    budget = CURRENT.get()
    if budget is not None:
        budget.check()


def weight(value: Any, limit: int = MAX_SIZE) -> int:
    """About how many characters ``value`` takes as text: a string's length, a container's
    items' weights and one per item; counting stops past ``limit``. A list of 65,536
    references to one 64 KiB string is short but 4 GiB once printed or joined."""
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, Namespace):
            item = object.__getattribute__(item, "_Namespace__attrs")
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, list | tuple | set | frozenset | dict):
            total += len(item)
            if total <= limit:
                stack.extend(item.items() if isinstance(item, dict) else item)
        else:
            total += 1
    return total


def check_size(value: Any) -> Any:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise SecurityError(f"an integer larger than {MAX_INT_BITS} bits was refused")
    if not isinstance(value, int | float | bool | None) and weight(value) > MAX_SIZE:
        kind = "text" if isinstance(value, str) else type(value).__name__
        raise SecurityError(f"a {kind} value longer than {MAX_SIZE} was refused")
    return value


def _check_args(args: Iterable[Any]) -> None:
    for arg in args:
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > MAX_SIZE:
            raise SecurityError(f"an argument larger than {MAX_SIZE} was refused")
        check_size(arg)


def bounded_range(*args: int) -> range:
    check_time()
    found = range(*args)
    if len(found) > MAX_RANGE:
        raise SecurityError(f"range() of more than {MAX_RANGE} items was refused")
    return found


def loop_guard(iterable: Any) -> Iterator[Any]:
    """A ``for`` loop's items, with the clock read every ``LOOP_CHECK_EVERY``: a loop over
    a long string inside another never calls anything the other hooks see."""
    for i, item in enumerate(iterable):
        if i % LOOP_CHECK_EVERY == 0:
            check_time()
        yield item


def _guarded_filter(name: str) -> Callable[..., Any]:
    original = DEFAULT_FILTERS[name]
    # The value is the first argument, or the second after Jinja's environment/context.
    first_arg = 2 if getattr(original, "jinja_pass_arg", None) is not None else 1

    @functools.wraps(original)  # keeps Jinja's pass_context/pass_environment marks
    def guarded(*args: Any, **kwargs: Any) -> Any:
        check_time()
        if len(args) >= first_arg:
            check_size(args[first_arg - 1])  # the value: most filters make text of it
        _check_args([*args[first_arg:], *kwargs.values()])
        if name == "replace":
            _check_replace(args, kwargs)
        return check_size(original(*args, **kwargs))

    return guarded


@pass_environment
def bounded_join(environment: Environment, value: Any, d: str = "", attribute: Any = None) -> str:
    """``join``, refusing before it builds text longer than ``MAX_SIZE`` (the separator
    counts once per item: ``s | join(s)`` is len(s) squared)."""
    if attribute is not None:
        value = map(make_attrgetter(environment, attribute), value)
    separator, size = str(d), 0
    parts: list[str] = []
    for item in value:
        text = str(check_size(item))
        size += len(text) + (len(separator) if parts else 0)
        if size > MAX_SIZE:
            raise SecurityError(f"join() would build text longer than {MAX_SIZE}")
        parts.append(text)
    return separator.join(parts)


def bounded_concat(*parts: Any) -> str:
    """``a ~ b ~ ...``, refusing before it builds text longer than ``MAX_SIZE``."""
    check_time()
    texts = [str(check_size(part)) for part in parts]
    if sum(len(t) for t in texts) > MAX_SIZE:
        raise SecurityError(f"'~' would build text longer than {MAX_SIZE}")
    return "".join(texts)


def bounded_buffer(parts: Iterable[str]) -> str:
    """Jinja's ``concat`` of a block's buffered output (``{% filter %}``, ``{% set %}``
    blocks, macros, ``caller()``): those are joined in one go, not streamed through the
    output cap, so their size is checked before the join."""
    texts = list(parts)
    if sum(len(t) for t in texts) > MAX_SIZE:
        raise SecurityError(f"a block renders more than {MAX_SIZE} characters")
    return "".join(texts)


def _check_replace(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    # replace(eval_ctx, s, old, new, count): its result's size, before it is built.
    values = [*args[1:], *kwargs.values()]
    if len(values) >= 3 and all(isinstance(v, str) for v in values[:3]):
        text, old, new = values[:3]
        grown = len(text) + text.count(old) * max(0, len(new) - len(old))
        if grown > MAX_SIZE:
            raise SecurityError(f"replace() would build text longer than {MAX_SIZE}")


def _power(left: Any, right: Any) -> Any:
    if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
        raise SecurityError(f"an exponent above {MAX_EXPONENT} was refused")
    return left**right


def _times(left: Any, right: Any) -> Any:
    sequence, count = (left, right) if isinstance(right, int) else (right, left)
    repeats = isinstance(sequence, str | list | tuple) and isinstance(count, int)
    if repeats and len(sequence) * count > MAX_SIZE:
        raise SecurityError(f"repeating a value past {MAX_SIZE} items was refused")
    return left * right


def _modulo(left: Any, right: Any) -> Any:
    if isinstance(left, str):
        raise SecurityError("'%' formatting is not available: join text with '~'")
    return left % right


def _plus(left: Any, right: Any) -> Any:
    joins = isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple)
    if joins and len(left) + len(right) > MAX_SIZE:
        raise SecurityError(f"a value longer than {MAX_SIZE} was refused")
    return left + right


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with the bounds above; ``finalize`` is how an output format writes a
    ``{{ value }}`` (escaped, JSON-encoded, ...)."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, finalize: Callable[[Any], Any]) -> None:
        # The template's own last line break is its author's: kept, as in a text file.
        super().__init__(
            # Weighed before it is made text: a short list can print gigabytes.
            finalize=lambda value: finalize(check_size(value)),
            autoescape=False,
            auto_reload=False,
            keep_trailing_newline=True,
        )
        self.concat = bounded_buffer  # type: ignore[method-assign]
        self.filters = {name: _guarded_filter(name) for name in FILTERS}
        self.filters["join"] = bounded_join
        self.globals = {
            "range": bounded_range,
            "dict": dict,
            "namespace": self.globals["namespace"],
            "cycler": self.globals["cycler"],
            "joiner": self.globals["joiner"],
            LOOP_GUARD: loop_guard,
            CONCAT_GUARD: bounded_concat,
        }
        self.binop_table.update({"**": _power, "*": _times, "%": _modulo, "+": _plus})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and callable(value) and attr not in STR_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> None:
        return None  # str.format is refused (is_safe_attribute), not sandboxed

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        raise SecurityError(
            f"access to attribute {attribute!r} of a {type(obj).__name__!r} value is not allowed"
        )

    def getattr(self, obj: Any, attribute: str) -> Any:
        check_time()
        return check_size(super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        check_time()
        return check_size(super().getitem(obj, argument))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        check_time()
        return check_size(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        check_time()
        _check_args([*args, *kwargs.values()])
        return check_size(super().call(__context, __obj, *args, **kwargs))

    def guarded(self, tree: nodes.Template) -> nodes.Template:
        """The tree with every ``for`` loop iterating ``loop_guard(<its iterable>)`` and
        every ``~`` made a call of ``bounded_concat``: neither has a sandbox hook."""
        result: nodes.Template = _Guards().visit(tree)
        return result


class _Guards(NodeTransformer):
    def generic_visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> nodes.Node:
        if isinstance(node, nodes.Extends | nodes.Include | nodes.Import | nodes.FromImport):
            # An endpoint has no other templates to load: say so when it is saved.
            raise TemplateSyntaxError("a template cannot extend, include or import another",
                                      node.lineno)  # fmt: skip
        result: nodes.Node = super().generic_visit(node, *args, **kwargs)
        return result

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        guard = nodes.Name(LOOP_GUARD, "load", lineno=node.lineno)
        node.iter = nodes.Call(guard, [node.iter], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        guard = nodes.Name(CONCAT_GUARD, "load", lineno=node.lineno)
        return nodes.Call(guard, list(node.nodes), [], None, None, lineno=node.lineno)
