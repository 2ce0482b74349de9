# Boardroom: one image for every role. The command is the role:
#   serve (default) | worker | relay | migrate | audit verify
# Build (docs/deployment.md):
#   DOCKER_BUILDKIT=1 docker build --build-arg BASE_IMAGE=debian:bookworm-slim \
#       [--secret id=ca,src=/etc/ssl/certs/ca-certificates.crt] -t boardroom .
# BASE_IMAGE is any Debian bookworm root file system (python3 is 3.11 there): debian:bookworm-slim
# from a registry, or the one scripts/container-engine makes with debootstrap where none is
# reachable. The optional `ca` secret is a CA bundle for pip behind a TLS-intercepting proxy; as
# a secret it never lands in a layer.
ARG BASE_IMAGE=debian:bookworm-slim

# --- build: a virtual environment with the locked dependencies and Boardroom ------------------
FROM ${BASE_IMAGE} AS build
# Versions come from the base image's Debian release (and its security updates at build time).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY requirements/runtime.txt requirements/runtime.txt
# Binary wheels only: the final stage has no compiler, and nothing is built from source here.
RUN --mount=type=secret,id=ca \
    if [ -f /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
    && python3 -m venv /opt/boardroom \
    && /opt/boardroom/bin/pip install --no-cache-dir --disable-pip-version-check \
        --require-hashes --only-binary=:all: -r requirements/runtime.txt
COPY setup.cfg pyproject.toml README.md ./
COPY application application
COPY auth auth
COPY domain domain
COPY handlers handlers
COPY persistence persistence
COPY realtime realtime
COPY rooms rooms
COPY static_client static_client
COPY streams streams
# The project itself, built with the locked setuptools: no unpinned build download.
RUN /opt/boardroom/bin/pip install --no-cache-dir --disable-pip-version-check \
        --no-deps --no-build-isolation . \
    && /opt/boardroom/bin/pip uninstall --yes pip

# --- runtime: Python, CA certificates (TLS to RDS, ElastiCache, MSK) and the environment -----
FROM ${BASE_IMAGE}
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin boardroom
COPY --from=build /opt/boardroom /opt/boardroom
ENV PATH=/opt/boardroom/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BOARDROOM_HOST=0.0.0.0 \
    BOARDROOM_PORT=8080
USER 10001:10001
WORKDIR /tmp
EXPOSE 8080 9465
# The server's /healthz; a worker container checks its metrics port instead
# (`boardroom healthcheck --worker`, set per service in the ECS task definitions).
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["boardroom", "healthcheck"]
# The processes handle SIGTERM themselves (a graceful stop well inside ECS's 30 s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["boardroom"]
CMD ["serve"]
