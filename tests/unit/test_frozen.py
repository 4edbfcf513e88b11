import dataclasses

import pytest

from alerting.domain.delivery import Attempt, NotificationEndpoint, Outcome, Target
from alerting.domain.delivery_messages import OutgoingNotification
from alerting.domain.frozen import quick_init
from alerting.services.sender.store import DeliveryRow


@dataclasses.dataclass(frozen=True, slots=True)
class Plain:
    a: str
    b: int | None = None
    c: list[str] = dataclasses.field(default_factory=list)
    d: float = dataclasses.field(default=1.5, compare=False)


@quick_init
@dataclasses.dataclass(frozen=True, slots=True)
class Quick:  # Plain, with the cheaper __init__
    a: str
    b: int | None = None
    c: list[str] = dataclasses.field(default_factory=list)
    d: float = dataclasses.field(default=1.5, compare=False)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [(("x",), {}), (("x", 2), {}), (("x",), {"c": ["y"]}), ((), {"a": "x", "d": 3.0, "b": 4})],
)
def test_quick_init_builds_what_the_generated_init_builds(args: tuple, kwargs: dict) -> None:
    plain, quick = Plain(*args, **kwargs), Quick(*args, **kwargs)
    assert [getattr(quick, f.name) for f in dataclasses.fields(Quick)] == [
        getattr(plain, f.name) for f in dataclasses.fields(Plain)
    ]


def test_quick_init_keeps_the_class_frozen_and_its_arguments_checked() -> None:
    quick = Quick("x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.a = "y"  # type: ignore[misc]
    assert Quick("x").c is not Quick("x").c  # a fresh default per instance
    assert Quick("x", d=2.0) == Quick("x") and hash(Quick("x", c=())) == hash(Quick("x", c=()))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Quick()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Quick("x", 1, [], 1.0, 5)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Quick("x", e=1)  # type: ignore[call-arg]


def test_quick_init_refuses_what_it_does_not_build() -> None:
    @dataclasses.dataclass
    class Mutable:
        a: str

    @dataclasses.dataclass(frozen=True)
    class Checked:
        a: str

        def __post_init__(self) -> None: ...

    @dataclasses.dataclass(frozen=True)
    class Unslotted:
        a: str

    for cls in (Mutable, Checked, Unslotted):
        with pytest.raises(TypeError):
            quick_init(cls)


@pytest.mark.parametrize(
    "cls", [Attempt, NotificationEndpoint, Target, OutgoingNotification, DeliveryRow]
)
def test_the_hot_classes_keep_their_fields_defaults(cls: type) -> None:
    required = [f for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING]  # fmt: skip
    built = cls(*(f"v-{f.name}" for f in required))
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            assert getattr(built, f.name) == f.default
        elif f.default_factory is not dataclasses.MISSING:
            assert getattr(built, f.name) == f.default_factory()
    assert Attempt(Outcome.SENT) == Attempt(outcome=Outcome.SENT)
