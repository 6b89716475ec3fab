"""What runs where: the API route table, the event consumers, the SQS consumers and the scheduled
functions.

The gateway, the bridge, `plutomi dev`, the CDK stacks and the K3S manifests all read this module, so
they never drift. A function is named by its module under `functions/`, e.g. `api.orgs`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from plutomi.domain import events


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway syntax: /orgs/{org_id}
    function: str
    public: bool = False  # answers without a session (the API description says so; tests check it)
    # Public and worth abusing (each call sends an email or creates data): the HTTP API stage
    # throttles these harder than the rest (context api_tight_rate_limit / api_tight_burst_limit).
    tight_throttle: bool = False

    @property
    def is_page(self) -> bool:
        """A page of the web app (functions/web/), answering HTML, rather than an API route."""
        return self.function.startswith("web.")

    @property
    def route_key(self) -> str:
        """As API Gateway names a route: `POST /auth/totp`."""
        return f"{self.method} {self.path}"

    @property
    def powertools_path(self) -> str:
        return re.sub(r"\{(\w+)\}", r"<\1>", self.path)


ALL_EVENTS = "*"


@dataclass(frozen=True)
class Consumer:
    name: str
    function: str
    event_types: tuple[str, ...]
    batch_size: int = 10
    max_deliveries: int = 3
    backoff_seconds: tuple[float, ...] = (1.0, 10.0, 60.0)
    retry_max_deliveries: int = 3
    retry_backoff_seconds: tuple[float, ...] = (300.0, 1800.0, 7200.0)
    ack_wait_seconds: float = 30.0  # how long a crashed bridge's messages wait before redelivery

    @property
    def filter_subjects(self) -> tuple[str, ...]:
        if ALL_EVENTS in self.event_types:
            return (f"{events.SUBJECT_PREFIX}.>",)
        return tuple(events.subject_for(event_type) for event_type in self.event_types)


# Streams. `events` outlives every pointer in the retry and DLQ streams (see adapters/jetstream.py).
EVENTS_STREAM = "events"
RETRY_STREAM = "events-retry"
DLQ_STREAM = "events-dlq"
ADVISORIES_STREAM = "advisories"
MAX_DELIVERIES_ADVISORY = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES"

TierKind = Literal["main", "retry", "dlq", "meta", "super-meta"]

# The timeout of the JetStream consumers deployed as Lambda functions (stacks/consumers.py): a batch of
# 10 webhook deliveries of up to 10 s each, with room to spare. `plutomi bridge --target lambda` waits
# longer than this for an answer (runtime/lambda_target.py), so a slow batch is not invoked twice.
CONSUMER_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class Tier:
    """One durable JetStream consumer and what feeds on it. For each business consumer C: `C` reads
    events, `C-retry` reads pointers on `retry.C`, `C-dlq` holds pointers on `dlq.C` for people.
    `meta` turns exhausted deliveries into pointers; `super-meta` does the same for `meta` itself."""

    durable: str
    kind: TierKind
    stream: str
    filter_subjects: tuple[str, ...]
    function: str | None  # None: nobody consumes it automatically (the DLQ is for people)
    max_deliveries: int
    backoff_seconds: tuple[float, ...]
    batch_size: int = 10
    consumer: str | None = None  # the business consumer a main, retry or DLQ tier belongs to
    ack_wait_seconds: float = 30.0

    def delay_after(self, attempt: int) -> float:
        """How long the bridge waits before delivering a message again after its `attempt`-th
        delivery failed (the last back-off repeats; 1 s when the tier declares none)."""
        delays = self.backoff_seconds
        return delays[min(attempt, len(delays)) - 1] if delays else 1.0


def tiers_of(consumer: Consumer) -> tuple[Tier, Tier, Tier]:
    name = consumer.name
    return (
        Tier(
            name,
            "main",
            EVENTS_STREAM,
            consumer.filter_subjects,
            consumer.function,
            consumer.max_deliveries,
            consumer.backoff_seconds,
            consumer.batch_size,
            name,
            consumer.ack_wait_seconds,
        ),
        Tier(
            f"{name}-retry",
            "retry",
            RETRY_STREAM,
            (f"retry.{name}",),
            consumer.function,
            consumer.retry_max_deliveries,
            consumer.retry_backoff_seconds,
            consumer.batch_size,
            name,
            consumer.ack_wait_seconds,
        ),
        Tier(f"{name}-dlq", "dlq", DLQ_STREAM, (f"dlq.{name}",), None, -1, (), consumer.batch_size, name),
    )


META_TIERS: tuple[Tier, ...] = (
    Tier(
        "meta",
        "meta",
        ADVISORIES_STREAM,
        (f"{MAX_DELIVERIES_ADVISORY}.{EVENTS_STREAM}.*", f"{MAX_DELIVERIES_ADVISORY}.{RETRY_STREAM}.*"),
        "consumers.meta",
        5,
        (1.0, 5.0, 30.0, 120.0),
    ),
    Tier(
        "super-meta",
        "super-meta",
        ADVISORIES_STREAM,
        (f"{MAX_DELIVERIES_ADVISORY}.{ADVISORIES_STREAM}.meta",),
        "consumers.meta",
        10,
        (5.0, 30.0, 120.0, 600.0),
    ),
)


def all_tiers() -> list[Tier]:
    return [tier for consumer in CONSUMERS for tier in tiers_of(consumer)] + list(META_TIERS)


def tier_named(durable: str) -> Tier:
    for tier in all_tiers():
        if tier.durable == durable:
            return tier
    raise LookupError(f"no consumer tier {durable!r}; known: {', '.join(t.durable for t in all_tiers())}")


@dataclass(frozen=True)
class SqsConsumer:
    """A function fed by an SQS queue, not by JetStream: no tiers, no meta consumer. On AWS an event
    source mapping with partial batch responses calls it; locally `runtime/sqs_poller.py` does the same.
    A record it reports as failed is received again until `max_receive_count`, then the queue's redrive
    policy moves it to the queue's DLQ."""

    name: str
    function: str
    batch_size: int = 10
    max_receive_count: int = 5
    timeout_seconds: int = 30  # the function's timeout

    @property
    def visibility_timeout_seconds(self) -> int:
        """What AWS recommends for a queue feeding a Lambda function: at least 6x its timeout."""
        return 6 * self.timeout_seconds


