"""`scheduled.dead_letter_depth` publishes how many entries each consumer's DLQ holds, as CloudWatch's
embedded metric format on standard output (the lines CloudWatch Logs turns into the `DeadLetterDepth`
metric the alarms watch), reading real JetStream."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from plutomi import topology
from plutomi.domain.delivery import Pointer, dlq_subject, pointer_message_id
from plutomi.runtime.functions import invoke
from plutomi.services import dead_letters
from plutomi.services.ports import Dependencies
from plutomi.topology import DEAD_LETTER_DEPTH_METRIC, METRICS_NAMESPACE
from tests.support.tiers import fast_consumer

FUNCTION = "scheduled.dead_letter_depth"
SAMPLE_EVENT = Path(__file__).resolve().parents[2] / "events" / "scheduled" / "dead_letter_depth.json"


def park(deps: Dependencies, consumer: str, count: int) -> list[int]:
    """`count` pointers in the consumer's DLQ, as the meta consumer leaves them; their DLQ ids."""
    subject = dlq_subject(consumer)
    ids = []
    for original_seq in range(1, count + 1):
        pointer = Pointer(
            stream=topology.EVENTS_STREAM,
            seq=original_seq,
            consumer=consumer,
            deliveries=6,
            advisory_id=uuid.uuid4().hex,
        )
        payload = pointer.model_dump_json().encode()
        ids.append(deps.event_bus.publish(subject, payload, pointer_message_id(subject, original_seq)))
    return ids


def run_and_read_metrics(capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The handler's result, and its EMF lines by their `consumer` dimension."""
    capsys.readouterr()
    result = invoke(FUNCTION, json.loads(SAMPLE_EVENT.read_text()))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    metrics = [line for line in lines if "_aws" in line]
    by_consumer = {line["consumer"]: line for line in metrics}
    assert len(by_consumer) == len(metrics), "one line per consumer"
    return result, by_consumer


def test_the_depth_of_each_dlq_is_published_zero_included(
    deps: Dependencies, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    busy, idle = fast_consumer("org.updated", "depth"), fast_consumer("org.updated", "depth")
    monkeypatch.setattr(topology, "CONSUMERS", (*topology.CONSUMERS, busy, idle))
    # A consumer no longer in the topology whose DLQ still holds an entry is reported too.
    gone = f"gone-{uuid.uuid4().hex[:8]}"
    parked, left_behind = park(deps, busy.name, 3), park(deps, gone, 1)
    try:
        check_the_figures(deps, capsys, busy.name, idle.name, gone, parked)
    finally:  # other tests read the whole DLQ
        for dlq_id in parked + left_behind:
            if deps.event_bus.get(topology.DLQ_STREAM, dlq_id) is not None:
                dead_letters.discard(deps, dlq_id)


def check_the_figures(
    deps: Dependencies,
    capsys: pytest.CaptureFixture[str],
    busy: str,
    idle: str,
    gone: str,
    parked: list[int],
) -> None:
    result, by_consumer = run_and_read_metrics(capsys)

    assert result["depth"][busy] == 3 and result["depth"][idle] == 0
    assert result["depth"][gone] == 1
    for consumer in topology.CONSUMERS:  # every consumer the alarms watch has a datapoint
        assert consumer.name in by_consumer, consumer.name
    busy_line = by_consumer[busy]
    assert busy_line[DEAD_LETTER_DEPTH_METRIC] == [3.0]
    assert by_consumer[idle][DEAD_LETTER_DEPTH_METRIC] == [0.0]
    assert by_consumer[gone][DEAD_LETTER_DEPTH_METRIC] == [1.0]
    # What CloudWatch reads: the namespace, the metric, and the dimensions the alarms name
    # (tests/cdk/test_alarms.py checks the alarms' side).
    [directive] = busy_line["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == METRICS_NAMESPACE
    assert directive["Metrics"] == [{"Name": DEAD_LETTER_DEPTH_METRIC, "Unit": "Count"}]
    assert [sorted(dimensions) for dimensions in directive["Dimensions"]] == [
        ["consumer", "service", "stage"]
    ]
    assert (busy_line["stage"], busy_line["service"]) == ("test", "plutomi")
    assert isinstance(busy_line["_aws"]["Timestamp"], int)

    # Entries leaving the DLQ (discarded, or redriven) leave the figure too.
    assert dead_letters.discard(deps, parked[0])
    result, by_consumer = run_and_read_metrics(capsys)
    assert result["depth"][busy] == 2
    assert by_consumer[busy][DEAD_LETTER_DEPTH_METRIC] == [2.0]
    for dlq_id in parked[1:]:
        assert dead_letters.discard(deps, dlq_id)
    result, by_consumer = run_and_read_metrics(capsys)
    assert by_consumer[busy][DEAD_LETTER_DEPTH_METRIC] == [0.0]
