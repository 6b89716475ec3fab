"""Unit tests for plutomi.domain.network and the host rules of webhook URLs: which addresses Plutomi
may call on an org's behalf, however the address is spelled (SSRF)."""

from __future__ import annotations

import random
import socket
from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest

from plutomi.domain import network
from plutomi.domain.errors import InvalidInput
from plutomi.domain.network import IPAddress, address_kind, parse_host, refusal, resolved_refusal
from plutomi.domain.webhooks import check_resolved, parse_webhook_url, validate_webhook_url


def fullwidth(text: str) -> str:
    """`text` in fullwidth digits and full stops (U+FF10..., U+FF0E), which IDNA reads as ASCII."""
    return "".join(chr(ord(char) + 0xFEE0) for char in text)


# ---------------------------------------------------------------- every spelling of an address

LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "2130706433",  # decimal
    "0x7f000001",  # hex
    "0x7F000001",
    "017700000001",  # octal
    "0177.0.0.1",
    "0177.0.0.01",
    "127.000.000.001",
    "127.1",  # a.d: the last part fills 24 bits
    "127.0.1",  # a.b.d: 16 bits
    "0x7f.1",
    "0x7f.0.0.1",
    "0x7f.0x0.0x0.0x1",
    "0177.1",
    "127.0x00.0.01",
    "127.00000000000000001",
    "127.255.255.254",
    "127.16777214",
]


@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS)
def test_every_inet_aton_spelling_is_read_as_the_system_reads_it(spelling: str) -> None:
    host = parse_host(spelling.lower())
    expected = IPv4Address(socket.inet_aton(spelling))  # the C library's reading, computed locally
    assert host.address == expected and host.name == str(expected)
    assert address_kind(expected) == network.LOOPBACK


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("127.0.0.1.", "127.0.0.1"),  # a trailing dot is the same host
        ("0x7f.1.", "127.0.0.1"),
        (fullwidth("127.0.0.1"), "127.0.0.1"),  # read as IDNA, as a resolver library would
        ("167772161", "10.0.0.1"),
        ("0x0a000001", "10.0.0.1"),
        ("012.0.0.1", "10.0.0.1"),  # octal 012 is 10
        ("10.1", "10.0.0.1"),
        ("0xa.0.0.1", "10.0.0.1"),
        ("2852039166", "169.254.169.254"),
        ("0xa9fea9fe", "169.254.169.254"),
        ("0251.0376.0251.0376", "169.254.169.254"),
        ("169.254.43518", "169.254.169.254"),
        ("0", "0.0.0.0"),  # noqa: S104 - an address under test, not a bind
        ("0.0", "0.0.0.0"),  # noqa: S104
        ("4294967295", "255.255.255.255"),
        ("1.2.3.4", "1.2.3.4"),
    ],
)
def test_short_octal_hex_and_decimal_forms(spelling: str, address: str) -> None:
    assert parse_host(spelling.lower()).address == IPv4Address(address)


