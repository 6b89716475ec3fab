"""Every deployed function imports and serves its sample event exactly as Lambda would run it.

For each AWS::Lambda::Function of the synthesised app (built assets: see host_build.py), a fresh
`python -S` whose path is only the function's code asset (Lambda's /var/task), its layers'
`python/` folders (/opt/python) and a stand-in for Lambda's /var/runtime (boto3): nothing of the
venv or the editable install, cwd=/. It imports the Handler as Lambda's runtime does ("api/docs.handler"
-> module `api.docs`) and calls it with events/<function>.json against the tests' real services.

The child's environment is the function's own from the template (secret names, not values: the
function reads them from moto's Secrets Manager as it would from AWS's), plus only what points it at
the local services instead of AWS's (LOCAL_STAND_INS), and the secrets, identity and configuration
set the stacks create or name, made in moto first.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from plutomi.bootstrap import aws_client
from plutomi.config import SECRET_NAME_VARIABLES
from plutomi.topology import all_functions
from stacks.base import handler_of
from tests.cdk.host_build import HostBuild, ensure_var_runtime
from tests.cdk.synth import PRODUCTION_CONTEXT, Synth, plutomi_functions, resources
from tests.integration.test_sample_events import assert_served, sample_event_path

MARKER = "LAMBDA_RESULT "
# As Lambda's runtime loads a handler; afterwards, every loaded module's file must come from the
# path given (or the interpreter's standard library).
CHILD = f"""
import importlib, json, os, sys, sysconfig
handler, event_file = sys.argv[1:3]
module_path, _, attribute = handler.rpartition(".")
module = importlib.import_module(module_path.replace("/", "."))

class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:" + function_name
    memory_limit_in_mb = 512
    aws_request_id = "c0ffee00-0000-4000-8000-000000000000"
    log_group_name = "/aws/lambda/" + function_name
    log_stream_name = "local"

    def get_remaining_time_in_millis(self):
        return 30000

with open(event_file) as fh:
    result = getattr(module, attribute)(json.load(fh), Context())
