"""Settings: layers, precedence, provenance, errors and redaction (dbcron.config).

Every test passes an explicit ``environ`` and ``cwd`` so the real environment and
working directory are never read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pydantic
import pytest

from dbcron.config import (
    DEFAULT_DATABASE_URL,
    LoadedSettings,
    Settings,
    load_settings,
    redact_url,
    sqlite_path,
)
from dbcron.errors import ConfigError

SECRET = "s3cr3t-Pa55"
PG_URL = f"postgresql://app:{SECRET}@db.example.com:5432/jobs"


def load(tmp_path: Path, environ: dict[str, str] | None = None, **kwargs: Any) -> LoadedSettings:
    """load_settings in ``tmp_path`` with an explicit (default empty) environment."""
    return load_settings(environ=environ or {}, cwd=tmp_path, **kwargs)


def write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` and return it."""
    path.write_text(text, encoding="utf-8")
    return path


def config_error(tmp_path: Path, environ: dict[str, str] | None = None, **kwargs: Any) -> str:
    """The message of the ConfigError that loading raises; it must be one line."""
    with pytest.raises(ConfigError) as info:
        load(tmp_path, environ, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert info.value.exit_code == 2
    return message


# --------------------------------------------------------------------------- defaults


def test_defaults_when_nothing_is_configured(tmp_path: Path) -> None:
    loaded = load(tmp_path)
    s = loaded.settings
    assert s == Settings()
    assert s.database.url == DEFAULT_DATABASE_URL == "sqlite:///dbcron.db"
    assert s.database.pool_size == 10
    assert s.database.connect_timeout_seconds == 5
    assert s.scheduler.check_interval_seconds == 60
    assert s.scheduler.run_on_startup is False
    assert s.scheduler.interval_hours == 2
    assert s.scheduler.max_workers == 8
    assert s.scheduler.executor == "process"
    assert s.scheduler.lease_seconds == 30
    assert s.scheduler.shutdown_grace_seconds == 30
    assert s.scheduler.node_name is None
    assert s.job_defaults.timeout_seconds == 3600
    assert s.job_defaults.retry_count == 3
    assert s.job_defaults.retry_delay_seconds == 300
    assert s.job_defaults.timezone == "UTC"
    assert s.logging.level == "INFO"
    assert s.logging.file == "job_scheduler.log"
    assert loaded.config_path is None
    assert loaded.dotenv_path is None
    assert set(loaded.sources.values()) == {"default"}


def test_settings_are_frozen_and_forbid_extra_keys() -> None:
    s = Settings()
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        s.scheduler.max_workers = 3
    with pytest.raises(pydantic.ValidationError, match="Extra inputs"):
        Settings.model_validate({"scheduler": {"nope": 1}})


def test_effective_lists_every_key_in_section_order(tmp_path: Path) -> None:
    rows = load(tmp_path).effective()
    keys = [key for key, _value, _source in rows]
    assert keys[0] == "database.url"
    sections = [key.split(".")[0] for key in keys]
    assert sections == sorted(
        sections, key=["database", "scheduler", "job_defaults", "logging", "handlers", "web"].index
    )
    assert len(keys) == 23
    assert ("scheduler.check_interval_seconds", 60, "default") in rows


# --------------------------------------------------------------------------- config file


def test_config_yaml_in_cwd_is_read_with_the_spec_keys(tmp_path: Path) -> None:
    write(
        tmp_path / "config.yaml",
        "scheduler:\n"
        "  interval_hours: 2\n"
        "  run_on_startup: true\n"
        "  check_interval_seconds: 15\n"
        "job_defaults:\n"
        "  timeout_seconds: 600\n"
        "  retry_count: 1\n"
        "  retry_delay_seconds: 30\n",
    )
    loaded = load(tmp_path)
    path = (tmp_path / "config.yaml").absolute()
    assert loaded.config_path == path
    assert loaded.settings.scheduler.run_on_startup is True
    assert loaded.settings.scheduler.check_interval_seconds == 15
    assert loaded.settings.job_defaults.timeout_seconds == 600
    assert loaded.sources["scheduler.check_interval_seconds"] == f"config file {path}"
    assert loaded.sources["scheduler.max_workers"] == "default"
    assert loaded.sources["database.url"] == "default"


def test_empty_config_file_and_empty_section_mean_defaults(tmp_path: Path) -> None:
    write(tmp_path / "config.yaml", "# nothing yet\nscheduler:\n  # check_interval_seconds: 5\n")
    assert load(tmp_path).settings == Settings()


def test_explicit_config_path_relative_to_cwd(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    write(tmp_path / "etc" / "dbcron.yaml", "scheduler:\n  max_workers: 2\n")
    write(tmp_path / "config.yaml", "scheduler:\n  max_workers: 5\n")  # not read
    loaded = load(tmp_path, config_path="etc/dbcron.yaml")
    assert loaded.settings.scheduler.max_workers == 2
    assert loaded.config_path == (tmp_path / "etc" / "dbcron.yaml").absolute()


def test_dbcron_config_env_var_names_the_file(tmp_path: Path) -> None:
    other = write(tmp_path / "other.yaml", "scheduler:\n  max_workers: 4\n")
    loaded = load(tmp_path, {"DBCRON_CONFIG": str(other)})
    assert loaded.settings.scheduler.max_workers == 4
    assert loaded.config_path == other


def test_config_flag_beats_dbcron_config(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "scheduler:\n  max_workers: 1\n")
    write(tmp_path / "b.yaml", "scheduler:\n  max_workers: 2\n")
    loaded = load(tmp_path, {"DBCRON_CONFIG": "b.yaml"}, config_path="a.yaml")
    assert loaded.settings.scheduler.max_workers == 1


def test_dbcron_config_from_dotenv(tmp_path: Path) -> None:
    write(tmp_path / "c.yaml", "logging:\n  level: DEBUG\n")
    write(tmp_path / ".env", "DBCRON_CONFIG=c.yaml\n")
    loaded = load(tmp_path)
    assert loaded.settings.logging.level == "DEBUG"
    assert loaded.config_path == tmp_path / "c.yaml"


def test_missing_explicit_config_file_is_an_error(tmp_path: Path) -> None:
    message = config_error(tmp_path, config_path="nope.yaml")
    assert "nope.yaml" in message
    assert "does not exist" in message
    message = config_error(tmp_path, {"DBCRON_CONFIG": "gone.yaml"})
    assert "gone.yaml" in message
    assert "DBCRON_CONFIG" in message


def test_config_path_that_is_a_directory_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    assert "not a file" in config_error(tmp_path, config_path="conf.d")


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path / "config.yaml", "scheduler:\n  max_workers: 2\n  bad: value: here\n")
    message = config_error(tmp_path)
    assert message.startswith("config.yaml: invalid YAML at line 3")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    write(tmp_path / "config.yaml", "- scheduler\n- database\n")
    message = config_error(tmp_path)
    assert message.startswith("config.yaml: the top level must be a mapping")
    assert "got a list" in message


def test_section_must_be_a_mapping(tmp_path: Path) -> None:
    write(tmp_path / "config.yaml", "scheduler: 5\n")
    assert "scheduler must be a mapping" in config_error(tmp_path)


def test_unknown_key_in_config_file_names_key_and_known_keys(tmp_path: Path) -> None:
    write(tmp_path / "config.yaml", "scheduler:\n  check_intervall: 5\n")
    message = config_error(tmp_path)
    assert message.startswith(
        "config.yaml: unknown config key 'scheduler.check_intervall' "
        "(did you mean 'scheduler.check_interval_seconds'?); known keys of scheduler: "
    )
    assert "check_interval_seconds, run_on_startup" in message


def test_unknown_section_in_config_file(tmp_path: Path) -> None:
    write(tmp_path / "config.yaml", "schedular:\n  max_workers: 5\n")
    message = config_error(tmp_path)
    assert "unknown config key 'schedular' (did you mean 'scheduler'?)" in message
    assert "known sections: database, scheduler, job_defaults, logging, handlers" in message


@pytest.mark.parametrize(
    ("yaml_text", "key", "expected", "got"),
    [
        ("scheduler:\n  check_interval_seconds: soon\n", "scheduler.check_interval_seconds",
         "expected a number > 0", "'soon'"),
        ("scheduler:\n  check_interval_seconds: 0\n", "scheduler.check_interval_seconds",
         "expected a number > 0", "0"),
        ("scheduler:\n  max_workers: 2.5\n", "scheduler.max_workers",
         "expected an integer >= 1", "2.5"),
        ("scheduler:\n  max_workers: true\n", "scheduler.max_workers",
         "expected an integer >= 1", "True"),
        ("scheduler:\n  run_on_startup: 1\n", "scheduler.run_on_startup",
         "expected true or false", "1"),
        ("scheduler:\n  executor: fork\n", "scheduler.executor",
         "expected one of 'process', 'thread'", "'fork'"),
        ("job_defaults:\n  retry_count: -1\n", "job_defaults.retry_count",
         "expected an integer >= 0", "-1"),
        ("job_defaults:\n  timeout_seconds: 0\n", "job_defaults.timeout_seconds",
         "expected an integer > 0 or null", "0"),
        ("logging:\n  level: LOUD\n", "logging.level",
         "expected one of 'DEBUG', 'INFO', 'WARNING', 'ERROR'", "'LOUD'"),
        ("database:\n  pool_size: 0\n", "database.pool_size",
         "expected an integer >= 1", "0"),
        ("database:\n  url: [1, 2]\n", "database.url", "expected a string", "[1, 2]"),
    ],
)  # fmt: skip
def test_wrong_type_names_key_value_expectation_and_source(
    tmp_path: Path, yaml_text: str, key: str, expected: str, got: str
) -> None:
    write(tmp_path / "config.yaml", yaml_text)
    message = config_error(tmp_path)
    path = (tmp_path / "config.yaml").absolute()
    assert message == f"{key}: {expected}, got {got} (config file {path})"


def test_several_problems_are_counted_on_one_line(tmp_path: Path) -> None:
    write(tmp_path / "config.yaml", "scheduler:\n  max_workers: 0\n  lease_seconds: -1\n")
    message = config_error(tmp_path)
    assert message.startswith("scheduler.max_workers: ")
    assert message.endswith("(and 1 more problem)")


def test_unknown_time_zone(tmp_path: Path) -> None:
    write(tmp_path / "config.yaml", "job_defaults:\n  timezone: Mars/Olympus\n")
    message = config_error(tmp_path)
    assert message.startswith("job_defaults.timezone: unknown time zone 'Mars/Olympus'")


def test_case_insensitive_level_and_executor_and_null_timeout(tmp_path: Path) -> None:
    write(
        tmp_path / "config.yaml",
        "logging:\n  level: debug\nscheduler:\n  executor: Thread\n"
        "job_defaults:\n  timeout_seconds: null\n  timezone: Europe/Paris\n",
    )
    s = load(tmp_path).settings
    assert s.logging.level == "DEBUG"
    assert s.scheduler.executor == "thread"
    assert s.job_defaults.timeout_seconds is None
    assert s.job_defaults.timezone == "Europe/Paris"


# --------------------------------------------------------------------------- .env and environment


def test_dotenv_in_cwd_is_read_with_provenance(tmp_path: Path) -> None:
    write(
        tmp_path / ".env",
        f"# local settings\nDATABASE_URL={PG_URL}\nDBCRON_SCHEDULER__MAX_WORKERS=3\n",
    )
    loaded = load(tmp_path)
    env_path = (tmp_path / ".env").absolute()
    assert loaded.dotenv_path == env_path
    assert loaded.settings.database.url == PG_URL
    assert loaded.settings.scheduler.max_workers == 3
    assert loaded.sources["database.url"] == f".env {env_path} (DATABASE_URL)"
    assert loaded.sources["scheduler.max_workers"] == (
        f".env {env_path} (DBCRON_SCHEDULER__MAX_WORKERS)"
    )


def test_explicit_dotenv_path(tmp_path: Path) -> None:
    write(tmp_path / ".env", "DBCRON_SCHEDULER__MAX_WORKERS=3\n")  # not read
    other = write(tmp_path / "prod.env", "DBCRON_SCHEDULER__MAX_WORKERS=7\n")
    loaded = load(tmp_path, dotenv_path=other)
    assert loaded.settings.scheduler.max_workers == 7
    assert loaded.dotenv_path == other


def test_missing_explicit_dotenv_is_an_error(tmp_path: Path) -> None:
    message = config_error(tmp_path, dotenv_path=tmp_path / "missing.env")
    assert "missing.env" in message
    assert "does not exist" in message


def test_dotenv_expands_variables_from_the_given_environment_only(tmp_path: Path) -> None:
    write(
        tmp_path / ".env",
        "DB_HOST=db.internal\n"
        "DBCRON_DATABASE_URL=postgresql://app:${DB_PASSWORD}@${DB_HOST}/jobs\n"
        "DBCRON_LOGGING__FILE=${LOG_DIR:-/var/log}/dbcron.log\n",
    )
    loaded = load(tmp_path, {"DB_PASSWORD": SECRET})
    assert loaded.settings.database.url == f"postgresql://app:{SECRET}@db.internal/jobs"
    assert loaded.settings.logging.file == "/var/log/dbcron.log"


def test_unparsable_dotenv_line_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / ".env", "GOOD=1\nthis is 'not a binding\n")
    message = config_error(tmp_path)
    assert ".env" in message
    assert "line 2" in message


