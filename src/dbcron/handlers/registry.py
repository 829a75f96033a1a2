"""The registry of job types.

Every job type has a name, a config schema (a pydantic model) and, once it can run, a
function. The built-in types are always present; custom handlers register with the
:func:`handler` decorator, by dotted path, or through the ``dbcron.handlers`` entry
point group of an installed package.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from dbcron.config.settings import Settings
from dbcron.errors import JobTypeError
from dbcron.handlers import configs

HandlerFunc = Callable[..., Any]

#: dbcron's own sections of the configuration: no handler may own one.
RESERVED_SECTIONS: Final = frozenset(Settings.model_fields)
#: ``package.module:function``: what a ``python`` job's callable and a custom job's
#: handler given by dotted path look like.
DOTTED_PATH: Final = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


@dataclass(frozen=True)
class OwnedSection:
    """A top-level section of the configuration that a job type or handler owns."""

    name: str
    """The section's key (``paper_fetch``)."""
    owner: str
    """The job type or custom handler that owns it."""
    model: type[BaseModel] | None
    """Its schema (None: any mapping)."""


@dataclass(frozen=True)
class HandlerSpec:
    """A job type: its name, what it does, its config schema and an example config."""

    name: str
    description: str
    config_model: type[BaseModel] | None = None
    example: dict[str, Any] = field(default_factory=dict)
    func: HandlerFunc | None = None
    builtin: bool = False
    func_path: str | None = None
    """``module:function`` of the handler, imported on first use (built-in types)."""
    sections: Mapping[str, type[BaseModel] | None] = field(default_factory=dict)
    """The top-level sections of the application's config.yaml this handler owns, each
    with its schema (None: any mapping); they are accepted there and validated."""

    def resolve(self) -> HandlerFunc:
        """The handler function, importing it when it is given by path."""
        if self.func is not None:
            return self.func
        if self.func_path is None:
            raise JobTypeError(f"job type {self.name!r} has no handler function")
        return _import_cached(self.func_path)

    def json_schema(self) -> dict[str, Any]:
        """The config's JSON schema (an open object when the type declares none)."""
        if self.config_model is None:
            return {"type": "object"}
        return self.config_model.model_json_schema()


BUILTIN_TYPES: tuple[HandlerSpec, ...] = (
    HandlerSpec(
        "paper_fetch",
        "Search arXiv for papers matching keywords and store them in the papers table.",
        configs.PaperFetchConfig,
        {"keywords": ["AI", "ML", "RAG"], "max_papers": 100},
        builtin=True,
        func_path="dbcron.handlers.paper_fetch:run",
        sections={"paper_fetch": configs.PaperFetchSection, "arxiv": configs.ArxivSection},
    ),
    HandlerSpec(
        "maintenance",
        "Delete old execution records and optimise the database.",
        configs.MaintenanceConfig,
        {"retention_days": 30, "keep_last": 100},
        builtin=True,
        func_path="dbcron.handlers.maintenance:run",
    ),
    HandlerSpec(
        "shell",
        "Run a command; exit status 0 is success, its output lands in the logs.",
        configs.ShellConfig,
        {"command": ["echo", "hello"]},
        builtin=True,
        func_path="dbcron.handlers.shell:run",
    ),
    HandlerSpec(
        "http",
        "Call a URL; an accepted status code is success.",
        configs.HttpConfig,
        {"url": "https://example.com/health", "method": "GET"},
        builtin=True,
        func_path="dbcron.handlers.http:run",
    ),
    HandlerSpec(
        "python",
        "Call package.module:function with keyword arguments from the config.",
        configs.PythonConfig,
        {"callable": "mypackage.tasks:cleanup", "kwargs": {"days": 7}},
        builtin=True,
        func_path="dbcron.handlers.python_call:run",
    ),
    HandlerSpec(
        "custom",
        "Run a handler registered with @dbcron.handler, named in config.handler.",
        configs.CustomConfig,
        {"handler": "my_handler"},
        builtin=True,
        func_path="dbcron.handlers.custom:run",
    ),
)


