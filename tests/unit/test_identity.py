"""Unit tests for plutomi.domain.identity: emails, org ids, login codes, secrets and roles."""

from __future__ import annotations

import hashlib
import hmac
import itertools
from datetime import timedelta

import pytest

from plutomi.domain.errors import Forbidden, InvalidInput, PlutomiError
from plutomi.domain.identity import (
    CODE_ALPHABET,
    CODE_LENGTH,
    CODE_TTL,
    MAX_CODE_ATTEMPTS,
    MAX_LIVE_CODES,
    RESERVED_ORG_IDS,
    can_grant,
    hash_secret,
    make_code,
    normalize_code,
    normalize_email,
    require_role,
    secrets_match,
    validate_org_id,
)
from plutomi.domain.models import ROLE_RANK, Role

# ---------------------------------------------------------------------- emails


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("alice@example.com", "alice@example.com"),
        ("  Alice@Example.COM \n", "alice@example.com"),
        ("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"),
        ("a@b.io", "a@b.io"),
        ("x@my-host.example", "x@my-host.example"),
    ],
)
def test_normalize_email_accepts_and_lowercases(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "alice",
        "alice@",
        "@example.com",
        "alice@example",
        "alice@@example.com",
        "al ice@example.com",
        "alice@exa mple.com",
        "alice@-example.com",
        "alice@example-.com",
        "alice@example..com",
        "a" * 65 + "@example.com",
        "a@" + "b" * 64 + ".com",
        # Control, invisible and non-ASCII characters in the local part: SES cannot send to them.
        "al\x00ice@example.com",
        "al\x07ice@example.com",
        "al\u202eice@example.com",
        "al\u200bice@example.com",
        "al\x7fice@example.com",
        "jöhn@example.com",
        "ann\r\nbcc:victim@example.com",
    ],
)
def test_normalize_email_rejects_invalid(raw: str) -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_email(raw)
    assert info.value.code == "invalid_email"
    assert info.value.kind == "invalid"


def test_normalize_email_length_limit() -> None:
    local = "a" * 64
    domain_ok = ".".join(["b" * 60] * 3) + ".comxyz"
    assert len(f"{local}@{domain_ok}") == 254
    assert normalize_email(f"{local}@{domain_ok}") == f"{local}@{domain_ok}"
    domain_long = domain_ok + "w"
    assert len(f"{local}@{domain_long}") == 255
    with pytest.raises(InvalidInput) as info:
        normalize_email(f"{local}@{domain_long}")
    assert info.value.code == "invalid_email"


# ---------------------------------------------------------------------- org ids


@pytest.mark.parametrize("org_id", ["abc", "a-b", "acme", "acme-corp-2", "123", "a" * 40, "a1-b2-c3"])
def test_validate_org_id_accepts(org_id: str) -> None:
    assert validate_org_id(org_id) == org_id


@pytest.mark.parametrize(
    "org_id",
    [
        "",
        "a",
        "ab",
        "-abc",
        "abc-",
        "a--b",
        "acme--corp",
        "Acme",
        "ACME",
        "a" * 41,
        "ac me",
        "acme_corp",
        "acme.corp",
        "acmé",
        " acme",
    ],
)
def test_validate_org_id_rejects_bad_slugs(org_id: str) -> None:
    with pytest.raises(InvalidInput) as info:
        validate_org_id(org_id)
    assert info.value.code == "invalid_org_id"
    assert info.value.kind == "invalid"


@pytest.mark.parametrize("org_id", ["acme\n", "abc\n"])
def test_validate_org_id_rejects_trailing_newline(org_id: str) -> None:
    with pytest.raises(InvalidInput):
        validate_org_id(org_id)


@pytest.mark.parametrize("org_id", sorted(RESERVED_ORG_IDS))
def test_reserved_org_ids_rejected(org_id: str) -> None:
    with pytest.raises(InvalidInput) as info:
        validate_org_id(org_id)
    # Two-letter reserved names ("me") are already invalid slugs; the rest are reserved.
    expected = "invalid_org_id" if len(org_id) < 3 else "reserved_org_id"
    assert info.value.code == expected


@pytest.mark.parametrize("org_id", ["admin", "api", "www", "plutomi", "undefined", "null"])
def test_common_reserved_names_say_reserved(org_id: str) -> None:
    with pytest.raises(InvalidInput) as info:
        validate_org_id(org_id)
    assert info.value.code == "reserved_org_id"
    assert org_id in info.value.message


def test_reserved_names_are_case_sensitive_only_through_slug_rule() -> None:
    # Uppercase variants fail as bad slugs, never slip through as valid ids.
    with pytest.raises(InvalidInput) as info:
        validate_org_id("ADMIN")
    assert info.value.code == "invalid_org_id"
    # Near-misses of reserved names are allowed.
    assert validate_org_id("admins") == "admins"
    assert validate_org_id("my-api") == "my-api"


# ---------------------------------------------------------------------- login codes


def test_code_alphabet_has_no_look_alikes() -> None:
    for char in "0O1IL":
        assert char not in CODE_ALPHABET
    assert len(set(CODE_ALPHABET)) == len(CODE_ALPHABET)
    assert CODE_ALPHABET.upper() == CODE_ALPHABET
    assert CODE_ALPHABET.isalnum()


