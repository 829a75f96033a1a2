"""Log capture: a handler's logging (and stdio) into the execution's bounded ``logs``."""

from __future__ import annotations

import io
import logging
import threading

from dbcron.execution.work import MAX_LOG_BYTES


class BoundedLog(io.TextIOBase):
    """A text sink that keeps the first and last parts of what is written to it."""

    def __init__(self, limit: int = MAX_LOG_BYTES) -> None:
        self._head: list[str] = []
        self._head_size = 0
        self._tail: list[str] = []
        self._tail_size = 0
        self._dropped = 0
        self._limit = limit
        self._lock = threading.Lock()
        #: Bumped by every write: a reader that saw this version has seen everything.
        self.version = 0

    def write(self, text: str) -> int:
        """Append ``text``."""
        with self._lock:
            self.version += 1
            if self._head_size < self._limit * 3 // 4:
                self._head.append(text)
                self._head_size += len(text)
                return len(text)
            self._tail.append(text)
            self._tail_size += len(text)
            while self._tail_size > self._limit // 4 and len(self._tail) > 1:
                dropped = self._tail.pop(0)
                self._tail_size -= len(dropped)
                self._dropped += len(dropped)
            return len(text)

    def getvalue(self) -> str | None:
        """Everything kept, with a marker where the middle was dropped; None if empty."""
        with self._lock:
            head, tail = "".join(self._head), "".join(self._tail)
            if self._dropped:
                head += f"\n[... {self._dropped} characters of log output truncated ...]\n"
            text = head + tail
            return text or None


_FORMAT = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


class _SinkHandler(logging.Handler):
    """Writes records into one execution's :class:`BoundedLog`.

    It lives for one execution only, so it skips ``logging.Handler.__init__``, which
    takes logging's global lock twice (at-fork registration and the shutdown list): with
    many executions a second in thread mode that lock was the workers' main contention.
    """

    def __init__(self, sink: BoundedLog) -> None:
        logging.Filterer.__init__(self)
        self._name = None
        self.level = logging.NOTSET
        self.formatter = _FORMAT
        self._closed = False
        self.lock = threading.RLock()
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        """Append the formatted record."""
        try:
            self.sink.write(self.format(record) + "\n")
        except Exception:  # a broken record must not break the execution
            self.handleError(record)


class _CaptureRouter(logging.Handler):
    """The one root handler that routes records of other loggers to the capture of the
    execution that logged them: by thread in thread mode, every record in a worker
    process (where one execution runs at a time). Installed once, never per execution."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(_FORMAT)
        self.by_thread: dict[int, BoundedLog] = {}
        self.whole_process: BoundedLog | None = None

    def emit(self, record: logging.LogRecord) -> None:
        """Append the record to the sink of its thread (or of the process), if any."""
        sink = self.whole_process or self.by_thread.get(record.thread or 0)
        if sink is None:
            return
        try:
            sink.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


_router: _CaptureRouter | None = None
_router_lock = threading.Lock()


def _capture_router() -> _CaptureRouter:
    """The root logger's capture router, installed on first use."""
    global _router
    if _router is None:
        with _router_lock:
            if _router is None:
                router = _CaptureRouter()
                logging.getLogger().addHandler(router)
                _router = router
    return _router


def ensure_capture_level(level: int = logging.INFO) -> None:
    """Let INFO records of any logger reach the per-execution capture.

    Lowers the root logger to ``level`` if it is higher, while raising the existing root
    handlers to the old level, so that what they print does not change.
    """
    root = logging.getLogger()
    previous = root.getEffectiveLevel()
    if previous <= level:
        return
    for handler in root.handlers:
        if handler.level < previous and not isinstance(handler, _CaptureRouter):
            handler.setLevel(previous)
    root.setLevel(level)
