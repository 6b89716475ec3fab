"""The pipeline under faults: events through the outbox to a consumer that fails 10% of attempts at
random and a fixed set always, and holds each event's in-progress idempotency claim for a while. Its
main-tier bridge is killed with SIGKILL four times and its retry-tier bridge once, each time while
that bridge holds a claim (seen in the store just before the kill), and NATS restarts once. The
store also holds claims abandoned long ago, as one that has run a while does.

After the back-offs every event had its side effect exactly once, except the always-failing ones,
which sit in the DLQ with their errors: a claim cut off by a kill lapses and the next delivery takes
it over. Then, with the fault cleared, one redrive of the whole DLQ (as `plutomi dlq redrive --all`
does it: each entry once, no second round, no waiting) empties it. Zero lost."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS
from pymongo.collection import Collection

from plutomi.adapters.mongo_base import where
from plutomi.adapters.mongo_idempotency import RECORD_TYPE
from plutomi.domain.events import Event
from plutomi.entrypoints.consumer import consumer_handler
from plutomi.runtime.dlq import run_through_consumer
from plutomi.runtime.embedded import EmbeddedServices
from plutomi.runtime.functions import LocalContext
from plutomi.services import dead_letters
from plutomi.services.dead_letters import DeadLetter
from plutomi.services.ports import Dependencies
from plutomi.topology import tiers_of
from tests.support.fault_consumer import EFFECT_TYPE, RUNS_TYPE, fault_consumer, holding_id, process
from tests.support.numbered import number_of, numbered
from tests.support.stack import RunningStack
from tests.support.tiers import declare_tiers

ROOT = Path(__file__).resolve().parents[2]
EVENTS = int(os.environ.get("PLUTOMI_FAULT_EVENTS", "2000"))
ALWAYS_FAILING = 25
RANDOM_FAILURE_RATE = 0.1  # an event failing all twelve attempts at random: never, in practice
# How long an attempt holds its claim: long enough that a kill finds claims in progress, short enough
# to keep the test quick. The retry tier's few attempts are slower, so it can be caught holding one.
EFFECT_SECONDS = {"main": 0.01, "retry": 0.1}
KILL_WAIT_SECONDS = 30.0  # for a bridge to be seen holding a claim
SETTLE_SECONDS = 120.0

Items = Collection[dict[str, Any]]


class BridgeProcess:
    def __init__(self, tier: str, env: dict[str, str], log: Path) -> None:
        self.tier, self.log = tier, log
        self.env = {**env, "FAULT_EFFECT_SECONDS": str(EFFECT_SECONDS[tier])}
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "tests.support.fault_consumer", "--tier", self.tier],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no clean shutdown, messages in flight stay unacked
        self.process.wait()

    def restart(self) -> None:
        self.process = self._start()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def now_ms() -> int:
    return int(time.time() * 1000)


def live_claims(items: Items, org_id: str) -> dict[str, int]:
    """The org's in-progress idempotency claims that have not lapsed: record id -> claim expiry."""
    found = items.find(
        where(
            type=RECORD_TYPE,
            status=STATUS_CONSTANTS["INPROGRESS"],
            org_id=org_id,
            in_progress_expiry={"$gt": now_ms()},
        ),
        {"in_progress_expiry": 1},
    )
    return {d["_id"]: int(d["in_progress_expiry"]) for d in found}


def still_claimed(items: Items, claims: dict[str, int]) -> int:
    """How many of `claims` are still the same in-progress claim (nobody completed or took them)."""
    found = items.find(where(_id={"$in": list(claims)}), {"status": 1, "in_progress_expiry": 1})
    return sum(
        1
        for d in found
        if d.get("status") == STATUS_CONSTANTS["INPROGRESS"]
        and d.get("in_progress_expiry") == claims[d["_id"]]
    )


@dataclass(frozen=True)
class Kill:
    tier: str
    at: float
    claims_before: int  # live in-progress claims of the org right before the SIGKILL
    cut_off: int  # of those, still in progress after it: left for a later delivery to take over

    def __str__(self) -> str:
        return (
            f"kill -9 {self.tier} bridge at {self.at:.1f}s ({self.claims_before} claim(s) in progress, "
            f"{self.cut_off} cut off)"
        )


def kill_while_holding(bridge: BridgeProcess, items: Items, org_id: str, started: float) -> Kill:
    """Kills the bridge with SIGKILL as soon as it is inside an attempt, holding that event's claim,
    and the store shows the org's in-progress claims; restarts it."""
    deadline = time.monotonic() + KILL_WAIT_SECONDS
    while time.monotonic() < deadline:
        holding = items.find_one(where(_id=holding_id(bridge.tier)))
        if holding is not None and int(holding["until_ms"]) > now_ms() + 2:
            claims = live_claims(items, org_id)
            if claims:
                bridge.kill()
                kill = Kill(
                    bridge.tier, time.monotonic() - started, len(claims), still_claimed(items, claims)
                )
                bridge.restart()
                return kill
        time.sleep(0.005)
    raise AssertionError(f"the {bridge.tier} bridge was not seen holding a claim within {KILL_WAIT_SECONDS}s")


