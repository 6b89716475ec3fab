"""The API description (/openapi.json): Powertools' document of every route, with what Powertools
cannot know added: how to authenticate, and every error a route answers, in our error shape.

Errors come from route traits where they follow from them, and from `ROUTE_ERRORS` where they
depend on what the use case checks:

- every route: 413 `body_too_large` (the gateway refuses bodies over 1 MiB before routing) and 500;
- a route that needs a session: 401 `not_signed_in` / `session_invalid`, and its `security`;
- a path parameter: 404 for the thing it names (`org_id` -> `org_not_found`, ...), and
  `route_not_found` for a value no id can look like;
- under `/orgs/{org_id}`, a method other than GET: 403 `insufficient_role` (unless in `NO_ROLE_NEEDED`);
- a change that needs a session: 403 `cross_site_request` (by cookie from another site);
- a JSON body: 415 `unsupported_media_type` and 422 `validation_failed`; a query parameter that can
  be out of range (a number, a pattern, an enum): 422.

`tests/e2e/test_openapi.py` and `test_bad_input.py` check that every status and error code the tests
see a route answer is documented for it.

The `webhooks` section (OpenAPI 3.1) is the delivery contract: for each org event type a POST whose
body is the envelope with that type's `data` (`plutomi.domain.event_payloads.PAYLOADS`), and the signature
headers. `tests/e2e/test_openapi.py` validates real emitted events against it.
"""

from __future__ import annotations

import copy
import json
import re
from collections import defaultdict
from collections.abc import Mapping
from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from plutomi.domain import event_payloads, events, limits
from plutomi.domain.webhooks import EVENT_ID_HEADER, EVENT_TYPE_HEADER, ORG_EVENT_TYPES, SIGNATURE_HEADER
from plutomi.entrypoints.api import SESSION_COOKIE, UNSAFE_METHODS
from plutomi.topology import API_ROUTES, Route


class ErrorDetail(BaseModel):
    field: str = Field(description="the field that is wrong (`body` for the body as a whole)")
    message: str
    type: str | None = Field(default=None, description="what kind of problem, e.g. `missing`")


class ErrorBody(BaseModel):
    code: str = Field(description="stable; see the error table in docs/api.md")
    message: str = Field(description="for people: what is wrong and what to do")
    details: list[ErrorDetail] | None = Field(default=None, description="one per field, on 422 only")


class ErrorOut(BaseModel):
    """Every error answer: `{"error": {"code", "message", "details"?}}`."""

    model_config = ConfigDict(title="Error")
    error: ErrorBody


SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "The `token` from POST /auth/totp/verify, as `Authorization: Bearer <token>`",
    },
    "cookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "The session cookie POST /auth/totp/verify sets (browsers)",
    },
}
SIGNED_IN: list[dict[str, list[str]]] = [{"bearer": []}, {"cookie": []}]

# The 404 code for the thing a path parameter names, on routes that need a session.
NOT_FOUND_BY_PARAMETER = {
    "org_id": "org_not_found",
    "user_id": "member_not_found",
    "invite_id": "invite_not_found",
    "application_id": "application_not_found",
    "stage_id": "stage_not_found",
    "question_id": "question_not_found",
    "rule_id": "rule_not_found",
    "applicant_id": "applicant_not_found",
    "webhook_id": "webhook_not_found",
    "reason_id": "rejection_reason_not_found",
    "document_id": "document_not_found",
}
# Changes under /orgs/{org_id} that any member may make.
NO_ROLE_NEEDED = {
    "POST /orgs/{org_id}/applicants/{applicant_id}/move",
    # A preview changes nothing: members read templates, so they may preview them.
    "POST /orgs/{org_id}/email-templates/rejected/preview",
    "POST /orgs/{org_id}/applications/{application_id}/stages/{stage_id}/email-template/preview",
    "POST /orgs/{org_id}/applicants/{applicant_id}/reject",
    "POST /orgs/{org_id}/applicants/{applicant_id}/reopen",
    "POST /orgs/{org_id}/applicants/{applicant_id}/accept",
}

