"""Finds values that look like secrets in a synthesised template or a rendered manifest, whatever
the secret is: a URL that carries credentials, or a variable named like a secret given a literal.

Secrets reach a deployment by name (`..._SECRET_NAME` variables, `secretKeyRef`), so a literal under
a secret-like name is a leak, and so is any `scheme://user[:password]@host`.
"""

from __future__ import annotations

import re

# userinfo before the host: nats://user:pass@h, nats://token@h, mongodb+srv://u:p@h
URL_WITH_USERINFO = re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s@\"'<>]+@", re.IGNORECASE)
SECRET_LIKE_NAME = re.compile(r"PASSWORD|PASSWD|TOKEN|SECRET|CREDENTIAL|API_?KEY|PRIVATE_?KEY", re.IGNORECASE)


def _names_a_secret(name: str) -> bool:
    """`MONGODB_URL_SECRET_NAME`, `PLUTOMI_SESSION_SECRET_NAME`: the value is a name, not a secret."""
    return name.upper().endswith("_NAME")


def secret_looking_values(document: object, where: str = "") -> list[str]:
    """Each place in `document` (parsed JSON or YAML) that holds a URL with userinfo, or gives a
    variable named like a secret a literal string: `path: reason`, never the value itself."""
    found: list[str] = []
    if isinstance(document, str):
        if URL_WITH_USERINFO.search(document):
            found.append(f"{where}: a URL with credentials")
    elif isinstance(document, dict):
        # A Kubernetes env entry is {"name": X, "value": "..."}; a ConfigMap or a Lambda function's
        # Variables map the name to the value directly.
        pairs = [(key, value) for key, value in document.items() if isinstance(key, str)]
        if isinstance(document.get("name"), str) and "value" in document:
            pairs.append((document["name"], document["value"]))
        for name, value in pairs:
            literal = isinstance(value, str) and bool(value.strip())
            if literal and SECRET_LIKE_NAME.search(name) and not _names_a_secret(name):
                found.append(f"{where}.{name}: a literal value for a secret-like name")
        for key, value in document.items():
            found += secret_looking_values(value, f"{where}.{key}")
    elif isinstance(document, list):
        for index, item in enumerate(document):
            found += secret_looking_values(item, f"{where}[{index}]")
    return found