@pytest.mark.parametrize(
    ("written", "address"),
    [
        ("::1", "::1"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("0000::0001", "::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("::ffff:7f00:1", "::ffff:7f00:1"),
        ("::FFFF:10.0.0.1", "::ffff:a00:1"),
    ],
)
def test_ipv6_in_brackets(written: str, address: str) -> None:
    host = parse_host(written.lower(), bracketed=True)
    assert host.address == IPv6Address(address) and host.name == IPv6Address(address).compressed


@pytest.mark.parametrize(
    "host",
    [
        "08.0.0.1",  # 8 is no octal digit
        "0x",  # hex without digits
        "256.0.0.1",
        "1.256.0.1",
        "1.2.3.256",
        "1.2.65536",
        "1.16777216",
        "4294967296",
        "0x100000000",
        "1.2.3.4.5",
        "1.0x100.1",
        "0xg.1",  # the last label 1 is a number; 0xg is not
        "foo.123",  # ends in a number, so it must be an address
        "example.0x10",
        "1_0.0.0.1",
        "+1.0.0.1",
        "a..b",
        ".",
        "-bad.example",
        "bad-.example",
        "exa$mple.com",
        "a" * 64 + ".example",
        "::1",  # an IPv6 address must be in brackets
        "%31%32%37.0.0.1",
    ],
)
def test_hosts_that_are_no_valid_name_or_address_are_refused(host: str) -> None:
    with pytest.raises(ValueError):
        parse_host(host)
    for allow_loopback in (True, False):
        with pytest.raises(InvalidInput) as raised:
            validate_webhook_url(f"https://{host}/hook", allow_loopback=allow_loopback)
        assert raised.value.code == "invalid_webhook_url", host


@pytest.mark.parametrize("host", ["v1.x", "fe80::1%eth0", "fe80::1%25eth0", "10.0.0.1", "example.com"])
def test_brackets_hold_only_an_ipv6_address_without_a_zone(host: str) -> None:
    with pytest.raises(ValueError):
        parse_host(host, bracketed=True)


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("Example.COM", "example.com"),
        ("example.com.", "example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("ⓛocalhost", "localhost"),
        ("_dmarc.example.com", "_dmarc.example.com"),
        ("1.2.3.example.com", "1.2.3.example.com"),
        ("0x7f.example", "0x7f.example"),  # the last label is not a number: a name
    ],
)
def test_names_are_normalised(host: str, name: str) -> None:
    assert parse_host(host) == network.Host(name, None)


# ---------------------------------------------------------------- the address policy

REFUSED: list[tuple[str, str]] = [
    ("0.0.0.0", network.UNSPECIFIED),  # noqa: S104 - an address under test, not a bind
    ("0.1.2.3", network.UNSPECIFIED),
    ("10.0.0.1", network.PRIVATE),
    ("10.255.255.255", network.PRIVATE),
    ("100.64.0.1", network.SHARED),
    ("100.127.255.254", network.SHARED),
    ("127.0.0.1", network.LOOPBACK),
    ("127.255.255.255", network.LOOPBACK),
    ("169.254.0.1", network.LINK_LOCAL),
    ("169.254.169.254", network.CLOUD_METADATA),
    ("169.254.170.2", network.CLOUD_METADATA),
    ("100.100.100.200", network.CLOUD_METADATA),
    ("168.63.129.16", network.CLOUD_METADATA),
    ("172.16.0.1", network.PRIVATE),
    ("172.31.255.255", network.PRIVATE),
    ("192.0.0.1", network.RESERVED),
    ("192.0.0.192", network.CLOUD_METADATA),
    ("192.0.2.1", network.DOCUMENTATION),
    ("192.88.99.1", network.RESERVED),
    ("192.168.0.1", network.PRIVATE),
    ("198.18.0.1", network.BENCHMARKING),
    ("198.19.255.255", network.BENCHMARKING),
    ("198.51.100.7", network.DOCUMENTATION),
    ("203.0.113.9", network.DOCUMENTATION),
    ("224.0.0.1", network.MULTICAST),
    ("239.255.255.250", network.MULTICAST),
    ("240.0.0.1", network.RESERVED),
    ("255.255.255.255", network.RESERVED),
    ("::", network.UNSPECIFIED),
    ("::1", network.LOOPBACK),
    ("::ffff:127.0.0.1", network.LOOPBACK),  # IPv4-mapped
    ("::ffff:10.0.0.1", network.PRIVATE),
    ("::ffff:169.254.169.254", network.CLOUD_METADATA),
    ("::ffff:0:10.0.0.1", network.PRIVATE),  # IPv4-translated
    ("::10.0.0.1", network.PRIVATE),  # IPv4-compatible
    ("::127.0.0.1", network.LOOPBACK),
    ("::0.0.0.2", network.UNSPECIFIED),
    ("64:ff9b::10.0.0.1", network.PRIVATE),  # NAT64
    ("64:ff9b::169.254.169.254", network.CLOUD_METADATA),
    ("64:ff9b::127.0.0.1", network.RESERVED),  # the translator's loopback, never ours
    ("64:ff9b:1::808:808", network.RESERVED),  # local-use NAT64
    ("2002:a00:1::", network.PRIVATE),  # 6to4 of 10.0.0.1
    ("2002:a9fe:a9fe::1", network.CLOUD_METADATA),
    ("2002:7f00:1::", network.RESERVED),
    ("2001::1", network.RESERVED),  # Teredo
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", network.RESERVED),
    ("2001:2::1", network.BENCHMARKING),
    ("2001:10::1", network.RESERVED),  # ORCHID
    ("2001:db8::1", network.DOCUMENTATION),
    ("3fff::1", network.DOCUMENTATION),
    ("fc00::1", network.PRIVATE),  # unique local
    ("fd00::1", network.PRIVATE),
    ("fd00:ec2::254", network.CLOUD_METADATA),
    ("fd20:ce::254", network.CLOUD_METADATA),
    ("fec0::1", network.PRIVATE),  # site-local
    ("fe80::1", network.LINK_LOCAL),
    ("febf::1", network.LINK_LOCAL),
    ("ff02::1", network.MULTICAST),
    ("100::1", network.RESERVED),  # discard-only
    ("1::1", network.RESERVED),  # outside global unicast
    ("4000::1", network.RESERVED),
    ("5f00::1", network.RESERVED),  # SRv6
]

PUBLIC = [
    "1.1.1.1",
    "8.8.8.8",
    "93.184.215.14",
    "100.63.255.255",  # just below the shared range
    "100.128.0.0",  # just above it
    "172.15.255.255",
    "172.32.0.0",
    "192.0.1.1",
    "198.20.0.1",
    "223.255.255.255",
    "168.63.129.17",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # NAT64 of a public address: how IPv6-only networks reach IPv4
    "2002:808:808::1",  # 6to4 of a public address
    "2001:200::1",  # just past 2001::/23
]


@pytest.mark.parametrize(("address", "kind"), REFUSED)
def test_internal_addresses_are_refused(address: str, kind: str) -> None:
    parsed = ip_address(address)
    assert address_kind(parsed) == kind
    assert refusal(parsed, allow_loopback=False) == kind
    assert refusal(parsed, allow_loopback=True) == (None if kind == network.LOOPBACK else kind)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_kind(ip_address(address)) is None
    assert refusal(ip_address(address), allow_loopback=False) is None


def test_a_zone_does_not_hide_an_address() -> None:
    assert address_kind(IPv6Address("fe80::1%eth0")) == network.LINK_LOCAL
    assert address_kind(IPv6Address("::1%lo")) == network.LOOPBACK


def test_what_is_allowed_is_global_by_the_standard_library_too() -> None:
    """A cross-check on random addresses: nothing allowed here is non-global for `ipaddress` (whose
    tables are narrower: it calls multicast and 6to4/NAT64 of private addresses global)."""
    rng = random.Random(20260301)
    samples: list[IPAddress] = [IPv4Address(rng.getrandbits(32)) for _ in range(20_000)]
    samples += [IPv6Address(rng.getrandbits(128)) for _ in range(5_000)]
    samples += [
        IPv6Address((0x2000 + rng.getrandbits(13)) << 112 | rng.getrandbits(112)) for _ in range(5_000)
    ]
    allowed = [address for address in samples if address_kind(address) is None]
    assert len(allowed) > 15_000
    assert [address for address in allowed if not address.is_global] == []


# ---------------------------------------------------------------- URLs: as written, and resolved

# Refused everywhere, development included (only loopback is allowed there).
INTERNAL_URLS = [
    "https://10.0.0.1/x",
    "https://0x0a000001/",
    "https://167772161/",
    "https://012.0.0.1/",
    "https://10.1/",
    "https://169.254.169.254/latest/meta-data/",
    "https://0xa9fea9fe/latest",
    "https://[fd00::1]/",
    "https://[fd00:ec2::254]/",
    "https://[fe80::1]/",
    "https://[::ffff:10.0.0.1]/",
    "https://[::ffff:a9fe:a9fe]/",
    "https://[64:ff9b::a00:1]/",
    "https://[2002:a00:1::]/",
    "https://[2001:db8::1]/hook",
    "https://100.64.0.1/",
    "https://192.168.1.1:8443/hook",
    "https://172.16.0.1/",
    "https://0.0.0.0/",
    "https://0/",
    "https://[::]/",
    "https://224.0.0.1/",
    "https://255.255.255.255/",
    "https://198.18.0.1/",
    "https://192.0.2.1/",
    "https://168.63.129.16/",
    f"https://{fullwidth('10.0.0.1')}/",
]

# Refused outside development (PLUTOMI_ENV local/test), allowed in it.
LOOPBACK_URLS = [
    "https://127.0.0.1/hook",
    "https://127.0.0.1:8443/hook",
    "https://127.0.0.2/",
    "https://2130706433/",
    "https://0x7f000001/",
    "https://0177.0.0.1/",
    "https://127.1/",
    "https://0x7f.1/",
    "https://127.0.0.1./",
    "https://[::1]/",
    "https://[0:0:0:0:0:0:0:1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:7f00:1]/",
    "https://localhost/hook",
    "https://LOCALHOST./hook",
    "https://api.localhost/",
    "https://ⓛocalhost/",
]


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_internal_hosts_are_refused_in_every_environment(url: str) -> None:
    for allow_loopback in (False, True):
        with pytest.raises(InvalidInput) as raised:
            validate_webhook_url(url, allow_loopback=allow_loopback)
        assert raised.value.code == "webhook_url_not_public"
        assert "public" in raised.value.message


@pytest.mark.parametrize("url", LOOPBACK_URLS)
def test_loopback_is_allowed_only_in_development(url: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        validate_webhook_url(url, allow_loopback=False)
    assert raised.value.code == "webhook_url_not_public"
    assert "loopback" in raised.value.message
    assert validate_webhook_url(url, allow_loopback=True) == url


def test_the_message_says_how_the_host_was_read() -> None:
    with pytest.raises(InvalidInput) as raised:
        validate_webhook_url("https://0x0a000001/", allow_loopback=False)
    assert "0x0a000001 (10.0.0.1)" in raised.value.message and "(private)" in raised.value.message


@pytest.mark.parametrize(
    ("url", "host", "port", "request_target", "address"),
    [
        ("https://Hooks.Example.com/in?team=1#frag", "hooks.example.com", 443, "/in?team=1", None),
        ("https://hooks.example.com.:8443", "hooks.example.com", 8443, "/", None),
        ("https://8.8.8.8/x", "8.8.8.8", 443, "/x", "8.8.8.8"),
        ("https://134744072/x", "8.8.8.8", 443, "/x", "8.8.8.8"),
        ("https://[2606:4700:4700::1111]:444/", "2606:4700:4700::1111", 444, "/", "2606:4700:4700::1111"),
    ],
)
def test_the_delivery_target(
    url: str, host: str, port: int, request_target: str, address: str | None
) -> None:
    target = parse_webhook_url(url, allow_loopback=False)
    assert (target.scheme, target.host, target.port, target.request_target) == (
        "https",
        host,
        port,
        request_target,
    )
    assert target.address == (ip_address(address) if address else None)


def test_plain_http_only_to_this_machine_in_development() -> None:
    assert parse_webhook_url("http://127.1:8000/in", allow_loopback=True).host == "127.0.0.1"
    assert parse_webhook_url("http://localhost:8000/in", allow_loopback=True).address is None
    for url in ("http://127.1:8000/in", "http://localhost/", "http://[::1]/"):
        with pytest.raises(InvalidInput) as raised:
            parse_webhook_url(url, allow_loopback=False)
        assert raised.value.code == "invalid_webhook_url"
    for url in ("http://127.0.0.2/", "http://10.0.0.1/", "http://api.localhost/", "http://example.com/"):
        with pytest.raises(InvalidInput) as raised:
            parse_webhook_url(url, allow_loopback=True)
        assert raised.value.code == "invalid_webhook_url"


def addresses(*written: str) -> list[IPAddress]:
    return [ip_address(a) for a in written]


@pytest.mark.parametrize(
    "resolved",
    [
        ["10.0.0.1"],
        ["127.0.0.1"],
        ["169.254.169.254"],
        ["fd00::1"],
        ["::ffff:127.0.0.1"],
        ["93.184.215.14", "10.0.0.1"],  # every answer counts: the next lookup may return any
        ["2606:4700:4700::1111", "fe80::1"],
    ],
)
def test_a_name_is_refused_when_any_address_it_resolves_to_is_internal(resolved: list[str]) -> None:
    with pytest.raises(InvalidInput) as raised:
        check_resolved("hooks.example.com", addresses(*resolved), allow_loopback=False)
    error = raised.value
    assert error.code == "webhook_url_not_public" and "hooks.example.com" in error.message
    # What an internal name resolves to is not told: no address, no kind.
    assert not any(a in error.message for a in resolved)
    assert "(private)" not in error.message and "(loopback)" not in error.message


def test_a_name_resolving_to_loopback_is_allowed_only_in_development() -> None:
    check_resolved("hooks.test", addresses("127.0.0.1", "::1"), allow_loopback=True)
    with pytest.raises(InvalidInput):
        check_resolved("hooks.test", addresses("127.0.0.1", "10.0.0.1"), allow_loopback=True)


def test_public_and_unresolved_names_pass_the_check() -> None:
    check_resolved(
        "hooks.example.com", addresses("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"), False
    )
    check_resolved("not-yet.example.com", [], allow_loopback=False)  # checked again at every delivery
    assert resolved_refusal([], allow_loopback=False) is None
