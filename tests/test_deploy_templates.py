"""The AWS deployment as code (deploy/ecs/, ADR 0033): four CloudFormation stacks per
environment that cfn-lint and checkov pass with each environment's parameters, and task
definitions that give each role exactly the settings Boardroom reads, secrets only through
Secrets Manager.

No AWS account is needed: the templates are checked as files. cfn-lint comes from the project's
own environment (requirements/dev.txt); checkov, whose pins clash with the project's, is
installed by a fixture into ``.venv-checkov/`` from ``deploy/ecs/requirements-checkov.txt``
(hash-locked), again only when that lock changes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from realtime.config_reference import environment_variables

ROOT = Path(__file__).resolve().parent.parent
ECS = ROOT / "deploy" / "ecs"
STACKS = ("base", "data", "migrate", "app")
ENVIRONMENTS = ("dev", "staging", "prod")
CFN_LINT = Path(sys.executable).parent / "cfn-lint"
CHECKOV_LOCK = ECS / "requirements-checkov.txt"
CHECKOV_VENV = ROOT / ".venv-checkov"
# `aws cloudformation deploy` sends a template inline up to this size; beyond it, it needs an
# S3 bucket to stage the template in.
INLINE_TEMPLATE_LIMIT = 51_200
# Fargate's CPU units -> the memory sizes (MiB) it allows with them.
FARGATE_MEMORY = {
    256: {512, 1024, 2048},
    512: set(range(1024, 4097, 1024)),
    1024: set(range(2048, 8193, 1024)),
    2048: set(range(4096, 16385, 1024)),
    4096: set(range(8192, 30721, 1024)),
}
SECRET_WORDS = ("SECRET", "PASSWORD", "TOKEN")


# --- Reading templates and parameter files ---------------------------------------------------


class _CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags, read into their long forms (``!Ref x`` ->
    ``{"Ref": "x"}``, ``!GetAtt a.b`` -> ``{"Fn::GetAtt": ["a", "b"]}``)."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def template_path(stack: str) -> Path:
    return ECS / "templates" / f"{stack}.yaml"


def parameter_path(environment: str, stack: str) -> Path:
    return ECS / "params" / environment / f"{stack}.json"


def template(stack: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(template_path(stack).read_text(), _CloudFormationLoader)
    return loaded


def parameters(environment: str, stack: str) -> dict[str, str]:
    entries = json.loads(parameter_path(environment, stack).read_text())
    return {entry["ParameterKey"]: entry["ParameterValue"] for entry in entries}


def resources(stack: str, kind: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in template(stack)["Resources"].items()
        if resource["Type"] == kind
    }


def containers() -> dict[str, tuple[str, dict[str, Any], dict[str, Any]]]:
    """Container name -> (stack, its task definition's properties, its definition)."""
    found = {}
    for stack in STACKS:
        for task in resources(stack, "AWS::ECS::TaskDefinition").values():
            for container in task["Properties"]["ContainerDefinitions"]:
                found[container["Name"]] = (stack, task["Properties"], container)
    return found


def environment_of(container: dict[str, Any]) -> dict[str, Any]:
    return {entry["Name"]: entry["Value"] for entry in container.get("Environment", [])}


def secrets_of(container: dict[str, Any]) -> dict[str, Any]:
    return {entry["Name"]: entry["ValueFrom"] for entry in container.get("Secrets", [])}


def _secret_arn(value_from: Any) -> str:
    """The secret a ``ValueFrom`` names, without a JSON key suffix (``<arn>:password::``)."""
    sub = value_from.get("Fn::Sub") if isinstance(value_from, dict) else None
    if isinstance(sub, list) and sub[0] == "${Arn}:password::":
        value_from = sub[1]["Arn"]
    return json.dumps(value_from, sort_keys=True)


# --- Shape of the files ----------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_each_template_deploys_without_a_staging_bucket(stack: str):
    """`aws cloudformation deploy --template-file` works without `--s3-bucket` only for
    templates under 51,200 bytes: the README's commands rely on it."""
    assert template_path(stack).stat().st_size < INLINE_TEMPLATE_LIMIT


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("stack", STACKS)
def test_each_parameter_file_sets_exactly_the_templates_parameters(stack: str, environment: str):
    """A parameter the template lacks is an error at deploy; one the file lacks would fall back
    to a default or fail. The templates have no defaults: every value is chosen per environment."""
    declared = template(stack)["Parameters"]
    given = parameters(environment, stack)
    assert set(given) == set(declared)
    assert given["EnvironmentName"] == environment


# --- The linters -----------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("stack", STACKS)
def test_cfn_lint_finds_nothing_with_each_environments_parameters(stack: str, environment: str):
    """cfn-lint checks every property against CloudFormation's schemas, and the parameter file's
    values against the allowed values and patterns: no error, no warning, no note."""
    assert CFN_LINT.is_file(), (
        f"no cfn-lint at {CFN_LINT}: install requirements/dev.txt (scripts/test does)"
    )
    done = subprocess.run(
        [
            str(CFN_LINT),
            "--format",
            "parseable",
            "--parameter-files",
            str(parameter_path(environment, stack)),
            "--",
            str(template_path(stack)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip() == "", done.stdout + done.stderr


@pytest.fixture(scope="session")
def checkov() -> Path:
    """checkov in its own virtual environment, from its hash-locked requirements: made when
    missing, remade when the lock changed (a stamp holds the lock's sha256)."""
    digest = hashlib.sha256(CHECKOV_LOCK.read_bytes()).hexdigest()
    stamp = CHECKOV_VENV / ".installed-lock-sha256"
    executable = CHECKOV_VENV / "bin" / "checkov"
    if executable.is_file() and stamp.is_file() and stamp.read_text().strip() == digest:
        return executable
    if CHECKOV_VENV.exists():
        shutil.rmtree(CHECKOV_VENV)
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True, timeout=120)
    # Ignored by git, and so by ruff, even before .gitignore names it (as Python 3.13's venv does).
    (CHECKOV_VENV / ".gitignore").write_text("*\n")
    install = subprocess.run(
        [
            str(CHECKOV_VENV / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--require-hashes",
            "-r",
            str(CHECKOV_LOCK),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    stamp.write_text(digest + "\n")
    (CHECKOV_VENV / ".install-seconds").write_text(f"{time.monotonic() - started:.0f}\n")
    return executable


@pytest.mark.timeout(900)
def test_checkov_fails_no_check_and_every_skip_says_why(checkov: Path):
    """checkov's CloudFormation policies (encryption, public access, logging, TLS, IAM
    wildcards...) all pass; a check that cannot apply is skipped in the template itself with
    the reason beside it."""
    done = subprocess.run(
        [
            str(checkov),
            "--directory",
            str(ECS),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--output",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(done.stdout)
    results = report["results"]
    failed = [(c["check_id"], c["resource"], c["file_path"]) for c in results["failed_checks"]]
    assert failed == [], failed
    assert results["parsing_errors"] == []
    scanned = {Path(c["file_path"]).name for c in results["passed_checks"]}
    assert scanned == {f"{stack}.yaml" for stack in STACKS}
    for skipped in results["skipped_checks"]:
        assert (skipped.get("check_result") or {}).get("suppress_comment", "").strip(), skipped
    assert done.returncode == 0, done.stderr


# --- What the containers are given -----------------------------------------------------------


def test_the_three_roles_have_one_container_each_running_their_command():
    """One image, the command is the role (ADR 0031): serve and worker are services, migrate
    is the one-off task run before each deploy."""
    found = containers()
    assert set(found) == {"serve", "worker", "migrate"}
    for name, (_, _, container) in found.items():
        assert container["Command"] == [name]


def test_containers_pass_only_variables_boardroom_reads():
    """A misspelt variable is silently ignored by the app: every name must be a setting of
    realtime/settings.py (docs/configuration.md) or a standard OTEL_ one."""
    known = set(environment_variables())
    for name, (_, _, container) in containers().items():
        passed = set(environment_of(container)) | set(secrets_of(container))
        unknown = {v for v in passed if v not in known and not v.startswith("OTEL_")}
        assert not unknown, f"{name} passes variables Boardroom does not read: {unknown}"


@pytest.mark.parametrize(
    ("name", "required"),
    [
        (
            "serve",
            {
                "DATABASE_URL",
                "BOARDROOM_DATABASE_PASSWORD",
                "REDIS_URL",
                "BOARDROOM_REDIS_PASSWORD",
                "KAFKA_URL",
                "BOARDROOM_JWT_SECRET",
                "BOARDROOM_PUBLIC_URL",
            },
        ),
        (
            "worker",
            {
                "DATABASE_URL",
                "BOARDROOM_DATABASE_PASSWORD",
                "KAFKA_URL",
                "REDIS_URL",
                "BOARDROOM_REDIS_PASSWORD",
            },
        ),
        ("migrate", {"DATABASE_URL", "BOARDROOM_DATABASE_PASSWORD"}),
    ],
)
def test_each_role_is_given_the_settings_it_needs(name: str, required: set[str]):
    """Without these a production process refuses to start, or (REDIS_URL, KAFKA_URL) runs
    as a single instance whose events never leave the outbox."""
    _, _, container = containers()[name]
    passed = set(environment_of(container)) | set(secrets_of(container))
    assert required <= passed, f"{name} lacks {required - passed}"


def test_all_roles_share_the_redis_channel_and_topic_prefix():
    """Servers and workers of one deployment must meet on one pub/sub channel and one set of
    topics, or notifications and events go nowhere."""
    for variable in ("BOARDROOM_REDIS_CHANNEL", "BOARDROOM_KAFKA_TOPIC_PREFIX"):
        values = {
            json.dumps(environment_of(c)[variable], sort_keys=True)
            for _, _, c in containers().values()
            if variable in environment_of(c)
        }
        assert len(values) <= 1, f"{variable} differs between containers: {values}"


def test_no_secret_is_a_plain_environment_value():
    """A value in Environment is readable by anyone who can describe the task definition;
    secrets go through Secrets with a ValueFrom, resolved by ECS at start."""
    for name, (_, _, container) in containers().items():
        plain = {v for v in environment_of(container) if any(w in v for w in SECRET_WORDS)}
        assert not plain, f"{name} passes secrets as plain values: {plain}"
        for variable, value_from in secrets_of(container).items():
            assert any(w in variable for w in SECRET_WORDS), variable
            assert "Fn::ImportValue" in json.dumps(value_from), (variable, value_from)


def test_the_database_password_is_the_rds_managed_secrets_password_key():
    """RDS keeps the master password in its own JSON secret; ECS injects just its `password`
    key, and the DSN carries no password (BOARDROOM_DATABASE_PASSWORD replaces it)."""
    for name, (_, _, container) in containers().items():
        value_from = secrets_of(container)["BOARDROOM_DATABASE_PASSWORD"]
        assert value_from["Fn::Sub"][0] == "${Arn}:password::", name
        dsn = environment_of(container)["DATABASE_URL"]["Fn::Sub"][0]
        assert dsn.startswith("postgresql://boardroom@") and "sslmode=require" in dsn, name


def test_the_execution_role_reads_exactly_the_secrets_its_containers_get():
    """Least privilege: the role ECS uses to start a task may read the secrets that task
    injects and no other; the containers themselves get no task role, so no AWS credentials."""
    for stack in ("migrate", "app"):
        tasks = resources(stack, "AWS::ECS::TaskDefinition").values()
        [role_name] = {t["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0] for t in tasks}
        role = template(stack)["Resources"][role_name]["Properties"]
        readable = set()
        for policy in role["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"]
                actions = actions if isinstance(actions, list) else [actions]
                if "secretsmanager:GetSecretValue" in actions:
                    granted = statement["Resource"]
                    granted = granted if isinstance(granted, list) else [granted]
                    readable |= {json.dumps(r, sort_keys=True) for r in granted}
        injected = {
            _secret_arn(value_from)
            for task in tasks
            for container in task["Properties"]["ContainerDefinitions"]
            for value_from in secrets_of(container).values()
        }
        assert readable == injected, stack
        assert all("TaskRoleArn" not in t["Properties"] for t in tasks), stack


def test_health_checks_and_the_stop_timeout_match_the_image():
    """The image's `boardroom healthcheck` checks the server's /healthz or, with --worker, the
    worker's metrics port; every role stops well within ECS's 30 s after SIGTERM."""
    found = containers()
    assert found["serve"][2]["HealthCheck"]["Command"] == ["CMD", "boardroom", "healthcheck"]
    assert found["worker"][2]["HealthCheck"]["Command"] == [
        "CMD",
        "boardroom",
        "healthcheck",
        "--worker",
    ]
    for _, _, container in found.values():
        assert container["StopTimeout"] == 30
        assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    assert found["serve"][2]["PortMappings"] == [{"ContainerPort": 8080, "Protocol": "tcp"}]


# --- The load balancer and the services ------------------------------------------------------


def test_the_load_balancer_keeps_websockets_and_checks_readiness():
    """WebSockets live for hours: the idle timeout is an hour; the target group admits a server
    only while /readyz (PostgreSQL and Redis answer) is 200, and drains it for less than the
    stop timeout."""
    [alb] = resources("app", "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    attributes = {a["Key"]: a["Value"] for a in alb["Properties"]["LoadBalancerAttributes"]}
    assert int(attributes["idle_timeout.timeout_seconds"]) >= 3600
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["access_logs.s3.enabled"] == "true"
    [group] = resources("app", "AWS::ElasticLoadBalancingV2::TargetGroup").values()
    props = group["Properties"]
    assert (props["HealthCheckPath"], props["Port"], props["TargetType"]) == ("/readyz", 8080, "ip")
    drain = {a["Key"]: a["Value"] for a in props["TargetGroupAttributes"]}
    assert int(drain["deregistration_delay.timeout_seconds"]) < 30
    listeners = resources("app", "AWS::ElasticLoadBalancingV2::Listener").values()
    by_port = {listener["Properties"]["Port"]: listener["Properties"] for listener in listeners}
    assert by_port[443]["Protocol"] == "HTTPS"
    assert by_port[80]["DefaultActions"][0]["RedirectConfig"]["Protocol"] == "HTTPS"


def test_both_services_roll_back_a_failed_deployment_and_the_server_scales_on_two_signals():
    """A release whose tasks never get healthy is rolled back by ECS itself; the servers
    scale on CPU (WebSocket work) and on ALB requests per server."""
    services = resources("app", "AWS::ECS::Service")
    assert {s["Properties"]["ServiceName"] for s in services.values()} == {"serve", "worker"}
    for service in services.values():
        breaker = service["Properties"]["DeploymentConfiguration"]["DeploymentCircuitBreaker"]
        assert breaker == {"Enable": True, "Rollback": True}
    metrics = {
        policy["Properties"]["TargetTrackingScalingPolicyConfiguration"][
            "PredefinedMetricSpecification"
        ]["PredefinedMetricType"]
        for policy in resources("app", "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    }
    assert metrics == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}


# --- The environments' values ----------------------------------------------------------------


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_environment_values_fit_together(environment: str):
    """What cfn-lint cannot see across parameters: migration and services run one image,
    Fargate sizes exist, MSK's brokers fill both AZs and hold every replica, one broker may be
    down (min.insync.replicas), and production data is protected and kept longer."""
    data = parameters(environment, "data")
    app = parameters(environment, "app")
    migrate = parameters(environment, "migrate")
    assert migrate["ImageTag"] == app["ImageTag"] != "latest"
    assert migrate["ImageRepositoryName"] == app["ImageRepositoryName"]
    for role in ("Server", "Worker"):
        cpu, memory = int(app[f"{role}Cpu"]), int(app[f"{role}Memory"])
        assert memory in FARGATE_MEMORY[cpu], (role, cpu, memory)
    assert int(app["ServerMinCount"]) <= int(app["ServerMaxCount"])
    assert int(app["WorkerCount"]) <= int(app["KafkaPartitions"])
    brokers, replication = int(data["KafkaBrokerCount"]), int(data["KafkaReplication"])
    assert brokers % 2 == 0 and replication <= brokers
    assert int(data["KafkaMinInsyncReplicas"]) == replication - 1
    assert app["KafkaBootstrapTls"] == f"/boardroom/{environment}/kafka-bootstrap-tls"
    if environment != "dev":
        assert data["DatabaseDeletionProtection"] == "true"
    if environment == "prod":
        assert data["DatabaseReadReplica"] == "true"
        assert replication == 3


def test_backups_are_kept_longer_the_closer_to_production():
    """Point-in-time recovery reaches back as far as the automated backups: a week in dev,
    two in staging, the maximum (35 days) in production."""
    days = [int(parameters(e, "data")["DatabaseBackupRetentionDays"]) for e in ENVIRONMENTS]
    assert days == sorted(days) and days[-1] == 35
