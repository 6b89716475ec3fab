"""Decision-email templates over HTTP: read, write, delete and preview; members read and preview,
admins change; another org's applicant cannot be previewed. (Every route's 404 for outsiders is
`test_tenant_isolation.py`'s, from the route table.)"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.conftest import unique_email, unique_org_id
from tests.e2e.test_tenant_isolation import build_pipeline
from tests.support.http import Api, sign_in
from tests.support.observed import error_code
from tests.support.stack import RunningStack


def stage_template(org_id: str, application_id: str, stage_id: str) -> str:
    return f"/orgs/{org_id}/applications/{application_id}/stages/{stage_id}/email-template"


@dataclass
class Org:
    admin: Api
    member: Api
    org_id: str
    ids: dict[str, str]

    @property
    def rejected(self) -> str:
        return f"/orgs/{self.org_id}/email-templates/rejected"

    @property
    def stage(self) -> str:
        return stage_template(self.org_id, self.ids["application_id"], self.ids["stage_id"])


def an_org(stack: RunningStack, label: str) -> Org:
    admin = sign_in(stack.base_url, unique_email(f"{label}-admin"))
    org_id = unique_org_id(label)
    assert admin.post("/orgs", json={"id": org_id, "display_name": "Acme <Deliveries>"}).status_code == 201
    member_email = unique_email(f"{label}-member")
    invited = admin.post(f"/orgs/{org_id}/invites", json={"email": member_email, "role": "member"})
    assert invited.status_code == 201, invited.text
    member = sign_in(stack.base_url, member_email)
    assert member.post(f"/invites/{invited.json()['id']}/accept").status_code == 200
    return Org(admin, member, org_id, build_pipeline(admin, org_id, stack))


@pytest.fixture(scope="module")
def org(stack: RunningStack) -> Org:
    return an_org(stack, "tpl")


def test_defaults_until_the_org_writes_its_own(org: Org) -> None:
    listed = org.member.get(f"/orgs/{org.org_id}/email-templates")
    assert listed.status_code == 200, listed.text
    [rejected] = listed.json()["templates"]
    assert rejected["kind"] == "rejected" and rejected["is_default"] and rejected["sends"]
    names = {p["name"]: p["in_subject"] for p in listed.json()["placeholders"]}
    assert names == {
        "first_name": True,
        "application": True,
        "org": True,
        "stage": True,
        "portal_link": False,
    }

    stage = org.member.get(org.stage)
    assert stage.status_code == 200, stage.text
    assert stage.json()["is_default"] and not stage.json()["sends"]  # no entry email until written
    assert "{{portal_link}}" in stage.json()["body"]


def test_admins_write_read_and_delete_templates(org: Org) -> None:
    written = org.admin.put(
        org.rejected,
        json={"subject": "About {{application}}", "body": "Dear {{first_name}},\n\nNo.\n{{org}}"},
    )
    assert written.status_code == 200, written.text
    assert written.json()["is_default"] is False and written.json()["updated_at"]
    assert org.member.get(org.rejected).json()["body"] == "Dear {{first_name}},\n\nNo.\n{{org}}"

    stage = org.admin.put(org.stage, json={"subject": "{{stage}}", "body": "Now {{stage}}: {{portal_link}}"})
    assert stage.status_code == 200, stage.text
    assert stage.json()["sends"] and stage.json()["stage_id"] == org.ids["stage_id"]
    again = org.admin.put(org.stage, json={"subject": "{{stage}}!", "body": "Now {{stage}}"})
    assert again.status_code == 200 and again.json()["subject"] == "{{stage}}!"
    listed = org.member.get(f"/orgs/{org.org_id}/email-templates").json()["templates"]
    assert [(t["kind"], t["is_default"]) for t in listed] == [("rejected", False), ("stage_entered", False)]

    assert org.admin.delete(org.stage).status_code == 204
    assert org.admin.delete(org.stage).status_code == 204  # already back to the default
    assert org.member.get(org.stage).json()["sends"] is False
    assert org.admin.delete(org.rejected).status_code == 204
    assert org.member.get(org.rejected).json()["is_default"] is True


@pytest.mark.parametrize(
    ("subject", "body", "code"),
    [
        ("Hi", "{{__class__}}", "unknown_placeholder"),
        ("Hi {{portal_link}}", "x", "unknown_placeholder"),
        ("Hi", "{{ first_name.upper }}", "invalid_template"),
        ("Hi", "{% for x in y %}{{x}}{% endfor %}", "invalid_template"),
        ("{{{{org}}}}", "x", "invalid_template"),
        ("Hi", "{{first_name", "invalid_template"),
    ],
)
def test_a_template_that_would_not_render_is_refused(org: Org, subject: str, body: str, code: str) -> None:
    for path in (org.rejected, org.stage, f"{org.rejected}/preview", f"{org.stage}/preview"):
        method = org.admin.put if not path.endswith("/preview") else org.admin.post
        refused = method(path, json={"subject": subject, "body": body})
        assert refused.status_code == 400, f"{path}: {refused.text}"
        assert error_code(refused) == code
        assert "{{first_name}}" in refused.json()["error"]["message"]  # names the known placeholders
    assert org.member.get(org.rejected).json()["is_default"] is True


def test_text_rules_apply_to_templates(org: Org) -> None:
    refused = org.admin.put(org.rejected, json={"subject": "Two\nlines", "body": "x"})
    assert refused.status_code == 422 and error_code(refused) == "validation_failed"
    assert refused.json()["error"]["details"][0]["type"] == "text_line_break"
    refused = org.admin.put(org.rejected, json={"subject": "x", "body": "a\u202eb"})
    assert refused.status_code == 422 and refused.json()["error"]["details"][0]["type"] == "text_bidi_control"


def test_members_read_and_preview_but_cannot_change(org: Org) -> None:
    body = {"subject": "Mine", "body": "Mine"}
    for response in (
        org.member.put(org.rejected, json=body),
        org.member.delete(org.rejected),
        org.member.put(org.stage, json=body),
        org.member.delete(org.stage),
    ):
        assert response.status_code == 403, response.text
        assert error_code(response) == "insufficient_role"
    preview = org.member.post(f"{org.rejected}/preview", json={})
    assert preview.status_code == 200, preview.text


def test_a_preview_uses_sample_values_or_a_real_applicant_and_never_a_real_link(org: Org) -> None:
    sample = org.member.post(
        f"{org.stage}/preview",
        json={"subject": "{{stage}} at {{org}}", "body": "Hi {{first_name}} {{portal_link}}"},
    )
    assert sample.status_code == 200, sample.text
    shown = sample.json()
    assert shown["subject"] == "Screen at Acme <Deliveries>"
    assert shown["text"].startswith("Hi Alex http") and "preview-only-not-a-real-link" in shown["text"]
    assert "Acme &lt;Deliveries&gt;" in shown["html"] and "<Deliveries>" not in shown["html"]

    real = org.member.post(f"{org.rejected}/preview", json={"applicant_id": org.ids["applicant_id"]})
    assert real.status_code == 200, real.text
    assert real.json()["text"].startswith("Hi Ann,") and "Drivers" in real.json()["text"]
    applicant = org.admin.get(f"/orgs/{org.org_id}/applicants/{org.ids['applicant_id']}").json()
    assert "/public/applicants/" not in real.json()["text"]  # the default rejection has no link
    assert org.admin.get(f"/orgs/{org.org_id}/applicants/{org.ids['applicant_id']}").json() == applicant


def test_another_orgs_applicant_or_stage_cannot_be_previewed(org: Org, stack: RunningStack) -> None:
    other = an_org(stack, "tpl-other")
    peek = other.admin.post(f"{other.rejected}/preview", json={"applicant_id": org.ids["applicant_id"]})
    assert peek.status_code == 404 and error_code(peek) == "applicant_not_found", peek.text
    foreign_stage = stage_template(other.org_id, other.ids["application_id"], org.ids["stage_id"])
    for response in (
        other.admin.get(foreign_stage),
        other.admin.put(foreign_stage, json={"subject": "x", "body": "y"}),
    ):
        assert response.status_code == 404 and error_code(response) == "stage_not_found", response.text
    stage_of_foreign = other.admin.get(
        stage_template(other.org_id, org.ids["application_id"], org.ids["stage_id"])
    )
    assert stage_of_foreign.status_code == 404 and error_code(stage_of_foreign) == "application_not_found"