RULE_PROBLEMS = (
    "rule_targets_own_stage",
    "rule_target_not_in_application",
    "idle_duration_out_of_range",
    "conditions_required",
    "unknown_question",
    "operator_not_allowed",
    "condition_value_invalid",
)
QUESTION_PROBLEMS = (
    "options_required",
    "duplicate_options",
    "options_not_allowed",
    "file_type_not_allowed",
    "file_size_out_of_range",
    "file_settings_not_allowed",
)
TEMPLATE_PROBLEMS = ("unknown_placeholder", "invalid_template")
STAGE_EMAIL_TEMPLATE = "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}/email-template"
SUCCESS = "success"  # in ROUTE_ERRORS: another success status, with the same body as the main one

# What a route answers beyond its traits: status -> error codes (or SUCCESS).
ROUTE_ERRORS: dict[str, dict[int, tuple[str, ...] | str]] = {
    "POST /auth/totp": {
        400: ("invalid_email",),
        429: ("too_many_codes", limits.CODE_REQUESTS_PER_CLIENT.code),
    },
    "POST /auth/totp/verify": {
        201: SUCCESS,
        400: ("invalid_email",),
        401: ("invalid_code",),
        429: (limits.CODE_CHECKS_PER_CLIENT.code, limits.WRONG_CODES_PER_CLIENT.code),
    },
    "PATCH /users/me": {404: ("user_not_found",)},
    "POST /orgs": {400: ("invalid_org_id", "reserved_org_id"), 409: ("org_id_taken", "org_being_deleted")},
    "DELETE /orgs/{org_id}": {409: ("org_has_members",)},
    "PATCH /orgs/{org_id}/members/{user_id}": {409: ("last_owner",)},
    "DELETE /orgs/{org_id}/members/{user_id}": {409: ("last_owner",)},
    "POST /orgs/{org_id}/invites": {400: ("invalid_email",), 409: ("already_member", "invite_pending")},
    "DELETE /orgs/{org_id}/invites/{invite_id}": {409: ("invite_not_pending",)},
    "POST /invites/{invite_id}/accept": {409: ("invite_not_pending",), 410: ("invite_expired",)},
    "POST /invites/{invite_id}/decline": {409: ("invite_not_pending",), 410: ("invite_expired",)},
    "PATCH /orgs/{org_id}/applications/{application_id}": {
        409: ("application_has_no_stages", "concurrent_change")
    },
    "DELETE /orgs/{org_id}/applications/{application_id}": {409: ("application_has_applicants",)},
    "POST /orgs/{org_id}/applications/{application_id}/stages": {
        409: ("too_many_stages", "concurrent_change")
    },
    "PATCH /orgs/{org_id}/applications/{application_id}/stages/{stage_id}": {409: ("concurrent_change",)},
    "DELETE /orgs/{org_id}/applications/{application_id}/stages/{stage_id}": {
        400: ("invalid_move_target",),
        409: (
            "stage_targeted_by_rules",
            "application_needs_a_stage",
            "stage_has_applicants",
            "concurrent_change",
        ),
    },
    "POST /orgs/{org_id}/applications/{application_id}/stages/{stage_id}/questions": {
        400: QUESTION_PROBLEMS,
        409: ("too_many_questions", "concurrent_change"),
    },
    "PATCH /orgs/{org_id}/applications/{application_id}/stages/{stage_id}/questions/{question_id}": {
        400: QUESTION_PROBLEMS,
        409: ("concurrent_change",),
    },
    "DELETE /orgs/{org_id}/applications/{application_id}/stages/{stage_id}/questions/{question_id}": {
        409: ("question_used_by_rules", "concurrent_change"),
    },
    "POST /orgs/{org_id}/applications/{application_id}/stages/{stage_id}/rules": {
        400: RULE_PROBLEMS,
        409: ("too_many_rules", "concurrent_change"),
    },
    "PATCH /orgs/{org_id}/applications/{application_id}/stages/{stage_id}/rules/{rule_id}": {
        400: RULE_PROBLEMS,
        409: ("concurrent_change",),
    },
    "DELETE /orgs/{org_id}/applications/{application_id}/stages/{stage_id}/rules/{rule_id}": {
        409: ("concurrent_change",),
    },
    "GET /orgs/{org_id}/applications/{application_id}/applicants": {400: ("invalid_cursor",)},
    "POST /orgs/{org_id}/applicants/{applicant_id}/move": {
        400: ("same_stage", "invalid_move_target"),
        404: ("stage_not_found",),
        409: ("applicant_not_in_stage", "applicant_not_active", "concurrent_change"),
    },
    "POST /orgs/{org_id}/applicants/{applicant_id}/reject": {
        400: ("invalid_rejection_reason",),
        409: ("applicant_not_active", "concurrent_change"),
    },
    "POST /orgs/{org_id}/applicants/{applicant_id}/reopen": {
        409: ("applicant_not_reopenable", "concurrent_change"),
    },
    "POST /orgs/{org_id}/applicants/{applicant_id}/accept": {
        409: ("applicant_not_active", "concurrent_change"),
    },
    "POST /orgs/{org_id}/rejection-reasons": {409: ("rejection_reason_exists", "too_many_rejection_reasons")},
    "PATCH /orgs/{org_id}/rejection-reasons/{reason_id}": {
        409: ("rejection_reason_exists", "concurrent_change"),
    },
    "DELETE /orgs/{org_id}/applicants/{applicant_id}": {409: ("concurrent_change",)},
    "POST /orgs/{org_id}/webhooks": {
        400: ("invalid_webhook_url", "webhook_url_not_public", "invalid_event_type"),
        409: ("too_many_webhooks",),
    },
    "PATCH /orgs/{org_id}/webhooks/{webhook_id}": {
        400: ("invalid_webhook_url", "webhook_url_not_public", "invalid_event_type"),
        409: ("concurrent_change",),
    },
    "GET /orgs/{org_id}/webhooks/{webhook_id}/deliveries": {400: ("invalid_cursor",)},
    "PUT /orgs/{org_id}/email-templates/rejected": {400: TEMPLATE_PROBLEMS, 409: ("concurrent_change",)},
    "POST /orgs/{org_id}/email-templates/rejected/preview": {
        400: TEMPLATE_PROBLEMS,
        404: ("applicant_not_found", "application_not_found"),
    },
    f"PUT {STAGE_EMAIL_TEMPLATE}": {400: TEMPLATE_PROBLEMS, 409: ("concurrent_change",)},
    f"POST {STAGE_EMAIL_TEMPLATE}/preview": {400: TEMPLATE_PROBLEMS, 404: ("applicant_not_found",)},
    "GET /public/orgs/{org_id}/applications/{application_id}": {404: ("application_not_found",)},
    "POST /public/orgs/{org_id}/applications/{application_id}/applicants": {
        400: ("invalid_email",),
        404: ("application_not_found",),
        409: ("application_not_open",),
        429: (limits.APPLIES_PER_CLIENT.code, limits.APPLIES_PER_ADDRESS.code),
    },
    "GET /public/applicants/{token}": {404: ("portal_not_found",)},
    "POST /public/applicants/{token}/answers": {
        400: ("no_answers",),
        404: ("portal_not_found",),
        409: ("stage_changed", "applicant_not_active", "concurrent_change"),
        422: ("invalid_answers",),
    },
    "POST /public/applicants/{token}/withdraw": {
        404: ("portal_not_found",),
        409: ("applicant_not_withdrawable", "concurrent_change"),
    },
    "POST /public/applicants/{token}/uploads": {
        404: ("portal_not_found",),
        409: ("applicant_not_active",),
        422: ("invalid_upload",),
        429: (limits.UPLOADS_PER_APPLICANT.code,),
    },
    "GET /orgs/{org_id}/documents/{document_id}/open": {409: ("document_infected", "document_scan_pending")},
    "GET /unsubscribe/{token}": {404: ("unsubscribe_link_not_found",)},
    "POST /unsubscribe/{token}": {404: ("unsubscribe_link_not_found",)},
    "GET /health": {503: SUCCESS},
}

