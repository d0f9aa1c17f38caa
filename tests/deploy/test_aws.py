"""The AWS app (deploy/aws): it synthesises offline with ``python app.py``, its template holds
what a deployment of the engine needs, and cfn-lint accepts it."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.config import Settings
from server.interview.usage import UsageRecorder
from server.llm.base import CallRecord
from server.logs import JsonFormatter

pytestmark = pytest.mark.backend_independent
ROOT = Path(__file__).resolve().parents[2]
APP_DIR = ROOT / "deploy" / "aws"
CERTIFICATE = "arn:aws:acm:ap-south-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
QUIET_JSII = {
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "1",
    "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
}
# Warnings left on purpose: the zones are fixed so the app synthesises offline (W3010), and
# the CDK's custom-resource framework names a dependency twice (W3005).
CFN_LINT_IGNORED = ["W3010", "W3005"]

sys.path.insert(0, str(APP_DIR))
from interview_stack import (  # noqa: E402
    IDLE_TIMEOUT_S,
    PROVIDER_ERROR_PATTERN,
    PROVIDER_SPEND_PATTERN,
    STOP_TIMEOUT_S,
)


@pytest.fixture(scope="module")
def synthesised(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``python app.py`` as a deployment runs it, with a certificate and a Gemini key secret."""
    out = tmp_path_factory.mktemp("cdk.out")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CDK_", "AWS_"))},
        **QUIET_JSII,
        "CDK_OUTDIR": str(out),
        "AWS_REGION": "ap-south-1",
        "INTERVIEW_AWS_CERTIFICATE_ARN": CERTIFICATE,
        "INTERVIEW_AWS_GEMINI_SECRET": "interview/gemini-api-key",
    }
    done = subprocess.run(
        [sys.executable, "app.py"],
        cwd=APP_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    yield out / "InterviewEngine.template.json"


@pytest.fixture(scope="module")
def template(synthesised: Path) -> Any:
    from aws_cdk.assertions import Template

    return Template.from_json(json.loads(synthesised.read_text()))


@pytest.fixture(scope="module")
def raw(synthesised: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(synthesised.read_text())
    return loaded


def resources(raw: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in raw["Resources"].items() if v["Type"] == kind}


def only(raw: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    found = resources(raw, kind)
    assert len(found) == 1, f"expected one {kind}, found {sorted(found)}"
    return next(iter(found.items()))


def container(raw: dict[str, Any], name: str) -> dict[str, Any]:
    for task in resources(raw, "AWS::ECS::TaskDefinition").values():
        for definition in task["Properties"]["ContainerDefinitions"]:
            if definition["Name"] == name:
                return dict(definition)
    raise AssertionError(f"no container {name!r}")


def test_cfn_lint_accepts_the_synthesised_template(synthesised: Path) -> None:
    linted = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--ignore-checks",
            *CFN_LINT_IGNORED,
            "--",
            str(synthesised),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_https_is_served_on_443_and_port_80_redirects(template: Any) -> None:
    from aws_cdk.assertions import Match

    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": 443,
            "Protocol": "HTTPS",
            "Certificates": [{"CertificateArn": CERTIFICATE}],
            "DefaultActions": [Match.object_like({"Type": "forward"})],
        },
    )
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": 80,
            "DefaultActions": [
                Match.object_like(
                    {"Type": "redirect", "RedirectConfig": Match.object_like({"Port": "443"})}
                )
            ],
        },
    )


def test_quiet_interview_sockets_outlive_the_load_balancers_idle_timeout(
    template: Any,
) -> None:
    from aws_cdk.assertions import Match

    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {
            "Scheme": "internet-facing",
            "LoadBalancerAttributes": Match.array_with(
                [{"Key": "idle_timeout.timeout_seconds", "Value": str(IDLE_TIMEOUT_S)}]
            ),
        },
    )
    # The server pings every ws_ping_interval_s: well inside the idle timeout.
    assert Settings.model_fields["ws_ping_interval_s"].default * 3 < IDLE_TIMEOUT_S


def test_targets_are_checked_on_readyz_without_stickiness(raw: dict[str, Any]) -> None:
    _, group = only(raw, "AWS::ElasticLoadBalancingV2::TargetGroup")
    props = group["Properties"]
    assert props["HealthCheckPath"] == "/readyz"
    assert props["TargetType"] == "ip" and props["Port"] == 8000
    attributes = {a["Key"]: a["Value"] for a in props["TargetGroupAttributes"]}
    assert attributes.get("stickiness.enabled", "false") == "false"
    assert int(attributes["deregistration_delay.timeout_seconds"]) <= 60


