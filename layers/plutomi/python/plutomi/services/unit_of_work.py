"""The unit of work: a use case's changes and the events it emits are committed together."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

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
