"""cfn-lint over every template the app synthesises (the same cloud assemblies the other CDK tests read,
as `make synth` writes them): no errors. Warnings are CDK's own idioms (W3005: a DependsOn on a role the
function already references) and do not fail a deploy."""

from __future__ import annotations

from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_file

from tests.cdk.synth import Synth


def lint_errors(template: Path, region: str) -> list[str]:
    matches = lint_file(template, config=ManualArgs(regions=[region]))
    return [
        f"{template.name}:{match.linenumber} {match.rule.id} {match.message}"
        for match in matches
        if match.rule.severity == "error"
    ]


@pytest.mark.parametrize(("variant", "region"), [("staging", "us-east-1"), ("production", "eu-west-1")])
def test_every_synthesised_template_passes_cfn_lint_without_errors(
    variant: str, region: str, request: pytest.FixtureRequest
) -> None:
    synth: Synth = request.getfixturevalue(variant)
    templates = sorted(synth.assembly_dir.glob("*.template.json"))
    assert len(templates) == len(synth.templates()), templates
    errors = [error for template in templates for error in lint_errors(template, region)]
    assert not errors, "cfn-lint errors:\n  " + "\n  ".join(errors)


def test_cfn_lint_reports_an_error_in_a_broken_template(tmp_path: Path) -> None:
    broken = tmp_path / "broken.template.json"
    broken.write_text('{"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"Nonsense": 1}}}}')
    assert any("E3002" in error for error in lint_errors(broken, "us-east-1"))
