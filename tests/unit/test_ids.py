"""Unit tests for plutomi.domain.ids: prefixed, sortable ULID-layout identifiers."""

from __future__ import annotations

import pytest

from plutomi.domain.ids import CROCKFORD, PREFIXES, format_id, timestamp_ms_of

ZERO = bytes(10)
ONES = b"\xff" * 10
MAX_MS = (1 << 48) - 1


def _decode_body(identifier: str) -> int:
    """Reference decoder: the whole 26-character body as one 130-bit integer."""
    _, _, body = identifier.partition("_")
    value = 0
    for char in body:
        value = value * 32 + CROCKFORD.index(char)
    return value


def test_crockford_alphabet_excludes_ambiguous_letters() -> None:
    assert len(CROCKFORD) == 32
    assert len(set(CROCKFORD)) == 32
    for char in "ILOU":
        assert char not in CROCKFORD
    assert list(CROCKFORD) == sorted(CROCKFORD)


@pytest.mark.parametrize("prefix", sorted(PREFIXES))
def test_format_id_shape_for_every_prefix(prefix: str) -> None:
    identifier = format_id(prefix, 1_700_000_000_123, bytes(range(10)))
    head, sep, body = identifier.partition("_")
    assert (head, sep) == (prefix, "_")
    assert len(body) == 26
    assert set(body) <= set(CROCKFORD)


def test_known_vectors() -> None:
    assert format_id("usr", 0, ZERO) == "usr_" + "0" * 26
    # The largest ULID: 48 one-bits of time then 80 one-bits of randomness.
    assert format_id("usr", MAX_MS, ONES) == "usr_7" + "Z" * 25
    assert format_id("evt", 0, b"\x00" * 9 + b"\x01") == "evt_" + "0" * 25 + "1"


def test_layout_is_48_bits_of_time_then_80_bits_of_randomness() -> None:
    randomness = bytes.fromhex("0123456789abcdef0011")
    timestamp = 1_712_345_678_901
    value = _decode_body(format_id("ses", timestamp, randomness))
    assert value >> 80 == timestamp
    assert value & ((1 << 80) - 1) == int.from_bytes(randomness, "big")


def test_same_inputs_same_id_and_randomness_changes_only_the_tail() -> None:
    a = format_id("mem", 1_700_000_000_000, ZERO)
    b = format_id("mem", 1_700_000_000_000, ZERO)
    c = format_id("mem", 1_700_000_000_000, ONES)
    assert a == b
    assert a != c
    # The first 10 characters carry the timestamp and are unaffected by randomness.
    assert a[:14] == c[:14]


def test_timestamp_above_48_bits_is_truncated() -> None:
    assert format_id("otp", 1 << 48, ZERO) == format_id("otp", 0, ZERO)
    assert format_id("otp", (1 << 48) + 5, ZERO) == format_id("otp", 5, ZERO)


def test_ids_sort_by_timestamp_even_against_randomness() -> None:
    timestamps = [0, 1, 2, 31, 32, 1023, 1024, 1_600_000_000_000, 1_700_000_000_000, MAX_MS]
    # Later ids get *smaller* randomness so only the time can explain the order.
    ids = [format_id("inv", ts, ONES if i % 2 == 0 else ZERO) for i, ts in enumerate(timestamps)]
    assert sorted(ids) == ids
    assert sorted(reversed(ids)) == ids


def test_ids_with_same_timestamp_sort_by_randomness() -> None:
    ts = 1_700_000_000_000
    randoms = [i.to_bytes(10, "big") for i in (0, 1, 31, 32, 2**40, 2**79, 2**80 - 1)]
    ids = [format_id("evt", ts, r) for r in randoms]
    assert sorted(ids) == ids


@pytest.mark.parametrize("prefix", ["", "USR", "user", "org", "usr_", "xyz"])
def test_unknown_prefix_rejected(prefix: str) -> None:
    with pytest.raises(ValueError, match="unknown id prefix"):
        format_id(prefix, 0, ZERO)


@pytest.mark.parametrize("size", [0, 9, 11, 16])
def test_randomness_must_be_ten_bytes(size: int) -> None:
    with pytest.raises(ValueError, match="10 bytes"):
        format_id("usr", 0, bytes(size))


def test_timestamp_decoding_is_monotonic() -> None:
    timestamps = [0, 3, 4, 1000, 1_700_000_000_000, 1_700_000_000_004, MAX_MS]
    decoded = [timestamp_ms_of(format_id("usr", ts, ONES)) for ts in timestamps]
    assert decoded == sorted(decoded)


@pytest.mark.parametrize("timestamp", [1, 1000, 1_700_000_000_123, MAX_MS])
def test_timestamp_ms_of_round_trips(timestamp: int) -> None:
    assert timestamp_ms_of(format_id("usr", timestamp, bytes(range(10)))) == timestamp


def test_timestamp_ms_of_zero() -> None:
    assert timestamp_ms_of(format_id("usr", 0, ONES)) == 0


def test_timestamp_ms_of_rejects_non_crockford_characters() -> None:
    with pytest.raises(ValueError):
        timestamp_ms_of("usr_" + "U" * 26)