async def tier_counts(nats_url: str, durables: list[tuple[str, str]]) -> dict[str, tuple[int, int]]:
    """(pending, ack pending) per durable: both 0 once nothing waits for a delivery or a back-off."""
    import nats

    connection = await nats.connect(nats_url)
    try:
        jetstream = connection.jetstream()
        counts = {}
        for stream, durable in durables:
            info = await jetstream.consumer_info(stream, durable)
            counts[durable] = (info.num_pending, info.num_ack_pending)
        return counts
    finally:
        await connection.close()


def redrive_all(
    deps: Dependencies, consumer: str, run: Callable[[DeadLetter, Event], bool]
) -> dict[int, str]:
    """`plutomi dlq redrive --all` for this consumer: every entry once. Returns the failures' errors."""
    failed = {}
    for entry in dead_letters.dead_letters(deps, consumer):
        try:
            dead_letters.redrive(deps, entry, run)
        except dead_letters.RedriveFailed as error:
            attempts = sorted(dead_letters.attempts_of(deps, entry), key=lambda a: a.at)
            why = f"{attempts[-1].error_type}: {attempts[-1].message}" if attempts else str(error)
            failed[entry.id] = why
    return failed


def effects_of(items: Items) -> list[int]:
    return [int(d["n"]) for d in items.find(where(type=EFFECT_TYPE), {"n": 1})]


ABANDONED_CLAIMS = 20


def keep_abandoned_claims(items: Items, consumer_name: str, org_id: str) -> None:
    """What a store that has run a while holds: in-progress claims that lapsed long ago and that no
    delivery will ever take over (an attempt killed mid-event whose DLQ entry an operator then
    discarded). The takeover that wrote with an `$or` filter wrote its claim onto one of these
    instead of its own record (nx-27017 applies such a write to what the `$or` alone matches), so the
    event it was for could never be handled again."""
    lapsed_ms = int((time.time() - 3600) * 1000)
    expires = int(time.time()) + 24 * 3600
    items.insert_many(
        [
            {
                "_id": f"idem_{consumer_name}-abandoned-{number}",
                "type": RECORD_TYPE,
                "status": STATUS_CONSTANTS["INPROGRESS"],
                "expiry": expires,
                "in_progress_expiry": lapsed_ms,
                "org_id": org_id,
            }
            for number in range(ABANDONED_CLAIMS)
        ]
    )


