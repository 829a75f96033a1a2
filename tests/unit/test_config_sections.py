"""The application's sections of the configuration, the Python API's config dict,
``handlers.paths`` and ``scheduler.interval_hours`` (dbcron.config).

Every test passes an explicit ``environ`` and ``cwd``, so the real environment and
working directory are never read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from dbcron.config import SchedulerSettings
from dbcron.errors import JobTypeError
from dbcron.handlers.registry import HandlerRegistry, default_registry, handler
from tests.unit.test_config import config_error, load


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- sections


def test_paper_fetch_section_is_accepted_and_shown(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "scheduler:\n  max_workers: 2\npaper_fetch:\n  keywords: [AI, RAG]\n  max_papers: 200\n",
    )
    loaded = load(tmp_path)
    assert loaded.settings.scheduler.max_workers == 2
    assert loaded.section("paper_fetch") == {"keywords": ["AI", "RAG"], "max_papers": 200}
    assert [(s.name, s.owner) for s in loaded.sections] == [("paper_fetch", "paper_fetch")]
    source = f"config file {path}"
    assert ("paper_fetch.max_papers", 200, source) in loaded.effective()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "paper_fetch:\n  max_papers: 0\n",
            "paper_fetch.max_papers: input should be greater than or equal to 1, got 0",
        ),
        (
            "paper_fetch:\n  keywords: AI\n",
            "paper_fetch.keywords: input should be a valid list, got 'AI'",
        ),
        (
            "paper_fetch:\n  keywrods: [AI]\n",
            "paper_fetch.keywrods: unknown config key (did you mean 'paper_fetch.keywords'?)",
        ),
        ("paper_fetch: [AI]\n", "config.yaml: paper_fetch must be a mapping of keys, got a list"),
        (
            "arxiv:\n  max_papers: lots\n",
            "arxiv.max_papers: input should be a valid integer",
        ),
    ],
)
def test_invalid_section_names_the_field(tmp_path: Path, text: str, expected: str) -> None:
    write_config(tmp_path, text)
    assert expected in config_error(tmp_path)


def test_arxiv_section_keeps_the_applications_other_keys_out(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        "arxiv:\n  categories: [cs.CL]\n  base_url: http://example.com\n  api_key: secret\n",
    )
    loaded = load(tmp_path)
    assert loaded.section("arxiv") == {"categories": ["cs.CL"]}
    assert not any("'secret'" in repr(row) for row in loaded.effective())


def test_empty_section_is_accepted(tmp_path: Path) -> None:
    write_config(tmp_path, "paper_fetch:\n  # keywords: [AI]\n")
    assert load(tmp_path).section("paper_fetch") == {}


def test_unknown_top_level_keys_are_named_with_the_known_sections(tmp_path: Path) -> None:
    write_config(tmp_path, "nonsense:\n  a: 1\nscheduler:\n  max_workers: 2\n")
    message = config_error(tmp_path)
    assert message.startswith("config.yaml: unknown config key 'nonsense'; known sections: ")
    assert message.endswith(
        "known sections: database, scheduler, job_defaults, logging, handlers, web, "
        "paper_fetch, arxiv"
    )
    write_config(tmp_path, "nonsense: 1\npaper_fetch: {}\nsheduler: {}\n")
    message = config_error(tmp_path)
    assert "unknown config keys 'nonsense', 'sheduler'" in message


def test_a_custom_handler_owns_its_section(tmp_path: Path) -> None:
    class Search(BaseModel):
        model_config = ConfigDict(extra="forbid")
        index: str
        shards: int = 1

    @handler("dbcron-test-reindex", section="dbcron_test_search", section_model=Search)
    def reindex(ctx: Any) -> None:
        """Rebuild an index."""

    write_config(tmp_path, "dbcron_test_search:\n  index: papers\n")
    loaded = load(tmp_path)
    assert loaded.section("dbcron_test_search") == {"index": "papers"}
    assert loaded.sections[0].owner == "dbcron-test-reindex"
    write_config(tmp_path, "dbcron_test_search:\n  shards: 2\n")
    assert "dbcron_test_search.index: field required" in config_error(tmp_path)
    assert "dbcron_test_search" in default_registry.sections()


def test_a_handler_cannot_own_dbcron_or_taken_sections() -> None:
    registry = HandlerRegistry()
    with pytest.raises(JobTypeError, match="cannot own the config section 'scheduler'"):
        handler("h1", section="scheduler", registry=registry)(lambda ctx: None)
    with pytest.raises(JobTypeError, match="'paper_fetch' owns it"):
        handler("h2", section="arxiv", registry=registry)(lambda ctx: None)
    handler("h3", section="mine", registry=registry)(lambda ctx: None)
    handler("h3", section="mine", registry=registry)(lambda ctx: None)  # registered again
    with pytest.raises(JobTypeError, match="'h3' owns it"):
        handler("h4", section="mine", registry=registry)(lambda ctx: None)


# --------------------------------------------------------------------------- config dict


def test_config_dict_is_the_whole_application_config(tmp_path: Path) -> None:
    write_config(tmp_path, "scheduler:\n  max_workers: 7\n")  # not read: the dict replaces it
    loaded = load(
        tmp_path,
        document={
            "database": {"url": "sqlite:///app.db"},
            "scheduler": {"executor": "thread"},
            "paper_fetch": {"keywords": ["RAG"]},
            "arxiv": {"max_results": 5},
        },
    )
    assert loaded.settings.database.url == "sqlite:///app.db"
    assert loaded.settings.scheduler.executor == "thread"
    assert loaded.settings.scheduler.max_workers == 8
    assert loaded.sources["scheduler.executor"] == "config dict"
    assert loaded.section("paper_fetch") == {"keywords": ["RAG"]}
    assert loaded.config_path is None


def test_config_dict_takes_dotted_keys_too(tmp_path: Path) -> None:
    loaded = load(tmp_path, document={"database.url": "sqlite:///a.db", "scheduler.max_workers": 3})
    assert loaded.settings.database.url == "sqlite:///a.db"
    assert loaded.settings.scheduler.max_workers == 3


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"databse": {"url": "sqlite:///x.db"}},
            "config dict: unknown config key 'databse' (did you mean 'database'?); "
            "known sections: database, scheduler",
        ),
        (
            {"database": {"ulr": "sqlite:///x.db"}},
            "config dict: unknown config key 'database.ulr' (did you mean 'database.url'?)",
        ),
        ({"scheduler": {"max_workers": 0}}, "scheduler.max_workers: expected an integer >= 1, "),
        ({"paper_fetch": {"max_papers": -1}}, "paper_fetch.max_papers: input should be"),
        ({"nonsense": {}}, "config dict: unknown config key 'nonsense'; known sections"),
    ],
)
def test_config_dict_errors_speak_of_config_keys(
    tmp_path: Path, document: dict[str, Any], expected: str
) -> None:
    message = config_error(tmp_path, document=document)
    assert expected in message
    assert "flag" not in message


def test_config_dict_wins_over_the_environment_for_the_keys_it_sets(tmp_path: Path) -> None:
    environ = {"DATABASE_URL": "postgresql://env/db", "DBCRON_SCHEDULER__MAX_WORKERS": "3"}
    given = load(tmp_path, environ, document={"database": {"url": "sqlite:///given.db"}})
    assert given.settings.database.url == "sqlite:///given.db"
    assert given.settings.scheduler.max_workers == 3
    # the specification's users keep the connection string in the environment
    fallback = load(tmp_path, environ, document={"scheduler": {"run_on_startup": True}})
    assert fallback.settings.database.url == "postgresql://env/db"


# --------------------------------------------------------------------------- handlers.paths


def test_handler_paths_from_the_file_are_relative_to_its_directory(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    path = conf / "app.yaml"
    path.write_text("handlers:\n  paths: [jobs, /opt/tasks, ../shared]\n", encoding="utf-8")
    loaded = load(tmp_path, config_path=path)
    assert loaded.settings.handlers.paths == (
        str(conf / "jobs"),
        "/opt/tasks",
        str(tmp_path / "shared"),
    )
    path.write_text("handlers:\n  paths: jobs\n", encoding="utf-8")  # one directory
    assert load(tmp_path, config_path=path).settings.handlers.paths == (str(conf / "jobs"),)


def test_handler_paths_from_environment_and_dict_are_relative_to_cwd(tmp_path: Path) -> None:
    environ = {"DBCRON_HANDLERS__PATHS": os.pathsep.join(["jobs", "/opt/tasks"])}
    loaded = load(tmp_path, environ)
    assert loaded.settings.handlers.paths == (str(tmp_path / "jobs"), "/opt/tasks")
    assert loaded.sources["handlers.paths"] == "environment (DBCRON_HANDLERS__PATHS)"
    from_dict = load(tmp_path, document={"handlers": {"paths": ["lib"]}})
    assert from_dict.settings.handlers.paths == (str(tmp_path / "lib"),)


def test_handler_paths_errors(tmp_path: Path) -> None:
    write_config(tmp_path, "handlers:\n  paths: 5\n")
    assert "handlers.paths: expected a list of strings, got 5" in config_error(tmp_path)
    write_config(tmp_path, "handlers:\n  paths: ['']\n")
    assert "a directory name must not be empty" in config_error(tmp_path)
    write_config(tmp_path, "handlers:\n  path: [x]\n")
    assert "did you mean 'handlers.paths'?" in config_error(tmp_path)


# --------------------------------------------------------------------------- interval_hours


@pytest.mark.parametrize(
    ("hours", "schedule"),
    [(2, "@every 2h"), (1.5, "@every 1h30m"), (0.25, "@every 15m"), (48, "@every 48h")],
)
def test_interval_hours_is_the_schedule_of_a_job_created_without_one(
    hours: float, schedule: str
) -> None:
    assert SchedulerSettings(interval_hours=hours).default_schedule == schedule


def test_interval_hours_must_fit_an_every_schedule(tmp_path: Path) -> None:
    write_config(tmp_path, "scheduler:\n  interval_hours: 0.0001\n")
    assert "must be a whole number of seconds" in config_error(tmp_path)
    write_config(tmp_path, "scheduler:\n  interval_hours: 9000\n")
    assert "scheduler.interval_hours: expected a number > 0 <= 8784" in config_error(tmp_path)
