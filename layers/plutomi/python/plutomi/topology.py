"""What runs where: the API route table, the event consumers and the scheduled functions.

The gateway, the bridge, `plutomi dev`, the CDK stacks and the K3S manifests all read this module, so
they never drift. A function is named by its module under `functions/`, e.g. `api.orgs`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from plutomi.domain import events


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway syntax: /orgs/{org_id}
    function: str

    @property
    def powertools_path(self) -> str:
        return re.sub(r"\{(\w+)\}", r"<\1>", self.path)


@dataclass(frozen=True)
class Consumer:
    name: str
    function: str
    event_types: tuple[str, ...]
    batch_size: int = 10
    max_deliveries: int = 3
    backoff_seconds: tuple[float, ...] = (1.0, 10.0, 60.0)

    @property
    def filter_subjects(self) -> tuple[str, ...]:
        return tuple(events.subject_for(event_type) for event_type in self.event_types)


def module_of(function: str) -> str:
    return f"functions.{function}"


ROUTES: tuple[Route, ...] = (
    Route("POST", "/auth/totp", "api.auth"),
    Route("POST", "/auth/totp/verify", "api.auth"),
    Route("POST", "/auth/logout", "api.auth"),
    Route("GET", "/users/me", "api.users"),
    Route("PATCH", "/users/me", "api.users"),
    Route("POST", "/orgs", "api.orgs"),
    Route("GET", "/orgs", "api.orgs"),
    Route("GET", "/orgs/{org_id}", "api.orgs"),
    Route("PATCH", "/orgs/{org_id}", "api.orgs"),
    Route("DELETE", "/orgs/{org_id}", "api.orgs"),
    Route("GET", "/orgs/{org_id}/members", "api.members"),
    Route("PATCH", "/orgs/{org_id}/members/{user_id}", "api.members"),
    Route("DELETE", "/orgs/{org_id}/members/{user_id}", "api.members"),
    Route("POST", "/orgs/{org_id}/invites", "api.invites"),
    Route("GET", "/orgs/{org_id}/invites", "api.invites"),
    Route("DELETE", "/orgs/{org_id}/invites/{invite_id}", "api.invites"),
    Route("GET", "/invites", "api.invites"),
    Route("POST", "/invites/{invite_id}/accept", "api.invites"),
    Route("POST", "/invites/{invite_id}/decline", "api.invites"),
    Route("GET", "/health", "api.health"),
    Route("GET", "/openapi.json", "api.docs"),
    Route("GET", "/docs", "api.docs"),
)

CONSUMERS: tuple[Consumer, ...] = (
    Consumer("notifications", "consumers.notifications", (events.TOTP_REQUESTED, events.INVITE_CREATED)),
)


def api_functions() -> list[str]:
    return sorted({route.function for route in ROUTES})


def all_functions() -> list[str]:
    return api_functions() + sorted({consumer.function for consumer in CONSUMERS})


def routes_of(function: str) -> list[Route]:
    return [route for route in ROUTES if route.function == function]