def test_a_stopping_gateway_has_time_to_drain_before_it_is_killed(raw: dict[str, Any]) -> None:
    gateway = container(raw, "gateway")
    grace = Settings.model_fields["shutdown_grace_s"].default
    assert gateway["StopTimeout"] == STOP_TIMEOUT_S > grace + 5
    _, service = only(raw, "AWS::ECS::Service")
    deployment = service["Properties"]["DeploymentConfiguration"]
    assert deployment["MinimumHealthyPercent"] == 100
    assert deployment["MaximumPercent"] == 200
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}


def test_secrets_reach_the_tasks_from_secrets_manager_only(raw: dict[str, Any]) -> None:
    for name in ("gateway", "migrate"):
        definition = container(raw, name)
        secrets = {s["Name"]: s["ValueFrom"] for s in definition["Secrets"]}
        assert set(secrets) >= {
            "INTERVIEW_JWT_SECRET",
            "INTERVIEW_METRICS_TOKEN",
            "DB_USER",
            "DB_PASSWORD",
            "REDIS_AUTH_TOKEN",
            "GEMINI_API_KEY",
        }
        assert "interview/gemini-api-key" in json.dumps(secrets["GEMINI_API_KEY"])
        environment = {e["Name"] for e in definition["Environment"]}
        assert not environment & set(secrets), "a secret is also set in plain text"
        assert not any("PASSWORD" in n or "SECRET" in n or "TOKEN" in n for n in environment)
    # The execution role may read exactly those secrets.
    policies = json.dumps(resources(raw, "AWS::IAM::Policy"))
    for secret in resources(raw, "AWS::SecretsManager::Secret"):
        assert secret in policies
    assert "secretsmanager:GetSecretValue" in policies


def test_the_container_builds_the_database_and_redis_urls_from_the_secret_parts(
    raw: dict[str, Any],
) -> None:
    command = container(raw, "gateway")["Command"]
    assert command[:2] == ["sh", "-c"]
    prefix, _, serve = command[2].partition(" && exec ")
    assert serve.startswith("interview serve") and "--no-migrate" in serve
    shown = subprocess.run(
        [
            "sh",
            "-c",
            prefix + ' && printf "%s\\n%s" "$INTERVIEW_DATABASE_URL" "$INTERVIEW_REDIS_URL"',
        ],
        env={
            "DB_USER": "interview",
            "DB_PASSWORD": "Pa55word",
            "DB_HOST": "db.internal",
            "DB_PORT": "5432",
            "DB_NAME": "interview",
            "REDIS_AUTH_TOKEN": "t0ken",
            "REDIS_HOST": "cache.internal",
            "REDIS_PORT": "6379",
        },
        capture_output=True,
        text=True,
        timeout=10,
    )
    database_url, redis_url = shown.stdout.splitlines()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        redis_url=redis_url,
    )
    assert (
        settings.database_url
        == "postgresql+asyncpg://interview:Pa55word@db.internal:5432/interview"
    )
    assert settings.redis_url == "rediss://:t0ken@cache.internal:6379/0"
    assert container(raw, "migrate")["Command"][2].endswith("&& exec interview migrate")