allowed = os.environ["PYTHONPATH"].split(os.pathsep)
allowed += [sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]]
outside = sorted({{
    m.__file__ for m in list(sys.modules.values())
    if getattr(m, "__file__", None) and not any(m.__file__.startswith(p + os.sep) for p in allowed)
}})
print({MARKER!r} + json.dumps({{"result": result, "outside": outside, "path": sys.path}}, default=str))
"""


@pytest.fixture(scope="session")
def deployed(production: Synth, host_build: HostBuild) -> dict[str, dict[str, Any]]:
    """Handler -> {"code": code asset dir, "layers": layer asset dirs in order} of every function."""
    found: dict[str, dict[str, Any]] = {}
    for template in production.templates().values():
        layers = {
            logical_id: production.asset_dir(layer["Properties"]["Content"]["S3Key"])
            for logical_id, layer in resources(template, "AWS::Lambda::LayerVersion").items()
        }
        for function in plutomi_functions(template).values():
            props = function["Properties"]
            found[props["Handler"]] = {
                "code": production.asset_dir(props["Code"]["S3Key"]),
                "layers": [layers[ref["Ref"]] for ref in props["Layers"]],
                # Tokens (the API's URL in PLUTOMI_BASE_URL) resolve only on AWS: a stand-in.
                "environment": {
                    name: value if isinstance(value, str) else "https://api.plutomi.test"
                    for name, value in props.get("Environment", {}).get("Variables", {}).items()
                },
            }
    return found


# What a test machine's services need beyond the template: the endpoint of moto instead of AWS, its
# credentials, this session's database, and no transactions (nx-27017 has none).
def local_stand_ins() -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
        "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1"),
        "AWS_DEFAULT_REGION": os.environ.get("AWS_REGION", "us-east-1"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "MONGODB_DATABASE": os.environ["MONGODB_DATABASE"],
        "MONGODB_TRANSACTIONS": "off",
    }


@pytest.fixture(scope="session")
def deployed_resources(deployed: dict[str, dict[str, Any]], services: dict[str, str]) -> None:
    """In moto, what the functions expect to find on AWS: the secrets their variables name (holding
    the test services' URLs), the sending domain's identity and the configuration set."""
    values = {
        "MONGODB_URL": services["MONGODB_URL"],
        "NATS_URL": services["NATS_URL"],
        "PLUTOMI_SESSION_SECRET": "lambda-as-aws-session-secret",
    }
    secrets: Any = aws_client("secretsmanager")
    for variables in (where["environment"] for where in deployed.values()):
        for setting, variable in SECRET_NAME_VARIABLES.items():
            name = variables[variable]
            try:
                secrets.create_secret(Name=name, SecretString=values[setting])
            except secrets.exceptions.ResourceExistsException:
                secrets.put_secret_value(SecretId=name, SecretString=values[setting])
    sesv2: Any = aws_client("sesv2")
    with contextlib.suppress(sesv2.exceptions.AlreadyExistsException):
        sesv2.create_email_identity(EmailIdentity=PRODUCTION_CONTEXT["domain"])
    ses: Any = aws_client("ses")
    configuration_sets = {
        where["environment"]["PLUTOMI_SES_CONFIGURATION_SET"] for where in deployed.values()
    }
    for name in configuration_sets:
        with contextlib.suppress(ses.exceptions.ConfigurationSetAlreadyExistsException):
            ses.create_configuration_set(ConfigurationSet={"Name": name})


def test_every_function_of_the_topology_is_deployed_once(deployed: dict[str, dict[str, Any]]) -> None:
    assert sorted(deployed) == sorted(handler_of(function) for function in all_functions())


def run_as_lambda(
    function: str, deployed: dict[str, dict[str, Any]], host_build: HostBuild, tmp_path: Path
) -> dict[str, Any]:
    where = deployed[handler_of(function)]
    path = [where["code"], *(layer / "python" for layer in where["layers"]), ensure_var_runtime(host_build)]
    event = tmp_path / "event.json"
    event.write_text(sample_event_path(function).read_text())
    # Only what any process has (PATH, HOME, ...), then the function's own variables.
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    env |= where["environment"] | local_stand_ins()
    env |= {
        "PYTHONPATH": os.pathsep.join(str(entry) for entry in path),
        # Nothing cached between runs or into the assets, as on Lambda's read-only file system.
        "PYTHONDONTWRITEBYTECODE": "1",
        "LAMBDA_TASK_ROOT": str(where["code"]),
        "AWS_LAMBDA_FUNCTION_NAME": f"plutomi-test-{function.replace('.', '-')}",
    }
    finished = subprocess.run(
        [host_build.python, "-S", "-c", CHILD, handler_of(function), str(event)],
        cwd="/",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [line for line in finished.stdout.splitlines() if line.startswith(MARKER)]
    assert finished.returncode == 0 and lines, (
        f"{function} failed as Lambda runs it (exit {finished.returncode}):\n{finished.stderr[-4000:]}"
    )
    answer: dict[str, Any] = json.loads(lines[-1].removeprefix(MARKER))
    assert answer["outside"] == [], f"{function} loaded modules from outside its assets"
    assert not any(".venv" in entry or "site-packages" in entry for entry in answer["path"]), answer["path"]
    return answer


@pytest.mark.parametrize("function", all_functions())
def test_each_function_imports_and_serves_its_sample_event_as_on_lambda(
    function: str,
    deployed: dict[str, dict[str, Any]],
    host_build: HostBuild,
    deployed_resources: None,
    tmp_path: Path,
) -> None:
    result = run_as_lambda(function, deployed, host_build, tmp_path)["result"]
    assert_served(function, result)
    if function == "api.docs":
        assert result["statusCode"] == 200, result
        assert json.loads(result["body"])["openapi"].startswith("3.")
