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
from plutomi.domain.identity import CODE_ALPHABET, CODE_LENGTH, MAX_CODE_ATTEMPTS, hash_secret
from plutomi.domain.limits import CODE_CHECKS_PER_CLIENT, CODE_REQUESTS_PER_CLIENT, WRONG_CODES_PER_CLIENT
from plutomi.domain.models import SlotClaim
from plutomi.services import auth
from plutomi.services.ports import Dependencies
from tests.conftest import unique_client, unique_email
from tests.support.stack import RunningStack

LOOK_ALIKES = set("0O1IL")


def request_code(deps: Dependencies, email: str) -> str:
    """Asks for a code the way the API does and returns the code the email would carry."""
    normalized = email.strip().lower()
    # Pending or already published by a running relay: the outbox keeps sent events for a while.
    query = {"type": "outbox_event", "event.type": "totp.requested", "event.data.email": normalized}
    before = {d["_id"] for d in deps.store.items.find(query)}
    auth.request_login_code(deps, email, unique_client())
    requested = [
        Event.model_validate(d["event"]) for d in deps.store.items.find(query) if d["_id"] not in before
    ]
    assert len(requested) == 1, "the request must leave one totp.requested event in the outbox"
    data = requested[0].data
    assert "code" not in data, "the code must never travel in an event"
    return auth.issue_login_code(deps, normalized, data["slot_id"], data["slot_claim"])


def stored_code(deps: Dependencies, email: str, code: str) -> dict[str, Any]:
    """The stored document of `code`, found by its hash: a running notifications consumer may have
    issued another code for the same request, and that one is not the code under test."""
    code_hash = hash_secret(deps.settings.session_secret, "login-code", email, code)
    stored = list(deps.store.items.find({"type": "login_code", "email": email, "code_hash": code_hash}))
    assert len(stored) == 1, f"one stored code must carry the hash of {code!r}, found {len(stored)}"
    return stored[0]


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


def assert_invalid_code(deps: Dependencies, email: str, code: str, client: str | None = None) -> None:
    with pytest.raises(Unauthenticated) as caught:
        auth.verify_login_code(deps, email, code, client or unique_client())
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

    stored_code(deps, email, code)

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
        auth.request_login_code(deps, email, unique_client())
    assert caught.value.code == "too_many_codes"
    # The first code's slot frees 5 minutes after it was sent: 2 minutes from now.
    assert 120 <= caught.value.retry_after_seconds <= 121
    # Two requests, two events (a running notifications consumer may issue codes for them too).
    requested = {"type": "outbox_event", "event.type": "totp.requested", "event.data.email": email}
    assert deps.store.items.count_documents(requested) == 2

    clock.advance(timedelta(minutes=2))
    request_code(deps, email)  # the first slot is free again
    with pytest.raises(RateLimited) as again:
        auth.request_login_code(deps, email, unique_client())  # the second slot is held until 7 minutes in
    assert 120 <= again.value.retry_after_seconds <= 121

    clock.advance(timedelta(minutes=5))
    request_code(deps, email)
    request_code(deps, email)


def test_a_code_works_once(clock: FixedClock, deps: Dependencies) -> None:
    email = unique_email("once")
    code = request_code(deps, email)
    result = auth.verify_login_code(deps, email, code, unique_client())
    assert result.user.email == email
    assert_invalid_code(deps, email, code)


def test_wrong_tries_from_several_clients_kill_the_code(clock: FixedClock, deps: Dependencies) -> None:
    email = unique_email("guesser")
    code = request_code(deps, email)
    for _ in range(MAX_CODE_ATTEMPTS):
        assert_invalid_code(deps, email, wrong_code(code))  # each from another client
    assert stored_code(deps, email, code)["attempts"] == MAX_CODE_ATTEMPTS
    assert_invalid_code(deps, email, code)


def test_wrong_tries_below_the_limit_leave_the_code_usable(clock: FixedClock, deps: Dependencies) -> None:
    email = unique_email("typo")
    code = request_code(deps, email)
    for _ in range(MAX_CODE_ATTEMPTS - 1):
        assert_invalid_code(deps, email, wrong_code(code))
    assert auth.verify_login_code(deps, email, code, unique_client()).user.email == email


def test_one_client_cannot_guess_enough_to_kill_a_code(clock: FixedClock, deps: Dependencies) -> None:
    """A stranger on one address runs out of guesses (429) long before the person's code dies."""
    email = unique_email("target")
    code = request_code(deps, email)
    stranger = unique_client()
    for _ in range(WRONG_CODES_PER_CLIENT.count):
        assert_invalid_code(deps, email, wrong_code(code), stranger)
    with pytest.raises(RateLimited) as caught:
        auth.verify_login_code(deps, email, code, stranger)  # even the right code: no more guesses
    assert caught.value.code == "too_many_wrong_codes"
    assert 0 < caught.value.retry_after_seconds <= WRONG_CODES_PER_CLIENT.window_seconds
    assert stored_code(deps, email, code)["attempts"] == WRONG_CODES_PER_CLIENT.count
    assert auth.verify_login_code(deps, email, code, unique_client()).user.email == email

    clock.advance(WRONG_CODES_PER_CLIENT.window)  # and the stranger may try again later
    assert_invalid_code(deps, email, wrong_code(code), stranger)


