"""`alerting deploy`: roll out an image, run the migration task, report status on AWS.

Typical release, after CI pushed image tag $TAG to the stack's ECR repository:

    alerting deploy migrate --tag $TAG   # schema + topics, waits for exit code 0
    alerting deploy rollout --tag $TAG   # every service, waits until all are stable
    alerting deploy status

Resource names come from `pulumi stack output --json` (run in the project directory,
optionally --stack NAME) or from a saved copy given with --outputs FILE.
Exit codes: 0 done, 1 a service did not stabilise or the migration failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from alerting.deploy.outputs import DeployError, StackOutputs, load
from alerting.deploy.waiting import Poll


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = __doc__.split("\n\n", 1)[1] if __doc__ else None
    sub = parser.add_subparsers(dest="action", required=True, metavar="{rollout,migrate,status}")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--outputs", metavar="FILE", help="stack outputs JSON ('-' = stdin)")
        p.add_argument("--stack", help="Pulumi stack to read outputs from (default: selected)")
        p.add_argument("--region", help="AWS region (default: the stack's region output)")

    def image(p: argparse.ArgumentParser, required: bool) -> None:
        group = p.add_mutually_exclusive_group(required=required)
        group.add_argument("--tag", help="image tag in the stack's ECR repository")
        group.add_argument("--image", help="full image reference (repo@sha256:... or repo:tag)")

    def timing(p: argparse.ArgumentParser, timeout: float) -> None:
        p.add_argument(
            "--timeout", type=float, default=timeout, help=f"seconds (default {timeout:.0f})"
        )
        p.add_argument(
            "--poll", type=float, default=10.0, help="seconds between checks (default 10)"
        )

    rollout = sub.add_parser(
        "rollout", help="deploy an image to every service and wait until stable"
    )
    common(rollout)
    image(rollout, required=True)
    rollout.add_argument("--services", help="comma-separated subset (default: every service)")
    timing(rollout, 900)

    migrate = sub.add_parser("migrate", help="run the migration task and wait for exit code 0")
    common(migrate)
    image(migrate, required=False)
    timing(migrate, 1200)

    status = sub.add_parser("status", help="the stack's endpoints and each service's state")
    common(status)
    status.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    try:
        outputs = load(args.outputs, args.stack)
        ecs = _client("ecs", args.region or outputs.region)
        if args.action == "rollout":
            return _rollout(args, outputs, ecs)
        if args.action == "migrate":
            return _migrate(args, outputs, ecs)
        return _status(args, outputs, ecs)
    except DeployError as exc:
        print(f"alerting deploy: {exc}", file=sys.stderr)
        return 2


def _client(service: str, region: str) -> Any:
    import boto3  # only the deploy commands need it

    return boto3.client(service, region_name=region)


def _image(args: argparse.Namespace, outputs: StackOutputs) -> str | None:
    if args.image:
        return str(args.image)
    if args.tag:
        from alerting.deploy.images import resolve_image

        ecr = _client("ecr", args.region or outputs.region)
        return resolve_image(ecr, outputs.repository_url, args.tag)
    return None


def _poll(args: argparse.Namespace) -> Poll:
    return Poll(timeout=args.timeout, interval=args.poll)


def _rollout(args: argparse.Namespace, outputs: StackOutputs, ecs: Any) -> int:
    from alerting.deploy.rollout import roll_out

    image = _image(args, outputs)
    assert image is not None  # --tag or --image is required by the parser
    services = dict(outputs.services)
    if args.services:
        wanted = [s.strip() for s in args.services.split(",") if s.strip()]
        unknown = sorted(set(wanted) - set(services))
        if unknown:
            raise DeployError(f"unknown services {unknown}; the stack has {sorted(services)}")
        services = {s: services[s] for s in wanted}
    print(f"rolling out {image} to {len(services)} services in {outputs.cluster}")
    report = roll_out(
        ecs,
        cluster=outputs.cluster,
        services=services,
        image=image,
        repository_url=outputs.repository_url,
        poll=_poll(args),
    )
    for s in report.services:
        revision = s.task_definition.rsplit("/", 1)[-1] or "-"
        print(f"  {s.state:<9} {s.service:<13} {revision}  {s.detail}")
    if report.ok:
        print("all services stable")
        return 0
    names = ", ".join(s.service for s in report.unstable)
    print(f"did not stabilise: {names}", file=sys.stderr)
    return 1


def _migrate(args: argparse.Namespace, outputs: StackOutputs, ecs: Any) -> int:
    from alerting.deploy.images import register_revision
    from alerting.deploy.migrate import run_migration

    task_definition = outputs.migration_task_definition
    image = _image(args, outputs)
    if image is not None:
        task_definition = register_revision(ecs, task_definition, image, outputs.repository_url)
    print(f"running {task_definition.rsplit('/', 1)[-1]} in {outputs.cluster}")
    result = run_migration(
        ecs,
        cluster=outputs.cluster,
        task_definition=task_definition,
        subnets=outputs.subnets,
        security_groups=outputs.security_groups,
        poll=_poll(args),
    )
    task_id = result.task_arn.rsplit("/", 1)[-1]
    if result.ok:
        print(f"migration task {task_id} completed (exit code 0)")
        return 0
    code = "none" if result.exit_code is None else str(result.exit_code)
    print(
        f"migration task {task_id} failed: exit code {code}: {result.reason}; "
        f"see its log stream in CloudWatch",
        file=sys.stderr,
    )
    return 1


def _status(args: argparse.Namespace, outputs: StackOutputs, ecs: Any) -> int:
    from alerting.deploy.status import as_json, collect, render

    statuses = collect(ecs, outputs)
    if args.json:
        print(json.dumps({"outputs": dict(outputs.raw), "services": as_json(statuses)}, indent=2))
    else:
        print(render(outputs, statuses))
    return 0 if all(s.steady for s in statuses) else 1
