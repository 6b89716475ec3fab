"""The HTTP API: exactly the gateway's route table, each route to its resource's function, and a stage
that logs and throttles."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from plutomi.topology import ROUTES, api_functions
from stacks.api import ACCESS_LOG_FIELDS
from stacks.base import handler_of
from tests.cdk.synth import Synth, functions_by_handler, only, resources, template_json


def _route_handlers(synth: Synth) -> dict[str, str]:
    """RouteKey -> the handler of the function its integration calls."""
    integrations = resources(synth.api, "AWS::ApiGatewayV2::Integration")
    handler_of_function = {
        logical_id: str(props["Handler"]) for logical_id, props in _functions(synth).items()
    }
    routes: dict[str, str] = {}
    for route in resources(synth.api, "AWS::ApiGatewayV2::Route").values():
        props = route["Properties"]
        prefix, target = props["Target"]["Fn::Join"][1]
        assert prefix == "integrations/"
        integration = integrations[target["Ref"]]["Properties"]
        function_id = integration["IntegrationUri"]["Fn::GetAtt"][0]
        assert props["RouteKey"] not in routes, f"route {props['RouteKey']} twice"
        routes[props["RouteKey"]] = handler_of_function[function_id]
    return routes


def _functions(synth: Synth) -> dict[str, dict[str, object]]:
    return {logical_id: props for logical_id, props in functions_by_handler(synth.api).values()}


def test_one_route_per_entry_of_the_route_table(staging: Synth) -> None:
    route_keys = [
        value["Properties"]["RouteKey"]
        for value in resources(staging.api, "AWS::ApiGatewayV2::Route").values()
    ]
    expected = [f"{route.method} {route.path}" for route in ROUTES]
    assert len(route_keys) == len(ROUTES)
    assert Counter(route_keys) == Counter(expected)


def test_each_route_calls_the_function_of_its_resource(staging: Synth) -> None:
    routes = _route_handlers(staging)
    for route in ROUTES:
        assert routes[f"{route.method} {route.path}"] == handler_of(route.function), route


def test_one_function_per_api_function_group(staging: Synth) -> None:
    assert sorted(functions_by_handler(staging.api)) == sorted(handler_of(f) for f in api_functions())
    assert handler_of("api.orgs") == "api/orgs.handler"


def test_integrations_are_lambda_proxies_with_the_v2_payload(staging: Synth) -> None:
    api_id, _ = only(staging.api, "AWS::ApiGatewayV2::Api")
    integrations = resources(staging.api, "AWS::ApiGatewayV2::Integration")
    assert len(integrations) == len(api_functions())
    for integration in integrations.values():
        props = integration["Properties"]
        assert props["ApiId"] == {"Ref": api_id}
        assert props["IntegrationType"] == "AWS_PROXY"
        assert props["PayloadFormatVersion"] == "2.0"


def test_the_api_is_an_http_api_with_an_auto_deployed_default_stage(staging: Synth) -> None:
    api_id, api = only(staging.api, "AWS::ApiGatewayV2::Api")
    assert api["ProtocolType"] == "HTTP"
    assert api["Name"] == "plutomi-staging"
    _, stage = only(staging.api, "AWS::ApiGatewayV2::Stage")
    assert (stage["ApiId"], stage["StageName"], stage["AutoDeploy"]) == ({"Ref": api_id}, "$default", True)


def test_api_gateway_may_invoke_each_function_it_routes_to(staging: Synth) -> None:
    permissions = [
        value["Properties"] for value in resources(staging.api, "AWS::Lambda::Permission").values()
    ]
    invoked = {
        permission["FunctionName"]["Fn::GetAtt"][0]
        for permission in permissions
        if permission["Principal"] == "apigateway.amazonaws.com"
        and permission["Action"] == "lambda:InvokeFunction"
    }
    assert invoked == set(_functions(staging))


def test_links_point_at_the_api_unless_a_base_url_is_given(staging: Synth, production: Synth) -> None:
    api_id, _ = only(staging.api, "AWS::ApiGatewayV2::Api")
    for _, function in functions_by_handler(staging.api).values():
        base_url = function["Environment"]["Variables"]["PLUTOMI_BASE_URL"]
        assert base_url == {"Fn::GetAtt": [api_id, "ApiEndpoint"]}
    for _, function in functions_by_handler(production.api).values():
        assert function["Environment"]["Variables"]["PLUTOMI_BASE_URL"] == "https://api.acme-hiring.test"


def _stage(synth: Synth) -> dict[str, Any]:
    (stage,) = resources(synth.api, "AWS::ApiGatewayV2::Stage").values()
    return stage


def test_the_stage_writes_a_json_access_log_line_of_route_templates_only(staging: Synth) -> None:
    settings = _stage(staging)["Properties"]["AccessLogSettings"]
    log_group_id = settings["DestinationArn"]["Fn::GetAtt"][0]
    log_group = resources(staging.api, "AWS::Logs::LogGroup")[log_group_id]
    assert log_group["Properties"]["RetentionInDays"] == 14
    fields = json.loads(settings["Format"])
    assert fields == ACCESS_LOG_FIELDS
    for name, variable in fields.items():
        assert re.fullmatch(r"\$context\.[A-Za-z.]+", variable), (name, variable)
    logged = set(fields.values())
    assert {
        "$context.requestId",
        "$context.routeKey",
        "$context.status",
        "$context.responseLatency",
        "$context.integrationErrorMessage",
        "$context.identity.sourceIp",
    } <= logged
    # Raw paths and query strings carry tokens (/public/applicants/{token}); headers carry cookies.
    never = ("path", "query", "header", "cookie", "authoriz", "useragent", "caller", "apikey")
    for variable in logged:
        assert not any(word in variable.lower() for word in never), variable


def test_the_stage_throttles_every_route_and_the_public_sign_in_and_apply_routes_harder(
    staging: Synth, production: Synth
) -> None:
    tight = {route.route_key for route in ROUTES if route.tight_throttle}
    assert tight == {
        "POST /auth/totp",
        "POST /auth/totp/verify",
        "POST /public/orgs/{org_id}/applications/{application_id}/applicants",
        "POST /careers/{org_id}/{application_id}",
        "POST /sign-in",
        "POST /sign-in/code",
    }
    for synth, default, tighter in (
        (staging, (100, 200), (5, 10)),
        (production, (250, 500), (2.5, 4)),
    ):
        stage = _stage(synth)
        props = stage["Properties"]
        assert props["DefaultRouteSettings"] == {
            "ThrottlingRateLimit": default[0],
            "ThrottlingBurstLimit": default[1],
        }
        expected = {"ThrottlingRateLimit": tighter[0], "ThrottlingBurstLimit": tighter[1]}
        assert props["RouteSettings"] == dict.fromkeys(tight, expected)
        # A stage whose route settings name a route that is not there yet fails to create.
        route_ids = {
            route["Properties"]["RouteKey"]: logical_id
            for logical_id, route in resources(synth.api, "AWS::ApiGatewayV2::Route").items()
        }
        for route_key in tight:
            assert route_ids[route_key] in stage["DependsOn"], route_key


def test_the_access_log_group_is_an_output(staging: Synth) -> None:
    log_group_id = _stage(staging)["Properties"]["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    outputs = template_json(staging.api)["Outputs"]
    assert outputs["ApiAccessLogGroup"]["Value"] == {"Ref": log_group_id}


def test_one_invoke_permission_per_function_keeps_the_stack_well_under_cloudformations_limit(
    staging: Synth,
) -> None:
    """CloudFormation refuses a stack of more than 500 resources; a permission per route (what
    HttpLambdaIntegration adds) took the API stack over it once the pages arrived."""
    permissions = resources(staging.api, "AWS::Lambda::Permission")
    assert len(permissions) == len(_functions(staging))
    for permission in permissions.values():
        assert permission["Properties"]["SourceArn"]["Fn::Join"][1][-1].endswith("/*/*")
    assert len(template_json(staging.api)["Resources"]) < 400, (
        "the API stack nears CloudFormation's 500 resources"
    )