def test_the_gateways_trust_forwarded_headers_from_the_load_balancer_subnets_only(
    raw: dict[str, Any],
) -> None:
    environment = {e["Name"]: e["Value"] for e in container(raw, "gateway")["Environment"]}
    public_cidrs = sorted(
        subnet["Properties"]["CidrBlock"]
        for subnet in resources(raw, "AWS::EC2::Subnet").values()
        if subnet["Properties"].get("MapPublicIpOnLaunch")
    )
    assert sorted(environment["INTERVIEW_TRUSTED_PROXIES"].split(",")) == public_cidrs
    assert environment["INTERVIEW_ENV"] == "production"
    assert environment["INTERVIEW_CORS_ORIGINS"] == {"Ref": "ClientOrigins"}
    # The tasks' port admits the load balancer's security group, nothing else.
    task_sg = next(
        k
        for k, v in resources(raw, "AWS::EC2::SecurityGroup").items()
        if v["Properties"]["GroupDescription"] == "Interview gateways and migrations"
    )
    ingress = [
        rule
        for rule in resources(raw, "AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [task_sg, "GroupId"]}
    ]
    assert len(ingress) == 1 and "SourceSecurityGroupId" in ingress[0]["Properties"]


def test_the_database_is_private_encrypted_and_kept(raw: dict[str, Any]) -> None:
    name, database = only(raw, "AWS::RDS::DBInstance")
    props = database["Properties"]
    assert props["PubliclyAccessible"] is False
    assert props["StorageEncrypted"] is True
    assert props["Engine"] == "postgres"
    assert props["DBInstanceClass"] == "db.t3.micro"
    assert props["BackupRetentionPeriod"] >= 7
    assert database["DeletionPolicy"] == "Snapshot"
    _, subnets = only(raw, "AWS::RDS::DBSubnetGroup")
    isolated = {
        k
        for k, v in resources(raw, "AWS::EC2::Subnet").items()
        if not v["Properties"].get("MapPublicIpOnLaunch")
    }
    assert {ref["Ref"] for ref in subnets["Properties"]["SubnetIds"]} == isolated
    assert "MasterUserPassword" in props and "resolve:secretsmanager" in json.dumps(
        props["MasterUserPassword"]
    )
    assert name


def test_redis_is_encrypted_in_transit_with_an_auth_token_from_secrets_manager(
    raw: dict[str, Any],
) -> None:
    _, cache = only(raw, "AWS::ElastiCache::ReplicationGroup")
    props = cache["Properties"]
    assert props["TransitEncryptionEnabled"] is True
    assert "resolve:secretsmanager" in json.dumps(props["AuthToken"])
    assert props["CacheNodeType"] == "cache.t3.micro"


def test_migrations_run_as_a_one_off_task_before_the_service_changes(raw: dict[str, Any]) -> None:
    migrations = resources(raw, "AWS::CloudFormation::CustomResource")
    migration = next(k for k in migrations if k.startswith("Migration"))
    props = migrations[migration]["Properties"]
    migrate_task = next(
        k
        for k, v in resources(raw, "AWS::ECS::TaskDefinition").items()
        if v["Properties"]["ContainerDefinitions"][0]["Name"] == "migrate"
    )
    assert props["TaskDefinition"] == {"Ref": migrate_task}
    _, service = only(raw, "AWS::ECS::Service")
    assert migration in service["DependsOn"]


def test_provider_errors_and_spend_raise_alarms(raw: dict[str, Any]) -> None:
    filters = {
        f["Properties"]["MetricTransformations"][0]["MetricName"]: f["Properties"]
        for f in resources(raw, "AWS::Logs::MetricFilter").values()
    }
    assert filters["ProviderErrors"]["FilterPattern"] == PROVIDER_ERROR_PATTERN
    assert filters["ProviderSpendMicroUsd"]["FilterPattern"] == PROVIDER_SPEND_PATTERN
    spend = filters["ProviderSpendMicroUsd"]["MetricTransformations"][0]
    assert spend["MetricValue"] == "$.cost_micro_usd"
    alarms = {
        a["Properties"]["MetricName"]: a["Properties"]
        for a in resources(raw, "AWS::CloudWatch::Alarm").values()
        if "MetricName" in a["Properties"]
    }
    assert {"ProviderErrors", "ProviderSpendMicroUsd"} <= set(alarms)
    for alarm in alarms.values():
        assert alarm["AlarmActions"], "an alarm that notifies nobody"
    _, log_group = only(raw, "AWS::Logs::LogGroup")
    assert log_group["Properties"]["RetentionInDays"] == 30


def _matches(pattern: str, line: dict[str, Any]) -> bool:
    """CloudWatch's JSON filter syntax, the subset the alarms use: ``{ $.a = "x" && $.b > 0 }``."""
    body = pattern.strip()
    assert body.startswith("{") and body.endswith("}")
    for clause in body[1:-1].split("&&"):
        parsed = re.fullmatch(r'\s*\$\.(\w+)\s*(=|>)\s*("([^"]*)"|[0-9.]+)\s*', clause)
        assert parsed, f"unsupported clause {clause!r}"
        key, op, _, text = parsed.groups()
        value = line.get(key)
        if op == "=" and value != (text if text is not None else float(parsed.group(3))):
            return False
        if op == ">" and not (isinstance(value, int | float) and value > float(parsed.group(3))):
            return False
    return True


async def test_the_alarm_filters_match_the_usage_sinks_json_log_lines() -> None:
    """Count what the gateway really logs: a failed call and a paid call, as JSON lines."""
    lines: list[dict[str, Any]] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(JsonFormatter().format(record)))

    logger = logging.getLogger("server.interview.usage")
    handler = Capture(level=logging.INFO)
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        recorder = UsageRecorder(None)  # type: ignore[arg-type]  # storing fails, logging not
        for outcome, cost in (("error", 0), ("ok", 1234)):
            recorder.record(
                "",
                CallRecord(
                    kind="turn",
                    model="gemini-3.5-flash",
                    prompt_tokens=100,
                    output_tokens=50,
                    latency_ms=900,
                    ttft_ms=300,
                    outcome=outcome,  # type: ignore[arg-type]
                    error_code="503" if outcome == "error" else None,
                    cost_micro_usd=cost,
                    attempts=1,
                ),
            )
        await recorder.drain()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    calls = [line for line in lines if line["msg"] == "provider call"]
    assert len(calls) == 2
    failed, paid = calls
    assert _matches(PROVIDER_ERROR_PATTERN, failed) and not _matches(PROVIDER_ERROR_PATTERN, paid)
    assert _matches(PROVIDER_SPEND_PATTERN, paid) and not _matches(PROVIDER_SPEND_PATTERN, failed)
    assert paid["cost_micro_usd"] == 1234


