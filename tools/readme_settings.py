"""Rewrite the settings table of README.md from alerting.config (between its markers)."""

from __future__ import annotations

import re
from pathlib import Path

from alerting import config

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- settings-table:start -->", "<!-- settings-table:end -->"

text = README.read_text()
pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
README.write_text(pattern.sub(f"{START}\n{config.markdown_table()}\n{END}", text))
print("README.md settings table updated")