# What a webhook delivery carries besides its body (`domain.webhooks.delivery_headers`).
DELIVERY_HEADERS = {
    EVENT_ID_HEADER: "The event id (`evt_...`), the same on every retry: use it to ignore duplicates",
    EVENT_TYPE_HEADER: "The event type, as in the body",
    SIGNATURE_HEADER: (
        '`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the webhook\'s secret>`: '
        "check it on the raw body and refuse old timestamps (README, Webhooks)"
    ),
}
DELIVERY_ANSWERS = {
    "2XX": {"description": "Received"},
    "4XX": {"description": "Refused for good (never sent again), except 408 and 429, which are retried"},
    "default": {"description": "Anything else, or no answer within 10 s: retried"},
}
SCHEMA_REF = "#/components/schemas/{model}"

RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
POWERTOOLS_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")
_PARAMETER = re.compile(r"\{(\w+)\}")


def _can_fail_validation(parameter: Mapping[str, Any]) -> bool:
    schema = parameter.get("schema") or {}
    options = [schema, *schema.get("anyOf", [])]
    constrained = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "pattern", "enum"}
    constrained |= {"minLength", "maxLength"}
    return any(o.get("type") in {"integer", "number", "boolean"} or constrained & set(o) for o in options)


def route_errors(route: Route, operation: Mapping[str, Any]) -> dict[int, list[str]]:
    """Every error status the route answers, with its codes (in the order they are listed)."""
    errors: defaultdict[int, list[str]] = defaultdict(list)
    parameters = _PARAMETER.findall(route.path)
    if not route.public:
        errors[401] += ["not_signed_in", "session_invalid"]
        errors[404] += [NOT_FOUND_BY_PARAMETER[p] for p in parameters if p in NOT_FOUND_BY_PARAMETER]
        changes_an_org = route.path.startswith("/orgs/{org_id}") and route.method != "GET"
        if changes_an_org and route.route_key not in NO_ROLE_NEEDED:
            errors[403].append("insufficient_role")
        if route.method in UNSAFE_METHODS:
            errors[403].append("cross_site_request")
    if parameters:
        errors[404].append("route_not_found")
    if "requestBody" in operation:
        errors[415].append("unsupported_media_type")
        errors[422].append("validation_failed")
    queries = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
    if any(_can_fail_validation(p) for p in queries) and "validation_failed" not in errors[422]:
        errors[422].append("validation_failed")
    for status, codes in ROUTE_ERRORS.get(route.route_key, {}).items():
        if codes != SUCCESS:
            errors[status] += [code for code in codes if code not in errors[status]]
    errors[413].append("body_too_large")
    errors[500].append("internal_error")
    return {status: codes for status, codes in sorted(errors.items()) if codes}


