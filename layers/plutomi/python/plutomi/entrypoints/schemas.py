"""Request and response bodies of the HTTP API. Views never carry hashes, secrets or codes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from plutomi.domain.models import Invite, Membership, Org, Role, User
from plutomi.entrypoints.text_fields import DisplayName, PersonName

if TYPE_CHECKING:  # the orgs service loads the org purge and documents: not every function's
    from plutomi.services.orgs import OrgView

# Text a person types (names, titles, descriptions) is always one of the `text_fields` types.
EmailText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RequestCode(Body):
    email: EmailText


class VerifyCode(Body):
    email: EmailText
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=6, max_length=12)]


class UpdateMe(Body):
    first_name: PersonName | None = None
    last_name: PersonName | None = None


class CreateOrg(Body):
    id: Annotated[str, StringConstraints(min_length=3, max_length=40)]
    display_name: DisplayName


class UpdateOrg(Body):
    display_name: DisplayName


class ChangeRole(Body):
    role: Role


class CreateInvite(Body):
    email: EmailText
    role: Role = Role.MEMBER
    expires_in_days: int = Field(default=3, ge=1, le=365)


class Accepted(BaseModel):
    message: str


class UserOut(BaseModel):
    id: str
    email: str
    email_verified_at: datetime | None
    first_name: str
    last_name: str
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            email_verified_at=user.email_verified_at,
            first_name=user.first_name,
            last_name=user.last_name,
            created_at=user.created_at,
        )


class SessionOut(BaseModel):
    user: UserOut
    token: str = Field(description="Bearer token for API clients; browsers use the session cookie")
    expires_at: datetime


class OrgOut(BaseModel):
    id: str
    display_name: str
    role: Role = Field(description="Your role in this organisation")
    created_at: datetime

    @classmethod
    def of(cls, view: OrgView) -> OrgOut:
        org: Org = view.org
        return cls(id=org.org_id, display_name=org.display_name, role=view.role, created_at=org.created_at)


class OrgList(BaseModel):
    orgs: list[OrgOut]


class MemberOut(BaseModel):
    user_id: str
    email: str
    role: Role
    joined_at: datetime

    @classmethod
    def of(cls, membership: Membership) -> MemberOut:
        return cls(
            user_id=membership.user_id,
            email=membership.email,
            role=membership.role,
            joined_at=membership.created_at,
        )


class MemberList(BaseModel):
    members: list[MemberOut]


class InviteOut(BaseModel):
    id: str
    org_id: str
    org_display_name: str
    email: str
    role: Role
    status: str
    expires_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, invite: Invite) -> InviteOut:
        return cls(
            id=invite.id,
            org_id=invite.org_id,
            org_display_name=invite.org_display_name,
            email=invite.email,
            role=invite.role,
            status=invite.status.value,
            expires_at=invite.expires_at,
            created_at=invite.created_at,
        )


class InviteList(BaseModel):
    invites: list[InviteOut]


class Health(BaseModel):
    status: str
    checks: dict[str, str]


class Unsubscribed(BaseModel):
    """All an unsubscribe link answers: never the address, nor whether it had unsubscribed before."""

    status: Literal["unsubscribed"] = "unsubscribed"