@pytest.mark.timeout(300)
def test_no_event_is_lost_under_faults(
    stack: RunningStack,
    embedded: EmbeddedServices,
    deps: Dependencies,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = time.monotonic()
    consumer = fault_consumer(f"fault-{uuid.uuid4().hex[:8]}")
    org_id = f"fault-{uuid.uuid4().hex[:8]}"
    always = set(random.sample(range(EVENTS), ALWAYS_FAILING))
    fault_env = {
        "FAULT_CONSUMER": consumer.name,
        "FAULT_ORG": org_id,
        "FAULT_RANDOM_RATE": str(RANDOM_FAILURE_RATE),
        "FAULT_ALWAYS": ",".join(map(str, sorted(always))),
    }
    tiers = tiers_of(consumer)
    asyncio.run(declare_tiers(deps.settings.nats_url, tiers))
    keep_abandoned_claims(deps.store.items, consumer.name, org_id)
    env = {**os.environ, **fault_env, "POWERTOOLS_LOG_LEVEL": os.environ.get("FAULT_LOG_LEVEL", "WARNING")}
    logs = Path(os.environ.get("FAULT_LOG_DIR", str(tmp_path)))
    main = BridgeProcess("main", env, logs / "main.log")
    retry = BridgeProcess("retry", env, logs / "retry.log")
    items = deps.store.items
    faults: list[str] = []
    kills: list[Kill] = []

    def kill_while_holding_claims(bridge: BridgeProcess) -> None:
        kill = kill_while_holding(bridge, items, org_id, started)
        kills.append(kill)
        faults.append(str(kill))

    chaos_errors: list[BaseException] = []

    def inject_faults() -> None:
        try:
            for number in range(4):
                time.sleep(random.uniform(1.0, 3.0))
                kill_while_holding_claims(main)
                if number == 1:
                    time.sleep(random.uniform(0.5, 1.5))
                    embedded.restart_nats()
                    faults.append(f"nats-server restarted at {time.monotonic() - started:.1f}s")
                if number == 2:
                    kill_while_holding_claims(retry)
        except BaseException as error:  # reported by the test's thread
            chaos_errors.append(error)

    durables = [(tier.stream, tier.durable) for tier in tiers[:2]] + [("advisories", "meta")]
    try:
        chaos = threading.Thread(target=inject_faults)
        chaos.start()
        for n in range(EVENTS):
            deps.emit("org.updated", org_id, numbered(org_id, n))
        published_at = time.monotonic() - started
        chaos.join()
        if chaos_errors:
            raise chaos_errors[0]

        # Settled: every event has its effect or a DLQ entry, the outbox is drained, and no delivery
        # or back-off is still to come on either tier (or the meta consumer that moves pointers).
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            effects = set(effects_of(items))
            entries = dead_letters.dead_letters(deps, consumer.name)
            dead = {number_of(e.event.data) for e in entries if e.event}
            counts = asyncio.run(tier_counts(deps.settings.nats_url, durables))
            quiet = all(pending == ack_pending == 0 for pending, ack_pending in counts.values())
            if len(effects | dead) >= EVENTS and not deps.store.outbox.any_pending() and quiet:
                break
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"not settled after {SETTLE_SECONDS}s: {len(effects)} effects + {len(dead)} "
                    f"dead-lettered of {EVENTS}; outbox pending {deps.store.outbox.any_pending()}; "
                    f"(pending, ack pending): {counts}; faults: {'; '.join(faults)}"
                )
            time.sleep(1.0)
    finally:
        main.stop()
        retry.stop()
    settled_at = time.monotonic() - started

    problems: list[str] = []
    entries = dead_letters.dead_letters(deps, consumer.name)
    dead_numbers = {number_of(e.event.data) for e in entries if e.event is not None}
    effect_numbers = set(effects_of(items))
    executions = sum(int(r["runs"]) for r in items.find(where(type=RUNS_TYPE), {"runs": 1}))
    if not any(kill.cut_off for kill in kills):
        problems.append("no kill cut off an in-progress claim: the test did not exercise a takeover")
    stuck = sorted(dead_numbers - always)
    if stuck:
        why = {}
        for entry in entries:
            if entry.event is not None and number_of(entry.event.data) in stuck[:5]:
                errors = dead_letters.attempts_of(deps, entry)
                why[number_of(entry.event.data)] = sorted({a.error_type for a in errors})
        problems.append(
            f"after the back-offs {len(stuck)} event(s) that do not always fail sit in the DLQ instead of "
            f"having had their effect: {stuck[:10]}; their errors: {why}"
        )
    if always - dead_numbers:
        problems.append(f"always-failing events missing from the DLQ: {sorted(always - dead_numbers)}")
    if effect_numbers & always:
        problems.append(f"always-failing events had their effect: {sorted(effect_numbers & always)}")
    lost = sorted(set(range(EVENTS)) - effect_numbers - dead_numbers)
    if lost:
        problems.append(f"lost (neither effect nor DLQ entry): {lost[:10]}")
    unexplained = [e.id for e in entries if not dead_letters.attempts_of(deps, e)]
    if unexplained:
        problems.append(f"DLQ entries without recorded errors: {unexplained}")

    # Clear the fault and redrive the whole DLQ once, as an operator would: no rounds, no waiting.
    monkeypatch.setenv("FAULT_ORG", org_id)
    monkeypatch.setenv("FAULT_RANDOM_RATE", "0")
    monkeypatch.setenv("FAULT_ALWAYS", "")
    monkeypatch.setenv("FAULT_EFFECT_SECONDS", "0")
    handler = consumer_handler(consumer.name, process)

    def target(batch: dict[str, Any]) -> dict[str, Any]:
        context: Any = LocalContext(consumer.name, timeout_seconds=consumer.ack_wait_seconds)
        return handler(batch, context)

    def run(entry: DeadLetter, event: Event) -> bool:
        return run_through_consumer(entry, event, target)  # as `plutomi dlq redrive` calls it

    redrive_started = time.monotonic()
    failed = redrive_all(deps, consumer.name, run)
    redrive_seconds = time.monotonic() - redrive_started
    if failed:
        problems.append(
            f"one redrive of the whole DLQ ({len(entries)} entries) left {len(failed)} in it; "
            f"first errors: {dict(list(failed.items())[:5])}"
        )
    final = effects_of(items)
    if sorted(final) != list(range(EVENTS)):
        missing = sorted(set(range(EVENTS)) - set(final))
        problems.append(f"after the redrive {len(missing)} event(s) lack their effect: {missing[:10]}")

    summary = (
        f"pipeline fault test: {EVENTS} events, written to the outbox in {published_at:.1f}s; faults: "
        f"{'; '.join(faults)}\n  settled at {settled_at:.1f}s: {len(effect_numbers)} effects, "
        f"{len(entries)} dead-lettered ({len(always)} always failing); handler executions that reached "
        f"the effect: {executions} ({executions - len(effect_numbers)} duplicates absorbed by the "
        f"idempotent effect)\n  one redrive of {len(entries)} entries in {redrive_seconds:.1f}s: "
        f"{len(failed)} still failing; {len(set(final))} effects; took {time.monotonic() - started:.1f}s"
    )
    assert not problems, "\n".join(problems) + "\n" + summary
    assert dead_letters.dead_letters(deps, consumer.name) == []
    print("\n" + summary)
