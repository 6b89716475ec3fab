"""Who a portal token belongs to: the one check every applicant-facing use case starts with."""

from __future__ import annotations

from plutomi.domain.applicants import Applicant
from plutomi.domain.errors import NotFound
from plutomi.domain.identity import hash_secret, secrets_match
from plutomi.services.orgs import require_live_org
from plutomi.services.ports import Dependencies

PORTAL_NOT_FOUND = "This link is not valid any more; apply again with your email to get a new one"


def applicant_from_token(deps: Dependencies, token: str) -> Applicant:
    """The live applicant whose portal link this is (`apl_....<secret>`), else 404 `portal_not_found`."""
    applicant_id, _, secret = token.partition(".")
    applicant = (
        deps.store.applicants.get_for_portal(applicant_id) if applicant_id.startswith("apl_") else None
    )
    if applicant is None or applicant.is_deleted or not secret:
        raise NotFound("portal_not_found", PORTAL_NOT_FOUND)
    candidate = hash_secret(deps.settings.session_secret, "portal", applicant.id, secret)
    matched = False
    for live in applicant.portal_secret_hashes:  # every one compared: timing tells nothing
        matched |= secrets_match(live, candidate)
    if not matched:
        raise NotFound("portal_not_found", PORTAL_NOT_FOUND)
    require_live_org(deps, applicant.org_id, NotFound("portal_not_found", PORTAL_NOT_FOUND))
    return applicant
