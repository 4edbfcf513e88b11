"""Pulumi entry point: read the stack config, build the stack, export its outputs."""

import sys
from pathlib import Path

# Pulumi runs this directory as a script; the components and this package live at the
# repository root, one level up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi

from stack import config, program

_cfg, _secrets = config.load()
for _name, _value in program.build(_cfg, _secrets).items():
    pulumi.export(_name, _value)