def _error_response(status: int, codes: list[str]) -> dict[str, Any]:
    listed = ", ".join(f"`{code}`" for code in codes)
    response: dict[str, Any] = {
        "description": f"{HTTPStatus(status).phrase}: {listed}",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        "x-error-codes": codes,
    }
    if status in (429, 503):
        response["headers"] = RETRY_AFTER
    return response


def _success_statuses(route: Route, responses: dict[str, Any]) -> None:
    """204s without a body; the other success statuses a route answers, with its main body."""
    if "204" in responses:
        responses["204"] = {"description": "Done; no body"}
    main = next((r for s, r in sorted(responses.items()) if s.startswith("2") and s != "204"), None)
    for extra, codes in ROUTE_ERRORS.get(route.route_key, {}).items():
        if codes == SUCCESS and main is not None:
            also = copy.deepcopy(main)
            also["description"] = HTTPStatus(extra).phrase
            responses[str(extra)] = also


def _referenced(document: Any) -> set[str]:
    return set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(document)))


def event_schemas() -> tuple[dict[str, str], dict[str, Any]]:
    """For each org event type, the component name of the envelope it is delivered in; and the
    components: those envelopes (`<Payload>Event`), the payloads and what they share."""
    delivered = sorted(ORG_EVENT_TYPES)
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (event_payloads.PAYLOADS[event_type], "serialization") for event_type in delivered
    ]
    payload_refs, definitions = models_json_schema(models, ref_template=SCHEMA_REF)
    components: dict[str, Any] = dict(definitions.get("$defs", {}))
    envelope = TypeAdapter(events.Event).json_schema(mode="serialization")
    names: dict[str, str] = {}
    for event_type, model in zip(delivered, models, strict=True):
        name = f"{model[0].__name__}Event"
        components[name] = {
            "title": name,
            "description": f"`{event_type}`: {event_payloads.happens_when(event_type)}",
            "type": "object",
            "properties": {
                **envelope["properties"],
                "type": {"const": event_type},
                "org_id": {"type": "string"},
                "data": payload_refs[model],
            },
            "required": list(envelope["properties"]),
            "additionalProperties": False,
        }
        names[event_type] = name
    return names, components


