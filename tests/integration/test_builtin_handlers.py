"""The shell, python and custom handlers called directly: success and failure paths."""

from __future__ import annotations

import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dbcron.errors import JobTypeError
from dbcron.handlers import custom, python_call, shell
from dbcron.handlers.context import HandlerContext, HandlerFailed, HandlerTimedOut
from dbcron.handlers.registry import HandlerRegistry, handler
from dbcron.models import Execution, Job


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def ctx_for(
    job_type: str, config: dict[str, Any], timeout: float = 10
) -> tuple[HandlerContext, Capture]:
    job = Job(name="t", job_type=job_type, schedule_expression="@daily", config=config)
    logger = logging.Logger("test", logging.INFO)
    capture = Capture()
    logger.addHandler(capture)
    ctx = HandlerContext(
        job=job,
        execution=Execution(job_id=job.job_id, scheduled_for=datetime.now(UTC)),
        config=config,
        logger=logger,
        deadline=time.monotonic() + timeout,
    )
    return ctx, capture


def test_shell_success_logs_output_with_cwd_and_env(tmp_path: Path) -> None:
    ctx, capture = ctx_for(
        "shell",
        {
            "command": [
                sys.executable,
                "-c",
                "import os; print(os.getcwd(), os.environ['GREETING'])",
            ],
            "cwd": str(tmp_path),
            "env": {"GREETING": "hi"},
        },
    )
    result = shell.run(ctx)
    assert result["exit_code"] == 0
    assert f"[stdout] {tmp_path} hi" in capture.lines


def test_shell_string_through_a_shell_and_env_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBCRON_TEST_SECRET", "s3")
    ctx, capture = ctx_for(
        "shell",
        {
            "command": "echo $TOKEN >&2; exit 0",
            "shell": True,
            "env": {"TOKEN": {"env": "DBCRON_TEST_SECRET"}},
        },
    )
    shell.run(ctx)
    assert "[stderr] s3" in capture.lines


def test_shell_failure_names_the_exit_status() -> None:
    ctx, _ = ctx_for("shell", {"command": [sys.executable, "-c", "raise SystemExit(3)"]})
    with pytest.raises(HandlerFailed, match="exited with status 3"):
        shell.run(ctx)
    missing, _ = ctx_for("shell", {"command": ["/nonexistent/tool"]})
    with pytest.raises(HandlerFailed, match="cannot start command"):
        shell.run(missing)


def test_shell_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    script = f"sleep 60 & echo $! > {pidfile}; wait"
    ctx, _ = ctx_for("shell", {"command": script, "shell": True}, timeout=1)
    started = time.monotonic()
    with pytest.raises(HandlerTimedOut, match="process group was killed"):
        shell.run(ctx)
    assert time.monotonic() - started < 3
    child = int(pidfile.read_text())

    def gone() -> bool:  # no process, or a zombie nobody reaped yet: not running
        try:
            status = Path(f"/proc/{child}/status").read_text()
        except FileNotFoundError:
            return True
        return "State:\tZ" in status

    deadline = time.monotonic() + 3
    while not gone() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert gone()


def test_shell_timeout_escalates_to_sigkill_and_reports_its_session(tmp_path: Path) -> None:
    pidfile = tmp_path / "cmd.pid"
    script = f"echo $$ > {pidfile}; trap '' TERM; exec sleep 30"
    ctx, _ = ctx_for("shell", {"command": script, "shell": True}, timeout=1)
    groups: list[int] = []
    ctx.on_process_group = groups.append
    with pytest.raises(HandlerTimedOut, match="process group was killed"):
        shell.run(ctx)
    pid = int(pidfile.read_text())
    assert groups == [pid]  # its own session: the executor's backstop kills that group
    # SIGTERM is ignored, so only the SIGKILL that followed can have ended it (and the
    # handler reaped it before returning)
    assert not Path(f"/proc/{pid}").exists()


def test_python_handler_passes_kwargs_and_ctx() -> None:
    ctx, _ = ctx_for("python", {"callable": "tests.support.handlers:echo", "kwargs": {"a": 1}})
    assert python_call.run(ctx) == {"a": 1}
    with_ctx, _ = ctx_for(
        "python",
        {"callable": "tests.support.handlers:sleep_first_attempt", "kwargs": {"seconds": 0}},
    )
    assert python_call.run(with_ctx) == {"attempt": 0}


def test_python_handler_failures() -> None:
    ctx, _ = ctx_for("python", {"callable": "tests.support.handlers:fail"})
    with pytest.raises(RuntimeError, match="boom"):
        python_call.run(ctx)
    missing, _ = ctx_for("python", {"callable": "tests.support.nothing_here:run"})
    with pytest.raises(HandlerFailed, match=r"no module named 'tests\.support\.nothing_here'"):
        python_call.run(missing)


def test_custom_handlers_by_decorator_and_dotted_path() -> None:
    @handler("dbcron-test-greet")
    def greet(ctx: HandlerContext) -> str:
        return f"hello {ctx.config['who']}"

    ctx, _ = ctx_for("custom", {"handler": "dbcron-test-greet", "who": "you"})
    assert custom.run(ctx) == "hello you"
    dotted, _ = ctx_for("custom", {"handler": "tests.support.handlers:custom_greet", "who": "me"})
    assert custom.run(dotted) == {"greeting": "hello me"}


def test_custom_handler_unknown_name_fails_with_the_known_ones() -> None:
    ctx, _ = ctx_for("custom", {"handler": "no-such-handler"})
    with pytest.raises(HandlerFailed, match="no custom handler named 'no-such-handler'"):
        custom.run(ctx)


def test_custom_config_is_validated_against_the_handlers_schema() -> None:
    from pydantic import BaseModel

    class Greeting(BaseModel):
        who: str

    registry = HandlerRegistry()
    handler("schema-greet", config_model=Greeting, registry=registry)(lambda ctx: None)
    registry.validate_config("custom", {"handler": "schema-greet", "who": "x"})
    with pytest.raises(JobTypeError, match="who"):
        registry.validate_config("custom", {"handler": "schema-greet"})
