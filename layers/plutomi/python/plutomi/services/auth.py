"""Login by one-time email codes, and sessions."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from plutomi.domain import events, limits
from plutomi.domain.errors import DuplicateItem, RateLimited, Unauthenticated
from plutomi.domain.identity import (
    CODE_ALPHABET,
    CODE_LENGTH,
    CODE_TTL,
    MAX_CODE_ATTEMPTS,
    MAX_LIVE_CODES,
    hash_secret,
    make_code,
    normalize_code,
    normalize_email,
    secrets_match,
)
from plutomi.domain.models import LoginCode, Session, SlotClaim, User
from plutomi.services import rate_limits
from plutomi.services.ports import Dependencies
from plutomi.services.unit_of_work import transactional

CODE_TTL_MINUTES = int(CODE_TTL.total_seconds() // 60)
INVALID_CODE_MESSAGE = "That code is wrong, used or expired; check the latest email or request a new code"


@dataclass(frozen=True)
class LoginResult:
    user: User
    session: Session
    token: str
    new_user: bool


@dataclass(frozen=True)
class Principal:
    """The signed-in person behind a request."""

    user: User
    session: Session


def request_login_code(deps: Dependencies, raw_email: str, client: str) -> None:
    """Asks for a code for the address, from the client at address `client` (an IP address)."""
    rate_limits.count(deps, limits.CODE_REQUESTS_PER_CLIENT, limits.client_key(client))
    _request_login_code(deps, normalize_email(raw_email))


@transactional
def _request_login_code(deps: Dependencies, email: str) -> None:
    now = deps.clock.now()
    claim = deps.store.login_codes.take_send_slot(email, MAX_LIVE_CODES, now, now + CODE_TTL)
    if isinstance(claim, datetime):
        raise RateLimited(
            "too_many_codes",
            f"At most {MAX_LIVE_CODES} codes per address every {CODE_TTL_MINUTES} minutes; "
            "use the code already sent or wait",
            retry_after_seconds=int((claim - now).total_seconds()) + 1,
        )
    deps.emit(
        events.TOTP_REQUESTED,
        None,
        {
            "email": email,
            "requested_at": now.isoformat(),
            "slot_id": claim.slot_id,
            "slot_claim": claim.token,
        },
    )


def issue_login_code(
    deps: Dependencies, email: str, slot_id: str | None = None, slot_claim: str | None = None
) -> str:
    """Creates a code for the address and returns it, for the email only. Called by the notifications
    consumer, so the code never travels in an event or sits in the outbox; only its hash is stored."""
    now = deps.clock.now()
    code = make_code([secrets.randbelow(len(CODE_ALPHABET)) for _ in range(CODE_LENGTH)])
    deps.store.login_codes.create(
        LoginCode(
            id=deps.clock.new_id("otp"),
            email=email,
            code_hash=hash_secret(deps.settings.session_secret, "login-code", email, code),
            expires_at=now + CODE_TTL,
            slot_id=slot_id,
            slot_claim=slot_claim,
            created_at=now,
            updated_at=now,
        )
    )
    return code


def verify_login_code(deps: Dependencies, raw_email: str, raw_code: str, client: str) -> LoginResult:
    """Signs in with a code, from the client at address `client`. A client that guessed wrong too
    often is refused before its guess is even looked at."""
    client_key = limits.client_key(client)
    rate_limits.refuse_if_exhausted(deps, limits.WRONG_CODES_PER_CLIENT, client_key)
    rate_limits.count(deps, limits.CODE_CHECKS_PER_CLIENT, client_key)
    email = normalize_email(raw_email)
    now = deps.clock.now()
    candidate = hash_secret(deps.settings.session_secret, "login-code", email, normalize_code(raw_code))
    live = [code for code in deps.store.login_codes.live_for(email, now) if code.attempts < MAX_CODE_ATTEMPTS]
    matched: LoginCode | None = None
    for code in live:  # compare against every live code, so timing does not tell which one matched
        if secrets_match(code.code_hash, candidate) and matched is None:
            matched = code
    if matched is None:
        for code in live:
            _count_wrong_guess(deps, code, now)
        rate_limits.allows(deps, limits.WRONG_CODES_PER_CLIENT, client_key)  # the next one gets the 429
        raise Unauthenticated("invalid_code", INVALID_CODE_MESSAGE)
    if not deps.store.login_codes.consume(matched.id, now, MAX_CODE_ATTEMPTS):
        raise Unauthenticated("invalid_code", INVALID_CODE_MESSAGE)

    user, new_user = _user_for_verified_email(deps, email, now)
    session, token = _open_session(deps, user, now)
    return LoginResult(user=user, session=session, token=token, new_user=new_user)


def _count_wrong_guess(deps: Dependencies, code: LoginCode, now: datetime) -> None:
    """A code killed by wrong guesses frees its sending slot, so its owner can ask for a new one at
    once: wrong guesses alone never keep a person from getting a code."""
    counted = deps.store.login_codes.count_failed_attempt(code.id, now, MAX_CODE_ATTEMPTS)
    if counted is not None and counted.attempts >= MAX_CODE_ATTEMPTS and code.slot_id and code.slot_claim:
        deps.store.login_codes.release_send_slot(SlotClaim(code.slot_id, code.slot_claim), code.email, now)


@transactional
def _user_for_verified_email(deps: Dependencies, email: str, now: datetime) -> tuple[User, bool]:
    existing = deps.store.users.get_by_email(email)
    if existing is not None:
        if existing.email_verified_at is None:
            existing = deps.store.users.update(existing.id, now, email_verified_at=now) or existing
        return existing, False
    user = User(
        id=deps.clock.new_id("usr"), email=email, email_verified_at=now, created_at=now, updated_at=now
    )
    try:
        deps.store.users.create(user)
    except DuplicateItem:  # the same person verified twice at once: the other request created them
        raced = deps.store.users.get_by_email(email)
        assert raced is not None
        return raced, False
    deps.emit(events.USER_CREATED, None, {"user_id": user.id, "email": email})
    return user, True


def _open_session(deps: Dependencies, user: User, now: datetime) -> tuple[Session, str]:
    session_id = deps.clock.new_id("ses")
    secret = secrets.token_urlsafe(32)
    session = Session(
        id=session_id,
        user_id=user.id,
        secret_hash=hash_secret(deps.settings.session_secret, "session", session_id, secret),
        expires_at=now + timedelta(hours=deps.settings.session_ttl_hours),
        created_at=now,
        updated_at=now,
    )
    deps.store.sessions.create(session)
    return session, f"{session_id}.{secret}"


def authenticate(deps: Dependencies, token: str | None) -> Principal:
    if not token:
        raise Unauthenticated(
            "not_signed_in", "Sign in first: send the session cookie or an Authorization bearer token"
        )
    session_id, _, secret = token.partition(".")
    session = deps.store.sessions.get(session_id) if session_id.startswith("ses_") and secret else None
    now = deps.clock.now()
    if (
        session is None
        or not secrets_match(
            session.secret_hash, hash_secret(deps.settings.session_secret, "session", session_id, secret)
        )
        or session.revoked_at is not None
        or session.expires_at <= now
    ):
        raise Unauthenticated("session_invalid", "Your session is invalid or has expired; sign in again")
    user = deps.store.users.get(session.user_id)
    if user is None:
        raise Unauthenticated("session_invalid", "Your session is invalid or has expired; sign in again")
    return Principal(user=user, session=session)


def logout(deps: Dependencies, principal: Principal) -> None:
    deps.store.sessions.revoke(principal.session.id, deps.clock.now())
