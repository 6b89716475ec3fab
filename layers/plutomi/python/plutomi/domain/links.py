"""The paths of the pages our emails link to (docs/pages.md has the whole URL map)."""

from __future__ import annotations

PORTAL_PREFIX = "/portal/"  # + the applicant's private token: their portal page
INVITATIONS_PATH = "/invitations"  # the signed-in person's pending invitations


def portal_path(token: str) -> str:
    return f"{PORTAL_PREFIX}{token}"
