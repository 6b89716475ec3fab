"""Prefixed, sortable identifiers: `<prefix>_<26 chars>` in the ULID layout.

48 bits of milliseconds then 80 random bits, Crockford base32, so ids sort by creation time.
Pure: the caller supplies the time and the randomness.
"""

from __future__ import annotations

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIXES = frozenset(
    {
        "usr",
        "ses",
        "otp",
        "mem",
        "inv",
        "evt",
        "app",
        "stg",
        "qst",
        "rul",
        "apl",
        "whk",
        "dlv",
        "sup",
        "fbk",
        "prg",
        "tpl",
        "rjr",
        "doc",
    }
)


def format_id(prefix: str, timestamp_ms: int, randomness: bytes) -> str:
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    if len(randomness) != 10:
        raise ValueError("randomness must be 10 bytes")
    value = (timestamp_ms & ((1 << 48) - 1)) << 80 | int.from_bytes(randomness, "big")
    chars = []
    for _ in range(26):
        chars.append(CROCKFORD[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


def timestamp_ms_of(identifier: str) -> int:
    _, _, body = identifier.partition("_")
    value = 0
    for char in body[:10]:
        value = value * 32 + CROCKFORD.index(char)
    return value
