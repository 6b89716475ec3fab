"""The unit of work: a use case's changes and the events it emits are committed together."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from plutomi.domain.errors import Conflict
from plutomi.services.ports import Dependencies

P = ParamSpec("P")
R = TypeVar("R")


def transactional(
    use_case: Callable[Concatenate[Dependencies, P], R],
) -> Callable[Concatenate[Dependencies, P], R]:
    """Runs the use case in one transaction (joining an open one); a raised error rolls it all back."""

    @functools.wraps(use_case)
    def run(deps: Dependencies, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with deps.transaction():
            return use_case(deps, *args, **kwargs)

    return run


T = TypeVar("T")
ATTEMPTS = 5


def retrying(change: Callable[[], T | None]) -> T:
    """Runs a read-modify-write until it lands: `change` returns None when someone else wrote the
    document between its read and its conditional write. Gives up with a 409 after a few tries."""
    for _ in range(ATTEMPTS):
        result = change()
        if result is not None:
            return result
    raise Conflict("concurrent_change", "Someone else changed this at the same moment; reload and try again")
