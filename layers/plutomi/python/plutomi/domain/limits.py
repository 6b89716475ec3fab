"""How often a client or an address may do what strangers can do without signing in. Pure.

Every limit is a fixed window: at most `count` hits per `window` for one key (a client's address, an
email address, an applicant). The table below is the one place the numbers live; docs/api.md lists
them and `tests/unit/test_limits.py` checks the two agree.

Sign-in is built so that guessing stays infeasible and nobody can lock a person out of their own
mailbox: a code dies after MAX_CODE_ATTEMPTS wrong guesses (and frees its sending slot, so a new code
can be sent at once), and one client may guess wrong fewer times than that per window, so a stranger
on one address can never kill a code at all.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import timedelta

from plutomi.domain.identity import MAX_CODE_ATTEMPTS


@dataclass(frozen=True)
class Limit:
    name: str  # part of the counter's key, and the stable name in docs
    count: int
    window: timedelta
    code: str  # the error code of the 429
    message: str  # what the person can do about it

    @property
    def window_seconds(self) -> int:
        return int(self.window.total_seconds())


CODE_REQUESTS_PER_CLIENT = Limit(
    "code-requests-per-client",
    10,
    timedelta(minutes=15),
    "too_many_requests",
    "Too many login codes asked for from your network; wait and try again",
)
CODE_CHECKS_PER_CLIENT = Limit(
    "code-checks-per-client",
    30,
    timedelta(minutes=15),
    "too_many_requests",
    "Too many sign-in attempts from your network; wait and try again",
)
WRONG_CODES_PER_CLIENT = Limit(
    "wrong-codes-per-client",
    5,
    timedelta(minutes=15),
    "too_many_wrong_codes",
    "Too many wrong codes from your network; wait, then use the newest code in your email",
)
APPLIES_PER_CLIENT = Limit(
    "applies-per-client",
    20,
    timedelta(minutes=10),
    "too_many_requests",
    "Too many applications sent from your network; wait and try again",
)
APPLIES_PER_ADDRESS = Limit(
    "applies-per-address",
    5,
    timedelta(hours=1),
    "too_many_applies",
    "This address applied here several times just now; check your email for the link we sent",
)
# Not refused, only quiet: a second apply within the window sends no second email (the first link
# still works, and the person is told to check their email either way).
PORTAL_EMAILS_PER_APPLICANT = Limit(
    "portal-emails-per-applicant",
    1,
    timedelta(minutes=10),
    "too_many_applies",
    "Your link was sent a few minutes ago; check your email",
)

UPLOADS_PER_APPLICANT = Limit(
    "uploads-per-applicant",
    30,
    timedelta(hours=1),
    "too_many_uploads",
    "You asked for many uploads just now; wait a while, then upload the files you still need",
)

LIMITS: tuple[Limit, ...] = (
    CODE_REQUESTS_PER_CLIENT,
    CODE_CHECKS_PER_CLIENT,
    WRONG_CODES_PER_CLIENT,
    APPLIES_PER_CLIENT,
    APPLIES_PER_ADDRESS,
    PORTAL_EMAILS_PER_APPLICANT,
    UPLOADS_PER_APPLICANT,
)

# One client's wrong guesses in a window never reach a code's own limit: no single stranger can kill
# someone's code.
assert WRONG_CODES_PER_CLIENT.count < MAX_CODE_ATTEMPTS

# Portal links alive at once per applicant: asking again adds a link and keeps the others working,
# so nobody can cut a person's link by typing their address; the oldest beyond this many stop.
MAX_PORTAL_LINKS = 5


def client_key(address: str) -> str:
    """The key a client is counted under: its IPv4 address, or its IPv6 /64 (one subscriber's
    network hands out a whole /64, so counting single IPv6 addresses would count nothing)."""
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return f"unknown:{address.strip()[:64]}"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{parsed}/64", strict=False))
    return str(parsed)
