"""Logging in to the dashboard in Chromium: the redirect to the login page, the session
cookie, a change through a form (its CSRF token), logging out, and no Content Security
Policy violation on the way."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from dbcron.service.credentials import hash_password
from tests.support.browser import Dashboard, dashboard

PASSWORD = "browser password"


@pytest.fixture(scope="module")
def dash_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """A dashboard with one admin login."""
    web = {
        "secret_key": "b" * 40,
        "users": {"alice": {"role": "admin", "password_hash": hash_password(PASSWORD)}},
    }
    with dashboard(tmp_path_factory.mktemp("dash-auth"), web=web) as served:
        yield served


def test_log_in_change_a_job_and_log_out(dash_auth: Dashboard, page: Page) -> None:
    violations: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            violations.append(message.text)

    page.on("console", console)
    job = dash_auth.runtime.jobs.new_job("Guarded", "shell", "0 3 * * *", {"command": "true"})
    page.goto(f"{dash_auth.url}/jobs/{job.job_id}")
    # not logged in: the login page, which comes back here afterwards
    expect(page).to_have_url(f"{dash_auth.url}/login?next=%2Fjobs%2F{job.job_id}")
    page.get_by_label("User").fill("alice")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Unknown user or wrong password")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{dash_auth.url}/jobs/{job.job_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Guarded")
    # a change through the page's form (it carries the session's CSRF token)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("paused")
    assert dash_auth.runtime.queries.get_job(job.job_id).status.value == "paused"
    # logging out ends the session
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    page.goto(f"{dash_auth.url}/")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    assert violations == []
