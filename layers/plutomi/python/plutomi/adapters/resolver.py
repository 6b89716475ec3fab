"""Resolves host names to addresses, for the checks in `plutomi.domain.network`.

The system's `getaddrinfo` by default (injectable, so tests resolve names without any network). The
special-use names of RFC 6761 are answered without asking anyone, as that RFC asks of resolver
libraries: `localhost` and the names under it are this machine, and names under `invalid` never
resolve.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any, Protocol

from plutomi.domain.network import IPAddress, is_loopback_name

# socket.getaddrinfo's shape, as called here: (host, port, family, type) -> [(family, type, proto,
# canonical name, socket address)].
GetAddrInfo = Callable[[str, int, int, int], Sequence[tuple[Any, ...]]]
LOOPBACK_ADDRESSES: tuple[IPAddress, ...] = (IPv4Address("127.0.0.1"), IPv6Address("::1"))


class HostResolver(Protocol):
    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address `host` resolves to for a TCP connection to `port`, in the order to try them;
        empty when it does not resolve. Never raises for what the network does."""
        ...


class SystemResolver:
    def __init__(self, getaddrinfo: GetAddrInfo = socket.getaddrinfo) -> None:
        self._getaddrinfo = getaddrinfo

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        name = host.lower().removesuffix(".")
        if is_loopback_name(name):
            return list(LOOPBACK_ADDRESSES)
        if name == "invalid" or name.endswith(".invalid"):
            return []
        try:
            answers = self._getaddrinfo(name, port, socket.AF_UNSPEC, socket.SOCK_STREAM)
        except (OSError, UnicodeError, ValueError):
            return []
        addresses: list[IPAddress] = []
        for family, _type, _proto, _canonical, sockaddr in answers:
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            try:
                address = ip_address(sockaddr[0])
            except (ValueError, IndexError, TypeError):
                continue
            if address not in addresses:
                addresses.append(address)
        return addresses
