"""The job form's config inputs generated from each job type's JSON schema, and the
config read back from a submitted form; relative times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dbcron.errors import ValidationError
from dbcron.handlers.registry import default_registry
from dbcron.web.pages.render import ago
from dbcron.web.pages.schemaform import config_from_form, fields_of


def _schema(job_type: str) -> dict[str, object]:
    return default_registry.get(job_type).json_schema()


def test_each_property_gets_an_input_of_its_kind() -> None:
    kinds = {f.name: f.kind for f in fields_of(_schema("http"), None)}
    assert {f.name: f.kind for f in fields_of(_schema("shell"), None)}["command"] == "text_or_json"
    assert kinds["url"] == "text"
    assert kinds["method"] == "select"
    assert kinds["headers"] == "json"
    maintenance = {f.name: (f.kind, f.value) for f in fields_of(_schema("maintenance"), None)}
    assert maintenance["retention_days"] == ("integer", "")  # empty: the default applies
    assert maintenance["optimize"] == ("checkbox", "on")
    paper = {f.name: f.kind for f in fields_of(_schema("paper_fetch"), None)}
    assert paper["keywords"] == "lines"


@pytest.mark.parametrize("job_type", [spec.name for spec in default_registry.types()])
def test_a_config_survives_the_form(job_type: str) -> None:
    """Every built-in type's example config, shown in the form and sent back, is the
    same config (what the registry validates)."""
    spec = default_registry.get(job_type)
    schema = spec.json_schema()
    form = {f.input_name: f.value for f in fields_of(schema, spec.example)}
    back = config_from_form(schema, form)
    model = spec.config_model
    assert model is not None
    assert model.model_validate(back) == model.model_validate(spec.example)


def test_a_checkbox_missing_from_the_config_keeps_its_default() -> None:
    """An edit form shows a key the stored config lacks as its default, so saving the
    form unchanged does not flip it (maintenance's optimize defaults to true)."""
    schema = _schema("maintenance")
    form = {f.input_name: f.value for f in fields_of(schema, {"keep_last": 5})}
    assert config_from_form(schema, form) == {"keep_last": 5, "optimize": True}


def test_a_command_is_a_string_or_a_json_list() -> None:
    schema = _schema("shell")
    assert config_from_form(schema, {"config.command": "echo hi"})["command"] == "echo hi"
    listed = config_from_form(schema, {"config.command": '["echo", "hi"]'})
    assert listed["command"] == ["echo", "hi"]


def test_empty_inputs_are_left_out_and_unchecked_boxes_are_false() -> None:
    form = {"config.retention_days": "", "config.optimize": "", "config.keep_last": " 7 "}
    assert config_from_form(_schema("maintenance"), form) == {"keep_last": 7, "optimize": False}


def test_malformed_values_name_the_input() -> None:
    with pytest.raises(ValidationError, match=r"config.keep_last must be a number"):
        config_from_form(_schema("maintenance"), {"config.keep_last": "many"})
    with pytest.raises(ValidationError, match=r"config.headers is not valid JSON"):
        config_from_form(_schema("http"), {"config.url": "http://x", "config.headers": "{"})


def test_relative_times() -> None:
    now = datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert ago(now - timedelta(minutes=3, seconds=20), now) == "3 min ago"
    assert ago(now + timedelta(hours=5), now) == "in 5 h"
    assert ago(now + timedelta(seconds=2), now) == "just now"
    assert ago(now - timedelta(days=2, hours=3), now) == "2 d ago"


def test_the_cli_and_the_dashboard_say_relative_times_alike() -> None:
    from datetime import UTC, datetime, timedelta

    from dbcron.cli.timefmt import relative

    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    for delta, cli, page in [
        (timedelta(0), "now", "just now"),
        (timedelta(seconds=3), "in 3 s", "just now"),
        (timedelta(seconds=-3), "3 s ago", "just now"),
        (timedelta(seconds=7), "in 7 s", "in 7 s"),
        (timedelta(minutes=-90), "1 h ago", "1 h ago"),
        (timedelta(days=2, hours=5), "in 2 d", "in 2 d"),
    ]:
        assert relative(now + delta, now) == cli
        assert ago(now + delta, now) == page
