"""Log capture of one execution (executor.run_work), in thread and in process mode."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from dbcron.execution import MAX_LOG_BYTES, BoundedLog, Work, run_work
from dbcron.models import Execution, ExecutionStatus, Job


def _work() -> Work:
    job = Job(
        name="capture",
        job_type="python",
        schedule_expression="@hourly",
        config={"callable": "tests.support.handlers:log_from_threads"},
        timeout_seconds=30,
    )
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return Work(Execution(job_id=job.job_id, scheduled_for=now), job)


def test_thread_mode_captures_ctx_logger_from_any_thread_and_root_logging_of_its_own() -> None:
    report = run_work(_work())
    assert report.status is ExecutionStatus.SUCCESS
    logs = report.logs or ""
    assert "ctx logger, handler thread" in logs
    assert "ctx logger, helper thread" in logs
    assert "root logging, handler thread" in logs
    # another execution may run in that other thread: its root records are not ours
    assert "root logging, helper thread" not in logs
    assert "printed to stdout" not in logs


def test_process_mode_captures_every_thread_and_stdout() -> None:
    report = run_work(_work(), capture_stdio=True)
    logs = report.logs or ""
    for line in (
        "ctx logger, handler thread",
        "ctx logger, helper thread",
        "root logging, handler thread",
        "root logging, helper thread",
        "printed to stdout",
    ):
        assert line in logs


def test_concurrent_thread_mode_executions_keep_their_own_logs() -> None:
    results: dict[int, str | None] = {}

    def one(n: int) -> None:
        job = Job(
            name=f"j{n}",
            job_type="python",
            schedule_expression="@hourly",
            config={"callable": "logging:info", "kwargs": {"msg": f"execution number {n}"}},
        )
        work = Work(Execution(job_id=job.job_id, scheduled_for=datetime.now(UTC)), job)
        results[n] = run_work(work).logs

    threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n, logs in results.items():
        assert logs is not None and f"execution number {n}" in logs
        others = [m for m in results if m != n and f"execution number {m}\n" in logs]
        assert others == []


def test_capture_leaves_no_handler_behind() -> None:
    run_work(_work())  # installs the one capture router on first use
    after_first = list(logging.getLogger().handlers)
    for _ in range(3):
        run_work(_work())
        run_work(_work(), capture_stdio=True)
    assert logging.getLogger().handlers == after_first


def test_bounded_log_marks_truncation() -> None:
    sink = BoundedLog()
    for _ in range(MAX_LOG_BYTES // 10):
        sink.write("0123456789" * 2)
    text = sink.getvalue() or ""
    assert "characters of log output truncated" in text
    assert len(text) < MAX_LOG_BYTES + 200
