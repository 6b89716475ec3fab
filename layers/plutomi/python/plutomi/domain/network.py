"""Where Plutomi may connect on an org's behalf: public internet addresses only.

Pure: it reads hosts as written and decides on addresses already resolved; resolving a name is I/O
and belongs to the adapters (`adapters/resolver.py`). Webhook URLs go through it when they are saved
and again at every delivery, so a webhook cannot be pointed at the internal network (SSRF): loopback,
private and link-local networks, cloud metadata services and the other special-purpose ranges.

A host is read the way the system's resolver reads it, so every spelling of an address is that
address: `2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1`, `0x7f.1` and `127.0.0.1.` are all
127.0.0.1 (inet_aton's forms: one to four parts, each decimal, 0x-hex or 0-octal, the last one filling
the remaining bytes). A host whose last label is a number but that is no valid address is refused,
never looked up as a name (the WHATWG URL rule). Non-ASCII names are read as IDNA, so fullwidth
digits and look-alike letters become what a resolver would ask for.

IPv6 addresses that carry an IPv4 address are decided on it: IPv4-mapped `::ffff:a.b.c.d`,
-translated `::ffff:0:a.b.c.d`, -compatible `::a.b.c.d`, NAT64 `64:ff9b::/96` and 6to4 `2002::/16`.
Only global unicast (`2000::/3`) is public in IPv6, less the special ranges inside it (Teredo and the
rest of `2001::/23`, documentation, benchmarking).
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import NamedTuple, TypeAlias

IPAddress: TypeAlias = IPv4Address | IPv6Address

# Kinds of non-public address, as they read in a message ("... not a public internet address (private)").
LOOPBACK = "loopback"
PRIVATE = "private"
LINK_LOCAL = "link-local"
MULTICAST = "multicast"
RESERVED = "reserved"
UNSPECIFIED = "unspecified"
SHARED = "shared, carrier-grade NAT"
DOCUMENTATION = "documentation"
BENCHMARKING = "benchmarking"
CLOUD_METADATA = "cloud metadata"

# Instance metadata and platform services. Most sit in ranges refused anyway (link-local, shared,
# unique local); they are named so a message says what they are. Azure's 168.63.129.16 is in public
# space and would otherwise be allowed.
CLOUD_METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    {
        IPv4Address("169.254.169.254"),  # AWS, GCP, Azure, Oracle, DigitalOcean, OpenStack
        IPv4Address("169.254.170.2"),  # AWS ECS task metadata
        IPv4Address("169.254.170.23"),  # AWS EKS pod identity
        IPv4Address("100.100.100.200"),  # Alibaba Cloud
        IPv4Address("168.63.129.16"),  # Azure wireserver
        IPv4Address("192.0.0.192"),  # Oracle Cloud (classic)
        IPv6Address("fd00:ec2::254"),  # AWS IMDS over IPv6
        IPv6Address("fd00:ec2::23"),  # AWS EKS pod identity over IPv6
        IPv6Address("fd20:ce::254"),  # GCP metadata over IPv6
    }
)

_IPV4_RANGES: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(network), kind)
    for network, kind in (
        ("0.0.0.0/8", UNSPECIFIED),  # "this network"
        ("10.0.0.0/8", PRIVATE),
        ("100.64.0.0/10", SHARED),
        ("127.0.0.0/8", LOOPBACK),
        ("169.254.0.0/16", LINK_LOCAL),
        ("172.16.0.0/12", PRIVATE),
        ("192.0.0.0/24", RESERVED),  # IETF protocol assignments
        ("192.0.2.0/24", DOCUMENTATION),
        ("192.88.99.0/24", RESERVED),  # the retired 6to4 relay anycast
        ("192.168.0.0/16", PRIVATE),
        ("198.18.0.0/15", BENCHMARKING),
        ("198.51.100.0/24", DOCUMENTATION),
        ("203.0.113.0/24", DOCUMENTATION),
        ("224.0.0.0/4", MULTICAST),
        ("240.0.0.0/4", RESERVED),  # and 255.255.255.255, broadcast
    )
)

_IPV6_RANGES: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(network), kind)
    for network, kind in (
        ("fc00::/7", PRIVATE),  # unique local
        ("fec0::/10", PRIVATE),  # site-local, deprecated
        ("fe80::/10", LINK_LOCAL),
        ("ff00::/8", MULTICAST),
        ("100::/64", RESERVED),  # discard-only
        ("64:ff9b:1::/48", RESERVED),  # local-use NAT64: translates to whatever the site chose
        ("2001:2::/48", BENCHMARKING),
        ("2001::/23", RESERVED),  # IETF protocol assignments: Teredo, ORCHID, ...
        ("2001:db8::/32", DOCUMENTATION),
        ("3fff::/20", DOCUMENTATION),
    )
)
_GLOBAL_UNICAST = IPv6Network("2000::/3")
_IPV6_UNSPECIFIED = IPv6Address("::")
_IPV6_LOOPBACK = IPv6Address("::1")
# IPv6 forms that name an IPv4 address directly (the last 32 bits): decided as that IPv4 address.
_IPV4_IN_IPV6 = tuple(IPv6Network(n) for n in ("::ffff:0:0/96", "::ffff:0:0:0/96", "::/96"))
_NAT64 = IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = IPv6Network("2002::/16")

_NUMBER = re.compile(r"[0-9]+|0x[0-9a-f]*")
_DIGITS = {10: re.compile(r"[0-9]+"), 8: re.compile(r"[0-7]+"), 16: re.compile(r"[0-9a-f]+")}
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?")
MAX_NAME_LENGTH = 253
MAX_LABEL_LENGTH = 63


class Host(NamedTuple):
    """A URL's host, normalised: a lower-case ASCII name without a trailing dot, or an address."""

    name: str  # the name, or the address in its standard form ("127.0.0.1", "::1")
    address: IPAddress | None  # set when the host is an address, however it was spelled


