"""Loading and calling handler functions the way Lambda does: by name, with a context object."""

from __future__ import annotations

import importlib
import time
import uuid
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]


class LocalContext:
    """The Lambda context object for handlers run outside Lambda (gateway, bridge, invoke, jobs)."""

    def __init__(self, function_name: str, timeout_seconds: float = 30.0, memory_mb: int = 512) -> None:
        safe_name = function_name.replace(".", "-")
        self.function_name = f"plutomi-{safe_name}"
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class UnknownFunction(LookupError):
    pass


@cache
def load_handler(function: str) -> Handler:
    # Imported here so `LocalContext` costs nothing to import (the cold-start benchmark relies on it).
    from plutomi.topology import all_functions, module_of

    if function not in all_functions():
        raise UnknownFunction(f"no function {function!r}; known: {', '.join(all_functions())}")
    handler: Handler = importlib.import_module(module_of(function)).handler
    return handler


def preload(functions: Iterable[str]) -> None:
    """Imports the handlers of `functions` in the calling thread. Whatever serves handlers from
    several threads (gateway, bridge, `plutomi dev`) calls it in its main thread before it takes
    work: first imports of handler modules from several threads at once deadlock or fail half-way
    inside Powertools' packages (`_DeadlockError` on `aws_lambda_powertools.utilities`, a `KeyError`
    for one of its modules, `cannot import name`), and `load_handler`'s cache does not serialize them."""
    for function in functions:
        load_handler(function)


def invoke(function: str, event: dict[str, Any], timeout_seconds: float = 30.0) -> Any:
    return load_handler(function)(event, LocalContext(function, timeout_seconds))


def failure_of(result: Any) -> str | None:
    """Why a handler's result means it failed, as its AWS caller would judge it (API Gateway: a 5xx;
    an SQS event source: records in `batchItemFailures`); None when it succeeded."""
    if not isinstance(result, dict):
        return None
    status = result.get("statusCode")
    if isinstance(status, int | str) and str(status).isdigit() and int(status) >= 500:
        return f"the handler answered {status}"
    failures = result.get("batchItemFailures") or []
    if failures:
        ids = ", ".join(str(item.get("itemIdentifier")) for item in failures if isinstance(item, dict))
        return f"{len(failures)} record(s) failed: {ids}"
    return None