def test_generic_env_vars_are_parsed_as_yaml_scalars(tmp_path: Path) -> None:
    environ = {
        "DBCRON_SCHEDULER__CHECK_INTERVAL_SECONDS": "5",
        "DBCRON_SCHEDULER__RUN_ON_STARTUP": "true",
        "DBCRON_SCHEDULER__LEASE_SECONDS": "2.5",
        "DBCRON_JOB_DEFAULTS__TIMEOUT_SECONDS": "null",
        "DBCRON_SCHEDULER__NODE_NAME": "007",  # text keys stay text
        "DBCRON_CONFIG_UNUSED": "ignored",  # no "__": not a setting
        "UNRELATED__THING": "ignored",
    }
    loaded = load(tmp_path, environ)
    s = loaded.settings
    assert s.scheduler.check_interval_seconds == 5
    assert s.scheduler.run_on_startup is True
    assert s.scheduler.lease_seconds == 2.5
    assert s.job_defaults.timeout_seconds is None
    assert s.scheduler.node_name == "007"
    assert loaded.sources["scheduler.check_interval_seconds"] == (
        "environment (DBCRON_SCHEDULER__CHECK_INTERVAL_SECONDS)"
    )


def test_empty_env_var_counts_as_unset(tmp_path: Path) -> None:
    loaded = load(tmp_path, {"DBCRON_SCHEDULER__MAX_WORKERS": "", "DATABASE_URL": ""})
    assert loaded.settings == Settings()


