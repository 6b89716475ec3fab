"""`plutomi idempotency list|clear`: consumers' in-progress claims (see services/idempotency_claims.py)."""

from __future__ import annotations

import sys
from datetime import datetime

from plutomi.bootstrap import dependencies
from plutomi.domain.epoch import epoch_ms
from plutomi.domain.idempotency import IdempotencyRecord
from plutomi.runtime.operator import operator_command, when
from plutomi.services import idempotency_claims
from plutomi.services.dead_letters import as_json


@operator_command("idempotency list", nats=False)
def list_claims(consumer: str | None, stuck: bool, json_output: bool = False) -> int:
    deps = dependencies()
    now = deps.clock.now()
    claims = idempotency_claims.claims(deps, consumer, stuck_only=stuck)
    lapsed = sum(1 for record in claims if record.lapsed(epoch_ms(now)))
    if json_output:
        print(
            as_json(
                {
                    "claims": [_describe(r, now) for r in claims],
                    "counts": {"in_progress": len(claims), "lapsed": lapsed},
                }
            )
        )
        return 0
    what = "lapsed in-progress claims" if stuck else "in-progress claims"
    for_consumer = f" of {consumer}" if consumer else ""
    for record in claims:
        state = "LAPSED" if record.lapsed(epoch_ms(now)) else "held"
        print(f"{state:<7} {record.consumer or '?':<16} {when(record.claim_lapses_at, now):<42} {record.key}")
    print(f"{len(claims)} {what}{for_consumer} ({lapsed} lapsed: `plutomi idempotency clear --all-lapsed`)")
    return 0


@operator_command("idempotency clear", nats=False)
def clear(keys: list[str], all_lapsed: bool, consumer: str | None) -> int:
    deps = dependencies()
    if all_lapsed:
        result = idempotency_claims.clear_lapsed(deps, consumer)
    else:
        result = idempotency_claims.clear_keys(deps, keys)
    for key in result.cleared:
        print(f"cleared {key}")
    for why in result.refused.values():
        print(f"refused: {why}", file=sys.stderr)
    print(f"cleared {len(result.cleared)}, refused {len(result.refused)}")
    return 1 if result.refused else 0


def _describe(record: IdempotencyRecord, now: datetime) -> dict[str, object]:
    return {
        "key": record.key,
        "consumer": record.consumer,
        "status": record.status,
        "lapsed": record.lapsed(epoch_ms(now)),
        "in_progress_expiry": record.claim_lapses_at,
        "expiry": record.expires_at,
        "updated_at": record.updated_at,
        "org_id": record.org_id,
    }