@dataclass(frozen=True)
class Scheduled:
    name: str
    function: str
    every_minutes: int


@dataclass(frozen=True)
class DeployStep:
    """A function a deploy runs before the code that needs it: on AWS a CloudFormation custom resource
    (Create and Update run it, Delete does nothing), in the stack the others depend on."""

    name: str
    function: str
    timeout_seconds: int


def module_of(function: str) -> str:
    return f"functions.{function}"


API_ROUTES: tuple[Route, ...] = (
    Route("POST", "/auth/totp", "api.auth", public=True, tight_throttle=True),
    Route("POST", "/auth/totp/verify", "api.auth", public=True, tight_throttle=True),
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
    Route("POST", "/orgs/{org_id}/applications", "api.applications"),
    Route("GET", "/orgs/{org_id}/applications", "api.applications"),
    Route("GET", "/orgs/{org_id}/applications/{application_id}", "api.applications"),
    Route("PATCH", "/orgs/{org_id}/applications/{application_id}", "api.applications"),
    Route("DELETE", "/orgs/{org_id}/applications/{application_id}", "api.applications"),
    Route("POST", "/orgs/{org_id}/applications/{application_id}/stages", "api.stages"),
    Route("GET", "/orgs/{org_id}/applications/{application_id}/stages", "api.stages"),
    Route("GET", "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}", "api.stages"),
    Route("PATCH", "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}", "api.stages"),
    Route("DELETE", "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}", "api.stages"),
    Route("POST", "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}/questions", "api.stages"),
    Route(
        "PATCH",
        "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}/questions/{question_id}",
        "api.stages",
    ),
    Route(
        "DELETE",
        "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}/questions/{question_id}",
        "api.stages",
    ),
    Route("POST", "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}/rules", "api.stages"),
    Route(
        "PATCH",
        "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}/rules/{rule_id}",
        "api.stages",
    ),
    Route(
        "DELETE",
        "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}/rules/{rule_id}",
        "api.stages",
    ),
    Route("GET", "/orgs/{org_id}/applications/{application_id}/applicants", "api.applicants"),
    Route("GET", "/orgs/{org_id}/applicants/{applicant_id}", "api.applicants"),
    Route("POST", "/orgs/{org_id}/applicants/{applicant_id}/move", "api.applicants"),
    Route("DELETE", "/orgs/{org_id}/applicants/{applicant_id}", "api.applicants"),
    Route("POST", "/orgs/{org_id}/applicants/{applicant_id}/reject", "api.applicants"),
    Route("POST", "/orgs/{org_id}/applicants/{applicant_id}/reopen", "api.applicants"),
    Route("POST", "/orgs/{org_id}/applicants/{applicant_id}/accept", "api.applicants"),
    Route("GET", "/orgs/{org_id}/rejection-reasons", "api.rejection_reasons"),
    Route("POST", "/orgs/{org_id}/rejection-reasons", "api.rejection_reasons"),
    Route("PATCH", "/orgs/{org_id}/rejection-reasons/{reason_id}", "api.rejection_reasons"),
    Route("DELETE", "/orgs/{org_id}/rejection-reasons/{reason_id}", "api.rejection_reasons"),
    Route("GET", "/orgs/{org_id}/applicants/{applicant_id}/documents", "api.documents"),
    Route("GET", "/orgs/{org_id}/documents/{document_id}", "api.documents"),
    Route("GET", "/orgs/{org_id}/documents/{document_id}/open", "api.documents"),
    Route("POST", "/orgs/{org_id}/webhooks", "api.webhooks"),
    Route("GET", "/orgs/{org_id}/webhooks", "api.webhooks"),
    Route("GET", "/orgs/{org_id}/webhooks/{webhook_id}", "api.webhooks"),
    Route("PATCH", "/orgs/{org_id}/webhooks/{webhook_id}", "api.webhooks"),
    Route("DELETE", "/orgs/{org_id}/webhooks/{webhook_id}", "api.webhooks"),
    Route("GET", "/orgs/{org_id}/webhooks/{webhook_id}/deliveries", "api.webhooks"),
    Route("GET", "/orgs/{org_id}/email-templates", "api.email_templates"),
    Route("GET", "/orgs/{org_id}/email-templates/rejected", "api.email_templates"),
    Route("PUT", "/orgs/{org_id}/email-templates/rejected", "api.email_templates"),
    Route("DELETE", "/orgs/{org_id}/email-templates/rejected", "api.email_templates"),
    Route("POST", "/orgs/{org_id}/email-templates/rejected/preview", "api.email_templates"),
    Route(
        "GET",
        "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}/email-template",
        "api.email_templates",
    ),
    Route(
        "PUT",
        "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}/email-template",
        "api.email_templates",
    ),
    Route(
        "DELETE",
        "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}/email-template",
        "api.email_templates",
    ),
    Route(
        "POST",
        "/orgs/{org_id}/applications/{application_id}/stages/{stage_id}/email-template/preview",
        "api.email_templates",
    ),
    Route("GET", "/public/orgs/{org_id}/applications", "api.public", public=True),
    Route("GET", "/public/orgs/{org_id}/applications/{application_id}", "api.public", public=True),
    Route(
        "POST",
        "/public/orgs/{org_id}/applications/{application_id}/applicants",
        "api.public",
        public=True,
        tight_throttle=True,
    ),
    Route("GET", "/public/applicants/{token}", "api.public", public=True),
    Route("POST", "/public/applicants/{token}/answers", "api.public", public=True),
    Route("POST", "/public/applicants/{token}/withdraw", "api.public", public=True),
    # A presigned POST for one file; the bytes go straight to the bucket, never through a handler.
    Route("POST", "/public/applicants/{token}/uploads", "api.public", public=True),
    # In every email: stops invitations and other email the person did not ask for (GET: the link;
    # POST: RFC 8058 one-click from the List-Unsubscribe-Post header). No sign-in.
    Route("GET", "/unsubscribe/{token}", "api.unsubscribe", public=True),
    Route("POST", "/unsubscribe/{token}", "api.unsubscribe", public=True),
    Route("GET", "/health", "api.health", public=True),
    Route("GET", "/openapi.json", "api.docs", public=True),
    Route("GET", "/docs", "api.docs", public=True),
    Route("GET", "/docs/{asset}", "api.docs", public=True),  # Swagger UI's script and styles
)

