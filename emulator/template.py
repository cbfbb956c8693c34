"""What the emulator runs, read from template.yaml after the SAM transform (offline).

Nothing about the app is hard-coded in the emulator: routes, schemas and auth come
from the OpenAPI document the template includes; functions, stage, access-log
format and the subscription from the transformed resources.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import boto3
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.utils.py27hash_fix import (
    to_py27_compatible_template,
    undo_mark_unicode_str_in_template,
)
from samtranslator.yaml_helper import yaml_parse

from dev_support.paths import TEMPLATE_PATH

# The translator warns about its own feature toggles and usage metrics, which mean
# nothing offline; real problems with the template still raise.
logging.getLogger("samtranslator").setLevel(logging.ERROR)


# The translator asks for a region to name partitions and ARNs; offline, it is this one
# (whatever the machine's AWS configuration says, or whether it has one).
OFFLINE_REGION = "us-east-1"


def _no_managed_policies() -> dict[str, str]:
    # The template attaches no managed policies, so the translator never needs IAM.
    return {}


def _with_includes(node: Any, base: Path) -> Any:
    """``node`` with every ``Fn::Transform: AWS::Include`` replaced by the file it names."""
    if isinstance(node, list):
        return [_with_includes(item, base) for item in node]
    if not isinstance(node, dict):
        return node
    include = node.get("Fn::Transform")
    if len(node) == 1 and isinstance(include, dict) and include.get("Name") == "AWS::Include":
        return yaml_parse((base / include["Parameters"]["Location"]).read_text())
    return {key: _with_includes(value, base) for key, value in node.items()}


def transform_offline(
    template_path: Path, parameters: dict[str, str] | None = None
) -> dict[str, Any]:
    """The CloudFormation template SAM would produce, without AWS.

    Does first what ``sam package`` and CloudFormation do before the SAM transform:
    code locations become S3 objects and every ``AWS::Include`` is inlined.
    """
    document = _with_includes(yaml_parse(template_path.read_text()), template_path.parent)
    for resource in document["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource.setdefault("Properties", {})["CodeUri"] = "s3://artifacts/function.zip"
    sam_template = copy.deepcopy(document)
    parameter_values: dict[str, Any] = dict(parameters or {})
    to_py27_compatible_template(sam_template, parameter_values)
    translator = Translator(
        None, Parser(), boto_session=boto3.session.Session(region_name=OFFLINE_REGION)
    )
    result: dict[str, Any] = undo_mark_unicode_str_in_template(
        translator.translate(
            sam_template, parameter_values, get_managed_policy_map=_no_managed_policies
        )
    )
    result.setdefault("Parameters", document.get("Parameters", {}))
    result.setdefault("Mappings", document.get("Mappings", {}))
    result.setdefault("Conditions", document.get("Conditions", {}))
    return result


NO_VALUE = "AWS::NoValue"
# The version a function's alias runs locally (on AWS, the one the deploy published).
PUBLISHED_VERSION = "1"
LOCAL_ACCOUNT = "000000000000"
LOCAL_REGION = "local"


class Resolver:
    """Evaluates the intrinsic functions the template uses, for given parameter values."""

    def __init__(self, template: dict[str, Any], parameters: dict[str, str], names: dict[str, str]):
        defaults = {
            name: str(spec.get("Default", "")) for name, spec in template["Parameters"].items()
        }
        self.parameters = {
            **defaults,
            **parameters,
            "AWS::Region": "local",
            "AWS::AccountId": "000000000000",
            "AWS::Partition": "aws",
            "AWS::StackName": "local",
            "AWS::URLSuffix": "localhost",
        }
        self.template = template
        # Physical names of resources (Ref / GetAtt) in the emulator's world.
        self.names = names

    def _version(self, logical_id: str) -> str | None:
        """A published version's ARN, as Ref gives it, for an ``AWS::Lambda::Version``."""
        resource = self.template.get("Resources", {}).get(logical_id)
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Lambda::Version":
            return None
        function = self.value(resource["Properties"]["FunctionName"])
        return (
            f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{function}:{PUBLISHED_VERSION}"
        )

    def condition(self, name: str) -> bool:
        return bool(self.value(self.template["Conditions"][name]))

    def value(self, node: Any) -> Any:  # noqa: PLR0911, PLR0912 -- a branch per intrinsic
        # A list item or property that resolves to AWS::NoValue is left out, as CloudFormation
        # leaves it out.
        if isinstance(node, list):
            return [item for item in map(self.value, node) if item != NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) != 1:
            resolved = {key: self.value(item) for key, item in node.items()}
            return {key: item for key, item in resolved.items() if item != NO_VALUE}
        ((key, arg),) = node.items()
        if key == "Ref":
            if arg in self.parameters:
                return self.parameters[arg]
            version = self._version(arg)
            if version is not None:
                return version
            return self.names.get(arg, arg)
        if key == "Fn::GetAtt":
            if arg[1] == "Version" and self._version(arg[0]) is not None:
                return PUBLISHED_VERSION
            return self.names.get(arg[0], arg[0])
        if key == "Fn::FindInMap":
            mapping, top, second = self.value(arg)
            return self.template["Mappings"][mapping][top][second]
        if key == "Fn::Join":
            separator, items = arg
            resolved = self.value(items)
            return separator.join(resolved if isinstance(resolved, list) else [resolved])
        if key == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.value(arg[1]))

            def substitute(match: re.Match[str]) -> str:
                name = match.group(1)
                if name in variables:
                    return str(variables[name])
                return str(self.value({"Ref": name.split(".")[0]}))

            return re.sub(r"\$\{([^}]+)\}", substitute, text)
        if key == "Fn::Select":
            index, items = self.value(arg)
            return items[int(index)]
        if key == "Fn::Split":
            separator, text = self.value(arg)
            return str(text).split(separator)
        if key == "Fn::If":
            name, when_true, when_false = arg
            return self.value(when_true if self.condition(name) else when_false)
        if key == "Fn::Equals":
            left, right = self.value(arg)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not self.value(arg[0])
        if key == "Fn::And":
            return all(self.value(item) for item in arg)
        if key == "Fn::Or":
            return any(self.value(item) for item in arg)
        if key == "Condition":
            return self.condition(arg)
        return {key: self.value(arg)}


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    handler: str
    runtime: str
    timeout_s: float
    memory_mb: int
    environment: dict[str, str]
    # Lambda's LoggingConfig.SystemLogLevel (INFO when unset) and active tracing.
    system_log_level: str = "INFO"
    tracing: bool = False
    # LoggingConfig.ApplicationLogLevel, which Lambda applies to JSON logs only (None: none).
    application_log_level: str | None = None
    # ReservedConcurrentExecutions: at most this many environments at once (None: unreserved).
    reserved_concurrency: int | None = None


