"""Login codes and sessions through the use cases, against real nx-27017.

A request writes a `totp.requested` event to the outbox; the notifications consumer then issues the
code and emails it. Here the test does what the consumer does (`issue_login_code`), so it holds the
code a person would read. Time only moves when a test advances `clock`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from plutomi.adapters.clock import FixedClock
from plutomi.domain.errors import RateLimited, Unauthenticated
from plutomi.domain.events import Event
from plutomi.domain.identity import CODE_ALPHABET, CODE_LENGTH, hash_secret
from plutomi.services import auth
from plutomi.services.ports import Dependencies
from tests.conftest import unique_email
from tests.support.stack import RunningStack

LOOK_ALIKES = set("0O1IL")


def request_code(deps: Dependencies, email: str) -> str:
    """Asks for a code the way the API does and returns the code the email would carry."""
    auth.request_login_code(deps, email)
    normalized = email.strip().lower()
    # Pending or already published by a running relay: the outbox keeps sent events for a while.
    query = {"type": "outbox_event", "event.type": "totp.requested", "event.data.email": normalized}
    requested = [
        Event.model_validate(d["event"]) for d in deps.store.items.find(query).sort("created_at", -1)
    ]
    assert requested, "the request must leave a totp.requested event in the outbox"
    assert "code" not in requested[0].data, "the code must never travel in an event"
    return auth.issue_login_code(deps, normalized)


def wrong_code(code: str) -> str:
    """A well-formed code that is not `code`."""
    return "".join(CODE_ALPHABET[(CODE_ALPHABET.index(c) + 1) % len(CODE_ALPHABET)] for c in code)


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_in(item)
    elif isinstance(value, bytes):
        yield value.decode("latin-1")


def assert_invalid_code(deps: Dependencies, email: str, code: str) -> None:
    with pytest.raises(Unauthenticated) as caught:
        auth.verify_login_code(deps, email, code)
    assert caught.value.code == "invalid_code"


def test_codes_are_six_characters_without_look_alikes(clock: FixedClock, deps: Dependencies) -> None:
    assert not LOOK_ALIKES & set(CODE_ALPHABET)
    codes = []
    for _ in range(4):
        email = unique_email("alphabet")
        codes += [request_code(deps, email), request_code(deps, email)]
    for code in codes:
        assert len(code) == CODE_LENGTH == 6
        assert set(code) <= set(CODE_ALPHABET), code
    assert len(set(codes)) > 1, "every code was the same"


def test_only_a_hash_of_the_code_is_stored(clock: FixedClock, deps: Dependencies) -> None:
    email = unique_email("hashed")
    code = request_code(deps, email)

    stored = list(deps.store.items.find({"type": "login_code", "email": email}))
    assert len(stored) == 1
    assert stored[0]["code_hash"] == hash_secret(deps.settings.session_secret, "login-code", email, code)

    for document in deps.store.items.find({}):
        for text in strings_in(document):
            assert code not in text and code.lower() not in text, f"the plaintext code is in {document}"


def test_third_code_within_five_minutes_is_rate_limited(clock: FixedClock, deps: Dependencies) -> None:
    email = unique_email("limited")
    request_code(deps, email)
    clock.advance(timedelta(minutes=2))
    request_code(deps, email)
    clock.advance(timedelta(minutes=1))

    with pytest.raises(RateLimited) as caught:
        auth.request_login_code(deps, email)
    assert caught.value.code == "too_many_codes"
    # The first code's slot frees 5 minutes after it was sent: 2 minutes from now.
    assert 120 <= caught.value.retry_after_seconds <= 121
    # Two requests, two events (a running notifications consumer may issue codes for them too).
    requested = {"type": "outbox_event", "event.type": "totp.requested", "event.data.email": email}
    assert deps.store.items.count_documents(requested) == 2

    clock.advance(timedelta(minutes=2))
    request_code(deps, email)  # the first slot is free again
    with pytest.raises(RateLimited) as again:
        auth.request_login_code(deps, email)  # the second slot is held until 7 minutes in
    assert 120 <= again.value.retry_after_seconds <= 121

    clock.advance(timedelta(minutes=5))
    request_code(deps, email)
    request_code(deps, email)


def test_a_code_works_once(clock: FixedClock, deps: Dependencies) -> None:
    email = unique_email("once")
    code = request_code(deps, email)
    result = auth.verify_login_code(deps, email, code)
    assert result.user.email == email
    assert_invalid_code(deps, email, code)


def test_five_wrong_tries_kill_the_code(clock: FixedClock, deps: Dependencies) -> None:
    email = unique_email("guesser")
    code = request_code(deps, email)
    for _ in range(5):
        assert_invalid_code(deps, email, wrong_code(code))
    stored = deps.store.items.find_one({"type": "login_code", "email": email})
    assert stored is not None and stored["attempts"] == 5
    assert_invalid_code(deps, email, code)


def test_four_wrong_tries_leave_the_code_usable(clock: FixedClock, deps: Dependencies) -> None:
    email = unique_email("typo")
    code = request_code(deps, email)
    for _ in range(4):
        assert_invalid_code(deps, email, wrong_code(code))
    assert auth.verify_login_code(deps, email, code).user.email == email


def test_an_expired_code_fails(clock: FixedClock, deps: Dependencies) -> None:
    late, in_time = unique_email("late"), unique_email("in-time")
    late_code, in_time_code = request_code(deps, late), request_code(deps, in_time)

    clock.advance(timedelta(minutes=4, seconds=59))
    assert auth.verify_login_code(deps, in_time, in_time_code).user.email == in_time

    clock.advance(timedelta(seconds=2))  # 5 minutes and 1 second after it was sent
    assert_invalid_code(deps, late, late_code)


def test_codes_ignore_case_and_spaces(clock: FixedClock, deps: Dependencies) -> None:
    email = unique_email("sloppy")
    code = request_code(deps, email)
    typed = f"  {code[:3].lower()} {code[3:].lower()}\n"
    assert auth.verify_login_code(deps, f" {email.upper()} ", typed).user.email == email


def test_first_login_creates_a_verified_user_and_the_next_reuses_it(
    clock: FixedClock, deps: Dependencies
) -> None:
    email = unique_email("newcomer")
    first = auth.verify_login_code(deps, email, request_code(deps, email.upper()))
    assert first.new_user
    assert first.user.email == email
    assert first.user.email_verified_at == clock.now()
    stored = deps.store.users.get_by_email(email)
    assert stored is not None and stored.id == first.user.id
    assert stored.email_verified_at == clock.now()

    clock.advance(timedelta(minutes=1))
    second = auth.verify_login_code(deps, email, request_code(deps, email))
    assert not second.new_user
    assert second.user.id == first.user.id
    assert second.session.id != first.session.id
    assert deps.store.items.count_documents({"type": "user", "email": email}) == 1


def _assert_session_invalid(deps: Dependencies, token: str | None) -> None:
    with pytest.raises(Unauthenticated) as caught:
        auth.authenticate(deps, token)
    assert caught.value.code in {"session_invalid", "not_signed_in"}


def test_session_tokens_authenticate_until_logout(clock: FixedClock, deps: Dependencies) -> None:
    email = unique_email("session")
    result = auth.verify_login_code(deps, email, request_code(deps, email))

    principal = auth.authenticate(deps, result.token)
    assert principal.user.id == result.user.id
    assert principal.session.id == result.session.id

    session_id, _, secret = result.token.partition(".")
    flipped = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for tampered in (
        f"{session_id}.{flipped}",
        f"{session_id}.{secret}x",
        f"{session_id}.",
        session_id,
        f"{session_id[:-1]}{'A' if session_id[-1] != 'A' else 'B'}.{secret}",
        secret,
        "",
    ):
        _assert_session_invalid(deps, tampered)

    auth.logout(deps, principal)
    _assert_session_invalid(deps, result.token)


def test_sessions_expire_after_their_ttl(clock: FixedClock, deps: Dependencies) -> None:
    email = unique_email("ttl")
    result = auth.verify_login_code(deps, email, request_code(deps, email))
    ttl = timedelta(hours=deps.settings.session_ttl_hours)
    assert result.session.expires_at == clock.now() + ttl

    clock.advance(ttl - timedelta(seconds=1))
    assert auth.authenticate(deps, result.token).user.id == result.user.id
    clock.advance(timedelta(seconds=1))
    _assert_session_invalid(deps, result.token)


def test_third_code_over_http_is_429_with_retry_after(stack: RunningStack) -> None:
    email = unique_email("http-limited")
    with httpx.Client(base_url=stack.base_url, timeout=20) as client:
        for _ in range(2):
            assert client.post("/auth/totp", json={"email": email}).status_code == 202
        third = client.post("/auth/totp", json={"email": email.upper()})
    assert third.status_code == 429, third.text
    assert 290 <= int(third.headers["retry-after"]) <= 301  # the first code was sent just now
    error = third.json()["error"]
    assert error["code"] == "too_many_codes"
    assert error["message"]
