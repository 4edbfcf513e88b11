# syntax=docker/dockerfile:1.7
# One image for every service and tool: each container runs `alerting <command>`.
#
# tests/infra/test_image_install.py replays this file's builder RUN steps in a fresh
# virtualenv and runs every `alerting <command> --help`, so keep the install steps as
# plain RUN lines that use $VENV.

FROM python:3.11-slim AS builder
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
ENV VENV=/opt/venv \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Dependencies first, from the lock file only, so code changes reuse this layer.
COPY pyproject.toml uv.lock README.md ./
RUN uv export --frozen --no-dev --no-group infra --no-hashes --no-emit-project --output-file requirements.txt
RUN python -m venv "$VENV" && uv pip install --python "$VENV/bin/python" --requirement requirements.txt
COPY runtime ./runtime
COPY migrations ./migrations
RUN uv pip install --python "$VENV/bin/python" --no-deps .

FROM python:3.11-slim
LABEL org.opencontainers.image.title="alerting" \
      org.opencontainers.image.description="Multi-tenant alert-notification platform"
RUN groupadd --system --gid 10001 alerting \
    && useradd --system --uid 10001 --gid alerting --no-create-home --shell /usr/sbin/nologin alerting
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
# 8081-8083: rule-service, ingest, metrics APIs; 9101-9104: workers' health and /metrics.
EXPOSE 8081 8082 8083 9101 9102 9103 9104
# The probe finds the service from the main process (`alerting <service>`) and GETs its
# /healthz; one-off tools (migrate, topics) count as healthy while they run.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "alerting.deploy.healthcheck"]
ENTRYPOINT ["alerting"]
CMD ["--help"]
