"""The web console: static files served by rule-service at ``/ui`` (docs/console.md).

It is a client of the public APIs only: the browser calls them with the operator's bearer
token, so the console has no access of its own and no server-side state.
"""
