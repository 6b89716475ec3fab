"""Builds the adapters from configuration, once per warm process.

Heavy clients are created on first use, so an API function that never sends email never imports
boto3. Tests and local runtimes may `override` parts (a fixed clock, say) and `reset` between runs.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from plutomi.config import get_settings

if TYPE_CHECKING:
    from botocore.config import Config

    from plutomi.adapters.mongo_store import MongoStore
    from plutomi.adapters.resolver import HostResolver
    from plutomi.adapters.ses_mailer import SesMailer
    from plutomi.adapters.webhook_sender import WebhookSender
    from plutomi.services.ports import Clock, Dependencies, EventBus, ObjectStorage

_lock = threading.RLock()
_dependencies: Dependencies | None = None
_mailer: SesMailer | None = None
_webhook_sender: WebhookSender | None = None
_overrides: dict[str, Any] = {}
_retired_buses: list[EventBus] = []  # NATS connections built before a `reset`, not closed yet


def dependencies() -> Dependencies:
    global _dependencies
    if _dependencies is None:
        with _lock:
            if _dependencies is None:
                _dependencies = _build()
    return _dependencies


def _build() -> Dependencies:
    from plutomi.adapters.clock import SystemClock
    from plutomi.adapters.jetstream_client import JetStreamClient
    from plutomi.adapters.mongo_store import MongoStore
    from plutomi.adapters.resolver import SystemResolver
    from plutomi.services.ports import Dependencies

    settings = get_settings()
    return Dependencies(
        store=_overrides.get("store") or MongoStore.connect(settings.mongodb_url, settings.mongodb_database),
        event_bus=JetStreamClient(settings.nats_url, settings.nats_timeout_seconds),
        clock=_overrides.get("clock") or SystemClock(),
        settings=settings,
        resolver=_overrides.get("resolver") or SystemResolver(),
    )


def documents_storage() -> ObjectStorage:
    """The documents bucket's client (boto3 is imported here, on first use)."""
    from plutomi.adapters.s3_storage import S3Storage

    return S3Storage.of_settings(get_settings())


def aws_client(
    service: str,
    *,
    config: Config | None = None,
    endpoint_url: str | None = None,
    credentials: tuple[str, str] | None = None,
) -> Any:
    """A boto3 client for the configured region and endpoint (`endpoint_url` overrides the latter),
    with the default credential chain unless `credentials` (access key id, secret key) are given."""
    import boto3

    settings = get_settings()
    make_client: Any = boto3.client  # one generic factory; callers annotate the client they get
    keys = (
        {"aws_access_key_id": credentials[0], "aws_secret_access_key": credentials[1]} if credentials else {}
    )
    return make_client(
        service,
        region_name=settings.aws_region,
        endpoint_url=endpoint_url or settings.aws_endpoint_url,
        config=config,
        **keys,
    )


def mailer() -> SesMailer:
    global _mailer
    if _mailer is None:
        with _lock:
            if _mailer is None:
                from plutomi.adapters.ses_mailer import SesMailer

                settings = get_settings()
                _mailer = SesMailer(aws_client("sesv2"), settings.email_from, settings.ses_configuration_set)
    return _mailer


def webhook_sender() -> WebhookSender:
    global _webhook_sender
    if _webhook_sender is None:
        with _lock:
            if _webhook_sender is None:
                from plutomi.adapters.webhook_sender import WebhookSender

                # The resolver that checked the URL when it was saved; loopback only in development.
                _webhook_sender = WebhookSender(
                    dependencies().resolver, allow_loopback=get_settings().is_local
                )
    return _webhook_sender


def override(
    *, clock: Clock | None = None, resolver: HostResolver | None = None, store: MongoStore | None = None
) -> None:
    """Replaces parts of the wiring (tests, benchmarks); takes effect for the next `dependencies()`
    and `webhook_sender()`. A store given here is the caller's to close."""
    with _lock:
        if store is not None:
            _overrides["store"] = store
        if clock is not None:
            _overrides["clock"] = clock
        if resolver is not None:
            _overrides["resolver"] = resolver
        reset(keep_overrides=True)


def close() -> None:
    """Closes the clients built so far (the NATS connection and MongoDB pool, and the NATS connections
    `reset` set aside, which keep their own thread) and forgets them: for a process about to stop the
    services they talk to, so nothing keeps reconnecting to a server that is gone."""
    global _dependencies
    with _lock:
        built, _dependencies = _dependencies, None
        buses = [*_retired_buses, *([built.event_bus] if built is not None else [])]
        _retired_buses.clear()
        own_store = "store" not in _overrides
    for bus in buses:
        bus.close()
    if built is not None and own_store:
        built.store.client.close()
    reset()


def reset(*, keep_overrides: bool = False) -> None:
    global _dependencies, _mailer, _webhook_sender
    with _lock:
        if _dependencies is not None:  # requests in flight may still use it; `close` closes it
            _retired_buses.append(_dependencies.event_bus)
        _dependencies = None
        _mailer = None
        _webhook_sender = None
        if not keep_overrides:
            _overrides.clear()
        get_settings.cache_clear()
