"""Real events checked against the contract /openapi.json publishes: its `webhooks` section, one POST
per org event type whose body schema is the envelope with that type's `data`."""

from __future__ import annotations

import json
import time
from functools import cache
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from plutomi.domain.events import SUBJECT_PREFIX
from plutomi.services.ports import Dependencies
from plutomi.topology import EVENTS_STREAM

DOCUMENT_URI = "urn:plutomi:openapi"


@cache
def published_document(base_url: str) -> dict[str, Any]:
    response = httpx.get(f"{base_url}/openapi.json", timeout=20)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def body_validators(document: dict[str, Any]) -> dict[str, Draft202012Validator]:
    """For each event type in the document's `webhooks`, a validator of a delivery's body, resolving
    the document's own references (`#/components/schemas/...`)."""
    registry: Registry[Any] = Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    validators = {}
    for event_type, item in document["webhooks"].items():
        reference = item["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = {"$ref": f"{DOCUMENT_URI}{reference}"}
        validators[event_type] = Draft202012Validator(schema, registry=registry)
    return validators


def contract_problems(validators: dict[str, Draft202012Validator], envelope: dict[str, Any]) -> list[str]:
    """What is wrong with one delivered or published envelope, by its type's published schema."""
    validator = validators.get(str(envelope.get("type")))
    if validator is None:
        return [f"{envelope.get('type')}: no schema in /openapi.json's webhooks"]
    return [
        f"{envelope['type']} {envelope.get('id')}: {'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(envelope)
    ]


def stream_position(deps: Dependencies) -> int:
    """The sequence the next event published to the events stream gets."""
    return deps.event_bus.sequence_range(EVENTS_STREAM)[1] + 1


def published_envelopes(
    deps: Dependencies, org_id: str, since: int, timeout: float = 20.0
) -> list[dict[str, Any]]:
    """The org's events as published to the events stream from sequence `since`, as JSON, once the
    relay has published everything written so far."""
    deadline = time.monotonic() + timeout
    while deps.store.outbox.any_pending():
        if time.monotonic() > deadline:
            raise AssertionError(f"the outbox still holds unpublished events after {timeout} s")
        time.sleep(0.1)
    found: list[dict[str, Any]] = []
    seq = since
    while (message := deps.event_bus.next_message(EVENTS_STREAM, f"{SUBJECT_PREFIX}.>", seq)) is not None:
        seq = message.seq + 1
        envelope: dict[str, Any] = json.loads(message.data)
        if envelope.get("org_id") == org_id:
            found.append(envelope)
    return found


def assert_events_keep_the_contract(
    base_url: str, deps: Dependencies, org_id: str, since: int
) -> list[dict[str, Any]]:
    """Every event of the org published since `since` (see `stream_position`) is valid by the
    schema /openapi.json publishes for its type; returns them."""
    validators = body_validators(published_document(base_url))
    envelopes = published_envelopes(deps, org_id, since)
    assert envelopes, f"no event of {org_id} was published"
    problems = [problem for envelope in envelopes for problem in contract_problems(validators, envelope)]
    assert problems == [], "published events break their published schema:\n" + "\n".join(problems)
    return envelopes