@dataclass(frozen=True)
class Route:
    method: str
    resource: str
    pattern: re.Pattern[str]
    operation: dict[str, Any]
    function: str
    # The alias the integration invokes (AutoPublishAlias), None for the unqualified function.
    qualifier: str | None = None
    # How long the gateway waits for the integration (its timeoutInMillis; 29 s by default).
    timeout_s: float = 29.0

    @property
    def needs_api_key(self) -> bool:
        return any("api_key" in requirement for requirement in self.operation.get("security", []))


@dataclass(frozen=True)
class Schedule:
    """An EventBridge Scheduler schedule that invokes a function of the stack."""

    function: str
    period_s: float
    # The event the function receives (the target's Input).
    event: dict[str, Any] = field(default_factory=dict)


_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_RATE_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> float:
    """Seconds between runs of a ``rate(...)`` schedule expression (cron is not emulated)."""
    found = _RATE.match(expression)
    if found is None:
        raise ValueError(f"unsupported schedule expression {expression!r}: rate(...) only")
    return float(int(found.group(1)) * _RATE_UNIT_S[found.group(2).rstrip("s")])


@dataclass(frozen=True)
class AppSpec:
    stage: str
    access_log_format: str
    functions: dict[str, FunctionSpec]
    routes: list[Route]
    openapi: dict[str, Any]
    subscriber: str | None
    # Stage throttling applies to every request; the usage plan's to keyed requests.
    stage_throttle: tuple[float, int]
    plan_throttle: tuple[float, int] | None
    tracing: bool = False
    # The REST API's name: its metrics' ApiName dimension.
    api_name: str = ""
    # The queue where the subscriber's failed batches go (its on-failure destination).
    failure_queue: str | None = None
    # The whole template after the SAM transform, for what reads more of it (alarms, dashboard).
    template: dict[str, Any] = field(default_factory=dict)
    # API keys a function of the stack reads (the canary's), by id, with their plan's throttle;
    # the clients' key is the other one.
    function_keys: dict[str, tuple[float, int]] = field(default_factory=dict)
    schedules: tuple[Schedule, ...] = ()
    # The function CodeDeploy runs before shifting the alias (BeforeAllowTrafficHook).
    pre_traffic_hook: str | None = None
    # The stage's URL as the template writes it (execute-api); the emulator answers it.
    invoke_url: str = ""


