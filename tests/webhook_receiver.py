"""What a webhook receiver does with a request the dev sink recorded: verify it with the
official Standard Webhooks package (PyPI ``standardwebhooks``), never our own code.

Not a test module: the integration and e2e tests import from here.
"""

from __future__ import annotations

from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


def verified(request: dict[str, Any], secret: str) -> Any:
    """The recorded request's JSON body as the verifier returns it, or
    ``WebhookVerificationError``. A legacy secret (no ``whsec_`` prefix, as rows written
    before Standard Webhooks hold) is keyed by its UTF-8 bytes, as docs/integrations.md
    tells receivers."""
    key: str | bytes = secret if secret.startswith("whsec_") else secret.encode()
    return Webhook(key).verify(request["raw_body"].encode(), request["headers"])


def signature_verifies(request: dict[str, Any], secret: str) -> bool:
    try:
        verified(request, secret)
    except WebhookVerificationError:
        return False
    return True
