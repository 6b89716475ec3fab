"""The operator commands against the real services: `plutomi dlq list` shows the retry tier with when
each pointer runs next, `dlq retry-now` runs parked retries once, `plutomi trace` follows an event
through the pipeline, `plutomi idempotency list|clear` finds and clears only lapsed claims, and each
says in one line when MongoDB or NATS is not there."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from plutomi import topology
from plutomi.domain.delivery import Pointer, retry_subject
from plutomi.domain.events import Event
from plutomi.entrypoints.consumer import consumer_handler, idempotency_key
from plutomi.runtime import cli, dlq
from plutomi.runtime.aws_events import sqs_event, sqs_record
from plutomi.runtime.embedded import free_port
from plutomi.runtime.functions import LocalContext
from plutomi.services.ports import Dependencies
from plutomi.topology import EVENTS_STREAM, RETRY_STREAM, Consumer, tiers_of
from tests.support.cli import run_plutomi
from tests.support.numbered import numbered
from tests.support.stack import RunningStack
from tests.support.tiers import declare_tiers, running_tiers

RETRY_BACKOFF = 120.0  # long enough that a parked retry is still parked while the test looks at it


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def parked_consumer(prefix: str) -> Consumer:
    """Fails fast through the main tier, then waits RETRY_BACKOFF between retries."""
    return Consumer(
        f"{prefix}-{uuid.uuid4().hex[:8]}",
        "unused",
        ("org.updated",),
        backoff_seconds=(0.05, 0.05, 0.05),
        retry_backoff_seconds=(RETRY_BACKOFF, RETRY_BACKOFF, RETRY_BACKOFF),
    )


def plutomi(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The `plutomi` command in this process (so it knows the test's consumer), and its output."""
    capsys.readouterr()
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def env() -> dict[str, str]:
    return dict(os.environ)


