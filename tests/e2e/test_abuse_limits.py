"""What a stranger can do without signing in, over HTTP: lock someone out of signing in, flood an
address with emails, cut someone's portal link. Each is limited per client and per address (429 with
Retry-After), and a person who can read their mailbox always gets in."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import httpx
import pytest

from plutomi.adapters.clock import FixedClock
from plutomi.domain.limits import (
    APPLIES_PER_ADDRESS,
    APPLIES_PER_CLIENT,
    CODE_REQUESTS_PER_CLIENT,
    PORTAL_EMAILS_PER_APPLICANT,
    WRONG_CODES_PER_CLIENT,
)
from tests.conftest import unique_client, unique_email, unique_org_id
from tests.e2e.test_tenant_isolation import build_pipeline
from tests.support.http import Api, code_from, sign_in
from tests.support.stack import RunningStack, emails_to, wait_for_email

WRONG = "ZZZZZZ"  # well formed; the tests below never get this code by chance (1 in 887 million)


def assert_429(response: httpx.Response, code: str) -> int:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    retry_after = int(response.headers["retry-after"])
    assert retry_after >= 1
    return retry_after


def newest_code(email: str, after: int = 0) -> str:
    return code_from(wait_for_email(email, subject_contains="login code", after=after).text)


def test_a_stranger_cannot_keep_a_person_from_signing_in(stack: RunningStack) -> None:
    """The old attack: two code requests and five wrong guesses killed both live codes, and new codes
    were refused for five minutes, again and again."""
    victim_email = unique_email("victim")
    stranger, accomplice, victim = Api(stack.base_url), Api(stack.base_url), Api(stack.base_url)
    started = time.monotonic()
    for _ in range(2):
        assert stranger.post("/auth/totp", json={"email": victim_email}).status_code == 202
    newest = newest_code(victim_email, after=1)  # both codes exist now
    guess = {"email": victim_email, "code": WRONG}
    for _ in range(WRONG_CODES_PER_CLIENT.count):
        assert stranger.post("/auth/totp/verify", json=guess).status_code == 401
    assert_429(stranger.post("/auth/totp/verify", json=guess), "too_many_wrong_codes")
    # One stranger alone cannot kill the codes: the person signs in with the newest one.
    signed_in = victim.post("/auth/totp/verify", json={"email": victim_email, "code": newest})
    assert signed_in.status_code in (200, 201), signed_in.text

    # Two strangers together can kill the other code; its slot is then free at once.
    for _ in range(WRONG_CODES_PER_CLIENT.count):
        assert stranger.post("/auth/totp/verify", json=guess).status_code == 429
        assert accomplice.post("/auth/totp/verify", json=guess).status_code == 401
    sent = len(emails_to(victim_email, "login code"))
    requested = victim.post("/auth/totp", json={"email": victim_email})
    assert requested.status_code == 202, requested.text
    fresh = newest_code(victim_email, after=sent)
    again = victim.post("/auth/totp/verify", json={"email": victim_email, "code": fresh})
    assert again.status_code == 200, again.text
    assert time.monotonic() - started < 60, "the person got in within a minute"


def test_code_requests_per_client_are_limited(stack: RunningStack) -> None:
    client = Api(stack.base_url)
    for _ in range(CODE_REQUESTS_PER_CLIENT.count):
        assert client.post("/auth/totp", json={"email": unique_email("spray")}).status_code == 202
    retry_after = assert_429(
        client.post("/auth/totp", json={"email": unique_email("spray")}), "too_many_requests"
    )
    assert retry_after <= CODE_REQUESTS_PER_CLIENT.window_seconds
    assert Api(stack.base_url).post("/auth/totp", json={"email": unique_email("other")}).status_code == 202


def test_only_the_trusted_proxy_entry_names_the_client(stack: RunningStack) -> None:
    """Behind our proxy (the test stack trusts one hop of X-Forwarded-For), whatever a client puts in
    front of the header is its own claim: changing it does not make it another client."""
    real = unique_client()
    for number in range(CODE_REQUESTS_PER_CLIENT.count):
        claimed = {"x-forwarded-for": f"10.9.{number}.1, {real}"}
        sent = Api(stack.base_url).post("/auth/totp", json={"email": unique_email("hop")}, headers=claimed)
        assert sent.status_code == 202
    spoofed = {"x-forwarded-for": f"{unique_client()}, {real}"}
    assert_429(
        Api(stack.base_url).post("/auth/totp", json={"email": unique_email("hop")}, headers=spoofed),
        "too_many_requests",
    )


@pytest.fixture(scope="module")
def open_application(stack: RunningStack) -> tuple[str, str]:
    owner = sign_in(stack.base_url, unique_email("owner"))
    org = unique_org_id("limits")
    assert owner.post("/orgs", json={"id": org, "display_name": "Limits"}).status_code == 201
    return org, build_pipeline(owner, org, stack)["application_id"]


def portal_tokens(email: str) -> list[str]:
    found = []
    for message in emails_to(email, "Your application"):
        token = re.search(r"/portal/(apl_[A-Z0-9]+\.[\w-]+)", message.text)
        assert token, message.text
        found.append(token.group(1))
    return found


def test_twenty_applies_send_one_email_then_429(
    stack: RunningStack, open_application: tuple[str, str]
) -> None:
    org, application = open_application
    path = f"/public/orgs/{org}/applications/{application}/applicants"
    target = unique_email("flooded")
    answers = []
    for _ in range(20):
        applied = Api(stack.base_url).post(path, json={"email": target, "first_name": "T", "last_name": "X"})
        answers.append(applied.status_code)
    assert answers[: APPLIES_PER_ADDRESS.count] == [202] * APPLIES_PER_ADDRESS.count
    assert set(answers[APPLIES_PER_ADDRESS.count :]) == {429}
    refused = Api(stack.base_url).post(
        path, json={"email": target.upper(), "first_name": "T", "last_name": "X"}
    )
    assert_429(refused, "too_many_applies")
    wait_for_email(target, subject_contains="Your application")
    time.sleep(1.5)  # what a second email would need to arrive
    assert len(emails_to(target, "Your application")) == 1


def test_applies_per_client_are_limited(stack: RunningStack, open_application: tuple[str, str]) -> None:
    org, application = open_application
    path = f"/public/orgs/{org}/applications/{application}/applicants"
    client = Api(stack.base_url)
    for _ in range(APPLIES_PER_CLIENT.count):
        applied = client.post(path, json={"email": unique_email("bulk"), "first_name": "B", "last_name": "K"})
        assert applied.status_code == 202, applied.text
    assert_429(
        client.post(path, json={"email": unique_email("bulk"), "first_name": "B", "last_name": "K"}),
        "too_many_requests",
    )


def test_applying_with_someone_elses_address_keeps_their_link(
    stack: RunningStack, clock: FixedClock, open_application: tuple[str, str]
) -> None:
    org, application = open_application
    path = f"/public/orgs/{org}/applications/{application}/applicants"
    person = unique_email("sam")
    assert (
        Api(stack.base_url)
        .post(path, json={"email": person, "first_name": "Sam", "last_name": "D"})
        .status_code
        == 202
    )
    wait_for_email(person, subject_contains="Your application")
    [link] = portal_tokens(person)

    stranger = Api(stack.base_url)
    assert stranger.post(path, json={"email": person, "first_name": "X", "last_name": "Y"}).status_code == 202
    clock.advance(PORTAL_EMAILS_PER_APPLICANT.window + timedelta(seconds=1))
    assert stranger.post(path, json={"email": person, "first_name": "X", "last_name": "Y"}).status_code == 202
    wait_for_email(person, subject_contains="Your application", after=1)
    links = portal_tokens(person)
    assert len(links) == 2 and link in links
    for live in links:  # the first link still works, and so does the one sent for the lost link
        assert stranger.get(f"/public/applicants/{live}").status_code == 200