def test_unknown_generic_env_var_names_the_variable(tmp_path: Path) -> None:
    message = config_error(tmp_path, {"DBCRON_SCHEDULER__CHECK_INTERVALL": "5"})
    assert message.startswith(
        "environment (DBCRON_SCHEDULER__CHECK_INTERVALL): "
        "unknown config key 'scheduler.check_intervall'"
    )
    message = config_error(tmp_path, {"DBCRON_NOPE__X": "1"})
    assert "DBCRON_NOPE__X" in message
    assert "unknown config key 'nope.x'" in message


def test_unknown_env_var_from_dotenv_names_file_and_variable(tmp_path: Path) -> None:
    write(tmp_path / ".env", "DBCRON_LOGGING__LEVL=DEBUG\n")
    message = config_error(tmp_path)
    assert f".env {tmp_path / '.env'} (DBCRON_LOGGING__LEVL)" in message
    assert "unknown config key 'logging.levl'" in message


def test_wrong_type_from_env_var_names_the_variable(tmp_path: Path) -> None:
    message = config_error(tmp_path, {"DBCRON_SCHEDULER__MAX_WORKERS": "many"})
    assert message == (
        "scheduler.max_workers: expected an integer >= 1, got 'many' "
        "(environment (DBCRON_SCHEDULER__MAX_WORKERS))"
    )


