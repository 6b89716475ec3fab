"""The HTTP API: exactly the gateway's route table, each route to its resource's function."""

from __future__ import annotations

from collections import Counter

from plutomi.topology import ROUTES, api_functions
from stacks.base import handler_of
from tests.cdk.synth import Synth, functions_by_handler, only, resources


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
