"""Each event type has a payload model (the webhook contract), the models are exact, wrong data is
refused with a message that names fields but never values, and docs/api.md's event catalogue is the
table generated from the models."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from plutomi.domain import events
from plutomi.domain.event_payloads import PAYLOADS, EventDataMismatch, Payload, happens_when, validated_data
from plutomi.domain.webhooks import ORG_EVENT_TYPES, PERSONAL_EVENT_TYPES
from plutomi.entrypoints.openapi import event_schemas

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
CATALOGUE_START, CATALOGUE_END = "<!-- event catalogue -->", "<!-- end of event catalogue -->"
EVENT_TYPE = re.compile(r"^[a-z_]+\.[a-z_]+$")

MOVED = {
    "applicant_id": "apl_1",
    "application_id": "app_1",
    "from_stage_id": "stg_1",
    "to_stage_id": "stg_2",
    "by": {"kind": "user", "id": "usr_1"},
    "send_email": True,
}


def declared_event_types() -> set[str]:
    """Every constant in plutomi.domain.events that names an event type."""
    return {
        value
        for name, value in vars(events).items()
        if name.isupper() and isinstance(value, str) and EVENT_TYPE.match(value)
    }


def test_every_event_type_constant_has_a_payload_model_and_nothing_else_does() -> None:
    declared = declared_event_types()
    assert sorted(declared - set(PAYLOADS)) == [], "event types without a payload model in PAYLOADS"
    assert sorted(set(PAYLOADS) - declared) == [], "PAYLOADS entries without a constant"
    assert frozenset(PAYLOADS) == events.EVENT_TYPES
    assert ORG_EVENT_TYPES | PERSONAL_EVENT_TYPES == events.EVENT_TYPES
    assert not ORG_EVENT_TYPES & PERSONAL_EVENT_TYPES


@pytest.mark.parametrize("event_type", sorted(PAYLOADS))
def test_each_model_is_exact_frozen_and_says_when(event_type: str) -> None:
    model = PAYLOADS[event_type]
    assert issubclass(model, Payload)
    assert model.model_config.get("frozen") is True
    assert model.model_config.get("extra") == "forbid"
    assert happens_when(event_type), f"{model.__name__} needs a docstring saying when {event_type} happens"
    schema = model.model_json_schema(mode="serialization")
    Draft202012Validator.check_schema(schema)
    # Nested objects (`by`) are exact too.
    for name, node in {model.__name__: schema, **schema.get("$defs", {})}.items():
        if node.get("type") == "object":
            assert node.get("additionalProperties") is False, f"{name} accepts fields it does not declare"


def test_data_become_the_models_json_dump() -> None:
    answered = {
        "applicant_id": "apl_1",
        "application_id": "app_1",
        "stage_id": "stg_1",
        "question_ids": ["q_1", "q_2"],
        "completed": True,
    }
    assert validated_data(events.APPLICANT_ANSWERED, answered) == answered
    assert validated_data(events.APPLICANT_MOVED, {**MOVED, "by": {"kind": "applicant"}})["by"] == {
        "kind": "applicant",
        "id": None,
    }
    role_changed = {"user_id": "usr_2", "from": "owner", "to": "admin", "by": "usr_1"}
    assert validated_data(events.MEMBER_ROLE_CHANGED, role_changed) == role_changed
    invite = validated_data(
        events.INVITE_CREATED,
        {
            "invite_id": "inv_1",
            "email": "bob@example.com",
            "role": "member",
            "org_display_name": "Acme",
            "inviter_email": "ann@example.com",
            "expires_at": "2026-03-01T12:00:00+00:00",
        },
    )
    assert invite["expires_at"] == "2026-03-01T12:00:00Z"


@pytest.mark.parametrize(
    ("event_type", "data", "problem"),
    [
        (events.APPLICANT_MOVED, {k: v for k, v in MOVED.items() if k != "by"}, "by: Field required"),
        (events.APPLICANT_MOVED, {**MOVED, "note": "secret"}, "note: Extra inputs are not permitted"),
        (events.APPLICANT_MOVED, {**MOVED, "by": "usr_1"}, "by: Input should be an object"),
        (events.APPLICANT_MOVED, {**MOVED, "by": {"kind": "boss"}}, "by.kind: Input should be"),
        (events.APPLICANT_MOVED, {**MOVED, "by": {"kind": "user", "email": "a@b.c"}}, "by.email: Extra"),
        (events.APPLICANT_MOVED, {**MOVED, "applicant_id": 7}, "applicant_id: Input should be a valid str"),
        (
            events.APPLICANT_ANSWERED,
            {
                "applicant_id": "apl_1",
                "application_id": "app_1",
                "stage_id": "stg_1",
                "question_ids": "q_1",
                "completed": "true",
            },
            "question_ids: Input should be a valid array; completed: Input should be a valid boolean",
        ),
        (events.APPLICATION_UPDATED, {"application_id": "app_1", "changed": ["colour"]}, "changed.0: Input"),
        (
            events.MEMBER_ROLE_CHANGED,
            {"user_id": "u", "from_role": "owner", "to": "admin", "by": "u"},
            "from: Field required; from_role: Extra inputs are not permitted",
        ),
        (events.ORG_UPDATED, {"n": 1}, "org_id: Field required"),
    ],
)
def test_wrong_data_are_refused_naming_fields_not_values(
    event_type: str, data: dict[str, Any], problem: str
) -> None:
    with pytest.raises(EventDataMismatch) as raised:
        validated_data(event_type, data)
    message = str(raised.value)
    assert message.startswith(f"{event_type} data does not match {PAYLOADS[event_type].__name__}: ")
    assert problem in message
    for secret in ("secret", "a@b.c", "usr_1", "colour"):
        assert secret not in message, "the message must not carry the data's values"


def test_an_unknown_event_type_is_refused() -> None:
    with pytest.raises(EventDataMismatch, match=r"unknown event type 'applicant\.teleported'"):
        validated_data("applicant.teleported", {})


def test_every_org_event_has_a_published_envelope_schema() -> None:
    names, components = event_schemas()
    assert set(names) == ORG_EVENT_TYPES
    for event_type, name in names.items():
        envelope = components[name]
        Draft202012Validator.check_schema(envelope)
        assert envelope["properties"]["type"] == {"const": event_type}
        payload = PAYLOADS[event_type].__name__
        assert envelope["properties"]["data"] == {"$ref": f"#/components/schemas/{payload}"}
        assert envelope["additionalProperties"] is False
    for personal in PERSONAL_EVENT_TYPES:
        assert PAYLOADS[personal].__name__ not in components, "a person's events are never published"


# ---------------------------------------------------------------- the catalogue in docs/api.md


def _kind(schema: dict[str, Any], definitions: dict[str, Any]) -> str:
    if "$ref" in schema:
        schema = definitions[schema["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in schema:
        kinds = [_kind(option, definitions) for option in schema["anyOf"] if option.get("type") != "null"]
        return " or ".join(kinds) + " or null"
    if "enum" in schema:
        return "/".join(f"`{value}`" for value in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    if schema.get("type") == "object":
        return "{" + ", ".join(f"`{name}`" for name in schema["properties"]) + "}"
    if schema.get("type") == "array":
        return f"list of {_kind(schema['items'], definitions)}"
    kind: str = schema.get("format", schema["type"])
    return kind


def catalogue_rows() -> list[str]:
    """The catalogue's rows, one per org event type: its type, when it happens, its data fields."""
    rows = []
    for event_type in sorted(ORG_EVENT_TYPES):
        schema = PAYLOADS[event_type].model_json_schema(mode="serialization")
        definitions = schema.get("$defs", {})
        fields = ", ".join(
            f"`{name}` {_kind(field, definitions)}" for name, field in schema["properties"].items()
        )
        rows.append(f"| `{event_type}` | {happens_when(event_type)} | {fields} |")
    return rows


def test_the_event_catalogue_in_the_api_doc_is_the_generated_one() -> None:
    text = API_DOC.read_text()
    assert CATALOGUE_START in text and CATALOGUE_END in text, f"docs/api.md needs {CATALOGUE_START}"
    section = text.split(CATALOGUE_START, 1)[1].split(CATALOGUE_END, 1)[0]
    documented = [line for line in section.strip().splitlines() if line.startswith("| `")]
    expected = catalogue_rows()
    assert documented == expected, "docs/api.md's event catalogue differs; the rows are:\n" + "\n".join(
        expected
    )
    personal = ", ".join(f"`{event_type}`" for event_type in sorted(PERSONAL_EVENT_TYPES))
    assert f"never delivered: {personal}." in " ".join(text.split())
