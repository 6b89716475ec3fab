"""One structured JSON logger for the whole process (Powertools Logger), and the per-invocation keys
every handler's lines carry.

Powertools' `inject_lambda_context` appends the Lambda context and the correlation id to keys the
whole process shares: right on Lambda (one invocation at a time), wrong in the gateway and the bridge,
where handlers run in many threads at once and one request's correlation id would land on a
consumer's lines. `invocation_log_keys` keeps them per thread (a context variable: Powertools'
`thread_safe_*` keys), set when an invocation starts and cleared when it ends.

Metrics go the same way as log lines: `publish_counts` writes CloudWatch's embedded metric format
(Powertools' `single_metric`) on standard output, which CloudWatch Logs turns into metrics on AWS.

The libraries under the runtime log on their own: nats-py a traceback per connection problem, asyncio
one per task whose exception nobody retrieved. `library_lines_as_json` makes each of those one
warning line in the runtime logger's format, on standard error.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.lambda_context import build_lambda_context_model
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities import jmespath_utils

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "plutomi")
logger = Logger(service=os.environ["POWERTOOLS_SERVICE_NAME"])
# The gateway's and the bridge's own lines (access, delivery) come from their event loops, never from a
# handler's thread, so they carry no invocation's keys; their own service name tells them apart.
runtime_logger = Logger(service=f"{os.environ['POWERTOOLS_SERVICE_NAME']}-runtime")

Handler = TypeVar("Handler", bound=Callable[[Any, Any], Any])

LIBRARY_LOGGERS = ("nats", "asyncio")


class OneLineWarnings(logging.StreamHandler):  # type: ignore[type-arg]
    """A library's records as the runtime logger's JSON lines, on standard error (standard output
    carries `plutomi invoke`'s and `plutomi job`'s results): a traceback becomes the exception's
    repr in `error`, the library's logger name goes in `logger`, and nothing is louder than a
    warning: a NATS restart is no error of ours, and the line says what happened."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(runtime_logger.registered_formatter)

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        line = logging.makeLogRecord(
            {**record.__dict__, "exc_info": None, "exc_text": None, "stack_info": None, "logger": record.name}
        )
        if error is not None:
            line.error = repr(error)
        if line.levelno > logging.WARNING:
            line.levelno, line.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        super().emit(line)


def library_lines_as_json(names: tuple[str, ...] = LIBRARY_LOGGERS) -> None:
    """Routes the named libraries' loggers (and their children) through `OneLineWarnings`, once."""
    for name in names:
        library = logging.getLogger(name)
        if not any(isinstance(handler, OneLineWarnings) for handler in library.handlers):
            library.addHandler(OneLineWarnings())
            library.propagate = False  # else the root's last-resort handler prints the traceback too


@contextmanager
def lines_to_devnull(which: Logger) -> Iterator[None]:
    """For benchmarks: the logger still builds every JSON line it writes; only its stream is
    /dev/null, so the cost of logging is measured without flooding the terminal."""
    handler = which.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    with open(os.devnull, "w") as sink:
        previous = handler.setStream(sink)
        try:
            yield
        finally:
            handler.setStream(previous)


_cold_start = True
_cold_start_lock = threading.Lock()


def _take_cold_start() -> bool:
    """True for the first invocation in this process, as Lambda's cold start."""
    global _cold_start
    with _cold_start_lock:
        cold, _cold_start = _cold_start, False
    return cold


def invocation_log_keys(correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
    """Decorates a Lambda handler: while it runs, `logger`'s lines in its thread carry the Lambda
    context (`function_name`, `function_request_id`, ...), `cold_start` and, with
    `correlation_id_path` (a JMESPath into the event), `correlation_id`; nobody else's lines do."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def with_keys(event: Any, context: Any) -> Any:
            keys: dict[str, Any] = {
                "cold_start": _take_cold_start(),
                **build_lambda_context_model(context).__dict__,
            }
            if correlation_id_path:
                keys["correlation_id"] = jmespath_utils.query(envelope=correlation_id_path, data=event)
            logger.thread_safe_clear_keys()
            logger.thread_safe_append_keys(**keys)
            try:
                return handler(event, context)
            finally:
                logger.thread_safe_clear_keys()

        return with_keys  # type: ignore[return-value]

    return decorate


def publish_counts(metric: str, dimension: str, counts: Mapping[str, int], stage: str) -> None:
    """One EMF line per entry of `counts` (a separate dimension value each), in `METRICS_NAMESPACE`
    with the dimensions `dimension`, `stage` and Powertools' `service`. Each line is its own metric
    object: Powertools' `Metrics` keeps one set per process, which concurrent handlers would share."""
    from plutomi.topology import METRICS_NAMESPACE  # the whole route table: only functions publishing load it

    for value, count in sorted(counts.items()):
        with single_metric(
            name=metric,
            unit=MetricUnit.Count,
            value=count,
            namespace=METRICS_NAMESPACE,
            default_dimensions={"stage": stage},
        ) as line:
            line.add_dimension(name=dimension, value=value)
