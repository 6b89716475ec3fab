"""Deploy settings from CDK context (`cdk.json`, `-c key=value`). Synth needs none of them.

Context keys (README "Deploy to AWS" has the same list):

- `stage`: `staging` (default) or `production`; every physical name starts with `plutomi-<stage>`.
- `domain`: the SES sending domain (default `plutomi.example`); MAIL FROM is `mail.<domain>`.
- `sender`: PLUTOMI_EMAIL_FROM (default `no-reply@<domain>`); must be an address at `domain`.
- `mongodb_secret_name`, `session_secret_name`: the Secrets Manager secrets holding MONGODB_URL and
  PLUTOMI_SESSION_SECRET (default `plutomi/<stage>/mongodb-url`, `plutomi/<stage>/session-secret`).
- `nats_url`: NATS_URL for the functions (unset: a synth warning).
- `base_url`: PLUTOMI_BASE_URL, for links in emails (default: the HTTP API's URL).
- `bridge_principal`: who may assume the bridge's invoke-only role: an account id, an IAM ARN or a
  role name in this account (default: this account).
- `hosted_zone_id`: the Route 53 zone of `domain`; the stack then writes the DKIM and MAIL FROM records.
- `account`, `region`: pin the stacks to an environment (default: environment-agnostic).
- `api_rate_limit`, `api_burst_limit`: the HTTP API stage's default throttling, requests per second
  and burst, over all callers together (default 100 and 200).
- `api_tight_rate_limit`, `api_tight_burst_limit`: the same for each route marked `tight_throttle` in
  `plutomi.topology.ROUTES`, the public sign-in and apply routes (default 5 and 10).

An empty string means unset, so cdk.json can list every key.

Secrets are named here, never read: the functions get the secret *names* and read the values at
cold start (`plutomi.config`), so no secret value is ever in a template.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from math import inf, nan

STAGES = ("staging", "production")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_ACCOUNT = re.compile(r"^\d{12}$")

# Context keys and their defaults, as `cdk.json` declares them (the rest default to "unset").
CONTEXT_DEFAULTS: dict[str, str] = {"stage": "staging", "domain": "plutomi.example"}

# Throttling when the context says nothing (API Gateway's own account limit is 10,000/s, 5,000 burst).
DEFAULT_API_RATE_LIMIT = 100.0
DEFAULT_API_BURST_LIMIT = 200
# Each of these routes sends an email or creates data for anyone who calls it.
DEFAULT_API_TIGHT_RATE_LIMIT = 5.0
DEFAULT_API_TIGHT_BURST_LIMIT = 10


class SettingsError(ValueError):
    """A context value that cannot be deployed; the message says which and why."""


@dataclass(frozen=True)
class DeploySettings:
    stage: str
    domain: str
    sender: str
    mongodb_secret_name: str
    session_secret_name: str
    nats_url: str | None = None
    base_url: str | None = None
    bridge_principal: str | None = None
    hosted_zone_id: str | None = None
    account: str | None = None
    region: str | None = None
    api_rate_limit: float = DEFAULT_API_RATE_LIMIT
    api_burst_limit: int = DEFAULT_API_BURST_LIMIT
    api_tight_rate_limit: float = DEFAULT_API_TIGHT_RATE_LIMIT
    api_tight_burst_limit: int = DEFAULT_API_TIGHT_BURST_LIMIT

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

        def number(key: str, default: float) -> float:
            raw = lookup(key)
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                return default
            try:
                value = (
                    float(raw) if isinstance(raw, str | int | float) and not isinstance(raw, bool) else nan
                )
            except ValueError:
                value = nan
            if not 0 < value < inf:  # also refuses nan
                raise SettingsError(f"context {key!r} must be a positive number; got {raw!r}")
            return value

        def whole_number(key: str, default: int) -> int:
            value = number(key, float(default))
            if not value.is_integer():
                raise SettingsError(f"context {key!r} must be a whole number; got {lookup(key)!r}")
            return int(value)

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
        account = text("account")
        if account is not None and not _ACCOUNT.match(account):
            raise SettingsError(f"context 'account' must be a 12-digit AWS account id; got {account!r}")
        return cls(
            stage=stage,
            domain=domain,
            sender=sender,
            mongodb_secret_name=text("mongodb_secret_name") or f"plutomi/{stage}/mongodb-url",
            session_secret_name=text("session_secret_name") or f"plutomi/{stage}/session-secret",
            nats_url=text("nats_url"),
            base_url=(text("base_url") or "").rstrip("/") or None,
            bridge_principal=text("bridge_principal"),
            hosted_zone_id=text("hosted_zone_id"),
            account=account,
            region=text("region"),
            api_rate_limit=number("api_rate_limit", DEFAULT_API_RATE_LIMIT),
            api_burst_limit=whole_number("api_burst_limit", DEFAULT_API_BURST_LIMIT),
            api_tight_rate_limit=number("api_tight_rate_limit", DEFAULT_API_TIGHT_RATE_LIMIT),
            api_tight_burst_limit=whole_number("api_tight_burst_limit", DEFAULT_API_TIGHT_BURST_LIMIT),
        )