def _webhook(event_type: str, envelope: str) -> dict[str, Any]:
    header_schemas = {EVENT_TYPE_HEADER: {"type": "string", "const": event_type}}
    return {
        "post": {
            "operationId": f"event_{event_type.replace('.', '_')}",
            "summary": event_type,
            "description": event_payloads.happens_when(event_type),
            "parameters": [
                {
                    "name": name,
                    "in": "header",
                    "required": True,
                    "description": description,
                    "schema": header_schemas.get(name, {"type": "string"}),
                }
                for name, description in DELIVERY_HEADERS.items()
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": SCHEMA_REF.format(model=envelope)}}},
            },
            "responses": DELIVERY_ANSWERS,
        }
    }


def _add_webhooks(document: dict[str, Any], schemas: dict[str, Any]) -> None:
    names, components = event_schemas()
    for name, schema in components.items():
        if schemas.get(name, schema) != schema:
            raise ValueError(f"the event schema {name!r} differs from the API's schema of that name")
        schemas[name] = schema
    document["webhooks"] = {event_type: _webhook(event_type, name) for event_type, name in names.items()}


def describe(powertools_document: dict[str, Any], routes: tuple[Route, ...] = API_ROUTES) -> dict[str, Any]:
    """`powertools_document` (from `get_openapi_schema`) completed: security, errors, 204s, webhooks."""
    document = copy.deepcopy(powertools_document)
    by_key = {route.route_key: route for route in routes}
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            route = by_key.get(f"{method.upper()} {path}")
            if route is None:
                continue
            responses: dict[str, Any] = {
                status: response
                for status, response in operation.get("responses", {}).items()
                if status != "422"  # Powertools' {detail} shape, which we never answer
            }
            _success_statuses(route, responses)
            for status, codes in route_errors(route, operation).items():
                responses[str(status)] = _error_response(status, codes)
            operation["responses"] = dict(sorted(responses.items()))
            operation["security"] = [] if route.public else SIGNED_IN
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    error_schema = TypeAdapter(ErrorOut).json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["Error"] = error_schema
    _add_webhooks(document, schemas)
    components["securitySchemes"] = SECURITY_SCHEMES
    ours = {name: schema for name, schema in schemas.items() if name not in POWERTOOLS_SCHEMAS}
    used = _referenced({"paths": document.get("paths"), "schemas": ours})
    for name in POWERTOOLS_SCHEMAS:
        if name not in used:
            schemas.pop(name, None)
    return document


@cache
def document_json(app: APIGatewayHttpResolver, title: str, version: str, description: str) -> str:
    """The API description as JSON, built once per process."""
    schema = json.loads(app.get_openapi_json_schema(title=title, version=version, description=description))
    return json.dumps(describe(schema), separators=(",", ":"))