# The web app's pages (docs/pages.md is their URL map). They answer HTML, never 401: a page that needs
# a session redirects to /sign-in, so every page is `public` as far as the HTTP API is concerned. Their
# paths never collide with an API path (tests/unit/test_pages.py checks the prefixes).
BUILDER = "/app/{org_id}/applications/{application_id}"  # the application builder's pages
BUILDER_STAGE = BUILDER + "/stages/{stage_id}"

PAGE_ROUTES: tuple[Route, ...] = (
    Route("GET", "/", "web.auth", public=True),
    Route("GET", "/sign-in", "web.auth", public=True),
    Route("POST", "/sign-in", "web.auth", public=True, tight_throttle=True),
    Route("POST", "/sign-in/code", "web.auth", public=True, tight_throttle=True),
    Route("POST", "/sign-out", "web.auth", public=True),
    Route("GET", "/static/{asset}", "web.static", public=True),  # versioned files, cached for good
    Route("GET", "/app", "web.orgs", public=True),
    Route("POST", "/app", "web.orgs", public=True),
    # The applicant page: answers, documents, timeline, moves, decisions, erasure.
    Route("GET", "/app/{org_id}/applicants/{applicant_id}", "web.applicants", public=True),
    Route("POST", "/app/{org_id}/applicants/{applicant_id}/move", "web.applicants", public=True),
    Route("POST", "/app/{org_id}/applicants/{applicant_id}/reject", "web.applicants", public=True),
    Route("POST", "/app/{org_id}/applicants/{applicant_id}/reopen", "web.applicants", public=True),
    Route("POST", "/app/{org_id}/applicants/{applicant_id}/accept", "web.applicants", public=True),
    Route("GET", "/app/{org_id}/applicants/{applicant_id}/erase", "web.applicants", public=True),
    Route("POST", "/app/{org_id}/applicants/{applicant_id}/erase", "web.applicants", public=True),
    # Team, invitations and settings
    Route("GET", "/app/{org_id}/team", "web.team", public=True),
    Route("POST", "/app/{org_id}/team/invites", "web.team", public=True),
    Route("POST", "/app/{org_id}/team/invites/{invite_id}/revoke", "web.team", public=True),
    Route("POST", "/app/{org_id}/team/members/{user_id}/role", "web.team", public=True),
    Route("POST", "/app/{org_id}/team/members/{user_id}/remove", "web.team", public=True),
    Route("GET", "/invitations", "web.invitations", public=True),
    Route("POST", "/invitations/{invite_id}/accept", "web.invitations", public=True),
    Route("POST", "/invitations/{invite_id}/decline", "web.invitations", public=True),
    Route("GET", "/app/{org_id}/settings", "web.settings", public=True),
    Route("POST", "/app/{org_id}/settings", "web.settings", public=True),
    Route("POST", "/app/{org_id}/settings/delete", "web.settings", public=True),
    Route("GET", "/app/{org_id}/settings/rejection-reasons", "web.settings", public=True),
    Route("POST", "/app/{org_id}/settings/rejection-reasons", "web.settings", public=True),
    Route("POST", "/app/{org_id}/settings/rejection-reasons/{reason_id}", "web.settings", public=True),
    Route("POST", "/app/{org_id}/settings/rejection-reasons/{reason_id}/delete", "web.settings", public=True),
    Route("GET", "/app/{org_id}/settings/email-health", "web.settings", public=True),
    Route("GET", "/app/{org_id}/settings/webhooks", "web.webhooks", public=True),
    Route("POST", "/app/{org_id}/settings/webhooks", "web.webhooks", public=True),
    Route("GET", "/app/{org_id}/settings/webhooks/{webhook_id}", "web.webhooks", public=True),
    Route("POST", "/app/{org_id}/settings/webhooks/{webhook_id}", "web.webhooks", public=True),
    Route("POST", "/app/{org_id}/settings/webhooks/{webhook_id}/delete", "web.webhooks", public=True),
    Route("GET", "/app/{org_id}/settings/email-templates", "web.email_templates", public=True),
    Route("GET", "/app/{org_id}/settings/email-templates/rejected", "web.email_templates", public=True),
    Route("POST", "/app/{org_id}/settings/email-templates/rejected", "web.email_templates", public=True),
    Route(
        "POST", "/app/{org_id}/settings/email-templates/rejected/reset", "web.email_templates", public=True
    ),
    Route(
        "GET",
        "/app/{org_id}/settings/email-templates/stages/{application_id}/{stage_id}",
        "web.email_templates",
        public=True,
    ),
    Route(
        "POST",
        "/app/{org_id}/settings/email-templates/stages/{application_id}/{stage_id}",
        "web.email_templates",
        public=True,
    ),
    Route(
        "POST",
        "/app/{org_id}/settings/email-templates/stages/{application_id}/{stage_id}/reset",
        "web.email_templates",
        public=True,
    ),
    # The application builder.
    Route("GET", BUILDER, "web.builder", public=True),
    Route("POST", BUILDER, "web.builder", public=True),
    Route("POST", BUILDER + "/status", "web.builder", public=True),
    Route("POST", BUILDER + "/delete", "web.builder", public=True),
    Route("POST", BUILDER + "/stages", "web.builder", public=True),
    Route("POST", BUILDER_STAGE, "web.builder", public=True),
    Route("POST", BUILDER_STAGE + "/move", "web.builder", public=True),
    Route("POST", BUILDER_STAGE + "/delete", "web.builder", public=True),
    Route("POST", BUILDER_STAGE + "/questions", "web.builder", public=True),
    Route("POST", BUILDER_STAGE + "/questions/{question_id}", "web.builder", public=True),
    Route("POST", BUILDER_STAGE + "/questions/{question_id}/delete", "web.builder", public=True),
    Route("POST", BUILDER_STAGE + "/rules", "web.builder", public=True),
    Route("POST", BUILDER_STAGE + "/rules/{rule_id}", "web.builder", public=True),
    Route("POST", BUILDER_STAGE + "/rules/{rule_id}/delete", "web.builder", public=True),
    # What applicants see: careers pages, applying, the portal (the token in the path is a credential:
    # the gateway logs route templates only).
    Route("GET", "/careers/{org_id}", "web.careers", public=True),
    Route("GET", "/careers/{org_id}/{application_id}", "web.careers", public=True),
    Route("POST", "/careers/{org_id}/{application_id}", "web.careers", public=True, tight_throttle=True),
    Route("GET", "/careers/{org_id}/{application_id}/applied", "web.careers", public=True),
    Route("GET", "/portal/{token}", "web.portal", public=True),
    Route("POST", "/portal/{token}", "web.portal", public=True),
    Route("GET", "/portal/{token}/withdraw", "web.portal", public=True),
    Route("POST", "/portal/{token}/withdraw", "web.portal", public=True),
    # The applications list and the pipeline board.
    Route("GET", "/app/{org_id}", "web.applications", public=True),
    Route("POST", "/app/{org_id}/applications", "web.applications", public=True),
    Route("GET", "/app/{org_id}/applications/{application_id}/board", "web.board", public=True),
    Route("POST", "/app/{org_id}/applications/{application_id}/board/move", "web.board", public=True),
)

