"""The interview engine on AWS: ECS Fargate gateways behind an Application Load Balancer, RDS
PostgreSQL, ElastiCache Redis, Secrets Manager, a migration task before each release, CloudWatch
logs and alarms. docs/deploy.md ("AWS") explains the choices and the sizes."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import (
    CfnOutput,
    CfnParameter,
    CustomResource,
    Duration,
    Environment,
    RemovalPolicy,
    Stack,
    custom_resources,
)
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from constructs import Construct

PORT = 8000
# The gateway drains for INTERVIEW_SHUTDOWN_GRACE_S (10 s by default) after SIGTERM: hands its
# interviews back and closes sockets with 1001. ECS waits this long before SIGKILL.
STOP_TIMEOUT_S = 30
# An interview socket is quiet between the server's pings (every 20 s) and longer while a
# candidate thinks; the ALB's default of 60 s is too close. 300 s, pinged well inside it.
IDLE_TIMEOUT_S = 300
DEREGISTRATION_DELAY_S = 20
METRIC_NAMESPACE = "InterviewEngine"
# The JSON log line the usage sink writes per provider call (server/interview/usage.py).
PROVIDER_CALL = '$.logger = "server.interview.usage" && $.msg = "provider call"'
PROVIDER_ERROR_PATTERN = f'{{ {PROVIDER_CALL} && $.outcome = "error" }}'
PROVIDER_SPEND_PATTERN = f"{{ {PROVIDER_CALL} && $.cost_micro_usd > 0 }}"


@dataclass(frozen=True)
class InterviewSettings:
    """What differs between deployments; app.py reads it from the environment."""

    availability_zones: tuple[str, ...] = ("ap-south-1a", "ap-south-1b")
    repository_name: str = "interview-engine"
    # An ACM certificate for the API's host name: HTTPS on 443 (and 80 redirecting to it).
    # None: HTTP on 80 only, for a first try without a domain.
    certificate_arn: str | None = None
    # An existing Secrets Manager secret holding the Gemini API key; None: offline interviewer.
    gemini_secret_name: str | None = None
    desired_count: int = 2
    task_cpu: int = 256
    task_memory_mib: int = 512
    database_instance: str = "t3.micro"
    cache_node_type: str = "cache.t3.micro"
    provider_errors_per_5_min: int = 5
    daily_spend_alarm_usd: float = 10.0
    extra_environment: dict[str, str] = field(default_factory=dict)


MIGRATION_HANDLER = """
import boto3

ecs = boto3.client("ecs")


def on_event(event, context):
    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": event.get("PhysicalResourceId", "none")}
    p = event["ResourceProperties"]
    started = ecs.run_task(
        cluster=p["Cluster"],
        taskDefinition=p["TaskDefinition"],
        launchType="FARGATE",
        count=1,
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": p["Subnets"],
            "securityGroups": p["SecurityGroups"],
            "assignPublicIp": "ENABLED",
        }},
    )
    if started["failures"] or not started["tasks"]:
        raise RuntimeError(f"could not start the migration task: {started['failures']}")
    return {"PhysicalResourceId": started["tasks"][0]["taskArn"]}


def is_complete(event, context):
    if event["RequestType"] == "Delete":
        return {"IsComplete": True}
    p = event["ResourceProperties"]
    task = ecs.describe_tasks(cluster=p["Cluster"], tasks=[event["PhysicalResourceId"]])
    task = task["tasks"][0]
    if task["lastStatus"] != "STOPPED":
        return {"IsComplete": False}
    codes = [c.get("exitCode") for c in task["containers"]]
    if codes != [0]:
        raise RuntimeError(
            f"the migration failed (exit codes {codes}): {task.get('stoppedReason')}; "
            "its log is in the migrate/ streams of the log group"
        )
    return {"IsComplete": True}