def test_without_a_certificate_or_gemini_key_it_serves_http_and_the_offline_interviewer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first try, before a domain: port 80 forwards to the gateways, no Gemini secret."""
    import aws_cdk as cdk
    from aws_cdk.assertions import Match, Template
    from interview_stack import InterviewSettings, InterviewStack

    for name, value in QUIET_JSII.items():
        monkeypatch.setenv(name, value)
    app = cdk.App()
    stack = InterviewStack(app, "Trial", settings=InterviewSettings())
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::ElasticLoadBalancingV2::Listener", 1)
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": 80,
            "Protocol": "HTTP",
            "DefaultActions": [Match.object_like({"Type": "forward"})],
        },
    )
    definitions = json.dumps(template.find_resources("AWS::ECS::TaskDefinition"))
    assert "GEMINI_API_KEY" not in definitions


class FakeEcs:
    """Stands in for boto3's ECS client (AWS's API, not ours) in the migration handler."""

    def __init__(self, failures: list[dict[str, str]], exit_codes: list[int | None]) -> None:
        self.failures = failures
        self.exit_codes = exit_codes
        self.status = "RUNNING"
        self.started: list[dict[str, Any]] = []

    def run_task(self, **kwargs: Any) -> dict[str, Any]:
        self.started.append(kwargs)
        tasks = [] if self.failures else [{"taskArn": "arn:aws:ecs:task/1"}]
        return {"failures": self.failures, "tasks": tasks}

    def describe_tasks(self, cluster: str, tasks: list[str]) -> dict[str, Any]:
        containers = [{"exitCode": code} for code in self.exit_codes]
        return {
            "tasks": [
                {"lastStatus": self.status, "containers": containers, "stoppedReason": "done"}
            ]
        }


def migration_handler(ecs: FakeEcs) -> dict[str, Any]:
    import types

    from interview_stack import MIGRATION_HANDLER

    boto3 = types.ModuleType("boto3")
    boto3.client = lambda name: ecs  # type: ignore[attr-defined]
    saved = sys.modules.get("boto3")
    sys.modules["boto3"] = boto3
    try:
        namespace: dict[str, Any] = {}
        exec(compile(MIGRATION_HANDLER, "index.py", "exec"), namespace)
    finally:
        if saved is None:
            sys.modules.pop("boto3")
        else:
            sys.modules["boto3"] = saved
    return namespace


EVENT = {
    "RequestType": "Update",
    "ResourceProperties": {
        "Cluster": "arn:cluster",
        "TaskDefinition": "arn:task-definition:7",
        "Subnets": ["subnet-a"],
        "SecurityGroups": ["sg-1"],
    },
}


def test_the_release_waits_for_the_migration_task_and_goes_on_when_it_exits_0() -> None:
    ecs = FakeEcs(failures=[], exit_codes=[0])
    handler = migration_handler(ecs)
    started = handler["on_event"](EVENT, None)
    assert started == {"PhysicalResourceId": "arn:aws:ecs:task/1"}
    assert ecs.started[0]["taskDefinition"] == "arn:task-definition:7"
    event = {**EVENT, **started}
    assert handler["is_complete"](event, None) == {"IsComplete": False}  # still running
    ecs.status = "STOPPED"
    assert handler["is_complete"](event, None) == {"IsComplete": True}


def test_a_failed_migration_fails_the_release() -> None:
    ecs = FakeEcs(failures=[], exit_codes=[1])
    handler = migration_handler(ecs)
    event = {**EVENT, **handler["on_event"](EVENT, None)}
    ecs.status = "STOPPED"
    with pytest.raises(RuntimeError, match="the migration failed"):
        handler["is_complete"](event, None)
    refused = migration_handler(FakeEcs(failures=[{"reason": "RESOURCE:MEMORY"}], exit_codes=[]))
    with pytest.raises(RuntimeError, match="could not start the migration task"):
        refused["on_event"](EVENT, None)
    # Removing the stack does not run anything.
    assert handler["on_event"]({"RequestType": "Delete", "PhysicalResourceId": "x"}, None) == {
        "PhysicalResourceId": "x"
    }