ROUTES: tuple[Route, ...] = API_ROUTES + PAGE_ROUTES

CONSUMERS: tuple[Consumer, ...] = (
    Consumer(
        "notifications",
        "consumers.notifications",
        (
            events.TOTP_REQUESTED,
            events.INVITE_CREATED,
            events.APPLICANT_CREATED,
            events.APPLICANT_LINK_REQUESTED,
            events.APPLICANT_REJECTED,
            events.APPLICANT_MOVED,
        ),
    ),
    # Every event: the consumer delivers each to the org's webhooks that want it.
    Consumer("webhooks", "consumers.webhooks", (ALL_EVENTS,)),
    # Purges a deleted org's data in the background; `org-purge-sweeper` below is its backstop. One
    # org per batch: a large org's purge may take a minute of the function's time.
    Consumer("org-purge", "consumers.org_purge", (events.ORG_DELETED,), batch_size=1),
)


# SES bounces, complaints and deliveries: configuration set -> SNS topic -> SQS queue -> ses_feedback.
# GuardDuty Malware Protection for S3 scan results: EventBridge -> SQS queue -> malware_scan (AWS only).
SQS_CONSUMERS: tuple[SqsConsumer, ...] = (
    SqsConsumer("ses-feedback", "consumers.ses_feedback"),
    SqsConsumer("malware-scan", "consumers.malware_scan"),
)