# ---------------------------------------------------------------- reading hosts


def parse_host(host: str, bracketed: bool = False) -> Host:
    """The host of a URL (as `urlsplit(...).hostname` gives it; `bracketed` when it was written in
    brackets), read as a resolver would read it. Raises ValueError, with a reason, for a host that is
    neither a valid name nor a valid address."""
    if bracketed:
        if "%" in host:
            raise ValueError("an IPv6 zone (%...) is not allowed")
        try:
            ipv6 = IPv6Address(host)
        except ValueError:
            raise ValueError("only an IPv6 address may be written in brackets") from None
        return Host(ipv6.compressed, ipv6)
    if "%" in host or ":" in host or "[" in host or "]" in host:
        raise ValueError("write an IPv6 address in brackets, and no percent-encoding in the host")
    try:
        name = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError("it is not a valid host name") from None
    name = name.removesuffix(".")
    labels = name.split(".")
    if _NUMBER.fullmatch(labels[-1]):
        try:
            ipv4 = parse_ipv4(labels)
        except ValueError:
            raise ValueError("it ends in a number but is not a valid IPv4 address") from None
        return Host(str(ipv4), ipv4)
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ValueError("it is not a valid host name")
    for label in labels:
        if len(label) > MAX_LABEL_LENGTH or not _LABEL.fullmatch(label):
            raise ValueError("it is not a valid host name")
    return Host(name, None)


def parse_ipv4(parts: list[str]) -> IPv4Address:
    """An IPv4 address in any form inet_aton accepts, given as its dot-separated parts (lower case):
    `a.b.c.d`, `a.b.c` (c fills 16 bits), `a.b` (24 bits), `a` (32 bits), each part decimal, `0x` hex
    or `0`-prefixed octal. Raises ValueError for anything else."""
    if not 1 <= len(parts) <= 4:
        raise ValueError("it is not a valid IPv4 address")
    values: list[int] = []
    for part in parts:
        if part.startswith("0x"):
            digits, base = part[2:], 16
        elif len(part) > 1 and part.startswith("0"):
            digits, base = part[1:], 8
        else:
            digits, base = part, 10
        if not _DIGITS[base].fullmatch(digits):
            raise ValueError("it is not a valid IPv4 address")
        values.append(int(digits, base))
    *head, last = values
    if any(value > 255 for value in head) or last >= 256 ** (5 - len(values)):
        raise ValueError("it is not a valid IPv4 address")
    number = last
    for index, value in enumerate(head):
        number += value << (8 * (3 - index))
    return IPv4Address(number)


def is_loopback_name(name: str) -> bool:
    """`localhost` and the names under it, which always mean this machine (RFC 6761)."""
    name = name.lower().removesuffix(".")
    return name == "localhost" or name.endswith(".localhost")


# ---------------------------------------------------------------- deciding on addresses


def address_kind(address: IPAddress) -> str | None:
    """The kind of non-public address this is (`LOOPBACK`, `PRIVATE`, ...), or None when it is a
    public internet address."""
    if isinstance(address, IPv4Address):
        return _ipv4_kind(address)
    return _ipv6_kind(IPv6Address(int(address)))  # without a zone


def _ipv6_kind(address: IPv6Address) -> str | None:
    if address == _IPV6_UNSPECIFIED:
        return UNSPECIFIED
    if address == _IPV6_LOOPBACK:
        return LOOPBACK
    if any(address in network for network in _IPV4_IN_IPV6):
        return _ipv4_kind(IPv4Address(int(address) & 0xFFFFFFFF))
    if address in _NAT64:
        return _translated(IPv4Address(int(address) & 0xFFFFFFFF))
    if address in _SIX_TO_FOUR:
        return _translated(IPv4Address((int(address) >> 80) & 0xFFFFFFFF))
    if address in CLOUD_METADATA_ADDRESSES:
        return CLOUD_METADATA
    for network, kind in _IPV6_RANGES:
        if address in network:
            return kind
    return None if address in _GLOBAL_UNICAST else RESERVED


def _ipv4_kind(address: IPv4Address) -> str | None:
    if address in CLOUD_METADATA_ADDRESSES:
        return CLOUD_METADATA
    for network, kind in _IPV4_RANGES:
        if address in network:
            return kind
    return None


def _translated(inner: IPv4Address) -> str | None:
    """An IPv4 address reached through a translator (NAT64, 6to4): its loopback is the translator's
    own, never this machine's, so no development exemption applies."""
    kind = _ipv4_kind(inner)
    return RESERVED if kind == LOOPBACK else kind


def refusal(address: IPAddress, allow_loopback: bool) -> str | None:
    """Why Plutomi must not connect to `address` (its kind), or None when it may. Loopback is allowed
    only with `allow_loopback` (development and tests, where receivers run on this machine)."""
    kind = address_kind(address)
    return None if kind == LOOPBACK and allow_loopback else kind


def host_refusal(host: Host, allow_loopback: bool) -> str | None:
    """Why a host as written must not be called, when that is known without resolving it: an address
    that is not public, or a loopback name. A name is decided on what it resolves to."""
    if host.address is not None:
        return refusal(host.address, allow_loopback)
    if is_loopback_name(host.name) and not allow_loopback:
        return LOOPBACK
    return None


def resolved_refusal(addresses: list[IPAddress], allow_loopback: bool) -> str | None:
    """Why a name resolving to `addresses` must not be called: every one of them must be allowed,
    since the resolver may answer with any of them next time."""
    for address in addresses:
        kind = refusal(address, allow_loopback)
        if kind is not None:
            return kind
    return None
