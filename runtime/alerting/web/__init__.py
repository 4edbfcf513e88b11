"""The one HTTP layer of the platform's APIs (rule-service, ingest, metrics).

``auth`` (principals, scopes, pluggable authentication backends), ``bearer`` (the
bearer-token backend: the only reader of Authorization headers), ``key_store`` (the
API-key lookup it depends on), ``problems`` (RFC 9457 errors), ``body`` (bounded body
reading), ``models`` (base classes of request and response models), ``endpoint`` (the
one request wrapper), ``request_metrics``, ``database_errors`` and ``app``.

It knows no service: services import it, never the reverse.
"""
