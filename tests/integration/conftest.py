"""Fixtures of the integration suites beyond the shared ones of tests/conftest.py."""

from tests.support.web import api

__all__ = ["api"]
