"""Test doubles for the network: a resolver that answers from a table (no DNS is ever asked) and a
connection opener that records every attempt and opens only loopback connections."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from ipaddress import ip_address
from typing import Any

import pytest

from plutomi.adapters.webhook_sender import open_connection
from plutomi.domain.network import IPAddress


class FakeResolver:
    """Answers names from `answers`; any other name does not resolve. Records every question."""

    def __init__(self, answers: Mapping[str, Sequence[str]] | None = None) -> None:
        self.answers = {name: [ip_address(a) for a in found] for name, found in (answers or {}).items()}
        self.calls: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        with self._lock:
            self.calls.append((host, port))
        return list(self.answers.get(host, []))

    def asked(self, host: str) -> int:
        with self._lock:
            return sum(1 for name, _ in self.calls if name == host)


class RecordingConnect:
    """A `Connect` for the webhook sender: records (address, port) and opens loopback only, so a
    test that went wrong still sends nothing off this machine."""

    def __init__(self) -> None:
        self.attempts: list[tuple[IPAddress, int]] = []

    def __call__(self, address: IPAddress, port: int, timeout: float) -> socket.socket:
        self.attempts.append((address, port))
        if not address.is_loopback:
            raise ConnectionRefusedError("the test refuses connections off this machine")
        return open_connection(address, port, timeout)


@contextmanager
def only_loopback_connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Makes every socket in this process refuse to connect anywhere but loopback (the stack runs in
    threads here), and yields the list of refused destinations."""
    refused: list[Any] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def allowed(address: Any) -> bool:
        if not isinstance(address, tuple):
            return True  # a Unix socket
        try:
            return ip_address(str(address[0]).split("%")[0]).is_loopback
        except ValueError:
            return False  # a name: the sender never connects by name

    def connect(self: socket.socket, address: Any) -> None:
        if not allowed(address):
            refused.append(address)
            raise ConnectionRefusedError("the test refuses connections off this machine")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not allowed(address):
            refused.append(address)
            raise ConnectionRefusedError("the test refuses connections off this machine")
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    try:
        yield refused
    finally:
        monkeypatch.setattr(socket.socket, "connect", real_connect)
        monkeypatch.setattr(socket.socket, "connect_ex", real_connect_ex)
