"""The vendored front-end files are the published ones (tools/vendor_console.py)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def vendor_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "vendor_console", ROOT / "tools/vendor_console.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("vendor_console", module)
    spec.loader.exec_module(module)
    return module


def test_the_vendored_files_match_vendored_json() -> None:
    tool = vendor_tool()
    assert tool.check() == []


def test_every_vendored_file_is_recorded_and_every_record_is_a_file() -> None:
    tool = vendor_tool()
    record = json.loads(tool.RECORD.read_text())
    present = {p.name for p in tool.VENDOR.iterdir()} - {"VENDORED.json"}
    assert present == set(record)
    fetched = {name for _, _, name in tool.FILES}
    assert set(record) == fetched | set(tool.DECLARATIONS)


def test_the_declarations_are_what_the_tool_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regenerating them (no network) gives the recorded bytes: nobody edited them."""
    tool = vendor_tool()
    monkeypatch.setattr(tool, "VENDOR", tmp_path)
    written = tool.declarations()
    record = json.loads((ROOT / "runtime/alerting/console/static/vendor/VENDORED.json").read_text())
    for name, entry in written.items():
        assert entry == record[name]
        assert (tmp_path / name).read_bytes() == (tool.RECORD.parent / name).read_bytes()


def test_the_pinned_versions_are_the_type_checkers() -> None:
    """tsc checks against the typings of the very versions the browser runs."""
    tool = vendor_tool()
    package = json.loads((ROOT / "tools/console-types/package.json").read_text())
    lock = json.loads((ROOT / "tools/console-types/package-lock.json").read_text())
    for name, version in tool.PACKAGES.items():
        assert package["devDependencies"][name] == version
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


def test_a_changed_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = vendor_tool()
    for path in tool.VENDOR.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / "htm.mjs").write_bytes(b"export default 1;")
    (tmp_path / "hooks.d.mts").unlink()
    monkeypatch.setattr(tool, "VENDOR", tmp_path)
    monkeypatch.setattr(tool, "RECORD", tmp_path / "VENDORED.json")
    assert sorted(tool.check()) == [
        "hooks.d.mts: missing",
        "htm.mjs: differs from htm@3.1.1 (package/dist/htm.mjs)",
    ]