@pytest.mark.parametrize(
    ("environ", "winner"),
    [
        (
            {
                "DBCRON_DATABASE_URL": "postgresql://a/x",
                "DATABASE_URL": "postgresql://b/x",
                "SUPABASE_DB_URL": "postgresql://c/x",
            },
            "DBCRON_DATABASE_URL",
        ),
        ({"DATABASE_URL": "postgresql://b/x", "SUPABASE_DB_URL": "postgresql://c/x"},
         "DATABASE_URL"),
        ({"SUPABASE_DB_URL": "postgresql://c/x"}, "SUPABASE_DB_URL"),
        ({"DBCRON_DATABASE__URL": "postgresql://d/x", "DATABASE_URL": "postgresql://b/x"},
         "DBCRON_DATABASE__URL"),
    ],
)  # fmt: skip
def test_database_url_variables_in_order(
    tmp_path: Path, environ: dict[str, str], winner: str
) -> None:
    loaded = load(tmp_path, environ)
    assert loaded.settings.database.url == environ[winner]
    assert loaded.sources["database.url"] == f"environment ({winner})"


def test_dbcron_database_url_in_dotenv_beats_database_url_in_environment(tmp_path: Path) -> None:
    # The process environment overrides .env per variable; then the name order applies.
    write(tmp_path / ".env", "DBCRON_DATABASE_URL=postgresql://mine/jobs\n")
    loaded = load(tmp_path, {"DATABASE_URL": "postgresql://someone-elses/app"})
    assert loaded.settings.database.url == "postgresql://mine/jobs"


