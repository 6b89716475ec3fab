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
- `alarm_email`: who the alarm topic `plutomi-<stage>-alarms` emails (unset: no subscriber, a synth
  warning).
- `reserved_concurrency`: reserved concurrency for the functions that open a MongoDB pool: a number
  (each of them) or a JSON object of function name (`api.orgs`) or `*` (every other one) to a number
  (unset: none).
- `account`, `region`: pin the stacks to an environment (default: environment-agnostic).
- `api_rate_limit`, `api_burst_limit`: the HTTP API stage's default throttling, requests per second
  and burst, over all callers together (default 100 and 200).
- `api_tight_rate_limit`, `api_tight_burst_limit`: the same for each route marked `tight_throttle` in
  `plutomi.topology.ROUTES`, the public sign-in and apply routes (default 5 and 10).
- `malware_scanning`: `true` puts GuardDuty Malware Protection for S3 on the documents bucket (a
  protection plan that tags each new object with its result, and an EventBridge rule sending the
  results to `consumers.malware_scan`); the functions get PLUTOMI_MALWARE_SCANNING=guardduty. Default
  `false`: no plan, no rule, PLUTOMI_MALWARE_SCANNING=off, and documents say "not scanned".

An empty string means unset, so cdk.json can list every key.

Secrets are named here, never read: the functions get the secret *names* and read the values at
cold start (`plutomi.config`), so no secret value is ever in a template.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from math import inf, nan

from plutomi.topology import SQS_CONSUMERS, all_functions, database_functions

STAGES = ("staging", "production")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
ALL_OTHER_FUNCTIONS = "*"
# An SQS event source's maximum concurrency is at least 2; an SQS-fed function's reserved
# concurrency (SES feedback, malware scan results) bounds it, so it may not be lower.
SQS_MINIMUM_CONCURRENCY = 2
_SQS_FED = frozenset(consumer.function for consumer in SQS_CONSUMERS)

# Context keys and their defaults, as `cdk.json` declares them (the rest default to "unset").
CONTEXT_DEFAULTS: dict[str, str] = {"stage": "staging", "domain": "plutomi.example"}

# Throttling when the context says nothing (API Gateway's own account limit is 10,000/s, 5,000 burst).
DEFAULT_API_RATE_LIMIT = 100.0
DEFAULT_API_BURST_LIMIT = 200
# Each of these routes sends an email or creates data for anyone who calls it.
DEFAULT_API_TIGHT_RATE_LIMIT = 5.0
DEFAULT_API_TIGHT_BURST_LIMIT = 10


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
    alarm_email: str | None = None
    # Function name (`api.orgs`) -> reserved concurrency; only functions that open a MongoDB pool.
    reserved_concurrency: Mapping[str, int] = field(default_factory=dict)
    account: str | None = None
    region: str | None = None
    api_rate_limit: float = DEFAULT_API_RATE_LIMIT
    api_burst_limit: int = DEFAULT_API_BURST_LIMIT
    api_tight_rate_limit: float = DEFAULT_API_TIGHT_RATE_LIMIT
    api_tight_burst_limit: int = DEFAULT_API_TIGHT_BURST_LIMIT
    malware_scanning: bool = False

    @property
    def secret_names(self) -> dict[str, str]:
        """Each setting a function reads from a secret (plutomi.config.SECRET_NAME_VARIABLES) -> the
        Secrets Manager secret that holds it."""
        return {
            "MONGODB_URL": self.mongodb_secret_name,
            "PLUTOMI_SESSION_SECRET": self.session_secret_name,
            "NATS_URL": self.nats_url_secret_name,
        }

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

    def reserved_concurrency_of(self, function: str) -> int | None:
        return self.reserved_concurrency.get(function)

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

        def flag(key: str) -> bool:
            raw = lookup(key)
            if isinstance(raw, bool):
                return raw
            value = str(raw).strip().lower() if isinstance(raw, str) else None
            if raw is None or value == "":
                return False
            if value in ("true", "false"):
                return value == "true"
            raise SettingsError(f"context {key!r} must be true or false; got {raw!r}")

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
        if text("nats_url") is not None:
            raise SettingsError(NATS_URL_MOVED)
        alarm_email = text("alarm_email")
        if alarm_email is not None and not _EMAIL.match(alarm_email):
            raise SettingsError(f"context 'alarm_email' must be one email address; got {alarm_email!r}")
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
            alarm_email=alarm_email,
            reserved_concurrency=reserved_concurrency(lookup("reserved_concurrency")),
            account=account,
            region=text("region"),
            api_rate_limit=number("api_rate_limit", DEFAULT_API_RATE_LIMIT),
            api_burst_limit=whole_number("api_burst_limit", DEFAULT_API_BURST_LIMIT),
            api_tight_rate_limit=number("api_tight_rate_limit", DEFAULT_API_TIGHT_RATE_LIMIT),
            api_tight_burst_limit=whole_number("api_tight_burst_limit", DEFAULT_API_TIGHT_BURST_LIMIT),
            malware_scanning=flag("malware_scanning"),
        )


def reserved_concurrency(value: object) -> dict[str, int]:
    """Context `reserved_concurrency`: `5` (every function that opens a MongoDB pool gets 5), or
    `{"*": 5, "api.public": 20}` (a JSON string from `-c`, or an object in cdk.json), or unset."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return {}
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise SettingsError(f"context 'reserved_concurrency' is not valid JSON: {error}") from None
    wanted = value if isinstance(value, Mapping) else {ALL_OTHER_FUNCTIONS: value}
    with_database = database_functions()
    reserved: dict[str, int] = {}
    for name, number in wanted.items():
        if name != ALL_OTHER_FUNCTIONS and name not in with_database:
            why = "opens no MongoDB pool" if name in all_functions() else "is no function"
            raise SettingsError(
                f"context 'reserved_concurrency' names {name!r}, which {why}; "
                f"use one of {', '.join(with_database)} or {ALL_OTHER_FUNCTIONS!r}"
            )
        reserved[name] = _concurrency(name, number)
    default = reserved.pop(ALL_OTHER_FUNCTIONS, None)
    if default is not None:
        reserved = {function: reserved.get(function, default) for function in with_database}
    for function, number in reserved.items():
        if function in _SQS_FED and number < SQS_MINIMUM_CONCURRENCY:
            raise SettingsError(
                f"context 'reserved_concurrency' for {function} must be at least "
                f"{SQS_MINIMUM_CONCURRENCY}: its SQS event source cannot run fewer at once"
            )
    return reserved


def _concurrency(name: str, number: object) -> int:
    text = str(number).strip() if isinstance(number, str | int) and not isinstance(number, bool) else ""
    if not text.isdigit() or int(text) < 1:
        raise SettingsError(
            f"context 'reserved_concurrency' for {name!r} must be a whole number of at least 1 "
            f"(0 would stop the function); got {number!r}"
        )
    return int(text)
