"""Unit tests for plutomi.topology: routes and consumers. Nothing under functions/ is imported."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from pathlib import Path

import pytest

from plutomi import topology
from plutomi.domain.events import EVENT_TYPES, subject_for
from plutomi.topology import (
    ALL_EVENTS,
    CONSUMERS,
    DEPLOY_STEPS,
    ROUTES,
    SCHEDULED,
    SQS_CONSUMERS,
    Consumer,
    Route,
    all_functions,
    all_tiers,
    api_functions,
    module_of,
    routes_of,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def _module_file(function: str) -> Path:
    module = module_of(function)
    return REPO_ROOT.joinpath(*module.split(".")).with_suffix(".py")


def test_repo_root_is_the_project() -> None:
    assert (REPO_ROOT / "pyproject.toml").is_file()
    assert (REPO_ROOT / "functions" / "__init__.py").is_file()


# ---------------------------------------------------------------------- routes


def test_routes_not_empty() -> None:
    assert len(ROUTES) > 0


def test_no_duplicate_method_and_path() -> None:
    counts = Counter((route.method, route.path) for route in ROUTES)
    duplicates = [key for key, n in counts.items() if n > 1]
    assert duplicates == []


def test_no_duplicate_method_and_powertools_path() -> None:
    counts = Counter((route.method, route.powertools_path) for route in ROUTES)
    assert [key for key, n in counts.items() if n > 1] == []


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_route_shape(route: Route) -> None:
    assert route.method in HTTP_METHODS
    assert route.path.startswith("/")
    assert route.path == "/" or not route.path.endswith("/")
    assert "//" not in route.path
    assert route.path == "/" or re.fullmatch(r"(/([a-z0-9._-]+|\{[a-z_]+\}))+", route.path), route.path


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_route_powertools_path(route: Route) -> None:
    converted = route.powertools_path
    assert "{" not in converted
    assert "}" not in converted
    params = re.findall(r"\{(\w+)\}", route.path)
    assert re.findall(r"<(\w+)>", converted) == params
    # Literal segments are untouched.
    assert re.sub(r"<\w+>", "X", converted) == re.sub(r"\{\w+\}", "X", route.path)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/orgs", "/orgs"),
        ("/orgs/{org_id}", "/orgs/<org_id>"),
        ("/orgs/{org_id}/members/{user_id}", "/orgs/<org_id>/members/<user_id>"),
        ("/invites/{invite_id}/accept", "/invites/<invite_id>/accept"),
        ("/openapi.json", "/openapi.json"),
    ],
)
def test_powertools_path_examples(path: str, expected: str) -> None:
    assert Route("GET", path, "api.health").powertools_path == expected


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_path_parameter_names_unique_within_route(route: Route) -> None:
    params = re.findall(r"\{(\w+)\}", route.path)
    assert len(params) == len(set(params))


def test_routes_with_same_shape_use_same_parameter_names() -> None:
    """Two templates that differ only in parameter names would be ambiguous to a router."""
    by_shape: dict[tuple[str, str], set[str]] = {}
    for route in ROUTES:
        shape = re.sub(r"\{\w+\}", "{}", route.path)
        by_shape.setdefault((route.method, shape), set()).add(route.path)
    assert {key: paths for key, paths in by_shape.items() if len(paths) > 1} == {}


def test_expected_routes_present() -> None:
    keys = {(route.method, route.path) for route in ROUTES}
    for key in [
        ("POST", "/auth/totp"),
        ("POST", "/auth/totp/verify"),
        ("GET", "/health"),
        ("POST", "/orgs"),
        ("GET", "/orgs/{org_id}"),
    ]:
        assert key in keys


def test_org_scoped_routes_take_org_id() -> None:
    for route in ROUTES:
        if route.path.startswith("/orgs/"):
            assert route.path.startswith("/orgs/{org_id}"), route.path


# ---------------------------------------------------------------------- functions


def test_module_of() -> None:
    assert module_of("api.orgs") == "functions.api.orgs"
    assert module_of("consumers.notifications") == "functions.consumers.notifications"


@pytest.mark.parametrize(
    "function",
    sorted(
        {r.function for r in ROUTES} | {c.function for c in CONSUMERS} | {c.function for c in SQS_CONSUMERS}
    ),
)
def test_every_function_has_a_module_file(function: str) -> None:
    assert re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", function), function
    path = _module_file(function)
    assert path.is_file(), f"{module_of(function)} -> {path} does not exist"
    # Every enclosing directory is a package.
    for parent in path.relative_to(REPO_ROOT).parents:
        if parent != Path("."):
            assert (REPO_ROOT / parent / "__init__.py").is_file(), parent


def test_api_functions_sorted_unique_and_complete() -> None:
    functions = api_functions()
    assert functions == sorted(set(functions))
    assert set(functions) == {route.function for route in ROUTES}
    assert all(function.startswith(("api.", "web.")) for function in functions)


def test_all_functions() -> None:
    functions = all_functions()
    assert len(functions) == len(set(functions))
    handlers = {t.function for t in all_tiers() if t.function}
    sqs_fed = {c.function for c in SQS_CONSUMERS}
    deploy = {step.function for step in DEPLOY_STEPS}
    expected = {r.function for r in ROUTES} | handlers | sqs_fed | {j.function for j in SCHEDULED} | deploy
    assert set(functions) == expected
    assert "deploy.migrate" in deploy
    assert "consumers.ses_feedback" in sqs_fed
    assert {c.function for c in CONSUMERS} | {"consumers.meta"} <= handlers
    assert functions[: len(api_functions())] == api_functions()


@pytest.mark.parametrize("function", api_functions())
def test_routes_of(function: str) -> None:
    routes = routes_of(function)
    assert routes
    assert all(route.function == function for route in routes)
    assert routes == [route for route in ROUTES if route.function == function]


def test_routes_of_partition_the_table() -> None:
    assert sum(len(routes_of(function)) for function in api_functions()) == len(ROUTES)
    assert routes_of("api.nope") == []
    assert routes_of("consumers.notifications") == []


# ---------------------------------------------------------------------- consumers


def test_consumer_names_unique() -> None:
    names = [consumer.name for consumer in CONSUMERS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("consumer", CONSUMERS, ids=lambda c: c.name)
def test_consumer_filter_subjects_are_valid(consumer: Consumer) -> None:
    assert consumer.event_types
    assert len(consumer.event_types) == len(set(consumer.event_types))
    assert consumer.batch_size >= 1
    assert consumer.function.startswith("consumers.")
    assert re.fullmatch(r"[a-z0-9_-]+", consumer.name)
    if ALL_EVENTS in consumer.event_types:
        # Every event: one wildcard subject, and no type named beside it.
        assert consumer.event_types == (ALL_EVENTS,)
        assert consumer.filter_subjects == ("events.>",)
        return
    assert set(consumer.event_types) <= EVENT_TYPES
    subjects = consumer.filter_subjects
    assert len(subjects) == len(consumer.event_types)
    for event_type, subject in zip(consumer.event_types, subjects, strict=True):
        assert subject == subject_for(event_type)
        assert subject.startswith("events.")
        assert "*" not in subject
        assert ">" not in subject


def test_notifications_consumer_handles_codes_and_invites() -> None:
    (notifications,) = [c for c in CONSUMERS if c.name == "notifications"]
    assert "events.totp.requested" in notifications.filter_subjects
    assert "events.invite.created" in notifications.filter_subjects


def test_webhooks_consumer_takes_every_event() -> None:
    (webhooks,) = [c for c in CONSUMERS if c.name == "webhooks"]
    assert webhooks.function == "consumers.webhooks"
    assert webhooks.filter_subjects == ("events.>",)


def test_consumer_with_unknown_event_type_fails() -> None:
    consumer = Consumer("bad", "consumers.notifications", ("not.a.type",))
    with pytest.raises(ValueError, match="unknown event type"):
        _ = consumer.filter_subjects


def test_consumer_default_batch_size() -> None:
    assert Consumer("x", "consumers.notifications", ()).batch_size == 10


def test_topology_dataclasses_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ROUTES[0].path = "/elsewhere"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        CONSUMERS[0].batch_size = 1  # type: ignore[misc]
    assert isinstance(topology.ROUTES, tuple)
    assert isinstance(topology.CONSUMERS, tuple)


def test_sqs_consumers_are_not_jetstream_consumers() -> None:
    """SES feedback (SNS from SES) and malware scan results (EventBridge from GuardDuty) come from SQS,
    never from NATS: no tiers, no durable, no subjects."""
    assert [c.name for c in SQS_CONSUMERS] == ["ses-feedback", "malware-scan"]
    durables = {t.durable for t in all_tiers()}
    tier_functions = {t.function for t in all_tiers()}
    for consumer in SQS_CONSUMERS:
        assert consumer.name not in durables and consumer.function not in tier_functions
        assert consumer.function.startswith("consumers.")
        assert 1 <= consumer.batch_size <= 10  # SQS receives at most 10 messages at once
        assert consumer.max_receive_count == 5
        assert consumer.visibility_timeout_seconds >= 6 * consumer.timeout_seconds
    assert not {c.name for c in CONSUMERS} & {c.name for c in SQS_CONSUMERS}


def test_every_business_consumer_has_main_retry_and_dlq_tiers() -> None:
    durables = {t.durable: t for t in all_tiers()}
    for consumer in CONSUMERS:
        main, retry, dlq = (durables[f"{consumer.name}{s}"] for s in ("", "-retry", "-dlq"))
        assert (main.stream, retry.stream, dlq.stream) == ("events", "events-retry", "events-dlq")
        assert retry.filter_subjects == (f"retry.{consumer.name}",)
        assert dlq.filter_subjects == (f"dlq.{consumer.name}",) and dlq.function is None
        assert main.max_deliveries == len(main.backoff_seconds) == 3
        assert retry.backoff_seconds == (300.0, 1800.0, 7200.0)
    assert {"meta", "super-meta"} <= set(durables)
    assert durables["super-meta"].filter_subjects == (
        "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.advisories.meta",
    )


def test_deleted_orgs_are_purged_by_a_consumer_and_a_scheduled_backstop() -> None:
    (purge,) = [c for c in CONSUMERS if c.name == "org-purge"]
    assert purge.function == "consumers.org_purge"
    assert purge.filter_subjects == ("events.org.deleted",)
    assert purge.batch_size == 1  # one org per invocation: a purge may use a minute
    (sweeper,) = [job for job in SCHEDULED if job.function == "scheduled.org_purge_sweeper"]
    assert sweeper.every_minutes == 1
    assert _module_file(sweeper.function).is_file()


def test_a_route_key_is_as_api_gateway_names_the_route() -> None:
    assert Route("POST", "/orgs/{org_id}/invites", "api.invites").route_key == "POST /orgs/{org_id}/invites"


def test_the_tightly_throttled_routes_are_the_public_sign_in_and_apply_routes() -> None:
    tight = [route for route in ROUTES if route.tight_throttle]
    assert {route.route_key for route in tight} == {
        "POST /auth/totp",
        "POST /auth/totp/verify",
        "POST /public/orgs/{org_id}/applications/{application_id}/applicants",
        "POST /careers/{org_id}/{application_id}",
        "POST /sign-in",
        "POST /sign-in/code",
    }
    assert all(route.public for route in tight)


def test_deploy_steps_fit_the_custom_resource_framework() -> None:
    # CDK's provider framework waits for the step in a function of its own, which stops at 15 min.
    for step in DEPLOY_STEPS:
        assert 0 < step.timeout_seconds < 15 * 60, step
        assert step.function.startswith("deploy."), step