def test_database_url_is_stripped(tmp_path: Path) -> None:
    loaded = load(tmp_path, {"DATABASE_URL": "  postgresql://h/db \n"})
    assert loaded.settings.database.url == "postgresql://h/db"


# --------------------------------------------------------------------------- flags


def test_flags_set_keys_with_provenance_and_none_means_unset(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        flags={
            "database.url": "sqlite:///flag.db",
            "scheduler.max_workers": 2,
            "logging.level": None,
        },
    )
    assert loaded.settings.database.url == "sqlite:///flag.db"
    assert loaded.settings.scheduler.max_workers == 2
    assert loaded.settings.logging.level == "INFO"
    assert loaded.sources["database.url"] == "flag --db"
    assert loaded.sources["scheduler.max_workers"] == "flag --max-workers"
    assert loaded.sources["logging.level"] == "default"


def test_unknown_flag_key_is_an_error(tmp_path: Path) -> None:
    message = config_error(tmp_path, flags={"scheduler.workers": 2})
    assert "unknown config key 'scheduler.workers'" in message


# --------------------------------------------------------------------------- precedence


def test_precedence_default_file_dotenv_environment_flag(tmp_path: Path) -> None:
    key = "DBCRON_SCHEDULER__MAX_WORKERS"
    config = write(tmp_path / "config.yaml", "scheduler:\n  max_workers: 2\n  lease_seconds: 9\n")
    write(tmp_path / ".env", f"{key}=3\nDBCRON_JOB_DEFAULTS__RETRY_COUNT=0\n")
    env_path = (tmp_path / ".env").absolute()

    def max_workers(environ: dict[str, str], flags: dict[str, Any]) -> tuple[int, str]:
        loaded = load(tmp_path, environ, flags=flags)
        return loaded.settings.scheduler.max_workers, loaded.sources["scheduler.max_workers"]

    assert max_workers({key: "4"}, {"scheduler.max_workers": 5}) == (5, "flag --max-workers")
    assert max_workers({key: "4"}, {}) == (4, f"environment ({key})")
    assert max_workers({}, {}) == (3, f".env {env_path} ({key})")
    (tmp_path / ".env").unlink()
    assert max_workers({}, {}) == (2, f"config file {config}")
    config.unlink()
    assert max_workers({}, {}) == (8, "default")


