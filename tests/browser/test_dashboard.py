"""The dashboard in a real browser: create a job through the form (with its live check
and preview), run it and watch the run and its logs arrive without reloading, pause it,
filter the jobs and the history."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.support.browser import Dashboard


def _shell_job(dash: Dashboard, name: str, command: str, **options: Any) -> str:
    job = dash.runtime.jobs.new_job(
        name, "shell", "0 3 * * *", {"command": command, "shell": True}, **options
    )
    return job.job_id


def _run(dash: Dashboard, job_id: str) -> str:
    """Trigger the job and wait until its run is over; the run's id."""
    execution = dash.runtime.jobs.trigger_job(job_id)
    done = dash.runtime.queries.wait_for_execution(execution.execution_id, timeout=20)
    assert done.status.is_final, done
    return execution.execution_id


def test_create_a_job_through_the_form_with_a_live_check(dash: Dashboard, page: Page) -> None:
    page.goto(f"{dash.url}/jobs/new")
    page.get_by_label("Name", exact=True).fill("Made in the browser")
    page.get_by_label("Type").select_option("shell")
    schedule = page.get_by_label("Schedule")
    schedule.fill("*/61 * * * *")
    # the job service's own message, while typing, before anything is saved
    expect(page.locator("#check-error")).to_contain_text("step '61' is out of range")
    schedule.fill("30 1 * * *")
    page.get_by_label("Time zone").fill("Europe/London")
    page.get_by_label("Command").fill("echo made-in-the-browser")
    expect(page.locator("#check-ok")).to_contain_text("Europe/London")
    expect(page.locator("#preview li")).to_have_count(5)
    expect(page.locator("#preview li").first).to_contain_text("01:30")
    page.get_by_role("button", name="Create job").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Made in the browser")
    expect(page.locator("#in-words")).to_contain_text("At 01:30")
    job = dash.runtime.queries.get_job("Made in the browser")
    assert (job.schedule_expression, job.timezone) == ("30 1 * * *", "Europe/London")
    assert job.config == {"command": "echo made-in-the-browser", "shell": False}


def test_changing_the_type_swaps_the_config_inputs(dash: Dashboard, page: Page) -> None:
    page.goto(f"{dash.url}/jobs/new")
    expect(page.get_by_label("Command")).to_be_visible()
    page.get_by_label("Type").select_option("http")
    expect(page.get_by_label("Url")).to_be_visible()
    expect(page.get_by_label("Method")).to_have_value("GET")
    expect(page.get_by_label("Command")).to_have_count(0)


def test_run_now_shows_the_run_and_its_logs_without_reloading(dash: Dashboard, page: Page) -> None:
    job_id = _shell_job(
        dash, "Browser run", "echo first-line; sleep 1; echo second-line from the run"
    )
    listing = page.context.new_page()
    listing.goto(f"{dash.url}/executions?job={job_id}")
    expect(listing.locator("#execution-rows")).to_contain_text("No execution")
    listing.evaluate("window.__notReloaded = true")

    page.goto(f"{dash.url}/jobs/{job_id}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Run now").click()
    expect(page).to_have_url(re.compile(r"/executions/[0-9a-f-]{36}$"))
    page.evaluate("window.__notReloaded = true")
    # the run page follows the run: its status and logs arrive as they are written
    expect(page.locator("#execution-status")).to_contain_text("success", timeout=15_000)
    expect(page.locator("#logs")).to_contain_text("second-line from the run")
    assert page.evaluate("window.__notReloaded") is True

    # the executions page (open all along) shows the new run by itself
    row = listing.locator("#execution-rows tbody tr[data-status='success']")
    expect(row).to_have_count(1, timeout=10_000)
    expect(row).to_contain_text("Browser run")
    assert listing.evaluate("window.__notReloaded") is True


def test_pause_and_resume_with_confirmation(dash: Dashboard, page: Page) -> None:
    job_id = _shell_job(dash, "Browser pause", "true")
    page.goto(f"{dash.url}/jobs/{job_id}")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    assert dash.runtime.queries.get_job(job_id).status.value == "active"

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("paused")
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    assert dash.runtime.queries.get_job(job_id).status.value == "paused"

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("active")


def test_filter_the_history_and_search_the_jobs(dash: Dashboard, page: Page) -> None:
    good = _shell_job(dash, "Filter good", "echo fine")
    bad = _shell_job(dash, "Filter bad", "echo broken >&2; exit 3")
    _run(dash, good)
    failed_run = _run(dash, bad)

    page.goto(f"{dash.url}/executions")
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#execution-rows tbody tr")
    expect(rows.filter(has_text="Filter bad")).to_have_count(1)
    expect(rows.filter(has_text="Filter good")).to_have_count(0)
    expect(page.locator("#execution-rows tbody tr[data-status='success']")).to_have_count(0)
    page.locator(f"a[href$='{failed_run}']").first.click()
    expect(page.locator("#execution-status")).to_contain_text("failed")
    expect(page.locator("#logs")).to_contain_text("broken")

    page.goto(f"{dash.url}/jobs")
    page.evaluate("window.__notReloaded = true")
    page.get_by_label("Search").fill("filter b")
    table = page.locator("#job-rows tbody")
    expect(table.locator("tr")).to_have_count(1)
    expect(table).to_contain_text("Filter bad")
    assert page.evaluate("window.__notReloaded") is True


def test_overview_draws_the_chart_and_lists_the_node(dash: Dashboard, page: Page) -> None:
    _run(dash, _shell_job(dash, "Overview run", "echo hi"))
    page.goto(f"{dash.url}/")
    expect(page.get_by_role("heading", name="Scheduler nodes")).to_be_visible()
    expect(page.locator("section", has_text="Scheduler nodes")).to_contain_text("alive")
    chart_drawn = "document.getElementById('runs-chart').dataset.drawn === '1'"
    page.wait_for_function(chart_drawn)
    page.get_by_role("link", name="7 days").click()
    page.wait_for_function(chart_drawn)
    expect(page.get_by_text("runs in 7 days")).to_be_visible()


def test_a_phone_sized_screen_keeps_the_navigation_usable(dash: Dashboard, page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{dash.url}/jobs")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    nav = page.get_by_role("navigation", name="Main")
    for label in ("Overview", "Jobs", "Executions", "Papers"):
        expect(nav.get_by_role("link", name=label)).to_be_in_viewport()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone: {width}px wide"
