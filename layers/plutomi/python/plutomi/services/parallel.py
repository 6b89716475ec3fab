"""Running independent, blocking pieces of one invocation side by side, so one slow piece (a webhook
receiver that does not answer) does not hold up the others."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def side_by_side(work: Callable[[Item], Result], items: Sequence[Item], at_most: int) -> list[Result]:
    """`work` on each item, at most `at_most` at once, results in the items' order; the first
    exception is raised once all are done. Each item runs in a copy of the caller's context variables
    (log keys, the record's org), as `asyncio.to_thread` would. One item runs in the caller's thread."""
    if len(items) <= 1 or at_most <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(min(at_most, len(items)), thread_name_prefix="plutomi-side-by-side") as pool:
        futures = [pool.submit(contextvars.copy_context().run, work, item) for item in items]
    return [future.result() for future in futures]
