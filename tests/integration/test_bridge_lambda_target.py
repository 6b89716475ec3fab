"""`plutomi bridge --target lambda`: a real bridge on the test's nats-server invoking a local endpoint
that speaks Lambda's Invoke API. A slow batch is invoked once, a throttle is one request and pauses
the bridge for the back-off, and a function that never answers is given up on (nak) after its timeout
plus the margin. The function timeout is a parameter, so these take seconds, not minutes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from botocore.endpoint import DEFAULT_TIMEOUT as BOTOCORE_DEFAULT_READ_TIMEOUT

from plutomi.runtime.bridge import Bridge
from plutomi.runtime.lambda_target import (
    CONNECT_TIMEOUT_SECONDS,
    READ_TIMEOUT_MARGIN_SECONDS,
    LambdaTarget,
)
from plutomi.services.ports import Dependencies
from plutomi.topology import CONSUMER_TIMEOUT_SECONDS, Consumer
from tests.support.jetstream import publish_events, with_new_consumer
from tests.support.lambda_endpoint import NEVER, LambdaEndpoint, Reply, throttled
from tests.support.numbered import numbered

FUNCTION = "plutomi-test-consumers-notifications"


def _consumer(label: str, backoff_seconds: float, batch_size: int = 10) -> Consumer:
    return Consumer(
        f"test-lambda-{label}-{uuid.uuid4().hex[:8]}",
        "unused",
        ("org.updated",),
        batch_size=batch_size,
        max_deliveries=5,
        backoff_seconds=(backoff_seconds,),
    )


async def _publish(jetstream: Any, deps: Dependencies, count: int) -> None:
    org_id = f"lambda-{uuid.uuid4().hex[:8]}"
    await publish_events(
        jetstream, (deps.event("org.updated", org_id, numbered(org_id, n)) for n in range(count))
    )


def _bridge_on_endpoint(
    nats_url: str,
    deps: Dependencies,
    consumer: Consumer,
    endpoint: LambdaEndpoint,
    *,
    events: int,
    done: Callable[[Bridge], bool],
    function_timeout_seconds: float,
    margin_seconds: float,
    settle: float,
) -> tuple[Bridge, dict[str, int]]:
    """Publishes `events`, runs a bridge whose target is `endpoint` until `done(bridge)` (failing
    after 10 s), then `settle` s more for anything that should not happen to show up; returns the
    bridge and the consumer's state after."""
    target = LambdaTarget(
        FUNCTION,
        function_timeout_seconds=function_timeout_seconds,
        margin_seconds=margin_seconds,
        endpoint_url=endpoint.url,
    )
    bridge = Bridge(consumer, nats_url, target=target, fetch_timeout=0.2)

    async def scenario(jetstream: Any) -> None:
        await _publish(jetstream, deps, events)
        task = asyncio.create_task(bridge.run())
        deadline = time.monotonic() + 10
        while not done(bridge):
            assert time.monotonic() < deadline, "the bridge did not get there in time"
            assert not task.done(), task
            await asyncio.sleep(0.05)
        await asyncio.sleep(settle)
        bridge.stop()
        await task

    with endpoint.running():
        state = asyncio.run(with_new_consumer(nats_url, consumer, scenario))
    return bridge, state


def test_the_deployed_consumers_timeout_is_outwaited_and_never_retried_by_the_sdk(
    services: dict[str, str],
) -> None:
    """What `plutomi bridge --target lambda` builds: botocore's default (a 60 s read timeout, then
    retries) would invoke a 120 s batch again at +60 s; this client waits past 120 s, once."""
    config = LambdaTarget(FUNCTION).client.meta.config
    assert config.read_timeout == CONSUMER_TIMEOUT_SECONDS + READ_TIMEOUT_MARGIN_SECONDS
    assert config.read_timeout > CONSUMER_TIMEOUT_SECONDS > BOTOCORE_DEFAULT_READ_TIMEOUT
    assert config.connect_timeout == CONNECT_TIMEOUT_SECONDS <= 10
    assert config.retries["total_max_attempts"] == 1, config.retries  # the first attempt is the only one


def test_a_batch_that_runs_the_functions_whole_timeout_is_invoked_once(
    services: dict[str, str], deps: Dependencies
) -> None:
    endpoint = LambdaEndpoint(lambda _: Reply(delay_seconds=2.0))
    bridge, state = _bridge_on_endpoint(
        services["NATS_URL"], deps, _consumer("slow", backoff_seconds=0.2), endpoint, events=3,
        done=lambda bridge: bridge.counters.processed == 3,
        function_timeout_seconds=2.0, margin_seconds=1.0, settle=1.5,
    )  # fmt: skip
    assert [(i.function_name, i.attempts) for i in endpoint.invocations] == [(FUNCTION, (1, 1, 1))]
    assert (bridge.counters.failed, bridge.counters.batches) == (0, 1)
    assert state == {"ack_pending": 0, "pending": 0}


def test_a_throttle_is_one_request_and_the_bridge_pauses_for_the_back_off(
    services: dict[str, str], deps: Dependencies
) -> None:
    """The first batch is throttled (429, Retry-After 1 s, longer than the tier's 0.2 s back-off): no
    SDK retry, the next batch (already fetched) waits the second out too, and the throttled message
    comes back after it, on its second delivery."""
    endpoint = LambdaEndpoint(lambda n: throttled(retry_after_seconds=1) if n == 0 else Reply())
    bridge, state = _bridge_on_endpoint(
        services["NATS_URL"], deps, _consumer("throttled", backoff_seconds=0.2, batch_size=1), endpoint,
        events=2, done=lambda bridge: bridge.counters.processed == 2,
        function_timeout_seconds=2.0, margin_seconds=1.0, settle=0.5,
    )  # fmt: skip
    first, *after = endpoint.invocations
    assert first.attempts == (1,)
    assert sorted(i.attempts for i in after) == [(1,), (2,)], endpoint.invocations
    assert min(i.at for i in after) - first.at >= 0.95, "the bridge called again within the back-off"
    assert (bridge.counters.throttled, bridge.counters.retried, bridge.counters.processed) == (1, 1, 2)
    assert state == {"ack_pending": 0, "pending": 0}


def test_a_function_that_never_answers_is_given_up_on_after_its_timeout_and_nak_ed(
    services: dict[str, str], deps: Dependencies
) -> None:
    endpoint = LambdaEndpoint(lambda n: Reply(delay_seconds=NEVER) if n == 0 else Reply())
    given_up_at: list[float] = []

    def done(bridge: Bridge) -> bool:
        if bridge.counters.failed and not given_up_at:
            given_up_at.append(time.monotonic())
        return bridge.counters.processed == 1

    bridge, state = _bridge_on_endpoint(
        services["NATS_URL"], deps, _consumer("hung", backoff_seconds=0.2), endpoint, events=1,
        done=done, function_timeout_seconds=1.0, margin_seconds=0.5, settle=0.5,
    )  # fmt: skip
    hung, redelivered = endpoint.invocations
    assert (hung.attempts, redelivered.attempts) == ((1,), (2,))
    # One request for the read timeout (1 s + 0.5 s), then the nak's back-off (0.2 s).
    assert 1.5 <= given_up_at[0] - hung.at < 3.0
    assert 1.7 <= redelivered.at - hung.at < 4.0
    assert (bridge.counters.failed, bridge.counters.retried, bridge.counters.processed) == (1, 1, 1)
    assert state == {"ack_pending": 0, "pending": 0}
