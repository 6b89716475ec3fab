"""`plutomi migrate`: indexes, `status: active` for applicants stored before decisions, tombstones
for data that outlived its org (orgs deleted before deleting purged), JetStream streams and
consumers, and (on a local endpoint) the SES sender identity, the SES feedback path (configuration
set -> SNS topic -> SQS queue + DLQ) and the documents bucket. Idempotent; safe to run on every
deploy."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import nats

from plutomi.adapters.clock import SystemClock
from plutomi.adapters.jetstream import apply_topology
from plutomi.adapters.mongo_store import MongoStore
from plutomi.config import Settings


def migrate(settings: Settings, say: Callable[[str], None] = print) -> None:
    store = MongoStore.connect(settings.mongodb_url, settings.mongodb_database)
    try:
        for name in store.create_indexes():
            say(f"index {name}: ok")
        backfilled = store.applicants.backfill_status()
        say(f"applicants without a status: {backfilled} set to active")
        orphans = store.org_purge.tombstone_orphans(SystemClock().now())
        say(f"data of deleted orgs: {len(orphans)} org id(s) queued for the purge")
    finally:
        store.client.close()
    for line in asyncio.run(_apply_jetstream(settings.nats_url, settings.stream_replicas)):
        say(line)
    if settings.aws_endpoint_url:
        from plutomi.adapters.s3_storage import S3Storage
        from plutomi.bootstrap import mailer
        from plutomi.runtime.ses_feedback_local import ensure_feedback_pipeline

        mailer().ensure_sender_identity()
        say(f"ses identity {settings.email_from}: ok")
        ensure_feedback_pipeline(settings, say)
        S3Storage.of_settings(settings).ensure_bucket()
        say(f"s3 bucket {settings.documents_bucket}: ok")


async def _apply_jetstream(url: str, stream_replicas: int) -> list[str]:
    connection = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=2, name="plutomi-migrate")
    try:
        return await apply_topology(connection.jetstream(), stream_replicas)
    finally:
        await connection.close()
