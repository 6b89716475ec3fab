"""What the operator commands share (`plutomi dlq`, `trace`, `idempotency`): one line and exit code 1
when MongoDB or NATS cannot be reached (no traceback), progress on standard error during long scans,
and times said the same way."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import ParamSpec
from urllib.parse import urlsplit

from pymongo.errors import PyMongoError

from plutomi.adapters.jetstream_client import NATS_LOGGER_NAME
from plutomi.bootstrap import dependencies
from plutomi.config import get_settings
from plutomi.domain.delivery import AttemptError
from plutomi.domain.errors import Unavailable

P = ParamSpec("P")


class ServiceDown(RuntimeError):
    pass


def _address(url: str) -> str:
    """Host and port only: a URL may carry credentials, which never reach the terminal or a log."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def mongodb_down() -> ServiceDown:
    where = _address(get_settings().mongodb_url)
    return ServiceDown(
        f"MongoDB is not reachable at {where} (is `plutomi dev` running? is MONGODB_URL right?)"
    )


def nats_down() -> ServiceDown:
    where = _address(get_settings().nats_url)
    return ServiceDown(f"NATS is not reachable at {where} (is `plutomi dev` running? is NATS_URL right?)")


def _is_nats_failure(error: BaseException) -> bool:
    return isinstance(error, TimeoutError | ConnectionError | Unavailable) or type(
        error
    ).__module__.startswith("nats.")


def operator_command(name: str, *, nats: bool = True) -> Callable[[Callable[P, int]], Callable[P, int]]:
    """Checks that MongoDB (and NATS, unless `nats=False`) answer before the command starts, and turns
    either going away midway into one line on standard error and exit code 1."""

    def wrap(command: Callable[P, int]) -> Callable[P, int]:
        @functools.wraps(command)
        def run(*args: P.args, **kwargs: P.kwargs) -> int:
            # The command says itself, in one line, when NATS is gone; not nats-py's connection log too.
            logging.getLogger(NATS_LOGGER_NAME).setLevel(logging.ERROR)
            try:
                deps = dependencies()
                try:
                    deps.store.ping()
                except PyMongoError as error:
                    raise mongodb_down() from error
                if nats:
                    try:
                        deps.event_bus.check()
                    except Unavailable as error:
                        raise nats_down() from error
                return command(*args, **kwargs)
            except ServiceDown as down:
                return _fail(name, str(down))
            except PyMongoError:
                return _fail(name, str(mongodb_down()))
            except Exception as error:
                if nats and _is_nats_failure(error):
                    return _fail(name, str(nats_down()))
                raise

        return run

    return wrap


def _fail(name: str, message: str) -> int:
    sys.stdout.flush()
    print(f"plutomi {name}: {message}", file=sys.stderr)
    return 1


class ProgressLine:
    """`done/of` on one line of standard error, rewritten in place; only on a terminal, so piped
    output and `--json` stay clean."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._shown = False

    def __call__(self, done: int, of: int) -> None:
        if not sys.stderr.isatty():
            return
        sys.stderr.write(f"\r{self._label}: {done}/{of}")
        sys.stderr.flush()
        self._shown = True

    def finish(self) -> None:
        if self._shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self._shown = False


def when(moment: datetime | None, now: datetime) -> str:
    """A time as an operator reads it: `2026-05-01 13:05:00 UTC (in 4m 12s)` or `(3m ago)`."""
    if moment is None:
        return "-"
    seconds = int((moment - now).total_seconds())
    span = _span(abs(seconds))
    relative = f"in {span}" if seconds > 0 else f"{span} ago"
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC ({relative})"


def _span(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60}m"


def attempt_line(attempt: AttemptError) -> str:
    """A failed attempt: when, on which tier, which delivery, and the error."""
    at = f"{attempt.at:%Y-%m-%d %H:%M:%S}"
    return f"{at}  {attempt.tier:<8} #{attempt.attempt}  {attempt.error_type}: {attempt.message}"
