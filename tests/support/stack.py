"""A running Plutomi for tests: the gateway under uvicorn and every consumer's bridge, in threads."""

from __future__ import annotations

import asyncio
import re
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from plutomi.config import get_settings
from plutomi.runtime.bridge import Bridge
from plutomi.runtime.embedded import free_port
from plutomi.runtime.functions import preload
from plutomi.runtime.gateway import Gateway, gateway_config
from plutomi.runtime.local_mail import SentEmail, list_sent_emails
from plutomi.topology import all_functions, all_tiers


@dataclass
class RunningStack:
    base_url: str
    server: uvicorn.Server
    server_thread: threading.Thread
    loop: asyncio.AbstractEventLoop
    bridges: list[Bridge]
    bridge_thread: threading.Thread
    futures: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        self.server.should_exit = True
        self.server_thread.join(timeout=15)
        for bridge in self.bridges:
            self.loop.call_soon_threadsafe(bridge.stop)
        for future in self.futures:
            future.result(timeout=15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.bridge_thread.join(timeout=5)


def start_stack() -> RunningStack:
    # Every handler imported here, in the main thread, before the gateway's thread and the bridges
    # import theirs at the same moment (`functions.preload` says why that fails).
    preload(all_functions())
    port = free_port()
    config = gateway_config("127.0.0.1", port, app=Gateway())
    server = uvicorn.Server(config)
    server_thread = threading.Thread(target=server.run, name="test-gateway", daemon=True)
    server_thread.start()

    loop = asyncio.new_event_loop()
    bridge_thread = threading.Thread(target=loop.run_forever, name="test-bridges", daemon=True)
    bridge_thread.start()
    bridges = [
        Bridge(tier, get_settings().nats_url, fetch_timeout=0.2) for tier in all_tiers() if tier.function
    ]
    futures = [asyncio.run_coroutine_threadsafe(bridge.run(), loop) for bridge in bridges]

    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the gateway did not start within 20 s")
        time.sleep(0.05)
    with urllib.request.urlopen(f"{base_url}/health", timeout=10) as response:  # noqa: S310 - loopback
        assert response.status == 200
    return RunningStack(base_url, server, server_thread, loop, bridges, bridge_thread, futures)


def wait_for_email(
    to: str, *, subject_contains: str = "", timeout: float = 15.0, after: int = 0
) -> SentEmail:
    """The newest email to `to` (optionally with a subject), waiting for the bridge to deliver it.

    `after` skips that many matching emails already seen, for a second code to the same address.
    """
    deadline = time.monotonic() + timeout
    while True:
        asked = time.monotonic()
        found = emails_to(to, subject_contains)
        if len(found) > after:
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no email to {to} with {subject_contains!r} within {timeout} s")
        # The local SES answers with every email it holds, which grows through the session: wait at
        # least twice as long as the last answer took, so polling never keeps it busy.
        time.sleep(max(0.1, 2 * (time.monotonic() - asked)))


def portal_token(email: str, after: int = 0) -> str:
    """The portal token in the newest "Your application" email to `email` (after `after` of them)."""
    message = wait_for_email(email, subject_contains="Your application", after=after)
    found = re.search(r"/portal/(apl_[A-Z0-9]+\.[\w-]+)", message.text)
    assert found, message.text
    return found.group(1)


def emails_to(to: str, subject_contains: str = "") -> list[SentEmail]:
    """The emails the local SES accepted for `to` (optionally with a subject), newest first."""
    endpoint = get_settings().aws_endpoint_url
    assert endpoint is not None
    return [e for e in list_sent_emails(endpoint, to=to) if subject_contains in e.subject]
