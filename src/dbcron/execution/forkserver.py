"""A fork server: one clean interpreter that forks the process-mode workers.

The process pool does not let :mod:`multiprocessing` start its workers: with ``spawn``
(and ``forkserver``) each child first re-imports the parent's ``__main__`` module, so a
plain script using the Python API (no ``if __name__ == "__main__":``) ran itself again in
every worker; and each spawned worker is a whole interpreter of its own (~33 MiB).

Instead the pool starts one interpreter with ``python -c`` (never the user's main module),
on the parent's ``sys.path`` and working directory. It imports dbcron and its handlers once
(the *preload*), freezes those objects out of the garbage collector, and then forks one
worker per request: the workers share those pages copy-on-write and start in a few
milliseconds. Before it runs the worker *target*, a worker takes the parent's
``sys.path``, working directory, ``sys.argv`` and environment at the time of the request
(what ``spawn`` gave a worker), so ``python`` jobs import what the parent could import.

Protocol, over a Unix socket pair whose server end the server inherits:

- client to server, 5 bytes each: ``F`` (carrying one file descriptor as ``SCM_RIGHTS``):
  fork a worker that talks over that descriptor; ``R`` + pid: the client is done with that
  worker, reap it once it has exited.
- server to client, 9 bytes each: ``F`` + pid, one per fork request and in order (pid 0
  when the fork failed); ``X`` + pid + exit code when a worker exits (left unreaped, so
  that its pid, and its process group id, cannot be reused while the client may still
  signal them); ``R`` + pid once it is reaped.

The server ignores SIGINT and SIGTERM (the parent decides when the pool stops) and exits
when the client's end of the socket closes, for example when the parent dies.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import gc
import importlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.spawn import get_executable
from typing import Any

_REQUEST = 5
_REPLY = struct.Struct("!cii")
#: The exit code sent for a worker whose status could not be read.
_UNKNOWN = -(2**31)

_BOOTSTRAP = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    "from dbcron.execution.forkserver import serve; "
    "serve(int(sys.argv[2]), json.loads(sys.argv[3]))"
)


@dataclass(eq=False)
class Child:
    """A worker the fork server was asked for, as the client sees it."""

    pid: int | None = None  # None until forked, and when the fork failed
    returncode: int | None = None  # negative: the signal that ended it; None if unknown
    forked: threading.Event = field(default_factory=threading.Event)
    exited: threading.Event = field(default_factory=threading.Event)
    reaped: threading.Event = field(default_factory=threading.Event)
    server: _Server | None = field(default=None, repr=False)

    def wait_pid(self, timeout: float) -> int | None:
        """The worker's pid once the server has forked it (None if it failed, the
        server is gone, or ``timeout`` passed first)."""
        self.forked.wait(timeout)
        return self.pid

    def release(self, timeout: float) -> None:
        """Let the server reap this worker once it has exited, and wait up to
        ``timeout`` for that; its pid may be reused afterwards."""
        server, self.server = self.server, None
        if server is not None:
            server.release(self)
        self.reaped.wait(timeout)

    def _gone(self) -> None:
        for event in (self.forked, self.exited, self.reaped):
            event.set()


class _Server:
    """One fork server process and the client's end of its socket."""

    def __init__(self, preload: Sequence[str], target: str) -> None:
        ours, theirs = socket.socketpair()
        spec = json.dumps({"preload": list(preload), "target": target})
        command = [get_executable(), "-c", _BOOTSTRAP, json.dumps(_sys_path())]
        command += [str(theirs.fileno()), spec]
        try:
            self.process = subprocess.Popen(
                command, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._sock = ours
        self._lock = threading.Lock()
        self._asked: collections.deque[Child] = collections.deque()  # forks not answered
        self._children: dict[int, Child] = {}
        self.alive = True
        self._reader = threading.Thread(
            target=self._read, name="dbcron-forkserver-reader", daemon=True
        )
        self._reader.start()

    def fork(self, fd: int) -> Child:
        """Ask for a worker on ``fd`` (raises OSError if the server is gone)."""
        child = Child(server=self)
        with self._lock:
            if not self.alive:
                raise OSError("the fork server has exited")
            socket.send_fds(self._sock, [b"F\0\0\0\0"], [fd])
            self._asked.append(child)
        return child

    def release(self, child: Child) -> None:
        """Let the server reap ``child`` once it has exited."""
        with self._lock:
            if child.pid is None or not self.alive:
                child.reaped.set()
                return
            with contextlib.suppress(OSError):
                self._sock.sendall(b"R" + child.pid.to_bytes(4, "big"))

    def close(self, timeout: float) -> None:
        """Close the socket (the server exits) and wait for the server."""
        with self._lock:
            self.alive = False
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
        self._reader.join(timeout)
        self._sock.close()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _read(self) -> None:
        buffer = b""
        try:
            while chunk := self._sock.recv(4096):
                buffer += chunk
                while len(buffer) >= _REPLY.size:
                    self._on_reply(*_REPLY.unpack_from(buffer))
                    buffer = buffer[_REPLY.size :]
        except OSError:
            pass
        finally:
            with self._lock:
                self.alive = False
                orphans = [*self._asked, *self._children.values()]
                self._asked.clear()
                self._children.clear()
            for child in orphans:
                child._gone()

    def _on_reply(self, kind: bytes, pid: int, code: int) -> None:
        with self._lock:
            if kind == b"F":
                child = self._asked.popleft()
                if pid:
                    child.pid = pid
                    self._children[pid] = child
                else:
                    child._gone()
                child.forked.set()
                return
            found = self._children.get(pid)
            if found is None:
                return
            if kind == b"X":
                found.returncode = None if code == _UNKNOWN else code
                found.exited.set()
            elif kind == b"R":
                del self._children[pid]
                found.exited.set()
                found.reaped.set()


class ForkServer:
    """Forks workers from a clean, preloaded interpreter; restarted if it dies.

    ``preload``: ``module`` or ``module:function`` names the server imports (and calls)
    once, before it forks anything. ``target``: the ``module:function`` each worker runs
    with its :class:`~multiprocessing.connection.Connection` to the client; its return
    ends the worker (exit code 0; ``SystemExit`` sets the code, as in a script).
    """

    def __init__(self, preload: Sequence[str], target: str) -> None:
        self._preload = tuple(preload)
        self._target = target
        self._lock = threading.Lock()
        self._server: _Server | None = None

    def start(self) -> None:
        """Start the server process (it boots while the first requests queue up)."""
        with self._lock:
            self._current()

    def fork(self) -> tuple[Connection, Child]:
        """A new worker: the client's end of its connection, and its handle (its pid is
        known once the server has forked it: :meth:`Child.wait_pid`)."""
        ours, theirs = socket.socketpair()
        try:
            with self._lock:
                try:
                    server = self._current()
                    child = server.fork(theirs.fileno())
                except OSError:  # the server died: start another
                    self._server = None
                    server = self._current()
                    child = server.fork(theirs.fileno())
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        conn = Connection(ours.detach())
        try:
            cwd: str | None = os.getcwd()
        except OSError:  # deleted: the worker stays in the server's
            cwd = None
        setup = (_sys_path(), cwd, list(getattr(sys, "argv", [])), dict(os.environ))
        with contextlib.suppress(OSError):  # a failed fork shows as a closed pipe
            conn.send(setup)
        return conn, child

    def close(self, timeout: float = 5.0) -> None:
        """Stop the server (workers still running keep running until their pipes close)."""
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.close(timeout)

    def _current(self) -> _Server:
        if self._server is None or not self._server.alive:
            if self._server is not None:
                self._server.close(1.0)
            self._server = _Server(self._preload, self._target)
        return self._server


def _sys_path() -> list[str]:
    """This process's ``sys.path`` as strings (entries may be path-like objects)."""
    return [os.fsdecode(entry) for entry in sys.path if isinstance(entry, str | os.PathLike)]


# -- the server process ------------------------------------------------------------------


def _resolve(name: str) -> Callable[..., Any]:
    module, _, attr = name.partition(":")
    found: Callable[..., Any] = getattr(importlib.import_module(module), attr)
    return found


def serve(fd: int, spec: dict[str, Any]) -> None:
    """The fork server's main loop (runs in the interpreter the client started)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for name in spec["preload"]:
        try:
            if ":" in name:
                _resolve(name)()
            else:
                importlib.import_module(name)
        except Exception:  # each worker will meet (and report) the failure itself
            traceback.print_exc()
    gc.collect()
    gc.freeze()  # keeps the collector from writing to the pages the workers share
    sock = socket.socket(fileno=fd)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    children: dict[int, bool] = {}  # pid -> released by the client
    exited: set[int] = set()

    def reply(kind: bytes, pid: int, code: int = 0) -> None:
        sock.sendall(_REPLY.pack(kind, pid, code))

    def reap(pid: int) -> None:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        del children[pid]
        exited.discard(pid)
        reply(b"R", pid)

    try:
        while True:
            readable, _, _ = select.select([fd, wake_r], [], [])
            if wake_r in readable:
                with contextlib.suppress(OSError):
                    os.read(wake_r, 4096)
            for pid in [p for p in children if p not in exited]:
                status = _exit_status(pid)
                if status is None:
                    continue
                code, gone = status
                exited.add(pid)
                reply(b"X", pid, code)
                if gone or children[pid]:
                    reap(pid)
            if fd not in readable:
                continue
            data, fds, _, _ = socket.recv_fds(sock, _REQUEST, 1)
            if not data:
                return
            while len(data) < _REQUEST:
                more = sock.recv(_REQUEST - len(data))
                if not more:
                    return
                data += more
            if data[:1] == b"F" and fds:
                pid = _fork(fds[0], spec["target"], (sock, wake_r, wake_w))
                if pid:
                    children[pid] = False
                reply(b"F", pid)
            elif data[:1] == b"R":
                pid = int.from_bytes(data[1:], "big")
                if pid not in children:
                    reply(b"R", pid)
                elif pid in exited:
                    reap(pid)
                else:
                    children[pid] = True
            for extra in fds:
                with contextlib.suppress(OSError):
                    os.close(extra)
    except (BrokenPipeError, ConnectionResetError):
        return


def _exit_status(pid: int) -> tuple[int, bool] | None:
    """(exit code, already reaped) of the child ``pid`` if it has exited, else None.

    Left unreaped where ``waitid(WNOWAIT)`` exists, so that the client can still signal
    the worker's process group without hitting a reused id.
    """
    try:
        if hasattr(os, "waitid"):
            found = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            if found is None or found.si_pid == 0:
                return None
            if found.si_code == os.CLD_EXITED:
                return found.si_status, False
            return -found.si_status, False
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return _UNKNOWN, True
    if done == 0:
        return None
    return os.waitstatus_to_exitcode(status), True


def _fork(fd: int, target: str, close: tuple[socket.socket, int, int]) -> int:
    """Fork a worker on ``fd``; its pid, or 0 when the fork failed."""
    try:
        pid = os.fork()
    except OSError:
        traceback.print_exc()
        os.close(fd)
        return 0
    if pid != 0:
        os.close(fd)
        return pid
    code = 1
    try:
        sock, wake_r, wake_w = close
        signal.set_wakeup_fd(-1)
        sock.close()
        os.close(wake_r)
        os.close(wake_w)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        code = _run_worker(fd, target)
    finally:
        os._exit(code)


def _run_worker(fd: int, target: str) -> int:
    """Take the client's environment, run ``target``; the worker's exit code."""
    conn = Connection(fd)
    code = 0
    try:
        try:
            sys_path, cwd, argv, environ = conn.recv()
        except (EOFError, OSError):
            return 0  # the client closed this worker before it started
        sys.path[:] = sys_path
        sys.argv = argv
        if cwd is not None:
            os.chdir(cwd)
        os.environ.clear()
        os.environ.update(environ)
        _resolve(target)(conn)
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        try:
            atexit._run_exitfuncs()
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
    return code


def _exit_code(exc: SystemExit) -> int:
    """The exit status ``raise SystemExit(code)`` gives a script."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1
