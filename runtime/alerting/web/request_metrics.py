"""Per-service HTTP request metrics: one counter and one latency histogram per API.

Names are ``alerting_<service>_requests_total`` and ``alerting_<service>_request_seconds``
with the route *template* as a label (never the filled-in path: that would be one time
series per resource id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from prometheus_client import Counter, Histogram

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass(frozen=True, slots=True)
class RequestMetrics:
    requests: Counter
    latency: Histogram

    @classmethod
    def register(
        cls,
        service: str,
        *,
        latency_help: str | None = None,
        buckets: Sequence[float] = LATENCY_BUCKETS,
    ) -> RequestMetrics:
        """The service's metrics in the default registry; call once per process, at import."""
        prefix = "alerting_" + service.replace("-", "_")
        labels = ["method", "route"]
        return cls(
            Counter(f"{prefix}_requests_total", f"{service} HTTP requests", [*labels, "status"]),
            Histogram(
                f"{prefix}_request_seconds",
                latency_help or f"{service} HTTP request latency",
                labels,
                buckets=buckets,
            ),
        )

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
