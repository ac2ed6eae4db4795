"""A private network for SageMaker jobs and governance handlers: no internet path at all."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_constructs import defaults
from cdk_constructs.arns import format_arn
from cdk_constructs.compliance.acknowledgments import acknowledge
from cdk_constructs.encryption import GovernanceKey
from cdk_constructs.roles import ManagedPolicyRole

# The stack-level singleton aws-cdk-lib creates for restrict_default_security_group.
DEFAULT_SG_PROVIDER = "Custom::VpcRestrictDefaultSGCustomResourceProvider"

# Every AWS API that jobs and handlers call, reached through PrivateLink instead of a NAT.
INTERFACE_ENDPOINTS: dict[str, ec2.InterfaceVpcEndpointAwsService] = {
    "SageMakerApi": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API,
    "SageMakerRuntime": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME,
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "CloudWatchLogs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "CloudWatchMonitoring": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
    "Kms": ec2.InterfaceVpcEndpointAwsService.KMS,
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "EventBridge": ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE,
    "Sns": ec2.InterfaceVpcEndpointAwsService.SNS,
    "Sqs": ec2.InterfaceVpcEndpointAwsService.SQS,
    "Ssm": ec2.InterfaceVpcEndpointAwsService.SSM,
}


# SageMaker AI MLflow (Apps and tracking servers) through PrivateLink: the interface endpoint
# service aws.sagemaker.<region>.experiments (aws-cdk-lib InterfaceVpcEndpointAwsService.
# SAGEMAKER_EXPERIMENTS; developer guide mlflow-interface-endpoint-create: "You can create an
# interface endpoint to connect to SageMaker AI MLflow", security groups allowing HTTPS).
MLFLOW_ENDPOINT_SERVICE = ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_EXPERIMENTS
MLFLOW_ENDPOINT_ID = "Mlflow"


class IsolatedMlNetwork(Construct):
    """A VPC with isolated subnets only, the endpoints SageMaker needs, and flow logs.

    Defaults: two availability zones (``availability_zones``, or two chosen by CloudFormation),
    no internet or NAT gateway, an S3 and a DynamoDB gateway endpoint, the interface endpoints
    in :data:`INTERFACE_ENDPOINTS` with private DNS, and flow logs of all traffic to a log group
    encrypted with ``flow_log_key`` and kept a year.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        flow_log_key: GovernanceKey,
        availability_zones: Sequence[str] | None = None,
        cidr: str = "10.40.0.0/16",
    ) -> None:
        super().__init__(scope, construct_id)
        if availability_zones is not None and len(availability_zones) < 2:
            raise ValueError(
                "availability_zones needs at least 2 zones for resilience "
                f"(got {availability_zones})"
            )
        self.vpc = ec2.Vpc(
            self,
            "Resource",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            # Explicit zones avoid a context lookup (which needs AWS credentials) at synth.
            availability_zones=list(availability_zones) if availability_zones else None,
            max_azs=None if availability_zones else 2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22
                )
            ],
            restrict_default_security_group=True,
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
                "DynamoDb": ec2.GatewayVpcEndpointOptions(
                    service=ec2.GatewayVpcEndpointAwsService.DYNAMODB
                ),
            },
        )
        self.subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self._acknowledge_default_security_group_provider()

        self.job_security_group = ec2.SecurityGroup(
            self,
            "JobSecurityGroup",
            vpc=self.vpc,
            description="SageMaker jobs and governance handlers: HTTPS to VPC endpoints only",
            allow_all_outbound=False,
        )
        self.endpoint_security_group = endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="Interface endpoints: HTTPS from governance workloads",
            allow_all_outbound=False,
        )
        endpoint_security_group.add_ingress_rule(
            self.job_security_group, ec2.Port.tcp(443), "HTTPS from jobs and handlers"
        )
        self.job_security_group.add_egress_rule(
            endpoint_security_group, ec2.Port.tcp(443), "HTTPS to interface endpoints"
        )
        # Gateway endpoints are reached through route tables; allow HTTPS to any address so the
        # S3 and DynamoDB prefix lists work without a lookup (there is no route to the internet).
        self.job_security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to S3/DynamoDB gateway endpoints"
        )
        # Distributed training and Clarify jobs talk between their own containers.
        self.job_security_group.add_ingress_rule(
            self.job_security_group, ec2.Port.all_tcp(), "Inter-container traffic of one job"
        )
        self.job_security_group.add_egress_rule(
            self.job_security_group, ec2.Port.all_tcp(), "Inter-container traffic of one job"
        )

        self.interface_endpoints = {
            name: self.vpc.add_interface_endpoint(
                name,
                service=service,
                private_dns_enabled=True,
                # Ingress is the explicit HTTPS rule from the job security group, not the VPC CIDR.
                open=False,
                subnets=self.subnets,
                security_groups=[endpoint_security_group],
            )
            for name, service in INTERFACE_ENDPOINTS.items()
        }

        logs_arn = format_arn(self.vpc.stack, service="logs", region="*", resource="*")
        # CloudWatch Logs names the log group in the encryption context of every data key
        # request; DescribeKey has no encryption context, so it is not granted under it.
        flow_log_key.grant_to_service(
            "logs.amazonaws.com",
            actions=("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"),
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": logs_arn}},
        )
        self.flow_log_group = logs.LogGroup(
            self,
            "FlowLogs",
            encryption_key=flow_log_key.key,
            retention=defaults.LOG_RETENTION,
            removal_policy=defaults.REMOVAL_POLICY,
        )
        # Only this account's flow logs may have the service assume the role (VPC user guide,
        # flow logs to CloudWatch Logs: confused-deputy prevention with aws:SourceArn).
        account = self.vpc.stack.account
        flow_log_role = ManagedPolicyRole(
            self,
            "FlowLogRole",
            assumed_by=iam.ServicePrincipal("vpc-flow-logs.amazonaws.com").with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {
                        "aws:SourceArn": format_arn(
                            self.vpc.stack,
                            service="ec2",
                            resource="vpc-flow-log",
                            resource_name="*",
                        )
                    },
                }
            ),
            description="Delivers VPC flow logs to the encrypted log group",
        )
        self.flow_log = self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                self.flow_log_group, flow_log_role
            ),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )

    def add_mlflow_endpoint(
        self, *, tracking_arn: str, principal: iam.IRole, actions: Sequence[str]
    ) -> ec2.InterfaceVpcEndpoint:
        """The interface endpoint for SageMaker AI MLflow, for ``principal`` to log to the one
        App or tracking server ``tracking_arn`` with ``actions`` and nothing else.

        Private DNS on, so the MLflow plugin's regional host resolves to the endpoint; the
        other endpoints' security group (HTTPS from the jobs' security group only); an endpoint
        policy like the developer guide's (mlflow-private-link-policy: "specifies that all users
        that have access to the endpoint are allowed to access to the MLflow tracking server
        that you specify"), narrowed to ``principal`` and ``actions``.
        """
        if self.vpc.node.try_find_child(MLFLOW_ENDPOINT_ID) is not None:
            raise ValueError(f"{self.node.path} already has its MLflow endpoint")
        endpoint = self.vpc.add_interface_endpoint(
            MLFLOW_ENDPOINT_ID,
            service=MLFLOW_ENDPOINT_SERVICE,
            private_dns_enabled=True,
            open=False,
            subnets=self.subnets,
            security_groups=[self.endpoint_security_group],
        )
        endpoint.add_to_policy(
            iam.PolicyStatement(
                sid="LogToTheEnvironmentsMlflowApp",
                principals=[iam.ArnPrincipal(principal.role_arn)],
                actions=list(actions),
                resources=[tracking_arn],
            )
        )
        self.interface_endpoints[MLFLOW_ENDPOINT_ID] = endpoint
        return endpoint

    def _acknowledge_default_security_group_provider(self) -> None:
        """The role of CDK's ``Custom::VpcRestrictDefaultSG`` provider has an inline policy."""
        provider = Stack.of(self).node.try_find_child(DEFAULT_SG_PROVIDER)
        if provider is None:
            raise RuntimeError(
                f"{DEFAULT_SG_PROVIDER} not found: aws-cdk-lib renamed the provider of "
                "restrict_default_security_group; review its role and this acknowledgment"
            )
        acknowledge(
            provider,
            "Governance-IAM2",
            "aws-cdk-lib's CustomResourceProvider always writes its role policy inline; this "
            "one allows only revoking and restoring the rules of this VPC's default security "
            "group, the permissions boundary caps it to that group (RestrictDefaultSecurityGroup "
            "statement), and the IAM expectations table checks both.",
        )
