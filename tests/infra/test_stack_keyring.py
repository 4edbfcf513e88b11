"""The keyring sealing stored endpoint secrets (ALERTING_SECRET_KEYS) in the prod stack:
a Secrets Manager secret holding the configured value, injected as an ECS secret into
the tasks whose code reads it (the roster says rule-service and sender, plus the
one-off `alerting secrets rotate` task) and no other, fetched by an execution role of
their own, and never a plain environment variable."""

from __future__ import annotations

import json
from typing import Any

import pytest

from alerting import roster
from stack import settings
from stack.config import ConfigError, check_secret_keys
from tests.infra import policy
from tests.infra.harness import SECRETS, Recorded, build_stack, prod_config
from tests.infra.recording_mocks import RecordingMocks

KEYRING = "ALERTING_SECRET_KEYS"
SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


@pytest.fixture(scope="module")
def resources() -> list[Recorded]:
    mocks = RecordingMocks()
    build_stack(mocks, prod_config())
    return mocks.resources


def named(resources: list[Recorded], typ: str, name: str) -> Recorded:
    (found,) = [r for r in resources if r.typ == typ and r.name == name]
    return found


def keyring_arn(resources: list[Recorded]) -> str:
    (secret,) = [
        r
        for r in policy.of_type(resources, SECRET)
        if r.inputs["namePrefix"].startswith("alerting/prod/secret-keys-")
    ]
    return str(secret.outputs["arn"])


def service_taskdefs(resources: list[Recorded]) -> dict[str, Recorded]:
    return {s.name: named(resources, policy.TASKDEF, f"svc-{s.name}") for s in roster.SERVICES}


def test_the_roster_names_the_services_that_hold_the_keyring() -> None:
    assert {"rule-service", "sender"} == settings.HOLDS_KEYRING


def test_the_keyring_secret_holds_the_configured_value(resources: list[Recorded]) -> None:
    arn = keyring_arn(resources)
    (version,) = [
        r
        for r in policy.of_type(resources, VERSION)
        if r.inputs["secretString"] == SECRETS["alerting:secretKeys"]
    ]
    assert version.name == "alerting-secrets-secret-keys"
    assert arn.startswith("arn:aws:secretsmanager:")


def test_only_the_services_that_read_it_get_it_and_never_in_plain_text(
    resources: list[Recorded],
) -> None:
    arn = keyring_arn(resources)
    injected = {}
    for td in policy.of_type(resources, policy.TASKDEF):
        raw = td.inputs["containerDefinitions"]
        assert SECRETS["alerting:secretKeys"] not in raw, td.name
        assert SECRETS["alerting:secretKeys"].split(":", 1)[1] not in raw, td.name
        for container in policy.containers(td):
            assert KEYRING not in {e["name"] for e in container.get("environment") or []}
            for secret in container.get("secrets") or []:
                if secret["name"] == KEYRING:
                    injected[container["name"]] = secret["valueFrom"]
    assert injected == {name: arn for name in {*settings.HOLDS_KEYRING, "secrets"}}


def _readable(policy_json: str) -> set[str]:
    statements = json.loads(policy_json)["Statement"]
    return {
        arn
        for s in statements
        if s["Effect"] == "Allow" and "secretsmanager:GetSecretValue" in s["Action"]
        for arn in s["Resource"]
    }


