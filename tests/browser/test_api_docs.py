"""The REST API's docs page renders in Chromium from the package's own files: no request
leaves the server (no CDN) and no Content Security Policy violation."""

from __future__ import annotations

from playwright.sync_api import ConsoleMessage, Page, Request, expect

from tests.support.browser import Dashboard


def test_api_docs_render_offline(dash: Dashboard, page: Page) -> None:
    elsewhere: list[str] = []
    violations: list[str] = []

    def request(req: Request) -> None:
        if not req.url.startswith(dash.url) and not req.url.startswith("data:"):
            elsewhere.append(req.url)

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            violations.append(message.text)

    page.on("request", request)
    page.on("console", console)
    page.goto(f"{dash.url}/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("dbcron")
    expect(page.get_by_text("/api/v1/jobs", exact=True).first).to_be_visible()
    assert elsewhere == []
    assert violations == []
