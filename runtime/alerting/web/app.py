"""A Starlette application whose routing errors answer problem+json like its endpoints."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute

from alerting.web.problems import route_error


def problem_app(routes: Sequence[BaseRoute]) -> Starlette:
    """Unknown paths (404) and methods (405) answer a problem, not Starlette's text."""
    return Starlette(routes=list(routes), exception_handlers={HTTPException: route_error})
