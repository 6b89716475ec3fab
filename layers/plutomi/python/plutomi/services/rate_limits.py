"""Counting what strangers do against the limits of domain/limits.py, and refusing with a 429."""

from __future__ import annotations

from plutomi.domain.errors import RateLimited
from plutomi.domain.limits import Limit
from plutomi.services.ports import Dependencies


def _key(limit: Limit, subject: str) -> str:
    return f"{limit.name}:{subject}"


def _refusal(limit: Limit, wait_ms: int) -> RateLimited:
    return RateLimited(limit.code, limit.message, retry_after_seconds=-(-wait_ms // 1000))


def count(deps: Dependencies, limit: Limit, subject: str) -> None:
    """Counts one hit of `limit` by `subject`; a 429 with Retry-After once the window is full."""
    wait_ms = deps.store.rate_counters.hit(_key(limit, subject), limit.count, limit.window, deps.clock.now())
    if wait_ms is not None:
        raise _refusal(limit, wait_ms)


def allows(deps: Dependencies, limit: Limit, subject: str) -> bool:
    """Counts one hit and says whether it was within the limit, for limits that are quiet (no 429)."""
    try:
        count(deps, limit, subject)
    except RateLimited:
        return False
    return True


def refuse_if_exhausted(deps: Dependencies, limit: Limit, subject: str) -> None:
    """A 429 when `subject` used up `limit` in this window; counts nothing."""
    wait_ms = deps.store.rate_counters.exhausted_for(_key(limit, subject), limit.count, deps.clock.now())
    if wait_ms is not None:
        raise _refusal(limit, wait_ms)
