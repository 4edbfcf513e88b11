"""The HTTP layer's boundaries, checked over the runtime's source: only ``alerting.web``
reads Authorization headers, services do not import each other, and the web layer
imports no service."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

RUNTIME = Path(__file__).resolve().parents[2] / "runtime" / "alerting"
SERVICES = RUNTIME / "services"
WEB = RUNTIME / "web"


def sources(root: Path | None = None) -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted((root or RUNTIME).rglob("*.py")):
        if not path.name.endswith("_pb2.py"):
            yield path, ast.parse(path.read_text(), str(path))


def _names_the_header(node: ast.AST) -> bool:
    value = node.value if isinstance(node, ast.Constant) else None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return isinstance(value, str) and value.strip().lower() == "authorization"


def authorization_reads(tree: ast.Module) -> list[int]:
    """Lines using the header's name other than as a key of a dict literal (a client
    *sending* the header builds ``{"Authorization": ...}``; a server reads it with
    ``headers.get(...)``, ``headers[...]``, a scope's raw header list, and so on)."""
    sent = {
        id(key)
        for node in ast.walk(tree)
        if isinstance(node, ast.Dict)
        for key in node.keys
        if key is not None
    }
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and _names_the_header(node) and id(node) not in sent
    ]


def imported_modules(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def service_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[:2] == ["alerting", "services"] and len(parts) > 2:
        return parts[2]
    return None


def test_only_the_web_layer_reads_authorization_headers() -> None:
    offenders = {
        str(path.relative_to(RUNTIME)): lines
        for path, tree in sources()
        if WEB not in path.parents and (lines := authorization_reads(tree))
    }
    assert offenders == {}


def test_the_check_above_sees_a_header_read() -> None:
    """Guards the guard: the ways a server reads the header are all caught."""
    for code in (
        'request.headers.get("authorization")',
        "request.headers['Authorization']",
        'dict(scope["headers"]).get(b"authorization")',
    ):
        assert authorization_reads(ast.parse(code)) == [1], code
    assert authorization_reads(ast.parse('headers = {"Authorization": "Bearer x"}')) == []
    web_reads = [lines for _, tree in sources(WEB) if (lines := authorization_reads(tree))]
    assert web_reads, "the web layer reads the header somewhere"


def service_packages() -> set[str]:
    return {p.name for p in SERVICES.iterdir() if (p / "__init__.py").is_file()}


def test_no_service_package_imports_another() -> None:
    """What two services share lives below them (web, adapters, domain), not in either
    (modules directly in ``services/`` are shared plumbing, not a service)."""
    packages = service_packages()
    crossings = set()
    for own in sorted(packages):
        for _, tree in sources(SERVICES / own):
            for module in imported_modules(tree):
                other = service_of(module)
                if other in packages and other != own:
                    crossings.add((own, module))
    assert crossings == set()


def test_the_web_layer_imports_no_service() -> None:
    imports = {
        module
        for _, tree in sources(WEB)
        for module in imported_modules(tree)
        if service_of(module) is not None
    }
    assert imports == set()