SCHEDULED: tuple[Scheduled, ...] = (
    Scheduled("idle-sweeper", "scheduled.idle_sweeper", every_minutes=1),
    # Finishes org purges that were paused, crashed halfway or are waiting out their grace period.
    Scheduled("org-purge-sweeper", "scheduled.org_purge_sweeper", every_minutes=1),
    # Publishes how many entries each consumer's DLQ holds (zero too), for the CloudWatch alarms.
    Scheduled("dead-letter-depth", "scheduled.dead_letter_depth", every_minutes=1),
    Scheduled("upload-sweeper", "scheduled.upload_sweeper", every_minutes=5),
)

# What each function may do with the documents bucket; the CDK grants exactly this, nobody else gets any.
DOCUMENT_ACCESS: dict[str, frozenset[str]] = {
    "api.public": frozenset({"upload", "read", "delete"}),  # presign POST; confirm; delete a bad upload
    "api.documents": frozenset({"read"}),  # presigned GETs
    "api.applicants": frozenset({"delete"}),  # erasing an applicant
    "web.applicants": frozenset({"delete"}),  # erasing an applicant from their page
    "consumers.org_purge": frozenset({"delete"}),
    "scheduled.org_purge_sweeper": frozenset({"delete"}),
    "scheduled.upload_sweeper": frozenset({"delete"}),
}

