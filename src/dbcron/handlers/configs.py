"""Config schemas of the built-in job types.

A job's ``config`` is validated against its type's schema when the job is created or
updated, so a mistake is reported with the field's name before the job ever runs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EnvRef(_Strict):
    """A value read from an environment variable inside the running execution."""

    env: str = Field(min_length=1)


SecretStr = str | EnvRef


class PaperFetchConfig(_Strict):
    """``paper_fetch``: search arXiv and store the papers found."""

    keywords: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    author: str | None = None
    query: str | None = None
    max_papers: int = Field(default=100, ge=1, le=10_000)
    config_path: str | None = None
    api_url: str = "http://export.arxiv.org/api/query"
    since: str | None = None
    page_size: int = Field(default=100, ge=1, le=2000)
    request_interval_seconds: float = Field(default=3.0, ge=0)
    max_retries: int = Field(default=3, ge=0)
    download_pdfs: bool = False
    download_dir: str | None = None
    incremental: bool = True
    """Only fetch papers submitted since the job's last successful run (minus the overlap)."""
    incremental_overlap_hours: float = Field(default=96.0, ge=0)
    """arXiv lists a paper a day or more (over a weekend, three) after its submission
    time: an incremental run looks back this much before the last successful run."""
    request_timeout_seconds: float = Field(default=60.0, gt=0)


def _paper_fetch_section(name: str, extra: Literal["forbid", "ignore"]) -> type[BaseModel]:
    """A schema for a config.yaml section of paper_fetch settings: every field of
    :class:`PaperFetchConfig` but ``config_path`` (the section is what it would name)."""
    fields: dict[str, Any] = {
        key: (field.annotation, field)
        for key, field in PaperFetchConfig.model_fields.items()
        if key != "config_path"
    }
    model: type[BaseModel] = create_model(
        name, __config__=ConfigDict(extra=extra, frozen=True), **fields
    )
    return model


#: The ``paper_fetch:`` section of the application's config.yaml: paper_fetch settings
#: only (a typo is an error).
PaperFetchSection = _paper_fetch_section("PaperFetchSection", "forbid")
#: The ``arxiv:`` section: the application's own arXiv settings, which paper_fetch reads
#: when there is no ``paper_fetch:`` section; other keys there are the application's.
ArxivSection = _paper_fetch_section("ArxivSection", "ignore")


class MaintenanceConfig(_Strict):
    """``maintenance``: prune old executions and optimise the database."""

    retention_days: int = Field(default=30, ge=0)
    keep_last: int = Field(default=100, ge=0)
    batch_size: int = Field(default=500, ge=1)
    optimize: bool = True


class ShellConfig(_Strict):
    """``shell``: run a command; exit status 0 is success."""

    command: list[str] | str
    shell: bool = False
    cwd: str | None = None
    env: dict[str, SecretStr] = Field(default_factory=dict)

    @field_validator("command")
    @classmethod
    def _not_empty(cls, value: list[str] | str) -> list[str] | str:
        if not value or (isinstance(value, str) and not value.strip()):
            raise ValueError("command must not be empty")
        return value


class HttpConfig(_Strict):
    """``http``: call a URL; an accepted status code is success."""

    url: str = Field(pattern=r"^https?://")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    body: str | None = None
    expected_status: list[int] = Field(default_factory=lambda: [200, 201, 202, 204])
    request_timeout_seconds: float = Field(default=30.0, gt=0)
    max_body_bytes: int = Field(default=4096, ge=0)
    follow_redirects: bool = False

    @model_validator(mode="after")
    def _one_body(self) -> HttpConfig:
        if self.json_body is not None and self.body is not None:
            raise ValueError("give either json or body, not both")
        return self


class PythonConfig(_Strict):
    """``python``: call ``package.module:function`` with keyword arguments."""

    callable: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
    kwargs: dict[str, Any] = Field(default_factory=dict)


class CustomConfig(BaseModel):
    """``custom``: run a registered handler named in ``handler``; other keys are its own."""

    model_config = ConfigDict(extra="allow", frozen=True)

    handler: str = Field(min_length=1)
