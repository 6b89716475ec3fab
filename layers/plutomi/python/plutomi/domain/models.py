"""The entities, as pydantic models. The store converts documents to these at its boundary."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


ROLE_RANK = {Role.MEMBER: 0, Role.ADMIN: 1, Role.OWNER: 2}


class InviteStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELED = "canceled"


class Item(BaseModel):
    """Every document: `_id`, `type`, timestamps. `TYPE` names the document kind in the collection."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    TYPE: ClassVar[str] = ""

    id: str = Field(alias="_id")
    created_at: datetime
    updated_at: datetime

    @field_validator("*", mode="after")
    @classmethod
    def _utc(cls, value: Any) -> Any:
        """Every time is UTC-aware. nx-27017 reads a datetime written with `$set` back as a naive
        UTC string (pydantic parses it to a naive datetime), which would not compare with aware ones."""
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class OrgItem(Item):
    """A tenant-owned document: it is only ever read through a query that names its org."""

    org_id: str


class User(Item):
    TYPE = "user"
    email: str
    email_verified_at: datetime | None = None
    first_name: str = ""
    last_name: str = ""


class Session(Item):
    TYPE = "session"
    user_id: str
    secret_hash: str
    expires_at: datetime
    revoked_at: datetime | None = None


class LoginCode(Item):
    TYPE = "login_code"
    email: str
    code_hash: str
    expires_at: datetime
    attempts: int = 0
    used_at: datetime | None = None
    # The sending slot it was sent under (`LoginCodes.take_send_slot`): freed when the code dies.
    slot_id: str | None = None
    slot_claim: str | None = None


class SlotClaim(NamedTuple):
    """A claimed sending slot for login codes: which slot, and the token that proves the claim."""

    slot_id: str
    token: str


class Org(OrgItem):
    """An organisation. Deleting one leaves a tombstone (`deleted_at` set) until its data is purged:
    the store never returns a tombstone to an ordinary read, so the org is gone for everyone at once."""

    TYPE = "org"
    display_name: str
    created_by: str
    deleted_at: datetime | None = None
    deleted_by: str | None = None


class Membership(OrgItem):
    TYPE = "membership"
    user_id: str
    email: str
    role: Role


class Invite(OrgItem):
    TYPE = "invite"
    email: str
    role: Role
    invited_by: str
    org_display_name: str
    expires_at: datetime
    status: InviteStatus = InviteStatus.PENDING
    responded_at: datetime | None = None

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at
