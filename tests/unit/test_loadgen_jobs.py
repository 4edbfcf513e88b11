"""Load-generator jobs belong to their creator: an owner never sees nor cancels another's.

Only the admin can reach the job routes over HTTP today, so the isolation between
owners is checked here, on the job manager that enforces it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from alerting.domain.model import Alert
from alerting.services.ingest.jobs import JobManager, TooManyJobs
from alerting.services.ingest.models import JobRequest


async def accept(alerts: Sequence[Alert], via: str) -> None:
    """Kafka acknowledges every batch at once."""


# One alert a second: the job is still running when the test looks at it.
SLOW = JobRequest(rate=1, count=1000)


async def test_an_owner_lists_gets_and_cancels_only_its_own_jobs() -> None:
    manager = JobManager(accept)
    mine = manager.start(SLOW, "key:a")
    theirs = manager.start(SLOW, "admin")
    try:
        assert [job.job_id for job in manager.of("key:a")] == [mine.job_id]
        assert [job.job_id for job in manager.of("admin")] == [theirs.job_id]
        assert manager.of("key:b") == []
        assert manager.get(theirs.job_id, "key:a") is None
        assert await manager.cancel(theirs.job_id, "key:a") is None
        assert theirs.state == "running"
        assert not theirs.cancel.is_set()
        assert manager.get(mine.job_id, "key:a") is mine
        assert await manager.cancel(mine.job_id, "key:a") is mine
        assert mine.state == "cancelled"
    finally:
        await manager.close()


async def test_the_running_limit_counts_every_owners_jobs() -> None:
    """The limit protects the process, so a second owner cannot exceed it either."""
    manager = JobManager(accept, max_running=1)
    try:
        manager.start(SLOW, "admin")
        with pytest.raises(TooManyJobs):
            manager.start(SLOW, "key:a")
    finally:
        await manager.close()
