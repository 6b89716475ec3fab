"""Deploy settings from CDK context (`cdk.json`, `-c key=value`). Synth needs none of them.

Context keys (README "Deploy to AWS" has the same list):

- `stage`: `staging` (default) or `production`; every physical name starts with `plutomi-<stage>`.
- `domain`: the SES sending domain (default `plutomi.example`); MAIL FROM is `mail.<domain>`.
- `sender`: PLUTOMI_EMAIL_FROM (default `no-reply@<domain>`); must be an address at `domain`.
- `mongodb_secret_name`, `session_secret_name`, `nats_url_secret_name`: the Secrets Manager secrets
  holding MONGODB_URL, PLUTOMI_SESSION_SECRET and NATS_URL (default `plutomi/<stage>/mongodb-url`,
  `plutomi/<stage>/session-secret`, `plutomi/<stage>/nats-url`).
- `nats_url`: no longer read. NATS_URL may carry credentials (`nats://user:password@host`, a
  token), so it lives in the `nats_url_secret_name` secret; a value here is refused (NATS_URL_MOVED).
- `base_url`: PLUTOMI_BASE_URL, for links in emails (default: the HTTP API's URL).
- `bridge_principal`: who may assume the bridge's invoke-only role: an account id, an IAM ARN or a
  role name in this account (default: this account).
- `hosted_zone_id`: the Route 53 zone of `domain`; the stack then writes the DKIM and MAIL FROM records.
- `account`, `region`: pin the stacks to an environment (default: environment-agnostic).

An empty string means unset, so cdk.json can list every key.

Secrets are named here, never read: the functions get the secret *names* and read the values at
cold start (`plutomi.config`), so no secret value is ever in a template.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

STAGES = ("staging", "production")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_ACCOUNT = re.compile(r"^\d{12}$")

# Context keys and their defaults, as `cdk.json` declares them (the rest default to "unset").
CONTEXT_DEFAULTS: dict[str, str] = {"stage": "staging", "domain": "plutomi.example"}


# Refused rather than allowed when credential-free: one place for the URL, so adding credentials
# later cannot put them in a template, and Lambda reaches NATS over the internet, where it must ask
# for credentials anyway.
NATS_URL_MOVED = (
    "context 'nats_url' is no longer read: NATS_URL may carry credentials, so it goes in a Secrets "
    "Manager secret, named by context 'nats_url_secret_name' (default plutomi/<stage>/nats-url): "
    "aws secretsmanager create-secret --name plutomi/<stage>/nats-url --secret-string 'nats://...'"
)


class SettingsError(ValueError):
    """A context value that cannot be deployed; the message says which and why."""


@dataclass(frozen=True)
class DeploySettings:
    stage: str
    domain: str
    sender: str
    mongodb_secret_name: str
    session_secret_name: str
    nats_url_secret_name: str
    base_url: str | None = None
    bridge_principal: str | None = None
    hosted_zone_id: str | None = None
    account: str | None = None
    region: str | None = None

    @property
    def prefix(self) -> str:
        """Every physical name starts with this, so staging and production can share an account."""
        return f"plutomi-{self.stage}"

    @property
    def configuration_set_name(self) -> str:
        # A fixed name (not a CloudFormation token) lets every stack hand it to its functions
        # without a cross-stack export.
        return self.prefix

    @property
    def mail_from_domain(self) -> str:
        return f"mail.{self.domain}"

    @property
    def is_production(self) -> bool:
        return self.stage == "production"

    @classmethod
    def from_context(cls, lookup: Callable[[str], object]) -> DeploySettings:
        """`lookup` is `node.try_get_context`: returns None for a key nobody set."""

        def text(key: str) -> str | None:
            value = lookup(key)
            if value is None:
                return None
            if not isinstance(value, str | int):
                raise SettingsError(f"context {key!r} must be a string, got {type(value).__name__}")
            stripped = str(value).strip()
            return stripped or None

        stage = text("stage") or CONTEXT_DEFAULTS["stage"]
        if stage not in STAGES:
            raise SettingsError(f"context 'stage' must be one of {', '.join(STAGES)}; got {stage!r}")
        domain = (text("domain") or CONTEXT_DEFAULTS["domain"]).lower().rstrip(".")
        if not _DOMAIN.match(domain):
            raise SettingsError(f"context 'domain' must be a domain name such as example.com; got {domain!r}")
        sender = text("sender") or f"no-reply@{domain}"
        address = sender.rsplit("<", 1)[-1].rstrip(">").strip().lower()
        if not address.endswith(f"@{domain}"):
            raise SettingsError(
                f"context 'sender' ({sender!r}) must be an address at {domain}: SES only sends from "
                "the verified domain identity this app creates"
            )
        if text("nats_url") is not None:
            raise SettingsError(NATS_URL_MOVED)
        account = text("account")
        if account is not None and not _ACCOUNT.match(account):
            raise SettingsError(f"context 'account' must be a 12-digit AWS account id; got {account!r}")
        return cls(
            stage=stage,
            domain=domain,
            sender=sender,
            mongodb_secret_name=text("mongodb_secret_name") or f"plutomi/{stage}/mongodb-url",
            session_secret_name=text("session_secret_name") or f"plutomi/{stage}/session-secret",
            nats_url_secret_name=text("nats_url_secret_name") or f"plutomi/{stage}/nats-url",
            base_url=(text("base_url") or "").rstrip("/") or None,
            bridge_principal=text("bridge_principal"),
            hosted_zone_id=text("hosted_zone_id"),
            account=account,
            region=text("region"),
        )
