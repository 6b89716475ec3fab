"""Stuck idempotency claims, for operators: a consumer that crashed mid-event (a `kill -9`) leaves its
in-progress claim behind; once the claim has lapsed, the next delivery takes it over. An operator can
see the claims and clear lapsed ones, never a live claim (its holder may still be running the side
effect) and never a completed record (it is what keeps the effect from happening twice)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from plutomi.domain.epoch import epoch_ms
from plutomi.domain.idempotency import IdempotencyRecord
from plutomi.services.ports import Dependencies


class ClearRefused(Exception):
    """The record is not a lapsed in-progress claim (or changed since it was read)."""


@dataclass(frozen=True)
class Cleared:
    cleared: list[str]
    refused: dict[str, str]  # key -> why it was left


def claims(
    deps: Dependencies, consumer: str | None = None, stuck_only: bool = False
) -> list[IdempotencyRecord]:
    """In-progress claims, oldest first; `stuck_only`: only those that have lapsed."""
    now_ms = epoch_ms(deps.clock.now())
    found = deps.store.idempotency.in_progress(consumer)
    return [record for record in found if record.lapsed(now_ms)] if stuck_only else found


def clear(deps: Dependencies, key: str) -> IdempotencyRecord:
    """Removes one lapsed in-progress claim; raises ClearRefused for anything else."""
    record = deps.store.idempotency.get(key)
    if record is None:
        raise ClearRefused(f"no idempotency record {key}")
    if not record.in_progress:
        raise ClearRefused(
            f"{key} is {record.status}, not a stuck claim: it keeps the effect from happening twice"
        )
    if not record.lapsed(epoch_ms(deps.clock.now())):
        raise ClearRefused(
            f"{key} is a live claim (until {_when(record)}): its holder may still be working on it"
        )
    if not deps.store.idempotency.delete_if_unchanged(record):
        raise ClearRefused(f"{key} changed while it was being cleared (taken over): left as it is")
    return record


def clear_keys(deps: Dependencies, keys: list[str]) -> Cleared:
    cleared: list[str] = []
    refused: dict[str, str] = {}
    for key in keys:
        try:
            clear(deps, key)
            cleared.append(key)
        except ClearRefused as why:
            refused[key] = str(why)
    return Cleared(cleared, refused)


def clear_lapsed(deps: Dependencies, consumer: str | None = None) -> Cleared:
    """Clears every lapsed in-progress claim (of one consumer, or all)."""
    return clear_keys(deps, [record.key for record in claims(deps, consumer, stuck_only=True)])


def _when(record: IdempotencyRecord) -> str:
    if record.in_progress_expiry is None:
        return "unknown"
    return f"{datetime.fromtimestamp(record.in_progress_expiry / 1000, UTC):%Y-%m-%d %H:%M:%S} UTC"