class HandlerRegistry:
    """Job types by name; thread-safe."""

    def __init__(self, specs: tuple[HandlerSpec, ...] = BUILTIN_TYPES) -> None:
        self._specs: dict[str, HandlerSpec] = {spec.name: spec for spec in specs}
        self._custom: dict[str, HandlerSpec] = {}
        self._lock = threading.Lock()

    def types(self) -> list[HandlerSpec]:
        """Every job type, built-in first, then by name."""
        with self._lock:
            return sorted(self._specs.values(), key=lambda s: (not s.builtin, s.name))

    def custom_handlers(self) -> list[HandlerSpec]:
        """Handlers registered for the ``custom`` job type, by name."""
        with self._lock:
            return sorted(self._custom.values(), key=lambda s: s.name)

    def get(self, name: str) -> HandlerSpec:
        """The job type called ``name``; JobTypeError lists the known ones otherwise."""
        with self._lock:
            spec = self._specs.get(name)
            known = ", ".join(sorted(self._specs))
        if spec is None:
            raise JobTypeError(f"unknown job type {name!r} (known types: {known})")
        return spec

    def register_custom(self, spec: HandlerSpec) -> None:
        """Register a handler that ``custom`` jobs can name in ``config.handler``.

        Raises JobTypeError when it claims a config section that dbcron or another
        handler owns."""
        with self._lock:
            owners = self._owners(skip=spec.name)
            for section in spec.sections:
                if section in RESERVED_SECTIONS:
                    raise JobTypeError(
                        f"handler {spec.name!r} cannot own the config section {section!r}: "
                        "it is dbcron's own"
                    )
                if section in owners:
                    raise JobTypeError(
                        f"handler {spec.name!r} cannot own the config section {section!r}: "
                        f"{owners[section].owner!r} owns it"
                    )
            self._custom[spec.name] = spec

    def sections(self) -> dict[str, OwnedSection]:
        """The config sections that job types and custom handlers own, by name: the
        built-in types' first, in registration order."""
        with self._lock:
            return self._owners()

    def _owners(self, skip: str | None = None) -> dict[str, OwnedSection]:
        owned: dict[str, OwnedSection] = {}
        for spec in [*self._specs.values(), *self._custom.values()]:
            if spec.name == skip and not spec.builtin:
                continue
            for name, model in spec.sections.items():
                owned.setdefault(name, OwnedSection(name, spec.name, model))
        return owned

    def get_custom(self, name: str) -> HandlerSpec | None:
        """The custom handler called ``name``, or None when this process does not know it."""
        with self._lock:
            return self._custom.get(name)

    def validate_config(self, job_type: str, config: Any) -> dict[str, Any]:
        """Check ``config`` against the type's schema; return it unchanged when it fits.

        Raises JobTypeError naming the first offending field otherwise.
        """
        spec = self.get(job_type)
        if not isinstance(config, dict):
            raise JobTypeError(
                f"config of a {job_type} job must be a JSON object, not {type(config).__name__}"
            )
        _check(spec, config, f"{job_type} config")
        if job_type == "custom":
            custom = self.get_custom(str(config["handler"]))
            if custom is not None:
                own = {k: v for k, v in config.items() if k != "handler"}
                _check(custom, own, f"config of custom handler {custom.name!r}")
        return config

    def check_handler(self, job_type: str, config: dict[str, Any]) -> None:
        """Refuse a ``custom`` job whose handler cannot be found from here: a name that
        neither this process nor an installed ``dbcron.handlers`` entry point registers,
        or a malformed dotted path. (A ``python`` job's callable and a dotted path are
        checked for their form only: the module may exist on the scheduler hosts alone.)

        Call it after :meth:`validate_config`, when a job is created or its type or config
        changes. Raises JobTypeError naming the known handlers.
        """
        if job_type != "custom":
            return
        name = str(config["handler"])
        if ":" in name:
            if not DOTTED_PATH.match(name):
                raise JobTypeError(
                    f"custom handler {name!r} is not a dotted path like package.module:function"
                )
            return
        if self.get_custom(name) is None:
            load_plugins(None if self is default_registry else self)
        if self.get_custom(name) is None:
            known = ", ".join(spec.name for spec in self.custom_handlers()) or "none"
            raise JobTypeError(
                f"unknown custom handler {name!r} (known handlers: {known}); register it "
                "with @dbcron.handler or a dbcron.handlers entry point, or name a function "
                "as package.module:function"
            )


