"""The CDK stacks, one module each; `build` puts them into an app (see app.py)."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk

from stacks.api import ApiStack
from stacks.consumers import ConsumersStack
from stacks.documents import DocumentsStack
from stacks.email import EmailStack
from stacks.migrations import MigrationsStack
from stacks.scheduling import SchedulingStack
from stacks.settings import DeploySettings


@dataclass(frozen=True)
class PlutomiStacks:
    settings: DeploySettings
    email: EmailStack
    api: ApiStack
    scheduling: SchedulingStack
    consumers: ConsumersStack
    migrations: MigrationsStack
    documents: DocumentsStack


def _depends_on(stack: cdk.Stack, target: cdk.Stack, reason: str) -> None:
    # `add_stack_dependency` replaces the deprecated `add_dependency` in newer aws-cdk-lib releases.
    add = getattr(stack, "add_stack_dependency", None) or stack.add_dependency
    add(target, reason)


def build(app: cdk.App) -> PlutomiStacks:
    """Adds the stacks for the stage the context names. Without account and region in the context
    they are environment-agnostic, so synth needs no AWS credentials."""
    settings = DeploySettings.from_context(app.node.try_get_context)
    env = (
        cdk.Environment(account=settings.account, region=settings.region)
        if settings.account or settings.region
        else None
    )

    def name(part: str) -> str:
        return f"{settings.prefix}-{part}"

    # First: `plutomi migrate` runs here, before any stack with code that needs its indexes and streams.
    migrations = MigrationsStack(
        app, name("migrations"), settings=settings, env=env, stack_name=name("migrations")
    )
    email = EmailStack(app, name("email"), settings=settings, env=env, stack_name=name("email"))
    api = ApiStack(app, name("api"), settings=settings, env=env, stack_name=name("api"))
    # Consumers and scheduled jobs put links in emails: the API's URL unless a custom one is set.
    scheduling = SchedulingStack(
        app,
        name("scheduling"),
        settings=settings,
        base_url=api.base_url,
        env=env,
        stack_name=name("scheduling"),
    )
    consumers = ConsumersStack(
        app,
        name("consumers"),
        settings=settings,
        base_url=api.base_url,
        env=env,
        stack_name=name("consumers"),
    )
    # After the API: the bucket's CORS allows the app's origin, the API's URL unless `base_url` is set.
    # The API's functions name the bucket and are granted on it without an import, so on the very
    # first deploy uploads work once this stack is up too (the same `cdk deploy --all`).
    documents = DocumentsStack(
        app,
        name("documents"),
        settings=settings,
        origin=api.base_url,
        env=env,
        stack_name=name("documents"),
    )
    _depends_on(documents, api, "the bucket's CORS allows the app's origin")
    for stack in (scheduling, consumers):
        _depends_on(stack, documents, "functions delete documents from the bucket by name")
    # Every function sends through the configuration set by name: create it first.
    for stack in (api, scheduling, consumers, documents):
        _depends_on(stack, email, "functions send email through the configuration set")
    for stack in (email, api, scheduling, consumers, documents):
        _depends_on(stack, migrations, "functions need the indexes, streams and consumers migrated")
    cdk.Tags.of(app).add("project", "plutomi")
    cdk.Tags.of(app).add("stage", settings.stage)
    return PlutomiStacks(settings, email, api, scheduling, consumers, migrations, documents)