def test_code_constants() -> None:
    assert CODE_LENGTH == 6
    assert timedelta(minutes=5) == CODE_TTL
    assert MAX_LIVE_CODES >= 1
    assert MAX_CODE_ATTEMPTS >= 1


def test_make_code_maps_indexes_to_alphabet() -> None:
    assert make_code([0] * CODE_LENGTH) == CODE_ALPHABET[0] * CODE_LENGTH
    last = len(CODE_ALPHABET) - 1
    assert make_code([last] * CODE_LENGTH) == CODE_ALPHABET[-1] * CODE_LENGTH
    assert make_code(list(range(len(CODE_ALPHABET)))) == CODE_ALPHABET


def test_every_code_is_clean_and_stable_under_normalization() -> None:
    n = len(CODE_ALPHABET)
    for start in range(n):
        indexes = [(start + k * 7) % n for k in range(CODE_LENGTH)]
        code = make_code(indexes)
        assert len(code) == CODE_LENGTH
        assert not set(code) & set("0O1IL")
        assert normalize_code(code) == code
        assert normalize_code(code.lower()) == code


def test_make_code_rejects_out_of_range_index() -> None:
    with pytest.raises(IndexError):
        make_code([len(CODE_ALPHABET)] + [0] * (CODE_LENGTH - 1))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" ab-c 23d", "ABC23D"),
        ("abc23d", "ABC23D"),
        ("ABC-23D", "ABC23D"),
        ("\tab c\n2-3-d ", "ABC23D"),
        ("", ""),
        (" - ", ""),
    ],
)
def test_normalize_code(raw: str, expected: str) -> None:
    assert normalize_code(raw) == expected


# ---------------------------------------------------------------------- secrets


def test_hash_secret_is_hmac_sha256_hex() -> None:
    digest = hash_secret("pepper", "login-code", "a@b.io", "ABC234")
    expected = hmac.new(b"pepper", b"login-code\x1fa@b.io\x1fABC234", hashlib.sha256).hexdigest()
    assert digest == expected
    assert len(digest) == 64
    assert set(digest) <= set("0123456789abcdef")


def test_hash_secret_is_deterministic() -> None:
    assert hash_secret("p", "x", "y") == hash_secret("p", "x", "y")


def test_hash_secret_differs_per_pepper() -> None:
    assert hash_secret("pepper-1", "session", "id", "secret") != hash_secret(
        "pepper-2", "session", "id", "secret"
    )


def test_hash_secret_respects_part_boundaries() -> None:
    assert hash_secret("p", "ab", "c") != hash_secret("p", "a", "bc")
    assert hash_secret("p", "abc") != hash_secret("p", "ab", "c")
    assert hash_secret("p", "a", "b") != hash_secret("p", "b", "a")


def test_hash_secret_domain_separates_purposes() -> None:
    assert hash_secret("p", "login-code", "x", "y") != hash_secret("p", "session", "x", "y")


def test_secrets_match() -> None:
    digest = hash_secret("p", "a")
    assert secrets_match(digest, hash_secret("p", "a"))
    assert not secrets_match(digest, hash_secret("p", "b"))
    assert not secrets_match(digest, "")


# ---------------------------------------------------------------------- roles

ROLES = list(Role)


def test_role_rank_orders_member_admin_owner() -> None:
    assert set(ROLE_RANK) == set(Role)
    assert ROLE_RANK[Role.MEMBER] < ROLE_RANK[Role.ADMIN] < ROLE_RANK[Role.OWNER]


@pytest.mark.parametrize(("actual", "needed"), list(itertools.product(ROLES, ROLES)))
def test_require_role_matrix(actual: Role, needed: Role) -> None:
    allowed = {
        (Role.OWNER, Role.OWNER),
        (Role.OWNER, Role.ADMIN),
        (Role.OWNER, Role.MEMBER),
        (Role.ADMIN, Role.ADMIN),
        (Role.ADMIN, Role.MEMBER),
        (Role.MEMBER, Role.MEMBER),
    }
    if (actual, needed) in allowed:
        require_role(actual, needed)
    else:
        with pytest.raises(Forbidden) as info:
            require_role(actual, needed)
        assert info.value.code == "insufficient_role"
        assert info.value.kind == "forbidden"
        assert needed.value in info.value.message
        assert isinstance(info.value, PlutomiError)


CAN_GRANT = {
    (Role.OWNER, Role.OWNER): True,
    (Role.OWNER, Role.ADMIN): True,
    (Role.OWNER, Role.MEMBER): True,
    (Role.ADMIN, Role.OWNER): False,
    (Role.ADMIN, Role.ADMIN): True,
    (Role.ADMIN, Role.MEMBER): True,
    (Role.MEMBER, Role.OWNER): False,
    (Role.MEMBER, Role.ADMIN): False,
    (Role.MEMBER, Role.MEMBER): False,
}


def test_can_grant_matrix_is_complete() -> None:
    assert set(CAN_GRANT) == set(itertools.product(ROLES, ROLES))


@pytest.mark.parametrize(("granter", "role"), sorted(CAN_GRANT))
def test_can_grant(granter: Role, role: Role) -> None:
    assert can_grant(granter, role) is CAN_GRANT[(granter, role)]
