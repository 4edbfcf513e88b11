"""AppSecrets: the platform's secrets in Secrets Manager, and who may read them.

Tasks never see a secret in plain `environment`: the ECS agent fetches each one with
the task execution role and injects it as a variable at start. This component stores
the operator-supplied secrets (admin token, Redis auth token, SMTP password, the keyring
that seals stored endpoint secrets), adds the RDS-managed master secret, and grants the
execution role read access to exactly these.

The keyring is read by fewer tasks than the rest (the services whose code seals or opens
endpoint secrets), so it gets its own execution role: ``keyring_execution_role`` may
read the shared secrets and the keyring, the shared execution role never the keyring.
A task definition that names the shared role cannot be given the keyring, whatever its
`secrets` list says: the agent would be refused at start.

`env` maps each ``ALERTING_*`` variable to its ECS `valueFrom`; the RDS secret is a JSON
document, so its entry selects the ``password`` key (``<arn>:password::``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._common import PKG, child, execution_role


@dataclass(frozen=True)
class AppSecretsArgs:
    prefix: str
    execution_role_name: pulumi.Input[str]
    database_secret_arn: pulumi.Input[str]
    admin_token: pulumi.Input[str]
    redis_auth_token: pulumi.Input[str]
    # ALERTING_SECRET_KEYS: `<key id>:<base64 key>[,...]`, validated by the stack config.
    secret_keys: pulumi.Input[str]
    smtp_password: pulumi.Input[str] | None = None
    recovery_window_days: int = 7


# The keyring's variable: the stack's settings (stack.settings) import it from here.
KEYRING = "ALERTING_SECRET_KEYS"


class AppSecrets(pulumi.ComponentResource):
    env: dict[str, pulumi.Output[str]]
    keyring_execution_role: aws.iam.Role

    def __init__(
        self, name: str, args: AppSecretsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PKG}:AppSecrets", name, None, opts)
        stored: dict[str, tuple[str, pulumi.Input[str]]] = {
            "ALERTING_ADMIN_TOKEN": ("admin-token", args.admin_token),
            "ALERTING_REDIS_PASSWORD": ("redis-auth-token", args.redis_auth_token),
            KEYRING: ("secret-keys", args.secret_keys),
        }
        if args.smtp_password is not None:
            stored["ALERTING_SMTP_PASSWORD"] = ("smtp-password", args.smtp_password)

        self.env = {}
        arns: list[pulumi.Output[str]] = []  # what the shared execution role may read
        for env_name, (short, value) in stored.items():
            secret = aws.secretsmanager.Secret(
                f"{name}-{short}",
                name_prefix=f"{args.prefix}/{short}-",
                description=f"{env_name} for the alerting platform",
                recovery_window_in_days=args.recovery_window_days,
                opts=child(self),
            )
            aws.secretsmanager.SecretVersion(
                f"{name}-{short}",
                secret_id=secret.id,
                secret_string=pulumi.Output.secret(value),
                opts=child(self),
            )
            self.env[env_name] = secret.arn
            if env_name != KEYRING:
                arns.append(secret.arn)

        db_arn = pulumi.Output.from_input(args.database_secret_arn)
        self.env["ALERTING_POSTGRES_PASSWORD"] = db_arn.apply(lambda arn: f"{arn}:password::")
        arns.append(db_arn)

        aws.iam.RolePolicy(
            f"{name}-read",
            role=args.execution_role_name,
            policy=pulumi.Output.all(*arns).apply(_read_policy),
            opts=child(self),
        )

        self.keyring_execution_role = execution_role(
            f"{name}-keyring-execution",
            parent=self,
            description="ECS execution role of the tasks that seal or open endpoint secrets",
        )
        aws.iam.RolePolicy(
            f"{name}-keyring-read",
            role=self.keyring_execution_role.name,
            policy=pulumi.Output.all(*arns, self.env[KEYRING]).apply(_read_policy),
            opts=child(self),
        )
        self.register_outputs(
            {"env": self.env, "keyringExecutionRole": self.keyring_execution_role.arn}
        )


def _read_policy(arns: list[str]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["secretsmanager:GetSecretValue"],
                    "Resource": sorted(arns),
                }
            ],
        }
    )
