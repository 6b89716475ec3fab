#!/usr/bin/env python3
"""The CDK app: `python app.py` (or `make synth`, or `npx cdk synth`) writes the stacks to cdk.out/.

Run by the CDK CLI, the context comes from cdk.json and `-c key=value`; run directly, this reads
cdk.json's context itself. Nothing here talks to AWS: synth needs no credentials. Before it
synthesises, `main` builds the Lambda assets that are not current (`stacks.packaging`; nothing to do
when they are), so `cdk deploy` never ships what cannot import.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import cx_api

from stacks import PlutomiStacks, base, build, packaging

ROOT = Path(__file__).resolve().parent


def cdk_json_context() -> dict[str, Any]:
    context = json.loads((ROOT / "cdk.json").read_text()).get("context", {})
    return context if isinstance(context, dict) else {}


def create_app(
    outdir: str | None = None, context: Mapping[str, Any] | None = None
) -> tuple[cdk.App, PlutomiStacks]:
    """The app with cdk.json's context, then `context` on top. The CLI passes its own context (cdk.json
    merged with -c) in CDK_CONTEXT_JSON, which wins over both."""
    if outdir is None and not os.environ.get("CDK_OUTDIR"):
        outdir = str(ROOT / "cdk.out")
    app = cdk.App(context=cdk_json_context() | dict(context or {}), outdir=outdir)
    return app, build(app)


def main() -> None:
    # Progress on stderr: the CDK CLI reads nothing from stdout, and a redirected synth stays clean.
    try:
        packaging.ensure_built(
            base.LAMBDA_BUILD_DIR,
            base.LAMBDA_TARGET,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
    except (packaging.LambdaPythonNotFound, packaging.BuildFailed) as error:
        sys.exit(f"error: cannot build the Lambda assets: {error}")
    app, stacks = create_app()
    assembly = app.synth()
    names = ", ".join(stack.stack_name for stack in assembly.stacks)
    print(
        f"synthesised {names} ({stacks.settings.stage}, {stacks.settings.domain}) into {assembly.directory}"
    )
    # The CDK CLI prints these; run directly, say them here (once each).
    for level, label in (
        (cx_api.SynthesisMessageLevel.WARNING, "warning"),
        (cx_api.SynthesisMessageLevel.ERROR, "error"),
    ):
        messages = {
            str(message.entry.data)
            for stack in assembly.stacks
            for message in stack.messages
            if message.level == level
        }
        for message in sorted(messages):
            print(f"{label}: {message}", file=sys.stderr)


if __name__ == "__main__":
    main()
