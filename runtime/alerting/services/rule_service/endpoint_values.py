"""Validation of an endpoint's value by its type: an email address or an http(s) URL.

URLs are resolved (unless private URLs are allowed) so a webhook cannot be aimed at the
platform's own network; the sender checks again at delivery time.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from alerting.domain import urls
from alerting.web import problems


async def normalize(type_: str, value: str, *, allow_private: bool, resolver: urls.Resolver) -> str:
    """The value to store; raises a 422 problem naming ``value`` when it is not valid."""
    if type_ == "email":
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise problems.invalid("value", f"not a valid email address: {exc}") from None
    try:
        await urls.check_url(value, allow_private=allow_private, resolver=resolver)
    except urls.UnsafeUrl as exc:
        raise problems.invalid("value", f"URL {exc}") from None
    return value