def test_layers_combine_key_by_key(tmp_path: Path) -> None:
    write(tmp_path / "config.yaml", "scheduler:\n  max_workers: 2\n  lease_seconds: 9\n")
    loaded = load(tmp_path, {"DBCRON_SCHEDULER__MAX_WORKERS": "4"})
    assert loaded.settings.scheduler.max_workers == 4
    assert loaded.settings.scheduler.lease_seconds == 9


def test_environment_overrides_an_invalid_config_value(tmp_path: Path) -> None:
    write(tmp_path / "config.yaml", "scheduler:\n  max_workers: many\n")
    loaded = load(tmp_path, {"DBCRON_SCHEDULER__MAX_WORKERS": "4"})
    assert loaded.settings.scheduler.max_workers == 4


# --------------------------------------------------------------------------- Supabase


def test_supabase_rest_url_and_anon_key_alone_are_refused(tmp_path: Path) -> None:
    environ = {"SUPABASE_URL": "https://abc.supabase.co", "SUPABASE_ANON_KEY": "eyJhbGciOi.anon"}
    message = config_error(tmp_path, environ)
    assert "SUPABASE_DB_URL" in message
    assert "DATABASE_URL" in message
    assert "Connect" in message
    assert "anon key" in message
    assert "eyJhbGciOi" not in message
    assert "abc.supabase.co" not in message


def test_supabase_anon_key_from_dotenv_alone_is_refused(tmp_path: Path) -> None:
    write(tmp_path / ".env", "SUPABASE_ANON_KEY=eyJ.key\n")
    assert "SUPABASE_DB_URL" in config_error(tmp_path)


def test_supabase_vars_are_fine_when_a_database_url_is_set(tmp_path: Path) -> None:
    environ = {"SUPABASE_URL": "https://abc.supabase.co", "SUPABASE_ANON_KEY": "k"}
    loaded = load(tmp_path, {**environ, "SUPABASE_DB_URL": PG_URL})
    assert loaded.settings.database.url == PG_URL
    write(tmp_path / "config.yaml", "database:\n  url: sqlite:///here.db\n")
    assert load(tmp_path, environ).settings.database.url == "sqlite:///here.db"
    (tmp_path / "config.yaml").unlink()
    assert load(tmp_path, environ, flags={"database.url": "sqlite:///x.db"}).settings


