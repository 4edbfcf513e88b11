"""A cheaper ``__init__`` for frozen dataclasses built once or more per delivery.

The ``__init__`` that ``dataclasses`` generates for a frozen class sets each field
through ``object.__setattr__``, which looks the field's slot up on the class each time;
``quick_init`` generates the same signature and sets each slot through its own
descriptor, bound once: about half the cost. The class is otherwise untouched: still
frozen (assignment raises), same equality, hash, repr, defaults and default factories.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar, cast

T = TypeVar("T")

_FACTORY = object()  # a default factory's parameter was not passed


def quick_init(cls: type[T]) -> type[T]:
    """Give the frozen slotted dataclass ``cls`` (no ``__post_init__``, no init-only or
    keyword-only fields) the cheaper ``__init__``. Applied above ``@dataclass``."""
    params = getattr(cls, "__dataclass_params__", None)
    plain = params is not None and params.frozen and not hasattr(cls, "__post_init__")
    if not plain or "__slots__" not in vars(cls):
        raise TypeError(f"{cls.__name__}: quick_init is for plain frozen slotted dataclasses")
    namespace: dict[str, Any] = {"_FACTORY": _FACTORY}
    signature, body = [], []
    for f in dataclasses.fields(cast(Any, cls)):
        if not f.init or f.kw_only or f.name.startswith("_"):
            raise TypeError(f"{cls.__name__}.{f.name}: not supported by quick_init")
        value = f.name
        if f.default is not dataclasses.MISSING:
            namespace[f"_default_{f.name}"] = f.default
            signature.append(f"{f.name}=_default_{f.name}")
        elif f.default_factory is not dataclasses.MISSING:
            namespace[f"_factory_{f.name}"] = f.default_factory
            signature.append(f"{f.name}=_FACTORY")
            value = f"_factory_{f.name}() if {f.name} is _FACTORY else {f.name}"
        else:
            signature.append(f.name)
        namespace[f"_set_{f.name}"] = vars(cls)[f.name].__set__
        body.append(f"    _set_{f.name}(self, {value})\n")
    source = f"def __init__(self, {', '.join(signature)}):\n{''.join(body) or '    pass'}"
    # Field names and defaults come from the class itself, as for dataclasses' own code.
    exec(source, namespace)  # noqa: S102
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    setattr(cls, "__init__", init)  # noqa: B010 (mypy refuses assigning to __init__)
    return cls