def _pattern(resource: str) -> re.Pattern[str]:
    # API Gateway path parameters match one segment.
    parts = [
        f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") else re.escape(part)
        for part in resource.strip("/").split("/")
    ]
    return re.compile("^/" + "/".join(parts) + "$")


def load_app(
    template_path: Path = TEMPLATE_PATH, parameters: dict[str, str] | None = None
) -> AppSpec:
    parameters = dict(parameters or {})
    template = transform_offline(template_path, parameters)
    resources = template["Resources"]
    names = {logical_id: logical_id for logical_id in resources}
    resolve = Resolver(template, parameters, names)

    functions = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        if "Condition" in resource and not resolve.condition(resource["Condition"]):
            continue
        properties = resolve.value(resource["Properties"])
        reserved = properties.get("ReservedConcurrentExecutions", "AWS::NoValue")
        functions[logical_id] = FunctionSpec(
            logical_id=logical_id,
            handler=properties["Handler"],
            runtime=properties["Runtime"],
            timeout_s=float(properties.get("Timeout", 3)),
            memory_mb=int(properties.get("MemorySize", 128)),
            environment={
                k: str(v) for k, v in properties.get("Environment", {}).get("Variables", {}).items()
            },
            system_log_level=properties.get("LoggingConfig", {}).get("SystemLogLevel", "INFO"),
            tracing=properties.get("TracingConfig", {}).get("Mode") == "Active",
            application_log_level=(
                properties["LoggingConfig"].get("ApplicationLogLevel", "INFO")
                if properties.get("LoggingConfig", {}).get("LogFormat") == "JSON"
                else None
            ),
            reserved_concurrency=None if reserved == "AWS::NoValue" else int(reserved),
        )
    aliases = {
        logical_id: str(resource["Properties"]["Name"])
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Lambda::Alias"
    }

    (stage,) = [r for r in resources.values() if r["Type"] == "AWS::ApiGateway::Stage"]
    stage_properties = resolve.value(stage["Properties"])
    ((api_id, api),) = [
        (name, r) for name, r in resources.items() if r["Type"] == "AWS::ApiGateway::RestApi"
    ]
    openapi = resolve.value(api["Properties"]["Body"])

    routes = []
    for resource_path, item in openapi["paths"].items():
        for method, operation in item.items():
            integration = operation["x-amazon-apigateway-integration"]
            uri = integration["uri"]
            target = next(name for name in functions if name in str(uri))
            alias = next((name for a, name in aliases.items() if a in str(uri)), None)
            routes.append(
                Route(
                    method.upper(),
                    resource_path,
                    _pattern(resource_path),
                    operation,
                    target,
                    alias,
                    float(integration.get("timeoutInMillis", 29000)) / 1000,
                )
            )

    subscriber = None
    for resource in resources.values():
        if resource["Type"] == "AWS::Logs::SubscriptionFilter":
            subscriber = resolve.value(resource["Properties"]["DestinationArn"])

    failure_queue = None
    for resource in resources.values():
        if resource["Type"] == "AWS::Lambda::EventInvokeConfig":
            properties = resolve.value(resource["Properties"])
            if properties["FunctionName"] == subscriber:
                destination = properties.get("DestinationConfig", {}).get("OnFailure", {})
                failure_queue = destination.get("Destination")

    settings = stage_properties.get("MethodSettings", [{}])[0]
    plans = [
        resolve.value(r["Properties"])
        for r in resources.values()
        if r["Type"] == "AWS::ApiGateway::UsagePlan"
        and ("Condition" not in r or resolve.condition(r["Condition"]))
    ]
    # API Gateway's account defaults when the stage sets none.
    stage_throttle = (
        float(settings.get("ThrottlingRateLimit", 10_000)),
        int(settings.get("ThrottlingBurstLimit", 5_000)),
    )
    plan_throttle = None
    keys = _api_keys(resources, resolve)
    read = {value for spec in functions.values() for value in spec.environment.values()}
    function_keys = {key: throttle for key, throttle in keys.items() if key in read}
    client_plans = [throttle for key, throttle in keys.items() if key not in read]
    if client_plans:
        plan_throttle = client_plans[0]
    elif plans:
        throttle = plans[0]["Throttle"]
        plan_throttle = (float(throttle["RateLimit"]), int(throttle["BurstLimit"]))
    hooks = [
        resolve.value(update["BeforeAllowTrafficHook"])
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Alias"
        and "BeforeAllowTrafficHook"
        in (update := r.get("UpdatePolicy", {}).get("CodeDeployLambdaAliasUpdate", {}))
    ]
    return AppSpec(
        stage=stage_properties["StageName"],
        access_log_format=stage_properties["AccessLogSetting"]["Format"],
        functions=functions,
        routes=routes,
        openapi=openapi,
        subscriber=subscriber,
        stage_throttle=stage_throttle,
        plan_throttle=plan_throttle,
        tracing=bool(stage_properties.get("TracingEnabled", False)),
        api_name=str(resolve.value(api["Properties"]["Name"])),
        failure_queue=failure_queue,
        template=template,
        function_keys=function_keys,
        schedules=_schedules(resources, resolve, set(functions)),
        pre_traffic_hook=hooks[0] if hooks else None,
        invoke_url=(
            f"https://{names[api_id]}.execute-api.{LOCAL_REGION}.localhost/"
            f"{stage_properties['StageName']}"
        ),
    )