@functools.lru_cache(maxsize=256)
def _import_cached(path: str) -> HandlerFunc:
    """:func:`import_callable`, looked up once per path (a built-in type's handler is
    resolved for every execution; failures are not cached)."""
    return import_callable(path)


def import_callable(path: str) -> HandlerFunc:
    """Import ``package.module:function`` (or ``package.module.function``)."""
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise JobTypeError(f"{path!r} is not a dotted path like package.module:function")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise JobTypeError(f"cannot import {path!r}: {exc}") from None
    if not callable(target):
        raise JobTypeError(f"{path!r} is not callable")
    func: HandlerFunc = target
    return func


def _check(spec: HandlerSpec, config: dict[str, Any], what: str) -> None:
    if spec.config_model is None:
        return
    try:
        spec.config_model.model_validate(config)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(config)"
        raise JobTypeError(f"invalid {what}: {where}: {first['msg']}") from None


default_registry = HandlerRegistry()

#: Entry-point group through which installed packages provide custom handlers.
ENTRY_POINT_GROUP = "dbcron.handlers"
_plugins_loaded = False


def load_plugins(registry: HandlerRegistry | None = None) -> list[str]:
    """Load every ``dbcron.handlers`` entry point once; return the names loaded.

    An entry point may name a module (whose ``@dbcron.handler`` decorators register
    handlers when it is imported) or a function (registered under the entry point's
    name). Raises JobTypeError for the first one that cannot be loaded.
    """
    global _plugins_loaded
    target = registry or default_registry
    if _plugins_loaded and registry is None:
        return []
    loaded: list[str] = []
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        _load_entry(entry, target)
        loaded.append(entry.name)
    if registry is None:
        _plugins_loaded = True
    return loaded


@dataclass(frozen=True)
class PluginLoad:
    """One ``dbcron.handlers`` entry point and whether it loads."""

    name: str
    value: str
    """What it names (``package.module`` or ``package.module:function``)."""
    error: str | None
    """Why it cannot be loaded (the first line), or None when it loads."""


def probe_plugins(registry: HandlerRegistry | None = None) -> list[PluginLoad]:
    """Load every ``dbcron.handlers`` entry point on its own, registering those that load
    as :func:`load_plugins` does, and say which cannot be loaded instead of raising."""
    target = registry or default_registry
    found: list[PluginLoad] = []
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            _load_entry(entry, target)
        except JobTypeError as exc:
            found.append(PluginLoad(entry.name, entry.value, str(exc).splitlines()[0]))
        else:
            found.append(PluginLoad(entry.name, entry.value, None))
    return found


def _load_entry(entry: importlib.metadata.EntryPoint, target: HandlerRegistry) -> None:
    """Load one entry point into ``target``; JobTypeError when it cannot be loaded."""
    try:
        obj = entry.load()
    except Exception as exc:
        raise JobTypeError(
            f"cannot load handler plugin {entry.name!r} ({entry.value}): {exc}"
        ) from None
    if callable(obj) and not isinstance(obj, type) and target.get_custom(entry.name) is None:
        target.register_custom(HandlerSpec(entry.name, (obj.__doc__ or "").strip(), func=obj))


def handler(
    name: str,
    *,
    config_model: type[BaseModel] | None = None,
    description: str = "",
    section: str | None = None,
    section_model: type[BaseModel] | None = None,
    registry: HandlerRegistry | None = None,
) -> Callable[[HandlerFunc], HandlerFunc]:
    """Register a function as the custom handler ``name``.

    ``custom`` jobs run it when their config says ``{"handler": name}``; its other
    config keys are validated against ``config_model`` when given. ``section`` names a
    top-level section of the application's config.yaml that the handler owns: dbcron
    accepts it there and validates it against ``section_model`` (any mapping without
    one).
    """
    if section_model is not None and section is None:
        raise JobTypeError(f"handler {name!r}: section_model needs a section name")

    def register(func: HandlerFunc) -> HandlerFunc:
        (registry or default_registry).register_custom(
            HandlerSpec(
                name,
                description or (func.__doc__ or "").strip().split("\n")[0],
                config_model,
                func=func,
                sections={section: section_model} if section is not None else {},
            )
        )
        return func

    return register
