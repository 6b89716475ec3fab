"""Email feedback: what SES reports about the emails Plutomi sent, the suppression list it feeds, the
check before every send, unsubscribing, and the sending-health figures of `plutomi ses stats`.

Every write here is an insert that a unique key deduplicates, in an order that makes a retry safe: a
notification handled twice, or retried after a crash half-way, ends in the same state as one handled
once. No transaction: a duplicate-key error would abort it, and nothing here needs one.

Logs never carry an address: they name its domain and a keyed pseudonym (`address_ref`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from plutomi.domain.email_feedback import (
    SOFT_BOUNCE_KINDS,
    SUPPRESSING_KINDS,
    TRANSIENT_BOUNCE_LIMIT,
    FeedbackRecord,
    Notification,
    SendingHealth,
    Suppression,
    SuppressionReason,
    SuppressionScope,
    address_domain,
    address_ref,
    is_unsubscribe_token,
    soft_bounces_suppress,
    transient_window,
    unsubscribe_token,
)
from plutomi.domain.emails import OutgoingEmail, with_unsubscribe
from plutomi.domain.errors import InvalidInput, NotFound
from plutomi.domain.identity import normalize_email
from plutomi.domain.models import Role
from plutomi.observability import logger
from plutomi.services.auth import Principal
from plutomi.services.orgs import require_membership
from plutomi.services.ports import Dependencies, Mailer

UNSUBSCRIBE_NOT_FOUND = "This unsubscribe link is not valid"
STATS_DAYS = 7


def handle_notification(deps: Dependencies, notification: Notification) -> dict[str, Any]:
    """Records each recipient of an SES notification and suppresses those the rules say to."""
    now = deps.clock.now()
    recorded = duplicates = suppressed = 0
    for address in notification.recipients:
        record = FeedbackRecord(
            id=deps.clock.new_id("fbk"),
            email=address,
            feedback_kind=notification.kind,
            feedback_id=notification.feedback_id,
            message_id=notification.message_id,
            detail=notification.detail,
            occurred_at=notification.occurred_at,
            created_at=now,
            updated_at=now,
        )
        # Recorded before the rule runs: the soft-bounce count includes this bounce.
        if deps.store.email_feedback.record(record):
            recorded += 1
        else:
            duplicates += 1
        reason = _suppression_reason(deps, notification, address)
        if reason is not None and _suppress(deps, address, reason, notification, now):
            suppressed += 1
    return {
        "kind": notification.kind.value,
        "feedback_id": notification.feedback_id,
        "recipients": len(notification.recipients),
        "recorded": recorded,
        "duplicates": duplicates,
        "suppressed": suppressed,
    }


def _suppression_reason(
    deps: Dependencies, notification: Notification, address: str
) -> SuppressionReason | None:
    if notification.kind in SUPPRESSING_KINDS:
        return SUPPRESSING_KINDS[notification.kind]
    if notification.kind in SOFT_BOUNCE_KINDS:
        after, until = transient_window(notification.occurred_at)
        soft = deps.store.email_feedback.count_for_address(
            address, SOFT_BOUNCE_KINDS, after, until, up_to=TRANSIENT_BOUNCE_LIMIT
        )
        if soft_bounces_suppress(soft):
            return SuppressionReason.REPEATED_TRANSIENT_BOUNCES
    return None


def _suppress(
    deps: Dependencies, address: str, reason: SuppressionReason, notification: Notification, now: datetime
) -> bool:
    added = deps.store.suppressions.add(
        Suppression(
            id=deps.clock.new_id("sup"),
            email=address,
            scope=SuppressionScope.ALL,
            reason=reason,
            feedback_id=notification.feedback_id,
            detail=notification.detail,
            created_at=now,
            updated_at=now,
        )
    )
    if added:
        logger.info(
            "address suppressed",
            extra={**_who(deps, address), "reason": reason.value, "feedback_id": notification.feedback_id},
        )
    return added


def send(deps: Dependencies, mailer: Mailer, email: OutgoingEmail) -> str | None:
    """Sends the email with its unsubscribe link, unless the address is suppressed for this kind of email;
    returns the provider's message id, or None when the send was skipped (and logged)."""
    address = email.to.strip().lower()
    if not is_deliverable(address):
        # Stored before addresses were checked as they are now: no send could succeed, and a failed
        # one would only be retried into the dead-letter queue.
        logger.warning("email skipped: not a deliverable address", extra={"essential": email.essential})
        return None
    blocked = deps.store.suppressions.blocking(address, email.essential)
    if blocked is not None:
        logger.info(
            "email skipped: the address is suppressed",
            extra={
                **_who(deps, address),
                "essential": email.essential,
                "suppression_reason": blocked.reason.value,
                "suppression_scope": blocked.scope.value,
            },
        )
        return None
    token = unsubscribe_token(deps.settings.session_secret, address)
    deps.store.unsubscribe_links.register(token, address, deps.clock.now())
    return mailer.send(with_unsubscribe(replace(email, to=address), unsubscribe_url(deps, token)))


def is_deliverable(address: str) -> bool:
    try:
        return normalize_email(address) == address
    except InvalidInput:
        return False


def unsubscribe_url(deps: Dependencies, token: str) -> str:
    return f"{deps.settings.base_url}/unsubscribe/{token}"


def unsubscribe(deps: Dependencies, token: str) -> None:
    """Stops email the person did not ask for to the address the link was sent to. Idempotent. The
    answer is the same whether or not they had unsubscribed before, and never names the address."""
    email = deps.store.unsubscribe_links.email_for(token) if is_unsubscribe_token(token) else None
    if email is None:
        raise NotFound("unsubscribe_link_not_found", UNSUBSCRIBE_NOT_FOUND)
    now = deps.clock.now()
    added = deps.store.suppressions.add(
        Suppression(
            id=deps.clock.new_id("sup"),
            email=email,
            scope=SuppressionScope.NON_ESSENTIAL,
            reason=SuppressionReason.UNSUBSCRIBED,
            created_at=now,
            updated_at=now,
        )
    )
    if added:
        logger.info("address unsubscribed", extra=_who(deps, email))


def sending_health(deps: Dependencies, days: int = STATS_DAYS) -> SendingHealth:
    """Bounce and complaint rates over the last `days` days of recorded SES feedback."""
    until = deps.clock.now()
    since = until - timedelta(days=days)
    return SendingHealth(since, until, deps.store.email_feedback.count_by_kind(since, until))


def platform_sending_health(
    deps: Dependencies, principal: Principal, org_id: str, days: int = STATS_DAYS
) -> SendingHealth:
    """`sending_health` for the web app. SES feedback is recorded per address, not per org, so the
    figures are the whole platform's: shown to an org's admins and owners only."""
    require_membership(deps, principal, org_id, Role.ADMIN)
    return sending_health(deps, days)


def _who(deps: Dependencies, address: str) -> dict[str, str]:
    return {
        "recipient_domain": address_domain(address),
        "recipient_ref": address_ref(deps.settings.session_secret, address),
    }
