"""An endpoint's value and secret, by its type: what the type's channel accepts, and the
form its secret is stored in (sealed, ``alerting.sealed``). A secret is generated (a
signing channel's) or supplied by the caller (a credential's, e.g. a routing key).

The channel validates (an email address, an http(s) URL resolved against the private
address policy, ...); this module turns its refusal into the API's 422 problem, so the
channels know nothing of HTTP answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit
from uuid import UUID

from alerting.adapters import dns
from alerting.channels import registry
from alerting.channels.base import InvalidValue, UrlPolicy
from alerting.channels.standard_webhooks import new_secret
from alerting.config import Settings
from alerting.sealed import ENDPOINT_SIGNING_SECRET, Keyring
from alerting.templates.render import check
from alerting.web import problems


async def normalize(type_: str, value: str, *, allow_private: bool, resolver: dns.Resolver) -> str:
    """The value to store; raises a 422 problem naming ``value`` when it is not valid."""
    channel = registry.find(type_)
    if channel is None:
        # Only a stored endpoint whose channel has since been removed gets here: a new
        # endpoint's type was checked against the registry by its model.
        raise problems.invalid("type", f"no channel handles endpoint type {type_!r}")
    try:
        normalized = await channel.validate(value, UrlPolicy(allow_private, resolver))
    except InvalidValue as exc:
        raise problems.invalid("value", str(exc)) from None
    if channel.credential is not None and not allow_private and not _is_https(normalized):
        # The credential travels in the request: never in clear text. A dev stack's local
        # receiver (ALERTING_ALLOW_PRIVATE_URLS) speaks plain http.
        raise problems.invalid("value", f"a {type_} endpoint's URL must be https")
    return normalized


def _is_https(url: str) -> bool:
    return urlsplit(url).scheme.lower() == "https"


def supplied_secret(type_: str, secret: str | None) -> str | None:
    """The caller's credential for a channel that needs one (validated, as stored), or
    None for one that does not; a 422 naming ``secret`` otherwise. The refusal never
    quotes the secret."""
    credential = registry.get(type_).credential
    if credential is None:
        if secret is not None:
            raise problems.invalid("secret", f"a {type_} endpoint takes no secret")
        return None
    if secret is None:
        raise problems.invalid("secret", f"required: {credential.what} ({credential.shape})")
    try:
        return credential.validate(secret)
    except InvalidValue as exc:
        raise problems.invalid("secret", str(exc)) from None


def new_signing_secret(type_: str) -> str | None:
    """A fresh Standard Webhooks secret (``whsec_``) for a channel that signs its
    requests (shown once), else None."""
    return new_secret() if registry.get(type_).signed else None


def sealed_secret(secret: str | None, endpoint_id: UUID, settings: Settings) -> str | None:
    """What the endpoints row stores for ``secret``: sealed under the current key and
    bound to the row, so the database never holds it readable."""
    if secret is None:
        return None
    keyring = Keyring.from_settings(settings)
    return keyring.seal(secret, ENDPOINT_SIGNING_SECRET.binding(endpoint_id))


def checked_templates(type_: str, templates: Mapping[str, str] | None) -> dict[str, str] | None:
    """The templates to store (None or an empty object: none); a 422 naming each bad one
    (``templates.body: line 3: unexpected '}'``) when a name is not one of the type's or a
    source does not compile."""
    if not templates:
        return None
    found = check(type_, templates)
    if found:
        errors = [(f"templates.{p.name}", str(p)) for p in found]
        summary = "; ".join(f"{f}: {m}" for f, m in errors)
        raise problems.ApiError(422, summary, kind="validation-error", errors=errors)
    return dict(templates)
