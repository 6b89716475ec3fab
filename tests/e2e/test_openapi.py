"""The API describes itself: the OpenAPI document lists every route with how to authenticate and
every status it answers, /docs serves Swagger UI from the API itself under a strict CSP, and /health
reports its dependencies."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urljoin, urlparse

import httpx
import pytest

from plutomi import bootstrap
from plutomi.adapters.clock import FixedClock
from plutomi.domain import events
from plutomi.domain.event_payloads import PAYLOADS, happens_when
from plutomi.domain.events import Event
from plutomi.domain.limits import PORTAL_EMAILS_PER_APPLICANT
from plutomi.domain.webhooks import (
    EVENT_TYPE_HEADER,
    ORG_EVENT_TYPES,
    PERSONAL_EVENT_TYPES,
    delivery_headers,
    verify_signature,
)
from plutomi.entrypoints.headers import HTML_POLICY
from plutomi.entrypoints.openapi import ROUTE_ERRORS
from plutomi.runtime.functions import invoke
from plutomi.topology import API_ROUTES
from tests.conftest import unique_email
from tests.e2e.test_delivery_driver_flow import LICENCE_PDF
from tests.e2e.test_tenant_isolation import PATH_PARAM, VALID_BODIES, body_for
from tests.integration.test_documents import scan_result
from tests.integration.test_webhooks import (
    Received,
    Receiver,
    create_webhook,
    new_org,
    signature_time,
    wait_until,
)
from tests.support.contracts import (
    assert_events_keep_the_contract,
    body_validators,
    contract_problems,
    published_document,
    stream_position,
)
from tests.support.csp import Page, refusals
from tests.support.http import Api, sign_in
from tests.support.observed import undocumented
from tests.support.stack import RunningStack, portal_token
from tests.unit.test_error_codes import collect

SELF_DESCRIBING = {"/openapi.json", "/docs", "/docs/{asset}"}
DOCUMENTED = [route for route in API_ROUTES if route.path not in SELF_DESCRIBING]


@pytest.fixture(scope="module")
def document(stack: RunningStack) -> dict[str, Any]:
    response = httpx.get(f"{stack.base_url}/openapi.json", timeout=20)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    parsed: dict[str, Any] = json.loads(response.content)
    return parsed


def resolve(document: dict[str, Any], reference: str) -> dict[str, Any]:
    assert reference.startswith("#/"), reference
    node: Any = document
    for part in reference[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"{reference} does not resolve"
        node = node[part]
    assert isinstance(node, dict)
    return node


def test_the_document_is_openapi_3(document: dict[str, Any]) -> None:
    assert str(document["openapi"]).startswith("3.")
    assert document["info"]["title"] == "Plutomi API"
    assert document["info"]["version"]


def test_every_route_is_documented_and_nothing_else(document: dict[str, Any]) -> None:
    expected = {(route.path, route.method.lower()) for route in DOCUMENTED}
    documented = {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    }
    assert sorted(expected - documented) == [], "routes missing from /openapi.json"
    assert sorted(documented - expected) == [], "/openapi.json documents routes the gateway does not serve"
    assert not SELF_DESCRIBING & set(document["paths"])


def test_path_parameters_are_declared(document: dict[str, Any]) -> None:
    for route in DOCUMENTED:
        operation = document["paths"][route.path][route.method.lower()]
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path" and p["required"]}
        assert declared == set(PATH_PARAM.findall(route.path)), f"{route.method} {route.path}"


def test_request_bodies_reference_schemas(document: dict[str, Any]) -> None:
    with_bodies = 0
    for route in DOCUMENTED:
        operation = document["paths"][route.path][route.method.lower()]
        takes_body = VALID_BODIES.get((route.method, route.path)) is not None
        assert ("requestBody" in operation) == takes_body, (
            f"{route.method} {route.path}: the OpenAPI document and VALID_BODIES in "
            "test_tenant_isolation.py disagree on whether it takes a body"
        )
        if not takes_body:
            continue
        with_bodies += 1
        body = operation["requestBody"]
        assert body["required"] is True, f"{route.method} {route.path}"
        reference = body["content"]["application/json"]["schema"]["$ref"]
        assert reference.startswith("#/components/schemas/"), f"{route.method} {route.path}: {reference}"
        schema = resolve(document, reference)
        assert schema["type"] == "object" and schema["properties"], reference
        assert schema.get("additionalProperties") is False, f"{reference} should say extra fields are refused"
        for name in schema.get("required", []):
            assert name in schema["properties"], f"{reference}: required {name} is not a property"
    assert with_bodies >= 7


def test_every_reference_in_the_document_resolves(document: dict[str, Any]) -> None:
    references = re.findall(r'"\$ref":\s*"([^"]+)"', json.dumps(document))
    assert references
    for reference in set(references):
        resolve(document, reference)


def test_docs_serve_swagger_ui_from_the_api_itself_under_a_strict_csp(stack: RunningStack) -> None:
    page_url = f"{stack.base_url}/docs"
    response = httpx.get(page_url, timeout=20)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert policy == HTML_POLICY
    assert refusals(response.text, policy, page_url) == [], "a browser would refuse part of /docs"

    page = Page()
    page.feed(response.text)
    assert 'id="swagger-ui"' in response.text and page.scripts and page.stylesheets
    own_origin = urlparse(stack.base_url)[:2]
    scripts = []
    for url, kind in [*((u, "javascript") for u in page.scripts), *((u, "css") for u in page.stylesheets)]:
        absolute = urljoin(page_url, url)
        assert urlparse(absolute)[:2] == own_origin, f"/docs loads {url} from elsewhere (a CDN?)"
        asset = httpx.get(absolute, timeout=20, headers={"accept-encoding": "gzip"})
        assert asset.status_code == 200, f"{url}: {asset.status_code}"
        # With nosniff a browser runs a script (applies a stylesheet) only with the right type.
        assert asset.headers["content-type"].startswith(f"text/{kind}"), url
        assert asset.headers["x-content-type-options"] == "nosniff"
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable", url
        assert asset.headers.get("content-encoding") == "gzip", f"{url} is sent uncompressed"
        if kind == "javascript":
            scripts.append(asset.text)
    assert "SwaggerUIBundle" in scripts[0] and len(scripts[0]) > 100_000, "Swagger UI's bundle"
    start = scripts[-1]
    assert "SwaggerUIBundle(" in start and '"openapi.json"' in start, "the start script reads /openapi.json"
    assert "validatorUrl: null" in start, "the validator badge would load an image from swagger.io"
    assert httpx.get(f"{stack.base_url}/docs/nothing.js", timeout=20).status_code == 404


def test_the_document_says_how_to_sign_in(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert schemes["cookie"] == {
        **schemes["cookie"],
        "type": "apiKey",
        "in": "cookie",
        "name": "plutomi_session",
    }
    assert "security" not in document, "no global requirement: each route says what it needs"
    for route in DOCUMENTED:
        operation = document["paths"][route.path][route.method.lower()]
        expected: list[dict[str, list[str]]] = [] if route.public else [{"bearer": []}, {"cookie": []}]
        assert operation["security"] == expected, f"{route.method} {route.path}"


def test_errors_are_documented_in_the_shape_the_api_answers(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas, "Powertools' {detail} shape is never answered"
    error = resolve(document, "#/components/schemas/Error")
    assert error["required"] == ["error"]
    body = resolve(document, error["properties"]["error"]["$ref"])
    assert set(body["required"]) == {"code", "message"} and "details" in body["properties"]
    raised = collect().pairs
    for route in DOCUMENTED:
        responses = document["paths"][route.path][route.method.lower()]["responses"]
        where = f"{route.method} {route.path}"
        assert 413 in map(int, responses) and 500 in map(int, responses), where
        if not route.public:
            assert set(responses["401"]["x-error-codes"]) == {"not_signed_in", "session_invalid"}, where
        for status, response in responses.items():
            if status == "204":
                assert "content" not in response, f"{where}: a 204 has no body"
            if int(status) < 400 or (route.path, status) == ("/health", "503"):
                continue
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, f"{where} {status}"
            for code in response["x-error-codes"]:
                assert (int(status), code) in raised, f"{where} {status}: nothing answers {code} so"


def test_the_route_error_table_names_real_routes() -> None:
    assert sorted(set(ROUTE_ERRORS) - {route.route_key for route in API_ROUTES}) == []


def test_every_status_an_anonymous_caller_sees_is_documented(
    stack: RunningStack, document: dict[str, Any]
) -> None:
    """Every route, anonymously, with and without its body and with a body that is not JSON; then
    every status seen (here and by the tests before, such as test_bad_input.py) is in the document."""
    anonymous = Api(stack.base_url)
    ids = {name: f"{name}-unknown" for route in API_ROUTES for name in PATH_PARAM.findall(route.path)}
    for route in API_ROUTES:
        path = PATH_PARAM.sub(lambda m: ids[m.group(1)], route.path)
        anonymous.request(route.method, path, json=body_for(route))
        anonymous.request(route.method, path)
        anonymous.request(route.method, path, content=b"x", headers={"content-type": "text/plain"})
    assert undocumented(document) == []


def test_health_reports_ok(stack: RunningStack) -> None:
    response = httpx.get(f"{stack.base_url}/health", timeout=20)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"store": "ok", "events": "ok"}}


# ---------------------------------------------------------------------- webhooks: the event contract


def test_the_webhooks_section_lists_every_org_event_type(document: dict[str, Any]) -> None:
    assert str(document["openapi"]).startswith("3.1"), "the webhooks section needs OpenAPI 3.1"
    assert set(document["webhooks"]) == ORG_EVENT_TYPES
    for event_type, item in document["webhooks"].items():
        operation = item["post"]
        assert operation["description"] == happens_when(event_type)
        headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header" and p["required"]}
        assert set(headers) == set(delivery_headers("evt_1", event_type, "t=1,v1=0"))
        assert headers[EVENT_TYPE_HEADER]["schema"]["const"] == event_type
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        envelope = resolve(document, body["$ref"])
        assert envelope["properties"]["type"] == {"const": event_type}
        assert set(envelope["required"]) == set(Event.model_fields)
        data = resolve(document, envelope["properties"]["data"]["$ref"])
        assert data["additionalProperties"] is False
        assert set(data["properties"]) == {
            field.alias or name for name, field in PAYLOADS[event_type].model_fields.items()
        }
    assert not PERSONAL_EVENT_TYPES & set(document["webhooks"]), "a person's events are never delivered"


def test_every_org_event_type_is_emitted_as_published_and_delivered_so(
    stack: RunningStack, clock: FixedClock
) -> None:
    """One org's life, through every org event type: each event on the events stream, and each
    delivery a webhook subscribed to `*` receives (with its headers), is valid by the schema
    /openapi.json publishes for its type."""
    deps = bootstrap.dependencies()
    since = stream_position(deps)
    receiver = Receiver()
    try:
        owner = sign_in(stack.base_url, unique_email("contracts"))
        org_id = new_org(owner, "contracts")
        path = receiver.path("contract")
        hook = create_webhook(owner, org_id, receiver.url(path), ["*"])
        life_of_an_org(stack, owner, org_id, clock)
        delivered_types = ORG_EVENT_TYPES - {events.ORG_CREATED, events.ORG_DELETED}  # before / after hooks

        def all_delivered() -> list[Received] | None:
            got = receiver.to(path)
            return got if {r.headers["plutomi-event-type"] for r in got} >= delivered_types else None

        deliveries = wait_until(all_delivered, "a delivery of every org event type")
        assert owner.delete(f"/orgs/{org_id}").status_code == 204
        published = assert_events_keep_the_contract(stack.base_url, deps, org_id, since)
    finally:
        receiver.stop()
    assert {envelope["type"] for envelope in published} == ORG_EVENT_TYPES, "drive the missing types above"

    validators = body_validators(published_document(stack.base_url))
    problems = []
    for request in deliveries:
        envelope = request.envelope
        problems += contract_problems(validators, envelope)
        assert request.headers["plutomi-event-type"] == envelope["type"]
        assert request.headers["plutomi-event-id"] == envelope["id"]
        signature = request.headers["plutomi-signature"]  # its time is checked in test_webhooks.py
        assert verify_signature(hook["secret"], signature, request.body, signature_time(request))
    assert problems == [], "\n".join(problems)
    by_id = {envelope["id"]: envelope for envelope in published}
    assert all(request.envelope == by_id[request.envelope["id"]] for request in deliveries), (
        "a delivery's body is the event as published"
    )


def life_of_an_org(stack: RunningStack, owner: Api, org_id: str, clock: FixedClock) -> None:
    """Every org event type but `org.created` and `org.deleted`, through the API."""
    ok = {200, 201, 202, 204}

    def call(method: str, path: str, body: Any = None, by: Api = owner) -> Any:
        response = by.request(method, path, json=body)
        assert response.status_code in ok, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    call("PATCH", f"/orgs/{org_id}", {"display_name": "Contracts renamed"})  # org.updated
    app_id = call("POST", f"/orgs/{org_id}/applications", {"name": "Couriers"})["id"]  # application.created
    app = f"/orgs/{org_id}/applications/{app_id}"
    for name in ("Screening", "Offer", "Spare"):
        stages = call("POST", f"{app}/stages", {"name": name})["stages"]  # stage.created
    screening, offer, spare = (stage["id"] for stage in stages)
    call("PATCH", f"{app}/stages/{offer}", {"name": "Offer call"})  # stage.updated
    question = call("POST", f"{app}/stages/{screening}/questions", {"type": "boolean", "title": "Licence?"})
    call("DELETE", f"{app}/stages/{spare}")  # stage.deleted
    call("PATCH", app, {"description": "Vans", "status": "open"})  # application.updated, .opened

    public = Api(stack.base_url)
    applicant_email = unique_email("courier")
    apply = {"email": applicant_email, "first_name": "Cy", "last_name": "Courier"}
    apply_path = f"/public/orgs/{org_id}/applications/{app_id}/applicants"
    call("POST", apply_path, apply, by=public)  # applicant.created
    token = portal_token(applicant_email)
    licence = question["questions"][0]["id"]
    call("POST", f"/public/applicants/{token}/answers", {"answers": {licence: True}}, by=public)  # .answered
    applicant_id = token.split(".")[0]
    move = {"from_stage_id": screening, "to_stage_id": offer}
    call("POST", f"/orgs/{org_id}/applicants/{applicant_id}/move", move)  # applicant.moved
    scan = call("POST", f"{app}/stages/{offer}/questions", {"type": "file", "title": "Licence scan"})
    ticket = call(
        "POST",
        f"/public/applicants/{token}/uploads",
        {
            "question_id": scan["questions"][0]["id"],
            "file_name": "licence.pdf",
            "content_type": "application/pdf",
            "size_bytes": len(LICENCE_PDF),
        },
        by=public,
    )
    form = ticket["upload"]
    assert httpx.post(form["url"], data=form["fields"], files={"file": ("l.pdf", LICENCE_PDF)}).is_success
    uploaded = {scan["questions"][0]["id"]: [ticket["document_id"]]}
    call("POST", f"/public/applicants/{token}/answers", {"answers": uploaded}, by=public)  # document.uploaded
    scanned = invoke(
        "consumers.malware_scan", {"Records": [scan_result(form["fields"]["key"], "NO_THREATS_FOUND")]}
    )
    assert scanned == {"batchItemFailures": []}  # document.scanned

    reason = call(
        "POST", f"/orgs/{org_id}/rejection-reasons", {"label": "Too far"}
    )  # rejection_reason.created
    reason_path = f"/orgs/{org_id}/rejection-reasons/{reason['id']}"
    call("PATCH", reason_path, {"label": "Lives too far"})
    decide = f"/orgs/{org_id}/applicants/{applicant_id}"
    call("POST", f"{decide}/reject", {"reason_id": reason["id"]})  # applicant.rejected
    call("POST", f"{decide}/reopen", {})  # applicant.reopened
    call("POST", f"{decide}/accept", {})  # applicant.accepted
    call("DELETE", reason_path)  # rejection_reason.deleted
    rejected_email = f"/orgs/{org_id}/email-templates/rejected"
    call(
        "PUT", rejected_email, {"subject": "{{application}}", "body": "Hi {{first_name}}"}
    )  # email_template.updated
    call("DELETE", rejected_email)  # email_template.deleted
    clock.advance(PORTAL_EMAILS_PER_APPLICANT.window)
    call("POST", apply_path, apply, by=public)  # applicant.link_requested
    call("POST", f"/public/applicants/{token}/withdraw", by=public)  # applicant.withdrawn
    call("DELETE", f"/orgs/{org_id}/applicants/{applicant_id}")  # applicant.deleted
    call("PATCH", app, {"status": "closed"})  # application.updated, application.closed
    spare_app = call("POST", f"/orgs/{org_id}/applications", {"name": "Spare"})["id"]
    call("DELETE", f"/orgs/{org_id}/applications/{spare_app}")  # application.deleted

    joiner_email, decliner_email = unique_email("joiner"), unique_email("decliner")
    invite = call("POST", f"/orgs/{org_id}/invites", {"email": joiner_email})  # invite.created
    joiner = sign_in(stack.base_url, joiner_email)
    joined = call("POST", f"/invites/{invite['id']}/accept", by=joiner)  # invite.accepted
    member = f"/orgs/{org_id}/members/{joined['user_id']}"
    call("PATCH", member, {"role": "admin"})  # member.role_changed
    call("DELETE", member)  # member.removed
    canceled = call("POST", f"/orgs/{org_id}/invites", {"email": unique_email("canceled")})
    call("DELETE", f"/orgs/{org_id}/invites/{canceled['id']}")  # invite.canceled
    declined = call("POST", f"/orgs/{org_id}/invites", {"email": decliner_email})
    call("POST", f"/invites/{declined['id']}/decline", by=sign_in(stack.base_url, decliner_email))
    other_hook = create_webhook(owner, org_id, "https://hooks.example.com/other", ["org.updated"])
    call("DELETE", f"/orgs/{org_id}/webhooks/{other_hook['id']}")  # webhook.created, webhook.deleted