"""


class InterviewStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: InterviewSettings | None = None,
        env: Environment | None = None,
    ) -> None:
        super().__init__(
            scope, construct_id, env=env, description="Interview engine: gateways, data, alarms"
        )
        cfg = settings or InterviewSettings()

        image_tag = CfnParameter(
            self,
            "ImageTag",
            description="Tag of the gateway image in the ECR repository (docker build .)",
            default="latest",
        )
        client_origins = CfnParameter(
            self,
            "ClientOrigins",
            description="Browser origins of the client (e.g. https://interview.vercel.app), "
            "comma-separated: INTERVIEW_CORS_ORIGINS",
            default="",
        )
        public_url = CfnParameter(
            self,
            "PublicUrl",
            description="Where candidates open the app (links in e-mails): INTERVIEW_PUBLIC_URL",
            default="http://127.0.0.1:8000",
        )

        # Network: public subnets for the load balancer and the tasks (no NAT gateway: the
        # tasks reach ECR and Gemini through their public address, and accept traffic from the
        # load balancer only); isolated subnets for PostgreSQL and Redis.
        vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr("10.0.0.0/16"),
            availability_zones=list(cfg.availability_zones),
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                ),
                ec2.SubnetConfiguration(
                    name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                ),
            ],
        )
        public_subnets = vpc.select_subnets(subnet_type=ec2.SubnetType.PUBLIC)
        data_subnets = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)

        alb_sg = ec2.SecurityGroup(
            self, "LoadBalancerSecurityGroup", vpc=vpc, description="Interview load balancer"
        )
        task_sg = ec2.SecurityGroup(
            self, "TaskSecurityGroup", vpc=vpc, description="Interview gateways and migrations"
        )
        task_sg.add_ingress_rule(alb_sg, ec2.Port.tcp(PORT), "from the load balancer only")
        database_sg = ec2.SecurityGroup(
            self, "DatabaseSecurityGroup", vpc=vpc, description="Interview PostgreSQL"
        )
        database_sg.add_ingress_rule(task_sg, ec2.Port.tcp(5432), "from the gateways")
        cache_sg = ec2.SecurityGroup(self, "CacheSecurityGroup", vpc=vpc, description="Redis")
        cache_sg.add_ingress_rule(task_sg, ec2.Port.tcp(6379), "from the gateways")

        # Secrets: generated here, never in the template or the task definition's text.
        database_secret = secretsmanager.Secret(
            self,
            "DatabaseSecret",
            description="Interview PostgreSQL credentials",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template='{"username": "interview"}',
                generate_string_key="password",
                exclude_punctuation=True,  # it goes into a URL as is
                password_length=40,
            ),
        )
        jwt_secret = secretsmanager.Secret(
            self,
            "JwtSecret",
            description="INTERVIEW_JWT_SECRET: signs access tokens",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=64
            ),
        )
        metrics_token = secretsmanager.Secret(
            self,
            "MetricsToken",
            description="INTERVIEW_METRICS_TOKEN: bearer token of /metrics scrapes",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=48
            ),
        )
        redis_token = secretsmanager.Secret(
            self,
            "RedisAuthToken",
            description="ElastiCache AUTH token",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=64
            ),
        )

        database = rds.DatabaseInstance(
            self,
            "Database",
            engine=rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.VER_17_6),
            instance_type=ec2.InstanceType(cfg.database_instance),
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[database_sg],
            publicly_accessible=False,
            credentials=rds.Credentials.from_secret(database_secret),
            database_name="interview",
            allocated_storage=20,
            max_allocated_storage=100,
            storage_type=rds.StorageType.GP3,
            storage_encrypted=True,
            multi_az=False,
            backup_retention=Duration.days(7),
            deletion_protection=True,
            removal_policy=RemovalPolicy.SNAPSHOT,
        )

        cache_subnets = elasticache.CfnSubnetGroup(
            self,
            "CacheSubnets",
            description="Interview Redis",
            subnet_ids=data_subnets.subnet_ids,
        )
        # Live state only (PostgreSQL is the record): one node, no persistence, no replica.
        cache = elasticache.CfnReplicationGroup(
            self,
            "Cache",
            replication_group_description="Interview live state",
            engine="redis",
            engine_version="7.1",
            cache_node_type=cfg.cache_node_type,
            num_cache_clusters=1,
            automatic_failover_enabled=False,
            transit_encryption_enabled=True,
            at_rest_encryption_enabled=True,
            auth_token=redis_token.secret_value.unsafe_unwrap(),
            cache_subnet_group_name=cache_subnets.ref,
            security_group_ids=[cache_sg.security_group_id],
        )

        log_group = logs.LogGroup(
            self,
            "Logs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        repository = ecr.Repository.from_repository_name(self, "Repository", cfg.repository_name)
        image = ecs.ContainerImage.from_ecr_repository(repository, image_tag.value_as_string)

        # What the process needs, as the variables of server/config.py. The database and
        # Redis URLs are put together in the container from their secret parts.
        public_cidrs = [subnet.ipv4_cidr_block for subnet in vpc.public_subnets]
        environment = {
            "INTERVIEW_ENV": "production",
            "INTERVIEW_LOG_FORMAT": "json",
            "INTERVIEW_CORS_ORIGINS": client_origins.value_as_string,
            "INTERVIEW_PUBLIC_URL": public_url.value_as_string,
            # The load balancer's nodes connect from its subnets; nothing else can reach the
            # tasks (their security group admits the load balancer's only).
            "INTERVIEW_TRUSTED_PROXIES": ",".join(public_cidrs),
            "DB_HOST": database.db_instance_endpoint_address,
            "DB_PORT": database.db_instance_endpoint_port,
            "DB_NAME": "interview",
            "REDIS_HOST": cache.attr_primary_end_point_address,
            "REDIS_PORT": cache.attr_primary_end_point_port,
            **cfg.extra_environment,
        }
        secrets = {
            "DB_USER": ecs.Secret.from_secrets_manager(database_secret, "username"),
            "DB_PASSWORD": ecs.Secret.from_secrets_manager(database_secret, "password"),
            "REDIS_AUTH_TOKEN": ecs.Secret.from_secrets_manager(redis_token),
            "INTERVIEW_JWT_SECRET": ecs.Secret.from_secrets_manager(jwt_secret),
            "INTERVIEW_METRICS_TOKEN": ecs.Secret.from_secrets_manager(metrics_token),
        }
        if cfg.gemini_secret_name:
            gemini = secretsmanager.Secret.from_secret_name_v2(
                self, "GeminiApiKey", cfg.gemini_secret_name
            )
            secrets["GEMINI_API_KEY"] = ecs.Secret.from_secrets_manager(gemini)

        def command(*argv: str) -> list[str]:
            # $NAME, not ${NAME}: CloudFormation would read ${...} as its own substitution.
            urls = (
                'export INTERVIEW_DATABASE_URL="postgresql+asyncpg://'
                '$DB_USER:$DB_PASSWORD@$DB_HOST:$DB_PORT/$DB_NAME" '
                'INTERVIEW_REDIS_URL="rediss://:$REDIS_AUTH_TOKEN@$REDIS_HOST:$REDIS_PORT/0"'
            )
            return ["sh", "-c", f"{urls} && exec {' '.join(argv)}"]

        cluster = ecs.Cluster(self, "Cluster", vpc=vpc)

        gateway_task = ecs.FargateTaskDefinition(
            self, "GatewayTask", cpu=cfg.task_cpu, memory_limit_mib=cfg.task_memory_mib
        )
        gateway_task.add_container(
            "gateway",
            image=image,
            command=command(
                "interview", "serve", "--host", "0.0.0.0", "--port", str(PORT), "--no-migrate"
            ),
            environment=environment,
            secrets=secrets,
            port_mappings=[ecs.PortMapping(container_port=PORT)],
            logging=ecs.LogDrivers.aws_logs(stream_prefix="gateway", log_group=log_group),
            stop_timeout=Duration.seconds(STOP_TIMEOUT_S),
            health_check=ecs.HealthCheck(
                command=[
                    "CMD",
                    "python",
                    "-c",
                    "import urllib.request,sys; sys.exit(urllib.request.urlopen("
                    f"'http://127.0.0.1:{PORT}/readyz', timeout=2).status != 200)",
                ],
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                start_period=Duration.seconds(30),
                retries=3,
            ),
        )

        migrate_task = ecs.FargateTaskDefinition(self, "MigrateTask", cpu=256, memory_limit_mib=512)
        migrate_task.add_container(
            "migrate",
            image=image,
            command=command("interview", "migrate"),
            environment=environment,
            secrets=secrets,
            logging=ecs.LogDrivers.aws_logs(stream_prefix="migrate", log_group=log_group),
        )

        # The release step: the migration task runs to completion (exit code 0) before the
        # service moves to the new task definition; a failed migration fails the deployment
        # and CloudFormation rolls back, the old version still serving.
        on_event = lambda_.Function(
            self,
            "MigrationStarter",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.on_event",
            code=lambda_.Code.from_inline(MIGRATION_HANDLER),
            timeout=Duration.seconds(30),
        )
        is_complete = lambda_.Function(
            self,
            "MigrationWatcher",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.is_complete",
            code=lambda_.Code.from_inline(MIGRATION_HANDLER),
            timeout=Duration.seconds(30),
        )
        on_event.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ecs:RunTask"], resources=[migrate_task.task_definition_arn]
            )
        )
        on_event.add_to_role_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[
                    migrate_task.task_role.role_arn,
                    migrate_task.obtain_execution_role().role_arn,
                ],
            )
        )
        is_complete.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ecs:DescribeTasks"],
                resources=["*"],
                conditions={"ArnEquals": {"ecs:cluster": cluster.cluster_arn}},
            )
        )
        provider = custom_resources.Provider(
            self,
            "MigrationProvider",
            on_event_handler=on_event,
            is_complete_handler=is_complete,
            query_interval=Duration.seconds(10),
            total_timeout=Duration.minutes(20),
        )
        migration = CustomResource(
            self,
            "Migration",
            service_token=provider.service_token,
            properties={
                "Cluster": cluster.cluster_arn,
                # A new image makes a new revision: each release migrates once.
                "TaskDefinition": migrate_task.task_definition_arn,
                "Subnets": public_subnets.subnet_ids,
                "SecurityGroups": [task_sg.security_group_id],
            },
        )
        migration.node.add_dependency(database, cache)

        service = ecs.FargateService(
            self,
            "Gateways",
            cluster=cluster,
            task_definition=gateway_task,
            desired_count=cfg.desired_count,
            assign_public_ip=True,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            security_groups=[task_sg],
            # Rolling: new tasks start and pass /readyz before old ones are drained.
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            health_check_grace_period=Duration.seconds(60),
        )
        service.node.add_dependency(migration)

        load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=True,
            security_group=alb_sg,
            idle_timeout=Duration.seconds(IDLE_TIMEOUT_S),
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        )
        targets = elbv2.ApplicationTargetGroup(
            self,
            "GatewayTargets",
            vpc=vpc,
            port=PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            targets=[service],
            deregistration_delay=Duration.seconds(DEREGISTRATION_DELAY_S),
            # No stickiness: a socket resumes on any gateway from the shared event log.
            stickiness_cookie_duration=None,
            health_check=elbv2.HealthCheck(
                path="/readyz",
                healthy_http_codes="200",
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
        )
        targets.set_attribute("load_balancing.algorithm.type", "least_outstanding_requests")
        if cfg.certificate_arn:
            load_balancer.add_listener(
                "Https",
                port=443,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[elbv2.ListenerCertificate.from_arn(cfg.certificate_arn)],
                ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
                default_target_groups=[targets],
            )
            load_balancer.add_redirect(source_port=80, target_port=443)
        else:
            load_balancer.add_listener(
                "Http",
                port=80,
                protocol=elbv2.ApplicationProtocol.HTTP,
                default_target_groups=[targets],
            )

        # Alarms from the JSON logs (metric filters, no change to the process): provider
        # errors and provider spend, as the usage sink logs each call.
        alarm_topic = sns.Topic(self, "Alarms", display_name="Interview engine alarms")
        errors_filter = logs.MetricFilter(
            self,
            "ProviderErrorsFilter",
            log_group=log_group,
            metric_namespace=METRIC_NAMESPACE,
            metric_name="ProviderErrors",
            filter_pattern=logs.FilterPattern.literal(PROVIDER_ERROR_PATTERN),
            metric_value="1",
            default_value=0,
        )
        spend_filter = logs.MetricFilter(
            self,
            "ProviderSpendFilter",
            log_group=log_group,
            metric_namespace=METRIC_NAMESPACE,
            metric_name="ProviderSpendMicroUsd",
            filter_pattern=logs.FilterPattern.literal(PROVIDER_SPEND_PATTERN),
            metric_value="$.cost_micro_usd",
            default_value=0,
        )
        errors_alarm = errors_filter.metric(
            statistic="Sum", period=Duration.minutes(5)
        ).create_alarm(
            self,
            "ProviderErrorsAlarm",
            alarm_description="Gemini calls failing (interview_provider_errors_total)",
            threshold=cfg.provider_errors_per_5_min,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        spend_alarm = spend_filter.metric(statistic="Sum", period=Duration.days(1)).create_alarm(
            self,
            "ProviderSpendAlarm",
            alarm_description=(
                f"Provider spend above {cfg.daily_spend_alarm_usd} USD in a day "
                "(interview_provider_cost_usd_total)"
            ),
            threshold=cfg.daily_spend_alarm_usd * 1_000_000,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        unhealthy_alarm = targets.metrics.unhealthy_host_count(
            period=Duration.minutes(1)
        ).create_alarm(
            self,
            "UnhealthyGatewaysAlarm",
            alarm_description="A gateway fails /readyz (database or Redis unreachable)",
            threshold=1,
            evaluation_periods=3,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        )
        for alarm in (errors_alarm, spend_alarm, unhealthy_alarm):
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(alarm_topic))

        CfnOutput(self, "LoadBalancerDns", value=load_balancer.load_balancer_dns_name)
        CfnOutput(self, "AlarmTopicArn", value=alarm_topic.topic_arn)
        CfnOutput(self, "LogGroupName", value=log_group.log_group_name)
        CfnOutput(self, "DatabaseSecretArn", value=database_secret.secret_arn)
        CfnOutput(self, "MetricsTokenSecretArn", value=metrics_token.secret_arn)
