"""Load-generator jobs run inside ingest: generated alerts straight to Kafka, paced.

Producing from inside the process (not through our own HTTP API) measures the pipeline
behind ingest rather than the load generator's HTTP client. Bounded everywhere: a few
jobs at once, a capped rate and count (the request model), a short history.

A job belongs to whoever started it (``owner``, an opaque caller identity the HTTP layer
chooses): the manager answers a caller about its own jobs only, and another owner's job
is as good as absent. Today only the admin may start jobs, so that is one owner; the
isolation is here, not in the routes' scopes, so that it stays right the day another
kind of caller is let in. The running-job limit stays per process: it protects ingest,
whoever asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from alerting.aio import one_line, sleep_unless
from alerting.domain.model import Alert
from alerting.services.ingest import loadgen
from alerting.services.ingest.models import JobRequest, JobStateName, JobStatus
from alerting.services.ingest.publish import KafkaUnavailable

log = logging.getLogger(__name__)
MAX_RUNNING = 4
KEEP_FINISHED = 100
FAIL_AFTER_S = 30.0  # no acknowledged batch for this long: the job gives up
RETRY_DELAY_S = 1.0

Publish = Callable[[Sequence[Alert], str], Awaitable[None]]


class TooManyJobs(Exception):
    pass


@dataclass
class Job:
    job_id: str
    owner: str
    request: JobRequest
    spec: loadgen.LoadSpec
    batch_size: int
    started_at: float  # wall clock, for display
    started_mono: float = field(default_factory=time.monotonic)
    state: JobStateName = "running"
    sent: int = 0
    failed: int = 0
    finished_mono: float | None = None
    error: str | None = None
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def status(self) -> JobStatus:
        elapsed = (self.finished_mono or time.monotonic()) - self.started_mono
        finished = None if self.finished_mono is None else self.started_at + elapsed
        return JobStatus(
            job_id=self.job_id,
            state=self.state,
            rate=self.request.rate,
            count=self.request.count,
            duration_s=self.request.duration_s,
            batch_size=self.batch_size,
            seed=self.spec.seed,
            tag=self.spec.tag,
            sent=self.sent,
            failed=self.failed,
            started_at=datetime.fromtimestamp(self.started_at, UTC),
            finished_at=None if finished is None else datetime.fromtimestamp(finished, UTC),
            elapsed_s=round(elapsed, 3),
            actual_rate=round(self.sent / elapsed, 1) if elapsed > 0 else 0.0,
            error=self.error,
        )


def spec_of(request: JobRequest) -> loadgen.LoadSpec:
    defaults = loadgen.LoadSpec()
    return loadgen.LoadSpec(
        seed=secrets.randbelow(2**31) if request.seed is None else request.seed,
        tag=request.tag or secrets.token_hex(4),
        severities=request.severities or defaults.severities,
        sources=request.sources or defaults.sources,
        names=request.names or defaults.names,
    )


class JobManager:
    def __init__(self, publish: Publish, max_running: int = MAX_RUNNING) -> None:
        self._publish = publish
        self._max_running = max_running
        self._jobs: dict[str, Job] = {}

    def start(self, request: JobRequest, owner: str) -> Job:
        running = sum(1 for j in self._jobs.values() if j.state == "running")
        if running >= self._max_running:
            raise TooManyJobs(f"at most {self._max_running} load-generator jobs run at once")
        job = Job(
            job_id=str(uuid.uuid4()),
            owner=owner,
            request=request,
            spec=spec_of(request),
            batch_size=request.batch_size or loadgen.default_batch(request.rate),
            started_at=time.time(),
        )
        job.task = asyncio.create_task(self._run(job), name=f"loadgen-{job.job_id}")
        self._jobs[job.job_id] = job
        self._forget_old()
        return job

    def get(self, job_id: str, owner: str) -> Job | None:
        """The job if it exists and is ``owner``'s; None alike for unknown and foreign,
        so a caller cannot learn that another owner's job id exists."""
        job = self._jobs.get(job_id)
        return job if job is not None and job.owner == owner else None

    def of(self, owner: str) -> list[Job]:
        """``owner``'s jobs, newest first."""
        return [job for job in self._newest_first() if job.owner == owner]

    async def cancel(self, job_id: str, owner: str) -> Job | None:
        """Ask ``owner``'s job to stop and wait for it (at most one send in flight)."""
        job = self.get(job_id, owner)
        if job is not None and job.task is not None:
            job.cancel.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(job.task), 15)
        return job

    async def close(self) -> None:
        for job in self._jobs.values():
            job.cancel.set()
        tasks = [j.task for j in self._jobs.values() if j.task is not None]
        await asyncio.gather(*tasks, return_exceptions=True)

    def _newest_first(self) -> list[Job]:
        return sorted(self._jobs.values(), key=lambda j: j.started_mono, reverse=True)

    def _forget_old(self) -> None:
        finished = [j for j in self._newest_first() if j.state != "running"]
        for job in finished[KEEP_FINISHED:]:
            del self._jobs[job.job_id]

    async def _run(self, job: Job) -> None:
        try:
            job.state = await self._produce(job)
        except Exception as exc:  # a job failing must not take the service down
            log.exception("load-generator job %s failed", job.job_id)
            job.state, job.error = "failed", one_line(exc)
        finally:
            job.finished_mono = time.monotonic()
        log.info("load-generator job %s %s: %d sent", job.job_id, job.state, job.sent)

    async def _produce(self, job: Job) -> JobStateName:
        stream = loadgen.AlertStream(job.spec)
        rate, duration = job.request.rate, job.request.duration_s
        last_success = job.started_mono
        for n in loadgen.batch_sizes(job.request.count, job.batch_size):
            if duration is not None and time.monotonic() - job.started_mono >= duration:
                break
            alerts = stream.take(n, int(time.time()))
            try:
                await self._publish(alerts, "loadgen")
            except KafkaUnavailable as exc:
                job.failed += n
                if time.monotonic() - last_success > FAIL_AFTER_S:
                    job.error = f"no batch acknowledged for {FAIL_AFTER_S:.0f}s: {exc}"
                    return "failed"
                wait = RETRY_DELAY_S
            else:
                job.sent += n
                last_success = time.monotonic()
                elapsed = last_success - job.started_mono
                wait = loadgen.delay_before_next(job.sent + job.failed, rate, elapsed)
            if duration is not None:
                wait = min(wait, max(0.0, duration - (time.monotonic() - job.started_mono)))
            if job.cancel.is_set() or (wait > 0 and await sleep_unless(job.cancel, wait)):
                return "cancelled"
        return "completed"
