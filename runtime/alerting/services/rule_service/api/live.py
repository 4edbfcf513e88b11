"""`live` on rule and silence answers, and `?wait=` on their POST and PATCH.

Shared by every resource the evaluators hold (rules, silences): the resource only says
how one of its rows is named and versioned (``versioned``). The question is asked after
the change committed, so a `live: false` answer still means the change is saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from alerting.domain.liveness import Versioned
from alerting.services.rule_service.operation import Ctx


def versioned(entity_id: object, version: int, changed_at: datetime) -> Versioned:
    return Versioned(str(entity_id), version, int(changed_at.timestamp() * 1000))


async def live_flags(ctx: Ctx, items: Sequence[Versioned]) -> list[bool]:
    """One Redis round trip for the whole page."""
    return await ctx.deps.liveness.live(items)


async def after_change(ctx: Ctx, item: Versioned, wait_s: float | None) -> bool:
    """Whether a just-committed change is live, waiting up to ``wait_s`` for it."""
    if wait_s is None:
        (live,) = await ctx.deps.liveness.live([item])
        return live
    return await ctx.deps.liveness.wait(item, wait_s)
