"""The console's stylesheet is well-formed: a brace left open (a merge did it once) puts
every later rule inside the block above it, e.g. a phone-only media query, and the
browser tests, which look at behaviour, not at layout, pass regardless."""

from __future__ import annotations

from alerting.console.site import STATIC

CSS = STATIC / "console.css"


def test_every_block_is_closed_where_it_opens() -> None:
    depth = 0
    for number, line in enumerate(CSS.read_text().splitlines(), 1):
        assert not line.startswith(("<<<<<<<", "=======", ">>>>>>>")), number
        depth += line.count("{") - line.count("}")
        assert 0 <= depth <= 2, f"console.css:{number}: nesting {depth}"
        if line and not line[0].isspace() and not line.startswith("}"):
            # A rule starts at the margin only outside every block, or as the first
            # line of a media query's body would not: those are indented.
            opened_here = line.count("{") - line.count("}")
            assert depth - opened_here == 0, f"console.css:{number}: a rule inside a block"
    assert depth == 0
