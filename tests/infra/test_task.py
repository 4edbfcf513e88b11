"""components.task renders every ECS container definition of the stack: what a process
leaves unset must be absent (not null), and the keys keep one order, because the
definition is stored as a JSON string and any textual change is a new task revision."""

from __future__ import annotations

from components.task import Process, container_definition


def render(process: Process, secrets: dict[str, str] | None) -> dict[str, object]:
    return container_definition(
        process,
        image="repo/app@sha256:abc",
        environment={"B": "2", "A": "1"},
        secrets=secrets,
        log_group_name="/alerting/test/job",
        region="us-east-1",
    )


def test_a_bare_process_has_only_the_keys_every_container_needs() -> None:
    definition = render(Process(name="job"), secrets=None)
    assert list(definition) == ["name", "image", "essential", "environment", "logConfiguration"]
    assert definition["environment"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "2"},
    ]
    assert definition["logConfiguration"] == {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": "/alerting/test/job",
            "awslogs-region": "us-east-1",
            "awslogs-stream-prefix": "job",
        },
    }


def test_given_secrets_are_rendered_even_when_empty() -> None:
    assert render(Process(name="job"), secrets={})["secrets"] == []
    assert render(Process(name="job"), secrets={"TOKEN": "arn:secret"})["secrets"] == [
        {"name": "TOKEN", "valueFrom": "arn:secret"}
    ]


def test_every_field_set_keeps_the_fixed_key_order() -> None:
    process = Process(
        name="job",
        entry_point=["sh", "-c"],
        command=["run"],
        port=8080,
        mount_points=[{"sourceVolume": "data", "containerPath": "/data"}],
        health_check={"command": ["CMD", "true"]},
        stop_timeout=30,
        readonly_root_filesystem=False,
        ulimits=[{"name": "nofile", "softLimit": 1, "hardLimit": 1}],
        user="10001",
    )
    assert list(render(process, secrets={})) == [
        "name",
        "image",
        "essential",
        "entryPoint",
        "command",
        "portMappings",
        "environment",
        "secrets",
        "mountPoints",
        "logConfiguration",
        "healthCheck",
        "stopTimeout",
        "readonlyRootFilesystem",
        "ulimits",
        "user",
    ]
