"""The HTTP API: one route per entry of `plutomi.topology.ROUTES`, the table the local gateway serves.

One Lambda per API function group (`api.orgs` serves every `/orgs...` route), with the API Gateway v2
payload (format 2.0) that the gateway also builds locally. The `$default` stage writes a JSON access
log line per request and throttles: every route at `api_rate_limit`/`api_burst_limit`, the routes
marked `tight_throttle` (public sign-in and apply) at `api_tight_rate_limit`/`api_tight_burst_limit`.
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from plutomi.topology import ROUTES, api_functions
from stacks import alarms
from stacks.base import PlutomiStack, acknowledge_nag
from stacks.settings import DeploySettings

# API Gateway gives up on an integration after 30 s; the function stops first and logs why.
API_TIMEOUT = cdk.Duration.seconds(28)

# One JSON object per request. Only the route template ($context.routeKey, e.g.
# `GET /public/applicants/{token}`): the raw path and query carry tokens, and no header, cookie or
# Authorization value is ever logged.
ACCESS_LOG_FIELDS: dict[str, str] = {
    "requestId": "$context.requestId",
    "requestTimeEpoch": "$context.requestTimeEpoch",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integrationLatency",
    "integrationStatus": "$context.integrationStatus",
    "integrationError": "$context.integrationErrorMessage",
    "error": "$context.error.message",
    "errorType": "$context.error.responseType",
    "sourceIp": "$context.identity.sourceIp",
}


class LambdaProxyIntegration(apigwv2.HttpRouteIntegration):
    """A Lambda proxy integration (payload 2.0) that adds no permission per route: the stack grants
    API Gateway one invoke permission per function instead."""

    def __init__(self, id: str, handler: lambda_.IFunction) -> None:
        super().__init__(id)
        self.handler = handler

    def bind(self, _options: apigwv2.HttpRouteIntegrationBindOptions) -> apigwv2.HttpRouteIntegrationConfig:
        return apigwv2.HttpRouteIntegrationConfig(
            type=apigwv2.HttpIntegrationType.AWS_PROXY,
            uri=self.handler.function_arn,
            payload_format_version=apigwv2.PayloadFormatVersion.VERSION_2_0,
        )


@jsii.implements(apigwv2.IAccessLogSettings)
class AccessLogs:
    """Where the stage writes its access log and in what format (an interface, not a struct, in CDK)."""

    def __init__(self, destination: apigwv2.IAccessLogDestination, log_format: apigw.AccessLogFormat) -> None:
        self._destination = destination
        self._format = log_format

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return self._format


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
            # Added below, with logs and throttling, under the id the default one would have.
            create_default_stage=False,
        )
        acknowledge_nag(
            self.http_api,
            "AwsSolutions-APIG4",
            "authorization is the app's: each handler checks the session cookie or bearer token "
            "(docs/api.md); the routes marked public need none",
        )
        self.access_logs = self.log_group("ApiAccessLogs")
        self.default_stage = self.http_api.add_stage(
            "DefaultStage",
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=settings.api_rate_limit, burst_limit=settings.api_burst_limit
            ),
            access_log_settings=AccessLogs(
                apigwv2.LogGroupLogDestination(self.access_logs),
                apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
            ),
        )
        # Links in emails point here unless the context names a custom domain (`base_url`).
        self.base_url = settings.base_url or self.http_api.api_endpoint

        self.integrations: dict[str, LambdaProxyIntegration] = {}
        for function in api_functions():
            fn = self.plutomi_function(
                function,
                timeout=API_TIMEOUT,
                environment={"PLUTOMI_BASE_URL": self.base_url},
            )
            # One permission per function for every route of this API, not one per route as
            # HttpLambdaIntegration adds: with the pages there are 146 routes, and CloudFormation
            # refuses a stack of more than 500 resources.
            fn.add_permission(
                "InvokeByHttpApi",
                principal=iam.ServicePrincipal("apigateway.amazonaws.com"),
                action="lambda:InvokeFunction",
                source_arn=self.format_arn(
                    service="execute-api", resource=self.http_api.api_id, resource_name="*/*"
                ),
            )
            self.integrations[function] = LambdaProxyIntegration(f"{fn.node.id}Integration", fn)
        tight_routes: dict[str, list[apigwv2.HttpRoute]] = {}
        for route in ROUTES:
            added = self.http_api.add_routes(
                path=route.path,
                methods=[apigwv2.HttpMethod(route.method)],
                integration=self.integrations[route.function],
            )
            if route.tight_throttle:
                tight_routes[route.route_key] = added
        self._throttle_tightly(tight_routes)
        self._api_alarms()

        cdk.CfnOutput(self, "ApiUrl", value=self.http_api.api_endpoint)
        cdk.CfnOutput(self, "ApiAccessLogGroup", value=self.access_logs.log_group_name)

    def _throttle_tightly(self, routes: dict[str, list[apigwv2.HttpRoute]]) -> None:
        """Per-route limits: the L2 stage has no route settings, so the CfnStage's RouteSettings."""
        limits = {
            "ThrottlingRateLimit": self.settings.api_tight_rate_limit,
            "ThrottlingBurstLimit": self.settings.api_tight_burst_limit,
        }
        cfn_stage = self.default_stage.node.default_child
        assert isinstance(cfn_stage, apigwv2.CfnStage)
        cfn_stage.add_property_override("RouteSettings", {route_key: dict(limits) for route_key in routes})
        # A stage naming a route that does not exist yet fails to create.
        self.default_stage.node.add_dependency(*(added for group in routes.values() for added in group))

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
