"""The HTTP API: one route per entry of `plutomi.topology.ROUTES`, the table the local gateway serves.

One Lambda per API function group (`api.orgs` serves every `/orgs...` route), with the API Gateway v2
payload (format 2.0) that the gateway also builds locally.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from constructs import Construct

from plutomi.topology import ROUTES, api_functions
from stacks.base import PlutomiStack
from stacks.settings import DeploySettings

# API Gateway gives up on an integration after 30 s; the function stops first and logs why.
API_TIMEOUT = cdk.Duration.seconds(28)


class ApiStack(PlutomiStack):
    def __init__(
        self, scope: Construct, construct_id: str, *, settings: DeploySettings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, settings=settings, **kwargs)
        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            api_name=settings.prefix,
            description=f"Plutomi API ({settings.stage})",
            create_default_stage=True,
        )
        # Links in emails point here unless the context names a custom domain (`base_url`).
        self.base_url = settings.base_url or self.http_api.api_endpoint

        self.integrations: dict[str, integrations.HttpLambdaIntegration] = {}
        for function in api_functions():
            fn = self.plutomi_function(
                function,
                timeout=API_TIMEOUT,
                environment={"PLUTOMI_BASE_URL": self.base_url},
            )
            self.integrations[function] = integrations.HttpLambdaIntegration(
                f"{fn.node.id}Integration",
                fn,
                payload_format_version=apigwv2.PayloadFormatVersion.VERSION_2_0,
            )
        for route in ROUTES:
            self.http_api.add_routes(
                path=route.path,
                methods=[apigwv2.HttpMethod(route.method)],
                integration=self.integrations[route.function],
            )

        cdk.CfnOutput(self, "ApiUrl", value=self.http_api.api_endpoint)
