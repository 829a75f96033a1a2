"""Where python jobs import from (dbcron.handlers.imports) and the custom handler check
at create (HandlerRegistry.check_handler), on real module files."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbcron.errors import JobTypeError
from dbcron.handlers.context import HandlerFailed
from dbcron.handlers.imports import ImportDirs, import_target
from dbcron.handlers.registry import HandlerRegistry, handler


@pytest.fixture
def clean_sys_path() -> Iterator[None]:
    """Restore sys.path (and forget modules imported from tmp dirs) after the test."""
    saved = list(sys.path)
    modules = set(sys.modules)
    yield
    sys.path[:] = saved
    for name in set(sys.modules) - modules:
        del sys.modules[name]


def module_in(directory: Path, body: str) -> str:
    """Write a module with a unique name into ``directory``; its name."""
    name = f"dbcron_test_mod_{uuid.uuid4().hex[:8]}"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.py").write_text(body, encoding="utf-8")
    return name


@pytest.mark.usefixtures("clean_sys_path")
def test_modules_are_found_in_the_working_directory_then_handler_paths(tmp_path: Path) -> None:
    work, extra = tmp_path / "work", tmp_path / "extra"
    in_work = module_in(work, "def f():\n    return 'work'\n")
    in_extra = module_in(extra, "def f(x=1):\n    return x\n")
    dirs = ImportDirs(str(work), (str(extra),))
    assert import_target(f"{in_work}:f", dirs)() == "work"
    assert import_target(f"{in_extra}:f", dirs)(x=3) == 3
    assert sys.path[:2] == [str(work), str(extra)]
    dirs.activate()  # idempotent
    assert sys.path.count(str(work)) == 1


@pytest.mark.usefixtures("clean_sys_path")
def test_a_missing_module_names_it_and_the_directories_searched(tmp_path: Path) -> None:
    dirs = ImportDirs(str(tmp_path), (str(tmp_path / "nowhere"),))
    with pytest.raises(HandlerFailed) as info:
        import_target("no_such_module_here.tasks:run", dirs)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(
        "cannot import callable 'no_such_module_here.tasks:run': "
        "no module named 'no_such_module_here'; "
        f"searched the working directory {tmp_path}, "
        f"then handlers.paths {tmp_path / 'nowhere'} (missing), then sys.path "
    )
    assert sys.path[-1] in message  # the rest of the path is listed too


@pytest.mark.usefixtures("clean_sys_path")
def test_other_import_failures_are_one_line(tmp_path: Path) -> None:
    dirs = ImportDirs(str(tmp_path))
    needs = module_in(tmp_path, "import dbcron_test_not_installed\n")
    with pytest.raises(HandlerFailed, match=f"module '{needs}' needs 'dbcron_test_not_installed'"):
        import_target(f"{needs}:f", dirs)
    plain = module_in(tmp_path, "VALUE = 1\ndef f():\n    pass\n")
    with pytest.raises(HandlerFailed) as info:
        import_target(f"{plain}:g", dirs)
    assert str(info.value) == (
        f"cannot import callable '{plain}:g': module '{plain}' "
        f"({tmp_path / (plain + '.py')}) has no attribute 'g'"
    )
    with pytest.raises(HandlerFailed, match="is not callable"):
        import_target(f"{plain}:VALUE", dirs)


def test_custom_handler_names_are_checked_at_create() -> None:
    registry = HandlerRegistry()
    handler("dbcron-test-known", registry=registry)(lambda ctx: None)
    registry.check_handler("custom", {"handler": "dbcron-test-known"})
    registry.check_handler("custom", {"handler": "myapp.jobs:reindex"})  # form only
    registry.check_handler("python", {"callable": "not.imported.here:run"})
    with pytest.raises(JobTypeError) as info:
        registry.check_handler("custom", {"handler": "dbcron-test-unknown"})
    assert str(info.value).startswith(
        "unknown custom handler 'dbcron-test-unknown' (known handlers: dbcron-test-known); "
    )
    assert info.value.exit_code == 2
    with pytest.raises(JobTypeError, match="is not a dotted path"):
        registry.check_handler("custom", {"handler": "a:b:c"})
