"""Deployment tooling for the AWS stack (`alerting deploy ...`) and the container probe.

Everything here runs outside the services: on an operator's machine or in CI (boto3,
the `pulumi` CLI for stack outputs), or as the image's health check. Nothing in this
package is imported by a service, and boto3 is imported only by the commands that
call AWS.
"""
