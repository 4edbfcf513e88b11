"""The workflows, the Dockerfile and the compose file pass their linters, each of which
rejects a broken twin (so a linter that checks nothing, or is not installed, fails here).

The workflows also keep the conventions docs/operations.md ("CI conventions") states:
the test job gets Postgres and Redis where the harness looks for them, the deploy job
may mint an OIDC token and nothing more, and two deploys never overlap.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerting.dev import infra
from alerting.peers import packages
from tests.infra.ci_linters import actionlint, hadolint, json_schema

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
COMPOSE_SCHEMA = "vendor.compose-spec"
WORKFLOW_SCHEMA = "vendor.github-workflows"


def _twin(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    """A copy of ``source`` with one fragment replaced (which must be there)."""
    text = source.read_text()
    assert old in text, f"{old!r} not in {source.name}"
    twin = tmp_path / source.name
    twin.write_text(text.replace(old, new, 1))
    return twin


def _workflow(name: str) -> dict[Any, Any]:
    return dict(yaml.safe_load((REPO / ".github" / "workflows" / name).read_text()))


def test_both_workflows_exist() -> None:
    assert [w.name for w in WORKFLOWS] == ["deploy.yml", "test.yml"]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_passes_actionlint_and_the_schema(workflow: Path) -> None:
    for verdict in (actionlint(workflow), json_schema(WORKFLOW_SCHEMA, workflow)):
        assert verdict.ok, verdict.report


def test_the_schema_rejects_a_job_without_runs_on(tmp_path: Path) -> None:
    source = REPO / ".github/workflows/test.yml"
    twin = _twin(tmp_path, source, "    runs-on: ubuntu-latest\n", "    runs_on: ubuntu-latest\n")
    verdict = json_schema(WORKFLOW_SCHEMA, twin)
    assert not verdict.ok and "'runs-on' is a required property" in verdict.report


def test_actionlint_rejects_an_output_of_an_unknown_step(tmp_path: Path) -> None:
    """Valid against the schema, wrong all the same: only actionlint sees it."""
    source = REPO / ".github/workflows/deploy.yml"
    twin = _twin(
        tmp_path, source, "steps.stack.outputs.repository", "steps.nosuch.outputs.repository"
    )
    assert json_schema(WORKFLOW_SCHEMA, twin).ok
    verdict = actionlint(twin)
    assert not verdict.ok and "nosuch" in verdict.report


def test_actionlint_runs_shellcheck_on_run_scripts(tmp_path: Path) -> None:
    twin = _twin(tmp_path, REPO / ".github/workflows/test.yml", "run: make test", "run: cd $HOME")
    verdict = actionlint(twin)
    assert not verdict.ok and "shellcheck" in verdict.report and "SC2086" in verdict.report


def test_dockerfile_passes_hadolint() -> None:
    verdict = hadolint(REPO / "Dockerfile")
    assert verdict.ok, verdict.report


def test_hadolint_rejects_an_unpinned_apt_install(tmp_path: Path) -> None:
    twin = _twin(
        tmp_path, REPO / "Dockerfile", "USER 10001:10001\n", "RUN apt-get install -y curl\n"
    )
    verdict = hadolint(twin)
    assert not verdict.ok and "DL3008" in verdict.report  # pin versions in apt-get install


def test_compose_file_matches_the_compose_specification() -> None:
    verdict = json_schema(COMPOSE_SCHEMA, REPO / "docker-compose.yml")
    assert verdict.ok, verdict.report


def test_the_compose_schema_rejects_an_unknown_dependency_condition(tmp_path: Path) -> None:
    twin = _twin(
        tmp_path,
        REPO / "docker-compose.yml",
        "condition: service_healthy",
        "condition: service_ready",
    )
    verdict = json_schema(COMPOSE_SCHEMA, twin)
    assert not verdict.ok and "service_ready" in verdict.report


def test_the_test_job_gives_the_harness_postgres_and_redis() -> None:
    job = _workflow("test.yml")["jobs"]["test"]
    assert set(job["services"]) == {"postgres", "redis"}
    assert job["steps"][-1]["run"] == "make test"
    env = job["env"]
    # The harness's variables (tests/conftest.py), at the ports the containers publish.
    pg_host_port = job["services"]["postgres"]["ports"][0].split(":")[0]
    redis_host_port = job["services"]["redis"]["ports"][0].split(":")[0]
    password = job["services"]["postgres"]["env"]["POSTGRES_PASSWORD"]
    assert env["ALERTING_TEST_POSTGRES_URL"] == (
        f"postgresql://postgres:{password}@127.0.0.1:{pg_host_port}"
    )
    assert env["ALERTING_TEST_REDIS_URL"] == f"redis://127.0.0.1:{redis_host_port}/0"


def test_the_test_job_installs_what_the_harness_installs_only_as_root() -> None:
    """The harness's own package lists: a package added there must be added here."""
    steps = _workflow("test.yml")["jobs"]["test"]["steps"]
    script = " ".join(s.get("run", "") for s in steps)
    installed = set(re.findall(r"[a-z][a-z0-9.+-]+", script.split("apt-get install", 1)[1]))
    assert set(infra.DEBIAN_PACKAGES) | set(packages.PACKAGES) <= installed


def test_deploy_is_least_privilege_and_never_overlaps() -> None:
    workflow = _workflow("deploy.yml")
    assert workflow["permissions"] == {}
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert workflow["concurrency"]["group"].startswith("deploy-")
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["push"] == {"branches": ["main"]} and "workflow_dispatch" in triggers


def test_deploy_order_is_image_migrate_up_rollout() -> None:
    steps = _workflow("deploy.yml")["jobs"]["deploy"]["steps"]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    runs = [s.get("run", "") for s in steps]
    assert "aws-actions/configure-aws-credentials" in uses
    aws = steps[uses.index("aws-actions/configure-aws-credentials")]["with"]
    assert "role-to-assume" in aws and "aws-access-key-id" not in aws  # OIDC, no stored key

    def position(predicate: Any) -> int:
        return next(i for i, s in enumerate(steps) if predicate(s, runs[i]))

    push = position(lambda s, _: s.get("uses", "").startswith("docker/build-push-action"))
    migrate = position(lambda _, r: "alerting deploy migrate" in r)
    up = position(lambda s, _: s.get("with", {}).get("command") == "up")
    rollout = position(lambda _, r: "alerting deploy rollout" in r)
    assert push < migrate < up < rollout
    assert steps[up]["uses"].startswith("pulumi/actions@")


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_and_every_job_has_a_timeout(workflow: Path) -> None:
    for ref in re.findall(r"uses:\s*(\S+)", workflow.read_text()):
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@(v\d+|[0-9a-f]{40})", ref), ref
    # The same rule as check-jsonschema's custom.github-workflows-require-timeout.
    verdict = json_schema("custom.github-workflows-require-timeout", workflow)
    assert verdict.ok, verdict.report