def _api_keys(resources: dict[str, Any], resolve: Resolver) -> dict[str, tuple[float, int]]:
    """Each API key the stack creates (by id) and its usage plan's throttle."""

    def present(resource: dict[str, Any]) -> bool:
        return "Condition" not in resource or resolve.condition(resource["Condition"])

    plans = {
        name: resolve.value(r["Properties"]).get("Throttle", {})
        for name, r in resources.items()
        if r["Type"] == "AWS::ApiGateway::UsagePlan" and present(r)
    }
    keys = {}
    for resource in resources.values():
        if resource["Type"] != "AWS::ApiGateway::UsagePlanKey" or not present(resource):
            continue
        properties = resolve.value(resource["Properties"])
        throttle = plans.get(str(properties["UsagePlanId"]), {})
        keys[str(properties["KeyId"])] = (
            float(throttle.get("RateLimit", 10_000)),
            int(throttle.get("BurstLimit", 5_000)),
        )
    return keys


def _schedules(
    resources: dict[str, Any], resolve: Resolver, functions: set[str]
) -> tuple[Schedule, ...]:
    found = []
    for resource in resources.values():
        if resource["Type"] != "AWS::Scheduler::Schedule":
            continue
        if "Condition" in resource and not resolve.condition(resource["Condition"]):
            continue
        properties = resolve.value(resource["Properties"])
        if properties.get("State", "ENABLED") != "ENABLED":
            continue
        target = str(properties["Target"]["Arn"])
        function = next((name for name in functions if name == target), None)
        if function is None:
            continue
        raw_input = properties["Target"].get("Input")
        event = json.loads(raw_input) if isinstance(raw_input, str) else {}
        found.append(Schedule(function, rate_seconds(properties["ScheduleExpression"]), event))
    return tuple(found)


@cache
def template() -> dict[str, Any]:
    """template.yaml as written (before the SAM transform)."""
    parsed: dict[str, Any] = yaml_parse(TEMPLATE_PATH.read_text())
    return parsed


def access_log_format() -> str:
    """The stage's access-log format, as template.yaml declares it (``Mappings.AccessLog``)."""
    fmt: str = template()["Mappings"]["AccessLog"]["Format"]["Json"]
    return fmt


def parameter_default(name: str) -> Any:
    return template()["Parameters"][name]["Default"]


@cache
def _default_app() -> AppSpec:
    return load_app()


def function_environment(logical_id: str) -> dict[str, str]:
    """The environment the template gives a function at its parameters' defaults."""
    return dict(_default_app().functions[logical_id].environment)
