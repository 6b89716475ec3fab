"""Decisions about an applicant besides their stage: the status, the transitions between statuses as
one table, and the org's rejection reasons. Pure.

An applicant is `active` until a recruiter rejects them or makes the final decision (`accepted`:
hired, admitted, enrolled), or they withdraw. The table below is the only place that says which
decision may follow which status; a decision from any other status is a 409 naming the status the
applicant is in now, which is also what a stale request (two recruiters at once) gets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from plutomi.domain.errors import Conflict
from plutomi.domain.models import OrgItem


class ApplicantStatus(StrEnum):
    ACTIVE = "active"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    ACCEPTED = "accepted"  # the final positive decision: hired, admitted, enrolled


class DecisionAction(StrEnum):
    REJECT = "reject"  # a recruiter, with one of the org's rejection reasons
    REOPEN = "reopen"  # a recruiter takes a decision back
    ACCEPT = "accept"  # a recruiter: the final positive decision
    WITHDRAW = "withdraw"  # the applicant, from their portal


def not_active(status: ApplicantStatus, what: str) -> Conflict:
    """The 409 for doing `what` (move, answer, decide...) with an applicant who is not active."""
    return Conflict("applicant_not_active", f"The applicant is {status.value}, not active: {what}")


def closed_to_the_applicant(status: ApplicantStatus, what: str) -> Conflict:
    """The 409 an applicant gets from their portal once they are no longer active."""
    return Conflict("applicant_not_active", f"Your application is {status.value}, so it takes no more {what}")


def _not_decidable(status: ApplicantStatus) -> Conflict:
    return not_active(status, "reload, and reopen them first if that is what you want")


def _not_reopenable(status: ApplicantStatus) -> Conflict:
    return Conflict(
        "applicant_not_reopenable",
        f"The applicant is {status.value}; only a rejected or accepted applicant can be reopened",
    )


def _not_withdrawable(status: ApplicantStatus) -> Conflict:
    return Conflict(
        "applicant_not_withdrawable",
        f"Your application is {status.value} already, so there is nothing to withdraw",
    )


@dataclass(frozen=True)
class Transition:
    allowed_from: frozenset[ApplicantStatus]
    to: ApplicantStatus
    refusal: Callable[[ApplicantStatus], Conflict]  # the 409 from any other status (given the status)


ACTIVE = frozenset({ApplicantStatus.ACTIVE})

# Reopening takes back a recruiter's decision, a rejection or an acceptance (the offer fell through);
# it never undoes a withdrawal, which was the applicant's own choice. An accepted applicant may still
# withdraw (they decline). Accepted -> rejected goes through reopen, so the history shows both steps.
TRANSITIONS: dict[DecisionAction, Transition] = {
    DecisionAction.REJECT: Transition(ACTIVE, ApplicantStatus.REJECTED, _not_decidable),
    DecisionAction.ACCEPT: Transition(ACTIVE, ApplicantStatus.ACCEPTED, _not_decidable),
    DecisionAction.REOPEN: Transition(
        frozenset({ApplicantStatus.REJECTED, ApplicantStatus.ACCEPTED}),
        ApplicantStatus.ACTIVE,
        _not_reopenable,
    ),
    DecisionAction.WITHDRAW: Transition(
        frozenset({ApplicantStatus.ACTIVE, ApplicantStatus.ACCEPTED}),
        ApplicantStatus.WITHDRAWN,
        _not_withdrawable,
    ),
}


def decide(action: DecisionAction, current: ApplicantStatus) -> ApplicantStatus:
    """The status `action` leads to from `current`, or the table's 409."""
    transition = TRANSITIONS[action]
    if current not in transition.allowed_from:
        raise transition.refusal(current)
    return transition.to


# ---------------------------------------------------------------- rejection reasons

MAX_REJECTION_REASONS = 50
# What every org has without doing anything (created on the first read, see services).
DEFAULT_REJECTION_REASONS = (
    "Not qualified",
    "Position filled",
    "No response",
    "Withdrew interest",
    "Other",
)


class RejectionReason(OrgItem):
    """One of the org's reasons for rejecting an applicant. A decision copies the label, so renaming
    or deleting a reason never changes what the history says."""

    TYPE = "rejection_reason"
    label: str
    version: int = 0


def label_key(org_id: str, label: str) -> str:
    """The unique key of a label in an org: two reasons never read the same, whatever the case."""
    return f"rejection-reason:{org_id}:{label.casefold()}"
