"""The applicant status transitions: every decision from every status, against a table written out
here by hand (not derived from TRANSITIONS), so a change to the domain's table must be made twice."""

from __future__ import annotations

import pytest

from plutomi.domain.decisions import (
    DEFAULT_REJECTION_REASONS,
    MAX_REJECTION_REASONS,
    TRANSITIONS,
    ApplicantStatus,
    DecisionAction,
    decide,
    label_key,
)
from plutomi.domain.errors import Conflict

A, R, W, X = (
    ApplicantStatus.ACTIVE,
    ApplicantStatus.REJECTED,
    ApplicantStatus.WITHDRAWN,
    ApplicantStatus.ACCEPTED,
)
REJECT, REOPEN, ACCEPT, WITHDRAW = (
    DecisionAction.REJECT,
    DecisionAction.REOPEN,
    DecisionAction.ACCEPT,
    DecisionAction.WITHDRAW,
)

# (action, from) -> the status it leads to, or the code of the 409.
EXPECTED: dict[tuple[DecisionAction, ApplicantStatus], ApplicantStatus | str] = {
    (REJECT, A): R,
    (REJECT, R): "applicant_not_active",
    (REJECT, W): "applicant_not_active",
    (REJECT, X): "applicant_not_active",
    (ACCEPT, A): X,
    (ACCEPT, R): "applicant_not_active",
    (ACCEPT, W): "applicant_not_active",
    (ACCEPT, X): "applicant_not_active",
    (REOPEN, A): "applicant_not_reopenable",
    (REOPEN, R): A,
    (REOPEN, W): "applicant_not_reopenable",  # withdrawing was the applicant's choice
    (REOPEN, X): A,  # the offer fell through
    (WITHDRAW, A): W,
    (WITHDRAW, R): "applicant_not_withdrawable",
    (WITHDRAW, W): "applicant_not_withdrawable",
    (WITHDRAW, X): W,  # they decline
}


def test_the_expectations_cover_every_pair() -> None:
    assert set(EXPECTED) == {(action, status) for action in DecisionAction for status in ApplicantStatus}
    assert set(TRANSITIONS) == set(DecisionAction)


@pytest.mark.parametrize(("action", "current"), sorted(EXPECTED))
def test_every_decision_from_every_status(action: DecisionAction, current: ApplicantStatus) -> None:
    expected = EXPECTED[(action, current)]
    if isinstance(expected, ApplicantStatus):
        assert decide(action, current) is expected
        return
    with pytest.raises(Conflict) as refused:
        decide(action, current)
    assert refused.value.code == expected
    assert current.value in refused.value.message, "the 409 says which status the applicant is in"


def test_default_reasons_fit_the_limit_and_are_distinct_by_their_unique_key() -> None:
    assert 0 < len(DEFAULT_REJECTION_REASONS) < MAX_REJECTION_REASONS
    keys = {label_key("acme", label) for label in DEFAULT_REJECTION_REASONS}
    assert len(keys) == len(DEFAULT_REJECTION_REASONS)
    assert label_key("acme", "Not Qualified") == label_key("acme", "not qualified")
    assert label_key("acme", "x") != label_key("other", "x")