def test_dlq_list_shows_parked_retries_and_retry_now_runs_them_once(
    stack: RunningStack,
    deps: Dependencies,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    consumer = parked_consumer("parked")
    monkeypatch.setattr(topology, "CONSUMERS", (*topology.CONSUMERS, consumer))
    org_id = f"ops-{uuid.uuid4().hex[:8]}"
    broken = True
    handled: list[str] = []

    def process(event: Event) -> dict[str, Any]:
        if event.org_id != org_id:
            return {"ignored": True}
        if broken:
            raise RuntimeError("the mail provider is down")
        handled.append(event.id)
        return {"ok": True}

    with running_tiers(deps.settings.nats_url, consumer, process) as target:
        monkeypatch.setattr(dlq, "consumer_target", lambda name: target)
        event = deps.emit("org.updated", org_id, numbered(org_id, 1))

        def retry_failures() -> list[Any]:
            found = deps.store.attempt_errors.for_event(consumer.name, event.id)
            return [a for a in found if a.tier == "retry"]

        wait_for(lambda: len(retry_failures()) == 1)
        [failure] = retry_failures()

        code, out, _ = plutomi(capsys, "dlq", "list", "--consumer", consumer.name, "--json")
        assert code == 0
        listing = json.loads(out)
        assert listing["counts"] == {"retry": 1, "retry_due_now": 0, "dlq": 0}
        [parked] = listing["retry"]
        assert parked["event_id"] == event.id and parked["consumer"] == consumer.name
        assert parked["stream"] == RETRY_STREAM and parked["retry_attempts"] == 1
        assert parked["state"] == "backing_off" and parked["due_now"] is False
        next_attempt = datetime.fromisoformat(parked["next_attempt_at"])
        assert next_attempt == failure.at + timedelta(seconds=RETRY_BACKOFF)

        code, out, _ = plutomi(capsys, "dlq", "list", "--consumer", consumer.name)
        assert code == 0
        assert f"retry tier for {consumer.name}: 1 waiting (0 due now)" in out
        assert f"org.updated {event.id}" in out and "(in 1m" in out
        assert "1 waiting in the retry tier (0 due now), 0 in the DLQ" in out

        code, out, _ = plutomi(capsys, "trace", event.id, "--json")
        assert code == 0, out
        traced = json.loads(out)
        assert traced["outbox"]["pending"] is False and traced["outbox"]["sent_at"]
        assert (
            traced["stream"]["stream"] == EVENTS_STREAM
            and traced["stream"]["subject"] == "events.org.updated"
        )
        mine = next(c for c in traced["consumers"] if c["consumer"] == consumer.name)
        assert [(a["tier"], a["attempt"]) for a in mine["attempt_errors"]] == [
            ("main", 1),
            ("main", 2),
            ("main", 3),
            ("retry", 1),
        ]
        assert mine["idempotency"] is None  # a failed attempt leaves no record behind
        [pointer] = traced["retry_pointers"]
        assert pointer["id"] == parked["id"] and pointer["waiting"] is True
        assert pointer["original"] == {"stream": EVENTS_STREAM, "seq": traced["stream"]["seq"]}
        assert traced["dlq_pointers"] == []

        broken = False  # the provider is back: run it now rather than in two minutes
        code, out, _ = plutomi(capsys, "dlq", "retry-now", "--all", "--consumer", consumer.name)
        assert code == 0, out
        assert f"[1/1] {parked['id']}: ran now through {consumer.name}" in out
        assert handled == [event.id]
        # The pointer left the retry stream, so the retry bridge never runs it again.
        assert deps.event_bus.get(RETRY_STREAM, parked["id"]) is None
        code, out, _ = plutomi(capsys, "dlq", "list", "--consumer", consumer.name, "--json")
        assert json.loads(out)["counts"] == {"retry": 0, "retry_due_now": 0, "dlq": 0}

        code, out, _ = plutomi(capsys, "trace", event.id)
        assert code == 0
        assert f"consumer {consumer.name}: COMPLETED" in out and 'effect: {"ok": true}' in out
        assert "failed" in out and "retry-now" not in out  # the run now succeeded: no new error
    assert handled == [event.id]


def test_a_pointer_not_delivered_yet_is_due_now_and_a_failing_retry_now_keeps_it(
    services: dict[str, str],
    deps: Dependencies,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    consumer = parked_consumer("due")
    monkeypatch.setattr(topology, "CONSUMERS", (*topology.CONSUMERS, consumer))
    tiers = tiers_of(consumer)
    asyncio.run(declare_tiers(deps.settings.nats_url, tiers))  # no bridges: nothing takes the pointer
    try:
        event = deps.event("org.updated", None, numbered(None, 2))
        seq = deps.event_bus.publish(event.subject, event.model_dump_json().encode(), message_id=event.id)
        pointer = Pointer(
            stream=EVENTS_STREAM, seq=seq, consumer=consumer.name, deliveries=3, advisory_id="t"
        )
        subject = retry_subject(consumer.name)
        retry_seq = deps.event_bus.publish(subject, pointer.model_dump_json().encode(), f"{subject}:{seq}")

        code, out, _ = plutomi(capsys, "dlq", "list", "--consumer", consumer.name, "--json")
        [parked] = json.loads(out)["retry"]
        assert parked["id"] == retry_seq and parked["state"] == "waiting" and parked["due_now"] is True
        code, out, _ = plutomi(capsys, "dlq", "list", "--consumer", consumer.name)
        assert "due now (not delivered yet)" in out and "(1 due now)" in out

        def still_down(event: Event) -> dict[str, Any]:
            raise RuntimeError("still down")

        handler = consumer_handler(consumer.name, still_down)
        monkeypatch.setattr(dlq, "consumer_target", lambda name: lambda ev: handler(ev, LocalContext(name)))  # type: ignore[arg-type]
        code, out, _ = plutomi(capsys, "dlq", "retry-now", str(retry_seq), "999999999")
        assert code == 1
        assert f"{retry_seq}: still failing, kept on the retry tier" in out
        assert "999999999: no such pointer on the retry tier" in out
        assert deps.event_bus.get(RETRY_STREAM, retry_seq) is not None
        errors = deps.store.attempt_errors.for_event(consumer.name, event.id)
        assert [a.tier for a in errors] == ["retry-now"]

        code, out, _ = plutomi(capsys, "trace", event.id)
        assert code == 0
        assert "outbox:   no record" in out and f"stream:   events #{seq}  events.org.updated" in out
        assert f"retry pointer {RETRY_STREAM} #{retry_seq} ({consumer.name}): waiting" in out
    finally:
        asyncio.run(declare_tiers(deps.settings.nats_url, tiers, remove=True))


class Crash(BaseException):
    """Stands for a `kill -9` mid-event: not an Exception, so Powertools leaves its claim in place."""


def idempotency_records(deps: Dependencies, name: str) -> dict[str, tuple[str, Event]]:
    """A completed record, a live claim and a lapsed claim of consumer `name`, written by its real
    handler; keys -> (what it is, its event)."""
    crash_in: dict[str, Crash] = {}

    def process(event: Event) -> dict[str, Any]:
        if event.id in crash_in:
            raise crash_in[event.id]
        return {"sent": True}

    handler = consumer_handler(name, process)
    made = {}
    for n, (kind, seconds) in enumerate((("completed", 30.0), ("live", 300.0), ("lapsed", 0.05))):
        event = deps.event("org.updated", None, numbered(None, n))
        if kind != "completed":
            crash_in[event.id] = Crash()
        batch = sqs_event([sqs_record(event.model_dump_json(), attributes={"plutomi-tier": "main"})])
        with contextlib.suppress(Crash):
            handler(batch, LocalContext(name, timeout_seconds=seconds))  # type: ignore[arg-type]
        made[idempotency_key(name, event.id)] = (kind, event)
    time.sleep(0.1)  # the lapsed claim's 50 ms pass
    return made


def test_idempotency_list_and_clear_touch_only_lapsed_claims(
    services: dict[str, str], deps: Dependencies
) -> None:
    name = f"claims-{uuid.uuid4().hex[:8]}"
    made = idempotency_records(deps, name)
    key_of = {kind: key for key, (kind, _) in made.items()}
    # The key trace computes is the one the handler wrote.
    stored = {kind: deps.store.idempotency.get(key) for kind, key in key_of.items()}
    assert {kind: r.status if r else None for kind, r in stored.items()} == {
        "completed": "COMPLETED",
        "live": "INPROGRESS",
        "lapsed": "INPROGRESS",
    }

    listed = run_plutomi("idempotency", "list", "--consumer", name, "--json", env=env())
    assert listed.returncode == 0, listed.stderr
    claims = json.loads(listed.stdout)
    assert claims["counts"] == {"in_progress": 2, "lapsed": 1}
    assert {c["key"]: c["lapsed"] for c in claims["claims"]} == {
        key_of["live"]: False,
        key_of["lapsed"]: True,
    }
    assert all(c["consumer"] == name for c in claims["claims"])

    stuck = run_plutomi("idempotency", "list", "--consumer", name, "--stuck", env=env())
    assert stuck.returncode == 0, stuck.stderr
    assert key_of["lapsed"] in stuck.stdout and key_of["live"] not in stuck.stdout
    assert "1 lapsed in-progress claims of" in stuck.stdout

    for kind, why in (("live", "is a live claim"), ("completed", "is COMPLETED, not a stuck claim")):
        refused = run_plutomi("idempotency", "clear", key_of[kind], env=env())
        assert refused.returncode == 1 and why in refused.stderr, refused.stderr
        assert deps.store.idempotency.get(key_of[kind]) is not None

    cleared = run_plutomi("idempotency", "clear", "--all-lapsed", "--consumer", name, env=env())
    assert cleared.returncode == 0, cleared.stderr
    assert f"cleared {key_of['lapsed']}" in cleared.stdout and "cleared 1, refused 0" in cleared.stdout
    assert deps.store.idempotency.get(key_of["lapsed"]) is None
    assert deps.store.idempotency.get(key_of["live"]) is not None
    assert deps.store.idempotency.get(key_of["completed"]) is not None

    neither = run_plutomi("idempotency", "clear", env=env())
    assert neither.returncode != 0 and "--all-lapsed" in neither.stderr


def test_a_guarded_clear_leaves_a_claim_that_changed_since_it_was_read(
    services: dict[str, str], deps: Dependencies
) -> None:
    name = f"race-{uuid.uuid4().hex[:8]}"
    made = idempotency_records(deps, name)
    key = next(key for key, (kind, _) in made.items() if kind == "lapsed")
    read = deps.store.idempotency.get(key)
    assert read is not None and read.lapsed(int(time.time() * 1000))
    # A delivery took the lapsed claim over meanwhile: same key, a new claim.
    taken_over = dataclasses.replace(read, in_progress_expiry=(read.in_progress_expiry or 0) + 1)
    deps.store.items.update_one({"_id": {"$eq": f"idem_{key}"}}, {"$inc": {"in_progress_expiry": 1}})
    assert not deps.store.idempotency.delete_if_unchanged(read)
    assert deps.store.idempotency.get(key) == taken_over
    # Other records (another consumer's included) are untouched by the refused delete.
    assert all(deps.store.idempotency.get(k) is not None for k in made)


def test_trace_of_an_unknown_event_says_so(services: dict[str, str]) -> None:
    unknown = run_plutomi("trace", "evt_01J0000000AAAAAAAAAAAAAAAA", env=env())
    assert unknown.returncode == 1
    assert "no event evt_01J0000000AAAAAAAAAAAAAAAA in the outbox or the events stream" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    garbage = run_plutomi("trace", "not-an-id", env=env())
    assert garbage.returncode == 1 and "is not an event id" in garbage.stderr


@pytest.mark.parametrize(
    "command",
    [("dlq", "list"), ("dlq", "retry-now", "--all"), ("trace", "evt_01J0000000AAAAAAAAAAAAAAAA")],
)
def test_the_commands_say_in_one_line_when_nats_is_not_there(
    services: dict[str, str], command: tuple[str, ...]
) -> None:
    closed = free_port()
    answer = run_plutomi(*command, env=env() | {"NATS_URL": f"nats://127.0.0.1:{closed}"})
    assert answer.returncode == 1
    assert "Traceback" not in answer.stderr + answer.stdout, answer.stderr
    assert answer.stderr.strip() == (
        f"plutomi {' '.join(command[:2]) if command[0] == 'dlq' else 'trace'}: NATS is not reachable at "
        f"127.0.0.1:{closed} (is `plutomi dev` running? is NATS_URL right?)"
    )


def test_idempotency_says_in_one_line_when_mongodb_is_not_there(services: dict[str, str]) -> None:
    closed = free_port()
    answer = run_plutomi("idempotency", "list", env=env() | {"MONGODB_URL": f"mongodb://127.0.0.1:{closed}"})
    assert answer.returncode == 1
    assert answer.stderr.strip().count("\n") == 0 and "Traceback" not in answer.stderr, answer.stderr
    assert f"plutomi idempotency list: MongoDB is not reachable at 127.0.0.1:{closed}" in answer.stderr


def test_every_operator_command_explains_itself() -> None:
    for command, words in (
        (("dlq", "list"), "--json"),
        (("dlq", "retry-now"), "idempotency record"),
        (("trace",), "webhook deliveries"),
        (("idempotency", "clear"), "--all-lapsed"),
        (("idempotency", "list"), "--stuck"),
    ):
        helped = run_plutomi(*command, "--help", env=dict(os.environ))
        assert helped.returncode == 0 and words in helped.stdout.replace("\n", " "), helped.stdout


def test_parked_retry_times_follow_the_tier_back_off() -> None:
    tier = tiers_of(parked_consumer("backoff"))[1]
    assert [tier.delay_after(n) for n in (1, 2, 3, 9)] == [RETRY_BACKOFF] * 4
    main = tiers_of(Consumer("x", "unused", ("org.updated",), backoff_seconds=(1.0, 10.0)))[0]
    assert [main.delay_after(n) for n in (1, 2, 3)] == [1.0, 10.0, 10.0]
