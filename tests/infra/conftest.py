"""Put the repository root on sys.path: the Pulumi program (`stack`, `components`) is not
an installed package, and Pulumi itself runs it from the checkout."""

import sys
from pathlib import Path

REPO = str(Path(__file__).resolve().parents[2])
if REPO not in sys.path:
    sys.path.insert(0, REPO)
