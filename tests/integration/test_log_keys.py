"""Log keys belong to one invocation: API requests and consumer batches running at once in one
process (as under `plutomi dev` and the gateway) each log with their own Lambda context, and only
API requests carry a correlation id, their own."""

from __future__ import annotations

import io
import json
import logging
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import Response

from plutomi.domain.events import Event
from plutomi.entrypoints.api import Router, create_resolver, json_response, lambda_handler
from plutomi.entrypoints.consumer import consumer_handler
from plutomi.entrypoints.schemas import Accepted
from plutomi.observability import logger, runtime_logger
from plutomi.runtime.aws_events import http_event, sqs_event, sqs_record
from plutomi.runtime.functions import LocalContext

router = Router()


@router.get("/log-keys")
def log_something() -> Response[Accepted]:
    request_id = router.current_event.request_context.request_id
    logger.info("api line", extra={"expected_correlation_id": request_id})
    return json_response(200, Accepted(message="logged"))


api_handler = lambda_handler(create_resolver(router))


CONSUMER = f"log-keys-{uuid.uuid4().hex[:6]}"


def consume(event: Event) -> dict[str, Any]:
    logger.info("consumer line", extra={"consumer": CONSUMER, "event_id": event.id})
    return {"logged": True}


consumer = consumer_handler(CONSUMER, consume)


def call_api() -> str:
    request_id = uuid.uuid4().hex
    event = http_event(method="GET", path="/log-keys", route_key="GET /log-keys", request_id=request_id)
    context: Any = LocalContext("api.log_keys")  # Lambda's context object, as run locally
    assert api_handler(event, context)["statusCode"] == 200
    return request_id


def call_consumer() -> None:
    envelope = Event(
        id=f"evt_{uuid.uuid4().hex}",
        type="org.updated",
        version=1,
        org_id="log-keys",
        occurred_at=datetime.now(UTC),
        data={},
    )
    context: Any = LocalContext("consumers.log_keys")
    result = consumer(sqs_event([sqs_record(envelope.model_dump_json())]), context)
    assert result == {"batchItemFailures": []}


def test_consumer_lines_never_carry_an_api_requests_correlation_id(
    services: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    captured = io.StringIO()
    for powertools_logger in (logger, runtime_logger):
        handler = powertools_logger.registered_handler
        assert isinstance(handler, logging.StreamHandler)
        monkeypatch.setattr(handler, "stream", captured)
    call_consumer()  # the idempotency layer's first use, before the threads race
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, as a busy process would
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = [pool.submit(call_api if i % 3 else call_consumer) for i in range(120)]
            sent = {future.result() for future in futures} - {None}
    finally:
        sys.setswitchinterval(interval)

    lines = [json.loads(line) for line in captured.getvalue().splitlines() if line.startswith("{")]
    api_lines = [line for line in lines if line["message"] == "api line"]
    # (other tests' bridges may be delivering events meanwhile: only this consumer's lines count)
    consumer_lines = [line for line in lines if line.get("consumer") == CONSUMER]
    assert len(api_lines) == len(sent) == 80 and len(consumer_lines) == 2 * 41

    wrong_api = [
        line for line in api_lines
        if line.get("correlation_id") != line["expected_correlation_id"]
        or line.get("function_name") != "plutomi-api-log_keys"
    ]  # fmt: skip
    assert wrong_api == [], f"{len(wrong_api)} API lines with another's keys, e.g. {wrong_api[:1]}"
    assert {line["correlation_id"] for line in api_lines} == sent
    leaked = [line for line in consumer_lines if "correlation_id" in line]
    assert leaked == [], f"{len(leaked)} consumer lines carry a request's correlation id, e.g. {leaked[:1]}"
    assert {line.get("function_name") for line in consumer_lines} == {"plutomi-consumers-log_keys"}
    # Lines logged outside any invocation carry no invocation's keys.
    logger.info("after")
    runtime_logger.info("runtime after")
    after = [json.loads(line) for line in captured.getvalue().splitlines()[-2:]]
    assert [key for line in after for key in ("correlation_id", "function_name") if key in line] == []


def test_no_handler_appends_invocation_keys_for_the_whole_process() -> None:
    """Powertools' `inject_lambda_context` appends keys every thread shares; handlers use
    `invocation_log_keys` instead (a handler that forgot it fails the test above only by luck)."""
    root = Path(__file__).resolve().parents[2]
    offenders = [
        str(path.relative_to(root))
        for folder in (root / "functions", root / "layers" / "plutomi" / "python" / "plutomi")
        for path in folder.rglob("*.py")
        if "@logger.inject_lambda_context" in path.read_text()
    ]
    assert offenders == []
