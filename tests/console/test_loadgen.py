"""The load generator in a real browser: the start form (rate, count, weights, seed)
sends what the operator typed, the job page shows its progress growing, Cancel stops
it and ingest agrees; a refused request shows the API's field error."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.console.browser import PHONE
from tests.console.console import WAIT_MS, Console

pytestmark = pytest.mark.e2e

SENT = """() => Number((document.querySelector('[data-testid="job-sent"]')?.textContent ?? "")
  .split(" of ")[0].replace(/[^0-9]/g, "") || 0)"""


async def test_start_watch_and_cancel_a_job(console: Console) -> None:
    page = console.page
    await console.sign_in(console.admin_token)
    await console.view("Load generator")
    await expect(page).to_have_url(f"{console.url}/loadgen")
    await expect(page.get_by_text("No load-generator jobs yet.")).to_be_visible()

    # Neither count nor duration: the API's 422 is shown next to the form.
    await page.get_by_label("Rate (alerts/s)").fill("200")
    await page.get_by_role("button", name="Start job").click()
    await expect(page.get_by_role("alert")).to_contain_text("422")
    await expect(page.get_by_role("alert")).to_contain_text("count")

    await page.get_by_label("Count").fill("100000")
    await page.get_by_label("Seed").fill("7")
    await page.get_by_role("button", name="Add severity").click()
    await page.get_by_label("Severity #1", exact=True).select_option("HIGH")
    await page.get_by_label("Weight of severity #1").fill("3")
    await page.get_by_role("button", name="Add severity").click()
    await page.get_by_label("Severity #2", exact=True).select_option("LOW")
    await page.get_by_role("button", name="Add source").click()
    await page.get_by_label("Source #1", exact=True).fill("payments")
    await page.get_by_role("button", name="Add name").click()
    await page.get_by_label("Name #1", exact=True).fill("card_declined_spike")
    await page.get_by_label("Weight of name #1").fill("2")
    await console.shot("loadgen-form")
    async with page.expect_request(
        lambda r: r.method == "POST" and r.url.endswith("/api/v1/loadgen/jobs")
    ) as sent:
        await page.get_by_role("button", name="Start job").click()
    assert (await sent.value).post_data_json == {
        "rate": 200,
        "count": 100000,
        "seed": 7,
        "severities": {"HIGH": 3, "LOW": 1},
        "sources": {"payments": 1},
        "names": {"card_declined_spike": 2},
    }

    await expect(page).to_have_url(re.compile(r"/ui/loadgen/[0-9a-f-]{36}$"))
    job_id = page.url.rsplit("/", 1)[1]
    await expect(page.get_by_test_id("job-state")).to_have_text("running")
    await expect(page.get_by_test_id("job-sent")).to_contain_text("of 100,000")
    # Progress grows while it runs (about 200 a second), without a reload.
    await page.wait_for_function(f"n => ({SENT})() > n", arg=0, timeout=WAIT_MS)
    first = await page.evaluate(SENT)
    await page.wait_for_function(f"n => ({SENT})() >= n", arg=first + 200, timeout=WAIT_MS)
    progress = page.get_by_role("progressbar", name="Progress")
    assert 0 < float(await progress.get_attribute("value") or 0) < 100000
    await expect(page.get_by_role("table", name="Jobs")).to_contain_text(job_id[:8])
    await console.shot("loadgen")

    # A reload keeps the job page.
    await page.reload()
    await expect(page.get_by_test_id("job-state")).to_have_text("running")

    await page.get_by_role("button", name="Cancel job").click()
    await expect(page.get_by_test_id("job-state")).to_have_text("cancelled")
    await expect(page.get_by_role("button", name="Cancel job")).to_have_count(0)
    jobs = page.get_by_role("table", name="Jobs")
    await expect(jobs.get_by_role("row").filter(has_text=job_id[:8])).to_contain_text("cancelled")

    p = console.pipeline
    answer = await p.http.get(f"{p.url('ingest')}/api/v1/loadgen/jobs/{job_id}", headers=p.admin)
    job = answer.json()
    assert job["state"] == "cancelled", job
    assert 0 < job["sent"] < 100000 and job["seed"] == 7 and job["rate"] == 200
    await expect(page.get_by_test_id("job-sent")).to_contain_text(f"{job['sent']:,} of 100,000")


async def test_phone_width_job_page(console: Console) -> None:
    page = console.page
    await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    p = console.pipeline
    answer = await p.http.post(
        f"{p.url('ingest')}/api/v1/loadgen/jobs", headers=p.admin, json={"rate": 50, "count": 20}
    )
    job_id = answer.json()["job_id"]
    await console.sign_in(console.admin_token)
    await console.open(f"/loadgen/{job_id}")
    await expect(page.get_by_test_id("job-state")).to_have_text("completed")
    await expect(page.get_by_test_id("job-sent")).to_contain_text("20 of 20")
    await expect(page.get_by_role("link", name="New job")).to_be_in_viewport()
    await console.shot("phone-loadgen")