def test_only_the_keyring_execution_role_may_read_it(resources: list[Recorded]) -> None:
    arn = keyring_arn(resources)
    keyring_role = named(resources, ROLE, "alerting-secrets-keyring-execution")
    shared_role = named(resources, ROLE, "alerting-task-execution")
    readers = {
        r.inputs["role"] for r in policy.of_type(resources, ROLE_POLICY)
        if arn in _readable(r.inputs["policy"])
    }  # fmt: skip
    assert readers == {keyring_role.outputs["name"]}
    shared = [
        r for r in policy.of_type(resources, ROLE_POLICY)
        if r.inputs["role"] == shared_role.outputs["name"]
    ]  # fmt: skip
    assert shared and all(arn not in _readable(r.inputs["policy"]) for r in shared)
    # The keyring role reads what the shared one does too: its tasks need those as well.
    (keyring_policy,) = [
        r for r in policy.of_type(resources, ROLE_POLICY)
        if r.inputs["role"] == keyring_role.outputs["name"]
    ]  # fmt: skip
    assert _readable(keyring_policy.inputs["policy"]) >= _readable(shared[0].inputs["policy"])
    assert "AmazonECSTaskExecutionRolePolicy" in " ".join(
        str(r.inputs["policyArn"])
        for r in policy.of_type(resources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if r.inputs["role"] == keyring_role.outputs["name"]
    )

    roles = {
        name: td.inputs["executionRoleArn"] for name, td in service_taskdefs(resources).items()
    }
    for name, role_arn in roles.items():
        wanted = keyring_role if name in settings.HOLDS_KEYRING else shared_role
        assert role_arn == wanted.outputs["arn"], name


def test_a_one_off_task_runs_the_rotation_with_the_keyring_role() -> None:
    """`alerting secrets rotate` on AWS: the migration task's shared role may not fetch
    the keyring, so the stack defines a task of its own, and exports its ARN."""
    mocks = RecordingMocks()
    exports = build_stack(mocks, prod_config())
    task = named(mocks.resources, policy.TASKDEF, "secrets")
    assert exports["secretsTaskDefinitionArn"] == task.outputs["arn"]
    assert task.inputs["family"] == "alerting-prod-secrets"
    keyring_role = named(mocks.resources, ROLE, "alerting-secrets-keyring-execution")
    assert task.inputs["executionRoleArn"] == keyring_role.outputs["arn"]
    (container,) = policy.containers(task)
    assert container["name"] == "secrets"
    assert container["entryPoint"] + container["command"] == ["alerting", "secrets", "rotate"]
    injected = {s["name"]: s["valueFrom"] for s in container["secrets"]}
    assert set(injected) == {KEYRING, "ALERTING_POSTGRES_PASSWORD"}
    assert injected[KEYRING] == keyring_arn(mocks.resources)
    plain = {e["name"]: e["value"] for e in container["environment"]}
    assert KEYRING not in plain and "ALERTING_POSTGRES_DSN" in plain
    assert (
        SECRETS["alerting:secretKeys"].split(":", 1)[1] not in task.inputs["containerDefinitions"]
    )
    # The migration task stays on the shared role, without the keyring.
    migrate = named(mocks.resources, policy.TASKDEF, "migrate")
    shared_role = named(mocks.resources, ROLE, "alerting-task-execution")
    assert migrate.inputs["executionRoleArn"] == shared_role.outputs["arn"]
    assert KEYRING not in migrate.inputs["containerDefinitions"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "alerting:secretKeys is empty"),
        ("prod1:c2hvcnQ=", "alerting:secretKeys key 'prod1' decodes to 5"),
        ("no-key-id", "alerting:secretKeys item 1 must be"),
    ],
)
def test_a_keyring_the_services_would_refuse_fails_the_stack(raw: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_secret_keys(raw)
    assert check_secret_keys(SECRETS["alerting:secretKeys"]) == SECRETS["alerting:secretKeys"]


def test_policy_check_still_refuses_the_keyring_in_plain_environment(
    resources: list[Recorded],
) -> None:
    """The stack-wide check knows the keyring is a secret (alerting.config says so)."""
    assert KEYRING in settings.SECRET_NAMES
    broken: list[Any] = []
    for r in resources:
        if r.typ == policy.TASKDEF and r.name == "svc-evaluator":
            defs = json.loads(r.inputs["containerDefinitions"])
            defs[0]["environment"].append({"name": KEYRING, "value": "x"})
            inputs = {**r.inputs, "containerDefinitions": json.dumps(defs)}
            r = Recorded(r.typ, r.name, r.id, inputs, r.outputs)
        broken.append(r)
    sender = service_taskdefs(resources)["sender"]
    image = json.loads(sender.inputs["containerDefinitions"])[0]["image"]
    found = policy.check_task_definitions(broken, image, settings.SECRET_NAMES, SECRETS.values())
    assert found == [
        "alerting-prod-evaluator/evaluator: secret ALERTING_SECRET_KEYS in plain environment"
    ]