# --------------------------------------------------------------------------- URLs and secrets


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///dbcron.db",
        "sqlite:///data/jobs.db",
        "sqlite:////var/lib/dbcron/dbcron.db",
        "postgresql://user:pw@localhost:5432/jobs",
        "postgres://user@localhost/jobs",
        "postgresql:///jobs",
        "POSTGRESQL://h/db",
    ],
)
def test_supported_database_urls(tmp_path: Path, url: str) -> None:
    assert load(tmp_path, {"DATABASE_URL": url}).settings.database.url == url


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        (f"mysql://root:{SECRET}@h/db", "unsupported scheme 'mysql' (supported: sqlite:///"),
        (f"postgresql+psycopg://u:{SECRET}@h/db", "unsupported scheme 'postgresql+psycopg'"),
        (f"https://u:{SECRET}@abc.supabase.co", "REST URL"),
        (f"host=h password={SECRET}", "not a database URL"),
        ("sqlite://dbcron.db", "three slashes"),
        ("sqlite:///", "no file path"),
        ("sqlite:///x.db?timeout=5", "no query parameters"),
        ("postgresql://postgres:[YOUR-PASSWORD]@db.x.supabase.co:5432/postgres", "[YOUR-PASSWORD]"),
    ],
)
def test_bad_database_urls_say_why_and_never_show_the_password(
    tmp_path: Path, url: str, fragment: str
) -> None:
    message = config_error(tmp_path, {"DBCRON_DATABASE_URL": url})
    assert message.startswith("database.url: ")
    assert fragment in message
    assert message.endswith("(environment (DBCRON_DATABASE_URL))")
    assert SECRET not in message


def test_password_never_appears_in_effective_output(tmp_path: Path) -> None:
    url = f"postgresql://app:{SECRET}@h:5432/jobs?sslmode=require&password={SECRET}"
    loaded = load(tmp_path, {"DATABASE_URL": url})
    assert loaded.settings.database.url == url  # the real value is kept for connecting
    rows = loaded.effective()
    assert SECRET not in repr(rows)
    assert rows[0] == (
        "database.url",
        "postgresql://app:***@h:5432/jobs?sslmode=require&password=***",
        "environment (DATABASE_URL)",
    )


def test_password_never_appears_in_a_wrong_type_message(tmp_path: Path) -> None:
    environ = {"DATABASE_URL": PG_URL, "DBCRON_DATABASE__POOL_SIZE": "0"}
    message = config_error(tmp_path, environ)
    assert SECRET not in message


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("postgresql://user:secret@host/db", "postgresql://user:***@host/db"),
        ("postgres://user:secret@host:6543/db?sslmode=require",
         "postgres://user:***@host:6543/db?sslmode=require"),
        ("postgresql://user:p@ss:w/rd@host/db", "postgresql://user:***@host/db"),
        ("postgresql://user@host/db", "postgresql://user@host/db"),
        ("postgresql://host:5432/db", "postgresql://host:5432/db"),
        ("postgresql://host/db?user=u&password=secret&x=1",
         "postgresql://host/db?user=u&password=***&x=1"),
        ("postgresql://host/db?PASSWORD=secret", "postgresql://host/db?PASSWORD=***"),
        ("host=h password='se cret' dbname=d", "host=h password=*** dbname=d"),
        ("sqlite:///a:b@c.db", "sqlite:///a:b@c.db"),
        ("sqlite:///dbcron.db", "sqlite:///dbcron.db"),
    ],
)  # fmt: skip
def test_redact_url(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted
    assert "secret" not in redact_url(url)


def test_sqlite_path() -> None:
    assert sqlite_path("sqlite:///dbcron.db") == Path("dbcron.db")
    assert sqlite_path("sqlite:///data/jobs.db") == Path("data/jobs.db")
    assert sqlite_path("sqlite:////var/lib/jobs.db") == Path("/var/lib/jobs.db")
    assert sqlite_path("postgresql://h/db") is None
    assert sqlite_path("postgres://h/db") is None
    with pytest.raises(ConfigError, match="three slashes"):
        sqlite_path("sqlite://dbcron.db")


def test_default_loading_reads_os_environ_and_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The defaults (no environ, no cwd) are os.environ and Path.cwd(); both are replaced
    # here so that the real environment is still never read.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(os, "environ", {"DBCRON_DATABASE_URL": "sqlite:///from-os-environ.db"})
    write(tmp_path / "config.yaml", "scheduler:\n  max_workers: 6\n")
    loaded = load_settings()
    assert loaded.settings.database.url == "sqlite:///from-os-environ.db"
    assert loaded.settings.scheduler.max_workers == 6
