"""Rules for emails, organisation ids, roles and login codes. Pure functions."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import timedelta

from plutomi.domain.errors import Forbidden, InvalidInput
from plutomi.domain.models import ROLE_RANK, Role

# The local part is printable ASCII: no spaces, control or invisible characters, and nothing SES
# cannot send to (it does not support SMTPUTF8, so a non-ASCII local part would fail every send).
EMAIL_PATTERN = re.compile(
    r"^[!-?A-~]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$"
)
ORG_ID_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$")
RESERVED_ORG_IDS = frozenset(
    {
        "admin",
        "api",
        "app",
        "auth",
        "billing",
        "docs",
        "help",
        "invites",
        "login",
        "logout",
        "me",
        "new",
        "null",
        "openapi",
        "orgs",
        "plutomi",
        "public",
        "root",
        "settings",
        "signup",
        "status",
        "support",
        "system",
        "undefined",
        "unsubscribe",
        "users",
        "www",
    }
)

# Login codes: no look-alikes (0/O, 1/I/L), 6 characters, 5 minutes.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6
CODE_TTL = timedelta(minutes=5)
MAX_LIVE_CODES = 2
# A code dies after this many wrong guesses (and frees its sending slot). 10 guesses at 31^6 codes
# stays infeasible; domain/limits.py keeps one client's wrong guesses per window below it.
MAX_CODE_ATTEMPTS = 10


def normalize_email(raw: str) -> str:
    email = raw.strip().lower()
    if len(email) > 254 or not EMAIL_PATTERN.fullmatch(email):
        raise InvalidInput("invalid_email", f"{raw!r} is not an email address")
    return email


def validate_org_id(org_id: str) -> str:
    if not ORG_ID_PATTERN.fullmatch(org_id) or "--" in org_id:
        raise InvalidInput(
            "invalid_org_id",
            "An organisation id is 3-40 lowercase letters, digits and single hyphens, "
            "starting and ending with a letter or digit",
        )
    if org_id in RESERVED_ORG_IDS:
        raise InvalidInput("reserved_org_id", f"{org_id!r} is reserved; choose another id")
    return org_id


def make_code(random_indexes: list[int]) -> str:
    """Turns CODE_LENGTH random numbers in [0, len(CODE_ALPHABET)) into a code."""
    return "".join(CODE_ALPHABET[i] for i in random_indexes)


def normalize_code(raw: str) -> str:
    return re.sub(r"[\s-]", "", raw).upper()


def hash_secret(pepper: str, *parts: str) -> str:
    message = "\x1f".join(parts).encode()
    return hmac.new(pepper.encode(), message, hashlib.sha256).hexdigest()


def secrets_match(expected_hash: str, candidate_hash: str) -> bool:
    return hmac.compare_digest(expected_hash, candidate_hash)


def require_role(actual: Role, needed: Role) -> None:
    if ROLE_RANK[actual] < ROLE_RANK[needed]:
        raise Forbidden("insufficient_role", f"This needs the {needed.value} role; you are {actual.value}")


def can_grant(granter: Role, role: Role) -> bool:
    """Admins grant member and admin; only owners grant owner."""
    return ROLE_RANK[granter] >= ROLE_RANK[Role.ADMIN] and ROLE_RANK[role] <= ROLE_RANK[granter]
