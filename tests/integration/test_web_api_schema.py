"""A property-based run of the REST API's OpenAPI schema (schemathesis) against a real
server over SQLite with a few jobs and executions: whatever the input the schema allows
(and much it does not), the API never answers with a server error, and every answer has
the content type the schema documents (errors: ``application/problem+json``).

Bounded for ``make test``: a few dozen examples per operation (about half a minute)."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import content_type_conformance, not_a_server_error

from tests.support.web import api_over

#: Examples per operation: enough to reach every branch of input checking, bounded time.
EXAMPLES = 30


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.BaseSchema]:
    """The schema of a served API over a seeded SQLite database."""
    path: Path = tmp_path_factory.mktemp("schema") / "dbcron.db"
    url = f"sqlite:///{path}"
    from dbcron.store import open_store

    store = open_store(url, create=True, check_schema=False)
    store.migrate()
    store.close()
    with api_over(url, "sqlite") as served:
        jobs = served.runtime.jobs
        fetch = jobs.new_job(
            "Fetch",
            "http",
            "*/5 * * * *",
            {"url": "https://user:pw@example.com/", "headers": {"Authorization": "x"}},
            key="fetch",
        )
        jobs.new_job(
            "Nightly", "http", "30 2 * * *", {"url": "http://127.0.0.1:9/"}, timezone="Europe/Paris"
        )
        jobs.trigger_job(fetch.job_id)
        base = str(served.http.base_url)
        yield schemathesis.openapi.from_url(f"{base}/api/openapi.json")


def test_no_input_gives_a_server_error(api_schema: schemathesis.BaseSchema) -> None:
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15
    statuses: Counter[int] = Counter()
    for operation, mode in itertools.product(operations, GenerationMode):

        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def no_server_error(case: schemathesis.Case) -> None:
            response = case.call_and_validate(checks=[not_a_server_error, content_type_conformance])
            statuses[response.status_code] += 1

        try:
            no_server_error()
        except Unsatisfiable:  # a negative run of an operation without input to break
            assert mode is GenerationMode.NEGATIVE, operation.label
        except Exception as exc:  # every operation's failure is reported, not the first
            failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
    # it reached the routes: successes and refused input both
    assert statuses[200] and statuses[422] and statuses[404], statuses