# The metrics our functions publish (CloudWatch embedded metric format, through their logs), with the
# dimensions `stage` (PLUTOMI_ENV) and `service` (POWERTOOLS_SERVICE_NAME); the CDK alarms read them.
METRICS_NAMESPACE = "Plutomi"
# Entries waiting in `dlq.C`, per business consumer C (dimension `consumer`).
DEAD_LETTER_DEPTH_METRIC = "DeadLetterDepth"

# Functions that never open a MongoDB pool (every other one calls `bootstrap.dependencies()`):
# reserved concurrency, which bounds the database's connections, is only for the others.
WITHOUT_DATABASE: frozenset[str] = frozenset({"api.docs", "web.static"})


# `plutomi migrate` (indexes, streams, consumers) on every deploy whose code changed. Well inside the
# 15 minutes the custom-resource framework's own function waits for it.
DEPLOY_STEPS: tuple[DeployStep, ...] = (DeployStep("migrate", "deploy.migrate", timeout_seconds=600),)


def api_functions() -> list[str]:
    """Every function behind an HTTP route: the API's and the pages'."""
    return sorted({route.function for route in ROUTES})


def all_functions() -> list[str]:
    consumers = sorted(
        {tier.function for tier in all_tiers() if tier.function} | {c.function for c in SQS_CONSUMERS}
    )
    scheduled = sorted({job.function for job in SCHEDULED})
    return api_functions() + consumers + scheduled + sorted({step.function for step in DEPLOY_STEPS})


def database_functions() -> list[str]:
    return [function for function in all_functions() if function not in WITHOUT_DATABASE]


def routes_of(function: str) -> list[Route]:
    return [route for route in ROUTES if route.function == function]
