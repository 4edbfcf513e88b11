"""A bounded schemathesis run of /openapi.json against a live rule-service (`make fuzz`
runs the same for longer): no 5xx, and every response matches the documented schema,
status codes and content types.

The service runs on its own fresh database so the thousands of generated clients and
rules do not leak into other tests' listings.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from alerting.adapters.postgres import create_pool
from alerting.config import Settings
from tests.integration.rule_service_support import RunningService, fresh_database, start_service

pytestmark = pytest.mark.integration
MAX_EXAMPLES = 40  # per operation and generation mode: ~2,000 requests in about 30 s
# ... on a quiet box. The service and the fuzzer share this process, so the run slows
# with everything else on the machine: 120 s serial and over 240 s beside three other
# xdist workers on a busy 2-core box. The deadline bounds a hung run, not the speed.
FUZZ_DEADLINE_S = 600
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
async def fuzz_service(settings: Settings) -> AsyncIterator[RunningService]:
    async with fresh_database(settings) as own:
        pool = await create_pool(own)
        running = await start_service(own, pool)
        try:
            yield running
        finally:
            await running.close()
            await pool.close()


def fuzz(base_url: str, token: str) -> tuple[list[str], Counter[int]]:
    """Run every operation in both generation modes; return the failures found and the
    status codes seen."""
    auth = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", headers=auth)
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            label = f"{operation.label} [{mode.value}]"

            @given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis.settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
                phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
            )
            def run(case: Any) -> None:
                response = case.call(base_url=base_url, headers=auth, timeout=10)
                statuses[response.status_code] += 1
                try:
                    case.validate_response(response, checks=CHECKS)
                except (Failure, FailureGroup) as exc:
                    failures.append(f"{label}: {exc}"[:2000])  # noqa: B023

            run()
    return failures, statuses


@pytest.mark.timeout(FUZZ_DEADLINE_S + 60)
async def test_schemathesis_finds_no_server_error_or_schema_violation(
    fuzz_service: RunningService,
) -> None:
    token = fuzz_service.settings.require_admin_token()
    failures, statuses = await asyncio.wait_for(
        asyncio.to_thread(fuzz, fuzz_service.base_url, token), timeout=FUZZ_DEADLINE_S
    )
    assert not failures, "\n\n".join(failures[:10])
    # The run really exercised the API: successes as well as refusals.
    assert sum(statuses.values()) > 500, statuses
    assert statuses[201] > 0 and statuses[200] > 0 and statuses[422] > 0, statuses
