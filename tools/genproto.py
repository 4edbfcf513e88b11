"""Generate the Python code of proto/ into runtime/ (messages and mypy stubs).

The generated files are committed so the runtime image needs no code generator;
tests/unit/test_contracts_fresh.py regenerates into a temporary directory and fails
when the committed files differ, so nobody forgets to run `make proto`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
OUT_DIR = ROOT / "runtime"


def proto_files() -> list[Path]:
    return sorted(PROTO_DIR.rglob("*.proto"))


def generate(out_dir: Path = OUT_DIR) -> list[Path]:
    """Run protoc; return the files it wrote."""
    files = [str(p.relative_to(PROTO_DIR)) for p in proto_files()]
    # The mypy plugin lives beside this interpreter; PATH may not include the venv.
    plugin = Path(sys.executable).parent / "protoc-gen-mypy"
    args = [
        "protoc",
        f"-I{PROTO_DIR}",
        f"--plugin=protoc-gen-mypy={plugin}",
        f"--python_out={out_dir}",
        f"--mypy_out={out_dir}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    written = []
    for rel in files:
        stem = Path(rel).with_suffix("")
        written += [out_dir / f"{stem}_pb2.py", out_dir / f"{stem}_pb2.pyi"]
    return written


if __name__ == "__main__":
    for path in generate(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT_DIR):
        print(f"wrote {path.relative_to(path.parents[2])}")
