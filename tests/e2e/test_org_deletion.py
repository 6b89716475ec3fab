"""Deleting an organisation over HTTP, through the real gateway and bridges: the org is gone for every
reader at once (members, the public listing, applying, portal links, invites, webhooks), its data is
purged in the background by the `org-purge` consumer and the scheduled sweeper, its id is refused
while that runs, and whoever takes the id afterwards finds nothing of the old org."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from plutomi.adapters.clock import FixedClock
from plutomi.domain import events
from plutomi.runtime.aws_events import schedule_event
from plutomi.runtime.functions import invoke
from plutomi.services.org_purge import GRACE
from tests.conftest import unique_email, unique_org_id
from tests.e2e.test_delivery_driver_flow import design
from tests.integration.test_webhooks import Receiver
from tests.support.http import Api, sign_in
from tests.support.purge import EVENT_RECORDS, documents_of, wait_for_background_purge
from tests.support.stack import RunningStack, portal_token


def error_code(response: Any) -> str:
    return str(response.json()["error"]["code"])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    try:
        yield running
    finally:
        running.stop()


def test_a_deleted_org_is_gone_at_once_purged_later_and_its_id_free_for_another(
    stack: RunningStack, clock: FixedClock, receiver: Receiver
) -> None:
    hook_path = receiver.path("doomed")
    owner_email = unique_email("doomed-owner")
    owner = sign_in(stack.base_url, owner_email)
    org_id = unique_org_id("doomed")
    assert owner.post("/orgs", json={"id": org_id, "display_name": "Doomed Vans"}).status_code == 201
    hooked = owner.post(
        f"/orgs/{org_id}/webhooks", json={"url": receiver.url(hook_path), "event_types": ["*"]}
    )
    assert hooked.status_code == 201, hooked.text
    app_id, _, questions = design(owner, org_id)
    applications = [a["id"] for a in owner.get(f"/orgs/{org_id}/applications").json()["applications"]]
    assert len(applications) == 2

    # Two applicants with portal links; one answers and is moved on by the answer rule.
    public = Api(stack.base_url)
    apply_path = f"/public/orgs/{org_id}/applications/{app_id}/applicants"
    bob, carol = unique_email("bob"), unique_email("carol")
    for email, first in ((bob, "Bob"), (carol, "Carol")):
        applied = public.post(apply_path, json={"email": email, "first_name": first, "last_name": "Driver"})
        assert applied.status_code == 202, applied.text
    bob_token, carol_token = portal_token(bob), portal_token(carol)
    answers = {
        questions["Do you hold a driving licence?"]: True,
        questions["Years of driving"]: 4,
        questions["City"]: "Porto",
        questions["Contact email"]: bob,
    }
    answered = public.post(f"/public/applicants/{bob_token}/answers", json={"answers": answers})
    assert answered.status_code == 200 and answered.json()["stage"]["name"] == "Waiting List"
    bob_id = bob_token.split(".")[0]
    assert owner.get(f"/orgs/{org_id}/applicants/{bob_id}").json()["answers"]
    invitee_email = unique_email("invitee")
    invited = owner.post(f"/orgs/{org_id}/invites", json={"email": invitee_email, "role": "admin"})
    assert invited.status_code == 201, invited.text
    invitee = sign_in(stack.base_url, invitee_email)
    assert [i["id"] for i in invitee.get("/invites").json()["invites"]] == [invited.json()["id"]]
    assert [a["id"] for a in public.get(f"/public/orgs/{org_id}/applications").json()["applications"]] == [
        app_id
    ]

    assert receiver.wait_for(hook_path)  # the webhook was live: it got the org's events

    deleted = owner.delete(f"/orgs/{org_id}")
    assert deleted.status_code == 204, deleted.text

    # Gone at once, for everyone, long before the data is purged.
    listed = public.get(f"/public/orgs/{org_id}/applications")
    assert listed.status_code == 200 and listed.json()["applications"] == []
    for application in applications:
        shown = public.get(f"/public/orgs/{org_id}/applications/{application}")
        assert shown.status_code == 404 and error_code(shown) == "application_not_found"
    late = public.post(apply_path, json={"email": unique_email("late"), "first_name": "L", "last_name": "T"})
    assert late.status_code == 404 and error_code(late) == "application_not_found", late.text
    for token in (bob_token, carol_token):
        portal = public.get(f"/public/applicants/{token}")
        assert portal.status_code == 404 and error_code(portal) == "portal_not_found", portal.text
        more = public.post(f"/public/applicants/{token}/answers", json={"answers": answers})
        assert more.status_code == 404 and error_code(more) == "portal_not_found", more.text
    assert owner.get("/orgs").json()["orgs"] == []
    base = f"/orgs/{org_id}"
    for path in (
        base,
        f"{base}/members",
        f"{base}/invites",
        f"{base}/webhooks",
        f"{base}/webhooks/{hooked.json()['id']}/deliveries",
        f"{base}/applications",
        f"{base}/applications/{app_id}",
        f"{base}/applications/{app_id}/stages",
        f"{base}/applications/{app_id}/applicants",
        f"{base}/applicants/{bob_id}",
    ):
        response = owner.get(path)
        assert response.status_code == 404 and error_code(response) == "org_not_found", (
            f"{path}: {response.text}"
        )
    assert owner.delete(base).status_code == 404
    assert invitee.get("/invites").json()["invites"] == []
    accepted = invitee.post(f"/invites/{invited.json()['id']}/accept")
    assert accepted.status_code == 404 and error_code(accepted) == "invite_not_found"

    # The id is refused while the purge has not finished, with a code a client can act on.
    successor = sign_in(stack.base_url, unique_email("successor"))
    refused = successor.post("/orgs", json={"id": org_id, "display_name": "Mine now"})
    assert refused.status_code == 409 and error_code(refused) == "org_being_deleted", refused.text
    assert "try again" in refused.json()["error"]["message"].lower()

    # The consumer purges the data in the background; the tombstone stays for the grace period.
    left = wait_for_background_purge(org_id)
    assert {d["type"] for d in left} <= {"org"} | EVENT_RECORDS, left
    assert f"org_{org_id}" in {d["_id"] for d in left}
    assert successor.post("/orgs", json={"id": org_id, "display_name": "Mine now"}).status_code == 409
    # No webhook for the org's own deletion (nor anything after it).
    assert events.ORG_DELETED not in {r.envelope["type"] for r in receiver.to(hook_path)}

    # After the grace period the scheduled sweeper finishes the purge and frees the id.
    clock.advance(GRACE + timedelta(minutes=1))
    swept = invoke("scheduled.org_purge_sweeper", schedule_event())
    assert swept["finished"] >= 1, swept
    assert documents_of(org_id) == []

    created = successor.post("/orgs", json={"id": org_id, "display_name": "Mine now"})
    assert created.status_code == 201, created.text
    assert successor.get(f"{base}/applications").json()["applications"] == []
    assert successor.get(f"{base}/webhooks").json()["webhooks"] == []
    assert successor.get(f"{base}/invites").json()["invites"] == []
    assert [m["email"] for m in successor.get(f"{base}/members").json()["members"]] != [owner_email]
    assert len(successor.get(f"{base}/members").json()["members"]) == 1
    for path in (f"{base}/applications/{app_id}", f"{base}/applicants/{bob_id}"):
        assert successor.get(path).status_code == 404, path
    assert public.get(f"/public/orgs/{org_id}/applications").json()["applications"] == []
    for token in (bob_token, carol_token):
        assert public.get(f"/public/applicants/{token}").status_code == 404
    assert owner.get("/orgs").json()["orgs"] == []
    assert owner.get(base).status_code == 404
    # The invitee's old invite did not come back with the id.
    assert invitee.get("/invites").json()["invites"] == []
