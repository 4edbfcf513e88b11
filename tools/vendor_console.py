"""Refresh the console's vendored front-end libraries from the npm registry.

    python tools/vendor_console.py            # the versions pinned below
    python tools/vendor_console.py --check    # the files still match VENDORED.json

The console runs with Python alone (no Node at run time, no build step), so its three
libraries live in runtime/alerting/console/static/vendor as the ES modules their
packages publish. The only change made to them: ``from"preact"`` becomes a relative
import, because a browser without an import map (an inline script the CSP forbids)
cannot resolve a bare specifier. VENDORED.json records each file's version, source and
SHA-256; a unit test checks the files against it, so an edit by hand shows.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).resolve().parent.parent / "runtime/alerting/console/static/vendor"
RECORD = VENDOR / "VENDORED.json"
PACKAGES = {"preact": "11.2.0", "htm": "3.1.1"}
# (package, file in its tarball, file here); type declarations are kept for tsc.
FILES = (
    ("preact", "package/dist/preact.mjs", "preact.mjs"),
    ("preact", "package/hooks/dist/hooks.mjs", "hooks.mjs"),
    ("preact", "package/LICENSE", "LICENSE.preact.txt"),
    ("htm", "package/dist/htm.mjs", "htm.mjs"),
    ("htm", "package/LICENSE", "LICENSE.htm.txt"),
)
REWRITES = {"hooks.mjs": ('from"preact"', 'from"./preact.mjs"')}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch(workdir: Path) -> dict[str, object]:
    record: dict[str, object] = {}
    for package, version in PACKAGES.items():
        print(f"npm pack {package}@{version}", flush=True)
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("npm not found: refreshing the vendored files needs Node's npm")
        subprocess.run(  # noqa: S603 - fixed arguments
            [npm, "pack", f"{package}@{version}", "--silent"], cwd=workdir, check=True
        )
    for package, inner, name in FILES:
        version = PACKAGES[package]
        with tarfile.open(workdir / f"{package}-{version}.tgz") as tar:
            member = tar.extractfile(inner)
            assert member is not None, inner
            data = member.read()
        if name in REWRITES:
            old, new = REWRITES[name]
            assert old.encode() in data, (name, old)
            data = data.replace(old.encode(), new.encode())
        (VENDOR / name).write_bytes(data)
        record[name] = {"package": f"{package}@{version}", "from": inner, "sha256": sha256(data)}
    return record


def check() -> list[str]:
    """What differs from VENDORED.json (empty: nothing)."""
    record = json.loads(RECORD.read_text())
    problems = []
    for name, entry in record.items():
        path = VENDOR / name
        if not path.exists():
            problems.append(f"{name}: missing")
        elif sha256(path.read_bytes()) != entry["sha256"]:
            problems.append(f"{name}: differs from {entry['package']} ({entry['from']})")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare with VENDORED.json")
    if parser.parse_args().check:
        problems = check()
        print("\n".join(problems) or "vendored files match VENDORED.json")
        return 1 if problems else 0
    VENDOR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        record = fetch(Path(tmp))
    RECORD.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {len(record)} files and {RECORD.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
