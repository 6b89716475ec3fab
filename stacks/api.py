"""The HTTP API: one route per entry of `plutomi.topology.ROUTES`, the table the local gateway serves.

One Lambda per API function group (`api.orgs` serves every `/orgs...` route), with the API Gateway v2
payload (format 2.0) that the gateway also builds locally.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from plutomi.topology import ROUTES, api_functions
from stacks import alarms
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
        self._api_alarms()

        cdk.CfnOutput(self, "ApiUrl", value=self.http_api.api_endpoint)

    def _api_alarms(self) -> None:
        """The share of 5xx answers (metric math: 5xx / requests) and the p99 latency."""
        api, prefix = self.http_api, self.settings.prefix
        errors = api.metric_server_error(period=alarms.PERIOD, statistic=cloudwatch.Stats.SUM)
        requests = api.metric_count(period=alarms.PERIOD, statistic=cloudwatch.Stats.SUM)
        rate = cloudwatch.MathExpression(
            # FILL: a period with requests but no 5xx reports no 5xx datapoint at all.
            expression=f"IF(requests >= {alarms.API_5XX_MINIMUM_REQUESTS}, FILL(errors, 0) / requests, 0)",
            using_metrics={"errors": errors, "requests": requests},
            label="share of 5xx answers",
            period=alarms.PERIOD,
        )
        self.alarm(
            alarms.at_least(
                self,
                "Api5xxRateAlarm",
                name=f"{prefix}-api-5xx-rate",
                description=(
                    f"at least {alarms.API_5XX_RATE_THRESHOLD:.0%} of the HTTP API's answers are 5xx "
                    f"({self.settings.stage})"
                ),
                metric=rate,
                threshold=alarms.API_5XX_RATE_THRESHOLD,
                evaluation_periods=3,
                datapoints_to_alarm=2,
            )
        )
        self.alarm(
            alarms.at_least(
                self,
                "ApiLatencyAlarm",
                name=f"{prefix}-api-latency",
                description=(
                    f"the HTTP API's {alarms.API_LATENCY_STATISTIC} latency is at least "
                    f"{alarms.API_LATENCY_THRESHOLD_MS} ms ({self.settings.stage})"
                ),
                metric=api.metric_latency(period=alarms.PERIOD, statistic=alarms.API_LATENCY_STATISTIC),
                threshold=alarms.API_LATENCY_THRESHOLD_MS,
                evaluation_periods=3,
            )
        )