def test_a_code_killed_by_wrong_guesses_frees_its_slot(clock: FixedClock, deps: Dependencies) -> None:
    """Two code requests and enough wrong guesses used to keep a person out for five minutes, again
    and again. Now the killed codes free their slots: the person asks for a code and signs in at once."""
    email = unique_email("victim")
    first, second = request_code(deps, email), request_code(deps, email)
    with pytest.raises(RateLimited):
        auth.request_login_code(deps, email, unique_client())  # both slots are taken
    for _ in range(MAX_CODE_ATTEMPTS):
        assert_invalid_code(deps, email, wrong_code(wrong_code(first)))  # counts against both codes
    assert_invalid_code(deps, email, first)
    assert_invalid_code(deps, email, second)

    clock.advance(timedelta(seconds=1))
    fresh = request_code(deps, email)  # no wait
    assert auth.verify_login_code(deps, email, fresh, unique_client()).user.email == email


def test_a_slot_is_freed_only_by_the_claim_that_holds_it(clock: FixedClock, deps: Dependencies) -> None:
    """Releasing with an old claim never frees a slot that a newer request holds."""
    email, now = unique_email("late-death"), clock.now()
    slots = deps.store.login_codes
    old = slots.take_send_slot(email, 1, now, now + timedelta(minutes=5))
    later = now + timedelta(minutes=6)
    new = slots.take_send_slot(email, 1, later, later + timedelta(minutes=5))
    assert isinstance(old, SlotClaim) and isinstance(new, SlotClaim) and old.token != new.token
    slots.release_send_slot(old, email, later)
    assert slots.take_send_slot(email, 1, later, later + timedelta(minutes=5)) == later + timedelta(minutes=5)
    slots.release_send_slot(new, email, later)
    assert isinstance(slots.take_send_slot(email, 1, later, later + timedelta(minutes=5)), SlotClaim)


def test_code_requests_are_limited_per_client(clock: FixedClock, deps: Dependencies) -> None:
    client = unique_client()
    for _ in range(CODE_REQUESTS_PER_CLIENT.count):
        auth.request_login_code(deps, unique_email("many"), client)
    with pytest.raises(RateLimited) as caught:
        auth.request_login_code(deps, unique_email("many"), client)
    assert caught.value.code == "too_many_requests"
    auth.request_login_code(deps, unique_email("other"), unique_client())  # others are not affected
    clock.advance(CODE_REQUESTS_PER_CLIENT.window)
    auth.request_login_code(deps, unique_email("many"), client)


def test_code_checks_are_limited_per_client(clock: FixedClock, deps: Dependencies) -> None:
    client = unique_client()
    for _ in range(CODE_CHECKS_PER_CLIENT.count):
        email = unique_email("checker")
        auth.verify_login_code(deps, email, request_code(deps, email), client)
    email = unique_email("checker")
    code = request_code(deps, email)
    with pytest.raises(RateLimited) as caught:
        auth.verify_login_code(deps, email, code, client)
    assert caught.value.code == "too_many_requests"


def test_an_expired_code_fails(clock: FixedClock, deps: Dependencies) -> None:
    late, in_time = unique_email("late"), unique_email("in-time")
    late_code, in_time_code = request_code(deps, late), request_code(deps, in_time)

    clock.advance(timedelta(minutes=4, seconds=59))
    assert auth.verify_login_code(deps, in_time, in_time_code, unique_client()).user.email == in_time

    clock.advance(timedelta(seconds=2))  # 5 minutes and 1 second after it was sent
    assert_invalid_code(deps, late, late_code)


def test_codes_ignore_case_and_spaces(clock: FixedClock, deps: Dependencies) -> None:
    email = unique_email("sloppy")
    code = request_code(deps, email)
    typed = f"  {code[:3].lower()} {code[3:].lower()}\n"
    assert auth.verify_login_code(deps, f" {email.upper()} ", typed, unique_client()).user.email == email


def test_first_login_creates_a_verified_user_and_the_next_reuses_it(
    clock: FixedClock, deps: Dependencies
) -> None:
    email = unique_email("newcomer")
    first = auth.verify_login_code(deps, email, request_code(deps, email.upper()), unique_client())
    assert first.new_user
    assert first.user.email == email
    assert first.user.email_verified_at == clock.now()
    stored = deps.store.users.get_by_email(email)
    assert stored is not None and stored.id == first.user.id
    assert stored.email_verified_at == clock.now()

    clock.advance(timedelta(minutes=1))
    second = auth.verify_login_code(deps, email, request_code(deps, email), unique_client())
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
    result = auth.verify_login_code(deps, email, request_code(deps, email), unique_client())

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
    result = auth.verify_login_code(deps, email, request_code(deps, email), unique_client())
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
