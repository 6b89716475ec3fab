"""Configuration from environment variables, read once per process.

Unset service URLs mean "the embedded default": `plutomi dev` and the test fixtures start
nats-server, nx-27017 and moto's server and export their URLs before anything reads settings. The
embedded services listen on `PLUTOMI_NATS_PORT`, `PLUTOMI_MONGODB_PORT` and `PLUTOMI_AWS_PORT`
(4222, 27017, 5000), and an unset URL points at that port on 127.0.0.1, so `plutomi dev` and every
other command (`mail`, `dlq`, `migrate`, ...) find the same services. Only in local development
(`PLUTOMI_ENV` local or test) does an unset `AWS_ENDPOINT_URL` mean the embedded moto; elsewhere it
means AWS itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

LOCAL_CONFIGURATION_SET = "plutomi"
LOCAL_HOST = "127.0.0.1"
# Where `plutomi dev` starts each embedded service, unless PLUTOMI_<NAME>_PORT says otherwise.
DEFAULT_PORTS = {"nats": 4222, "mongodb": 27017, "aws": 5000}
DEFAULT_SESSION_SECRET = "plutomi-local-development-secret-change-me"  # noqa: S105 - local default only


@dataclass(frozen=True)
class Settings:
    mongodb_url: str
    mongodb_database: str
    mongodb_transactions: bool
    nats_url: str
    aws_endpoint_url: str | None
    aws_region: str
    email_from: str
    ses_configuration_set: str | None
    ses_feedback_topic: str  # SNS topic the configuration set publishes feedback to (local setup)
    ses_feedback_queue: str  # SQS queue subscribed to it, feeding `consumers.ses_feedback`
    ses_feedback_dlq: str  # where a feedback message goes after its last receive
    base_url: str
    session_secret: str
    session_ttl_hours: int
    environment: str
    nats_timeout_seconds: float
    # Behind a proxy: the header that carries the client's address (e.g. x-forwarded-for), and how
    # many proxies of ours append to it. Unset: the address the connection came from.
    client_ip_header: str | None = None
    trusted_proxy_hops: int = 1
    # How many NATS servers keep a copy of each JetStream stream (`plutomi migrate` applies it): 1 on
    # a single server, 3 on a NATS cluster of three or more.
    stream_replicas: int = 1
    # The embedded services' ports (PLUTOMI_NATS_PORT, ...), and the services the environment named a
    # URL for: `plutomi dev` starts the others on those ports and leaves these alone.
    embedded_ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    external_services: frozenset[str] = frozenset()
    # Applicants' uploads: the bucket, the S3 endpoint (unset: AWS_ENDPOINT_URL, i.e. moto locally, AWS
    # itself elsewhere; on K3S any S3-compatible store), and who scans new objects for malware.
    documents_bucket: str = "plutomi-documents"
    s3_endpoint_url: str | None = None
    malware_scanning: str = "off"
    # Keys for an S3-compatible store that is not AWS (MinIO), when SES and SQS use AWS's own keys:
    # (access key id, secret access key) from PLUTOMI_S3_ACCESS_KEY_ID / PLUTOMI_S3_SECRET_ACCESS_KEY.
    # Unset: the documents store uses the same credentials as every other AWS client.
    s3_credentials: tuple[str, str] | None = None
    malware_scan_queue: str = "plutomi-malware-scan"  # GuardDuty's results (EventBridge -> SQS)

    @property
    def is_local(self) -> bool:
        return self.environment in {"local", "test"}


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


# The settings that may be secrets, each with the variable that may name a Secrets Manager secret
# holding it instead (how the CDK stacks configure Lambda functions: names in the template, never
# values). A value in the environment wins, as locally and on K3S.
SECRET_NAME_VARIABLES = {
    "PLUTOMI_SESSION_SECRET": "PLUTOMI_SESSION_SECRET_NAME",
    "MONGODB_URL": "MONGODB_URL_SECRET_NAME",
    "NATS_URL": "NATS_URL_SECRET_NAME",
}


def _env_or_secrets() -> dict[str, str]:
    """Each of SECRET_NAME_VARIABLES from the environment, else from the secret its variable names
    (else empty)."""
    values = {name: os.environ.get(name, "").strip() for name in SECRET_NAME_VARIABLES}
    named = {
        name: secret_id
        for name, variable in SECRET_NAME_VARIABLES.items()
        if not values[name] and (secret_id := os.environ.get(variable, "").strip())
    }
    return values | (_read_secrets(named) if named else {})


def _read_secrets(named: dict[str, str]) -> dict[str, str]:
    """The values of the secrets `named` (setting -> secret id), in one BatchGetSecretValue call: a
    cold start pays one round trip for all of them instead of one each."""
    import boto3  # only when a secret is named: local runs and K3S pods never get here

    make_client: Any = boto3.client
    client = make_client(
        "secretsmanager",
        region_name=_env("AWS_REGION", "us-east-1"),
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
    )

    def unreadable(reasons: Mapping[str, object]) -> RuntimeError:
        return RuntimeError(
            "; ".join(
                f"{SECRET_NAME_VARIABLES[name]} names the secret {named[name]!r}, "
                f"which cannot be read: {reason}"
                for name, reason in reasons.items()
            )
        )

    try:
        answer = client.batch_get_secret_value(SecretIdList=sorted(set(named.values())))
    except Exception as error:
        raise unreadable(dict.fromkeys(named, error)) from error
    found: dict[str, str] = {}
    for entry in answer.get("SecretValues", []):
        if "SecretString" in entry:  # the id asked for may be the secret's name or its ARN
            found[entry["Name"]] = found[entry["ARN"]] = str(entry["SecretString"]).strip()
    errors = {
        entry["SecretId"]: f"{entry['ErrorCode']}: {entry['Message']}" for entry in answer.get("Errors", [])
    }
    missing = {
        name: errors.get(secret_id, "it holds no SecretString")
        for name, secret_id in named.items()
        if secret_id not in found
    }
    if missing:
        raise unreadable(missing)
    return {name: found[secret_id] for name, secret_id in named.items()}


def _whole_number(name: str, default: int, lowest: int, highest: int, what: str) -> int:
    value = _env(name, str(default))
    if not value.isdigit() or not lowest <= int(value) <= highest:
        raise RuntimeError(f"{name} must be {what}, not {value!r}")
    return int(value)


def _port(name: str, default: int) -> int:
    return _whole_number(name, default, 1, 65535, "a TCP port number")


MAX_STREAM_REPLICAS = 5  # JetStream's own limit


MALWARE_SCANNERS = ("off", "guardduty")


def _s3_credentials() -> tuple[str, str] | None:
    key_id = os.environ.get("PLUTOMI_S3_ACCESS_KEY_ID", "").strip()
    secret = os.environ.get("PLUTOMI_S3_SECRET_ACCESS_KEY", "").strip()
    if bool(key_id) != bool(secret):
        raise RuntimeError(
            "PLUTOMI_S3_ACCESS_KEY_ID and PLUTOMI_S3_SECRET_ACCESS_KEY go together: set both or neither"
        )
    return (key_id, secret) if key_id else None


def _malware_scanning() -> str:
    value = _env("PLUTOMI_MALWARE_SCANNING", "off").lower()
    if value not in MALWARE_SCANNERS:
        raise RuntimeError(
            f"PLUTOMI_MALWARE_SCANNING must be one of {', '.join(MALWARE_SCANNERS)}, not {value!r}"
        )
    return value


def load_settings() -> Settings:
    environment = _env("PLUTOMI_ENV", "local")
    is_local = environment in {"local", "test"}
    secrets = _env_or_secrets()
    secret = secrets["PLUTOMI_SESSION_SECRET"] or DEFAULT_SESSION_SECRET
    if not is_local and secret == DEFAULT_SESSION_SECRET:
        raise RuntimeError("PLUTOMI_SESSION_SECRET must be set outside local development")
    feedback_queue = _env("PLUTOMI_SES_FEEDBACK_QUEUE", "plutomi-ses-feedback")
    ports = {name: _port(f"PLUTOMI_{name.upper()}_PORT", port) for name, port in DEFAULT_PORTS.items()}
    mongodb_url, nats_url = secrets["MONGODB_URL"], secrets["NATS_URL"]
    given_aws_endpoint_url = os.environ.get("AWS_ENDPOINT_URL", "").strip()
    given = {"mongodb": mongodb_url, "nats": nats_url, "aws": given_aws_endpoint_url}
    aws_endpoint_url = given_aws_endpoint_url or (f"http://{LOCAL_HOST}:{ports['aws']}" if is_local else None)
    return Settings(
        mongodb_url=mongodb_url or f"mongodb://{LOCAL_HOST}:{ports['mongodb']}",
        mongodb_database=_env("MONGODB_DATABASE", "plutomi"),
        # Multi-document transactions need a replica set; the embedded nx-27017 turns them off.
        mongodb_transactions=_env("MONGODB_TRANSACTIONS", "on").lower() not in {"off", "false", "0"},
        nats_url=nats_url or f"nats://{LOCAL_HOST}:{ports['nats']}",
        aws_endpoint_url=aws_endpoint_url,
        aws_region=_env("AWS_REGION", "us-east-1"),
        email_from=_env("PLUTOMI_EMAIL_FROM", "Plutomi <no-reply@plutomi.localhost>"),
        # On a local endpoint (moto) `plutomi migrate` creates this configuration set; on AWS the stack
        # creates one and sets the variable.
        ses_configuration_set=os.environ.get("PLUTOMI_SES_CONFIGURATION_SET")
        or (LOCAL_CONFIGURATION_SET if aws_endpoint_url else None),
        ses_feedback_topic=_env("PLUTOMI_SES_FEEDBACK_TOPIC", "plutomi-ses-feedback"),
        ses_feedback_queue=feedback_queue,
        ses_feedback_dlq=_env("PLUTOMI_SES_FEEDBACK_DLQ", f"{feedback_queue}-dlq"),
        base_url=_env("PLUTOMI_BASE_URL", "http://localhost:8080").rstrip("/"),
        session_secret=secret,
        session_ttl_hours=int(_env("PLUTOMI_SESSION_TTL_HOURS", "168")),
        environment=environment,
        nats_timeout_seconds=float(_env("PLUTOMI_NATS_TIMEOUT_SECONDS", "5")),
        client_ip_header=_env("PLUTOMI_CLIENT_IP_HEADER", "").lower() or None,
        trusted_proxy_hops=max(1, int(_env("PLUTOMI_TRUSTED_PROXY_HOPS", "1"))),
        stream_replicas=_whole_number(
            "PLUTOMI_STREAM_REPLICAS",
            1,
            1,
            MAX_STREAM_REPLICAS,
            f"a whole number from 1 to {MAX_STREAM_REPLICAS}",
        ),
        embedded_ports=ports,
        external_services=frozenset(name for name, url in given.items() if url),
        documents_bucket=_env("PLUTOMI_DOCUMENTS_BUCKET", "plutomi-documents"),
        s3_endpoint_url=os.environ.get("AWS_ENDPOINT_URL_S3", "").strip() or aws_endpoint_url,
        malware_scanning=_malware_scanning(),
        s3_credentials=_s3_credentials(),
        malware_scan_queue=_env("PLUTOMI_MALWARE_SCAN_QUEUE", "plutomi-malware-scan"),
    )


@cache
def get_settings() -> Settings:
    return load_settings()
