"""``alerting.domain`` stays pure: no module in it imports I/O, the clock, or an outer
layer. Resolution, sockets and storage belong to ``alerting.adapters``; a domain rule
that needs one of them takes its result as an argument instead."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import alerting.domain

DOMAIN = Path(alerting.domain.__file__).parent
# Top-level modules that do I/O or read the clock (directly or as their purpose).
IMPURE = frozenset(
    {
        "aiokafka", "aiosmtplib", "asyncio", "asyncpg", "http", "httpx", "os", "redis",
        "selectors", "shutil", "smtplib", "socket", "ssl", "subprocess", "time", "urllib.request",
    }
)  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def offending(modules: set[str]) -> set[str]:
    def impure(module: str) -> bool:
        parts = module.split(".")
        prefixes = {".".join(parts[: i + 1]) for i in range(len(parts))}
        if prefixes & IMPURE:
            return True
        # Within the package, only the domain itself: never adapters, services, config.
        return parts[0] == "alerting" and prefixes.isdisjoint({"alerting.domain"})

    return {module for module in modules if impure(module)}


@pytest.mark.parametrize("path", sorted(DOMAIN.glob("*.py")), ids=lambda p: p.name)
def test_domain_module_imports_nothing_impure(path: Path) -> None:
    assert offending(imported_modules(path)) == set()


def test_the_check_recognises_impure_imports() -> None:
    assert offending({"socket", "urllib.request", "alerting.adapters.dns", "asyncio"}) == {
        "socket",
        "urllib.request",
        "alerting.adapters.dns",
        "asyncio",
    }
    assert offending({"urllib.parse", "ipaddress", "alerting.domain.model", "hashlib"}) == set()
