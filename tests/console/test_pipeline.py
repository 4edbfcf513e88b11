"""The pipeline view in a real browser: services up from the metrics service, charts
that gain points while alerts flow, a waiting state before the first sample and errors
that do not stop the polling; admin only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.async_api import Page, Route, expect

from tests.console.browser import PHONE
from tests.console.console import WAIT_MS, Console

pytestmark = pytest.mark.e2e

SERIES_POINTS = """([chart, series]) => Number(document.querySelector(
  `[data-chart="${chart}"] path[data-series="${series}"]`)?.dataset.points ?? 0)"""


async def points(page: Page, chart: str, series: str) -> int:
    n: int = await page.evaluate(SERIES_POINTS, [chart, series])
    return n


async def wait_points(page: Page, chart: str, series: str, at_least: int) -> None:
    await page.wait_for_function(
        f"([chart, series, n]) => ({SERIES_POINTS})([chart, series]) >= n",
        arg=[chart, series, at_least],
        timeout=WAIT_MS,
    )


async def start_job(console: Console, **body: Any) -> str:
    p = console.pipeline
    response = await p.http.post(
        f"{p.url('ingest')}/api/v1/loadgen/jobs", headers=p.admin, json=body
    )
    assert response.status_code == 202, response.text
    job_id: str = response.json()["job_id"]
    return job_id


async def test_services_up_and_charts_grow_while_alerts_flow(console: Console) -> None:
    page = console.page
    await console.sign_in(console.admin_token)
    await console.view("Pipeline")
    await expect(page).to_have_url(f"{console.url}/pipeline")
    services = page.get_by_role("table", name="Services")
    for name in ("rule-service", "ingest", "evaluator", "aggregator", "sender"):
        row = services.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name))
        await expect(row).to_contain_text("up", timeout=WAIT_MS)
    await expect(page.get_by_test_id("sample-age")).to_contain_text("s old")

    job = await start_job(console, rate=500, count=1_000_000, seed=1)
    try:
        # Rates need two samples of the metrics service (one every few seconds).
        await wait_points(page, "throughput", "ingest", 1)
        before = await points(page, "throughput", "ingest")
        await wait_points(page, "throughput", "ingest", before + 2)
        evaluator = f"alerting-evaluator / {console.pipeline.settings.topics.alerts_new}"
        await wait_points(page, "lag", evaluator, 1)
        # The screen-reader table carries the latest values: ingest is producing.
        latest = page.get_by_role("table", name="Throughput per stage: latest values")
        cell = latest.get_by_role("row").filter(has=page.get_by_role("rowheader", name="ingest"))
        await expect(cell.get_by_role("cell")).not_to_have_text("0", timeout=WAIT_MS)
        await expect(cell.get_by_role("cell")).not_to_have_text("—")
        chart = page.locator('[data-chart="throughput"]')
        assert int(await chart.get_attribute("data-points") or 0) >= before + 2
        await expect(page.get_by_role("img", name="Notification states")).to_be_visible()
        await console.shot("pipeline")
    finally:
        p = console.pipeline
        await p.http.delete(f"{p.url('ingest')}/api/v1/loadgen/jobs/{job}", headers=p.admin)

    # A service that stops answering is shown down, with why, without a reload.
    console.pipeline.procs["aggregator"].kill()
    aggregator = services.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name="aggregator")
    )
    await expect(aggregator.get_by_role("cell").first).to_have_text("down", timeout=WAIT_MS)
    await expect(aggregator.get_by_role("cell").last).not_to_have_text("")
    evaluator_row = services.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name="evaluator")
    )
    await expect(evaluator_row.get_by_role("cell").first).to_have_text("up")
    await console.shot("pipeline-service-down")


async def test_waits_for_the_first_sample_and_keeps_polling_through_errors(
    console: Console,
) -> None:
    page = console.page
    answers = [
        (503, {"title": "Service Unavailable", "detail": "no sample taken yet"}),
        (500, {"title": "Internal Server Error", "detail": "boom"}),
    ]

    async def fake(route: Route) -> None:
        if not answers:
            await route.continue_()
            return
        status, body = answers[0]
        await route.fulfill(
            status=status,
            headers={
                "Content-Type": "application/problem+json",
                "Access-Control-Allow-Origin": "*",
            },
            body=json.dumps({**body, "status": status}),
        )

    await page.route("**/api/v1/pipeline", fake)
    await console.sign_in(console.admin_token)
    await console.open("/pipeline")
    await expect(page.get_by_role("status")).to_contain_text("Waiting for the metrics service")
    await expect(page.get_by_role("alert")).to_have_count(0)
    answers.pop(0)
    await expect(page.get_by_role("alert")).to_contain_text("500")
    await expect(page.get_by_text("Still polling")).to_be_visible()
    answers.pop(0)  # the real service again: the next poll shows the charts
    await expect(page.get_by_role("img", name="Throughput per stage")).to_be_visible()
    await expect(page.get_by_role("alert")).to_have_count(0)
    await page.reload()
    await expect(page.get_by_role("table", name="Services")).to_be_visible()
    await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await expect(page.get_by_role("img", name="Consumer lag")).to_be_in_viewport(ratio=0.1)
    await console.shot("phone-pipeline")


async def test_a_client_key_does_not_see_pipeline_or_load_generator(console: Console) -> None:
    page = console.page
    await console.pipeline.api("POST", "/api/v1/clients", json={"client_id": "acme", "name": "A"})
    key = await console.pipeline.api("POST", "/api/v1/clients/acme/api-keys", json={})
    await console.sign_in(key["token"])
    nav = page.get_by_role("navigation", name="Views")
    await expect(nav.get_by_role("link", name="Clients & keys")).to_be_visible()
    await expect(nav.get_by_role("link", name="Pipeline")).to_have_count(0)
    await expect(nav.get_by_role("link", name="Load generator")).to_have_count(0)
    for path in ("/pipeline", "/loadgen"):
        await console.open(path)
        await expect(page.locator("#view")).to_have_attribute("data-view", "clients")
    # And the API would refuse it anyway.
    p = console.pipeline
    response = await p.http.get(
        f"{p.url('metrics')}/api/v1/pipeline", headers={"Authorization": f"Bearer {key['token']}"}
    )
    assert response.status_code == 403
