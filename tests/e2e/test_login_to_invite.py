"""The foundation flow over HTTP: a code by email, a session, an org, an invite accepted."""

from __future__ import annotations

from tests.conftest import unique_email, unique_org_id
from tests.support.http import Api, code_from, sign_in
from tests.support.stack import RunningStack, wait_for_email


def test_sign_in_create_org_invite_and_accept(stack: RunningStack) -> None:
    ada_email, bob_email, org_id = unique_email("ada"), unique_email("bob"), unique_org_id("acme")

    anonymous = Api(stack.base_url)
    assert anonymous.post("/auth/totp", json={"email": ada_email.upper()}).status_code == 202
    email = wait_for_email(ada_email, subject_contains="login code")
    code = code_from(email.text)
    assert code in (email.html or "")
    verified = anonymous.post("/auth/totp/verify", json={"email": ada_email, "code": code.lower()})
    assert verified.status_code == 201, verified.text
    cookie = verified.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie
    assert verified.json()["user"]["email"] == ada_email
    assert verified.json()["user"]["email_verified_at"] is not None
    ada = Api(stack.base_url, token=verified.json()["token"])

    again = anonymous.post("/auth/totp/verify", json={"email": ada_email, "code": code})
    assert again.status_code == 401 and again.json()["error"]["code"] == "invalid_code"

    me = ada.get("/users/me")
    assert me.status_code == 200 and me.json()["email"] == ada_email
    assert (
        ada.patch("/users/me", json={"first_name": "Ada", "last_name": "Lovelace"}).json()["first_name"]
        == "Ada"
    )

    created = ada.post("/orgs", json={"id": org_id, "display_name": "Acme Drivers"})
    assert created.status_code == 201, created.text
    assert created.json() == {**created.json(), "id": org_id, "role": "owner"}
    assert ada.post("/orgs", json={"id": org_id, "display_name": "Again"}).status_code == 409
    assert [o["id"] for o in ada.get("/orgs").json()["orgs"]] == [org_id]

    invite = ada.post(f"/orgs/{org_id}/invites", json={"email": bob_email, "role": "admin"})
    assert invite.status_code == 201, invite.text
    invite_id = invite.json()["id"]
    invitation = wait_for_email(bob_email, subject_contains="invited you")
    assert "Acme Drivers" in invitation.text
    assert [i["id"] for i in ada.get(f"/orgs/{org_id}/invites").json()["invites"]] == [invite_id]

    bob = sign_in(stack.base_url, bob_email)
    assert [i["id"] for i in bob.get("/invites").json()["invites"]] == [invite_id]
    assert bob.get(f"/orgs/{org_id}").status_code == 404
    accepted = bob.post(f"/invites/{invite_id}/accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["role"] == "admin"
    assert bob.get(f"/orgs/{org_id}").json()["role"] == "admin"
    members = {m["email"]: m["role"] for m in ada.get(f"/orgs/{org_id}/members").json()["members"]}
    assert members == {ada_email: "owner", bob_email: "admin"}
    assert bob.post(f"/invites/{invite_id}/accept").status_code in (404, 409)

    assert ada.delete(f"/orgs/{org_id}").status_code == 409  # bob is still a member
    assert ada.post("/auth/logout").status_code == 204
    assert ada.get("/users/me").status_code == 401
