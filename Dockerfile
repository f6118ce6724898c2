# syntax=docker/dockerfile:1
#
# aios-server image: `docker build -t aios-server .`
#
#   docker run -p 3000:3000 -e JWT_SECRET="$(openssl rand -base64 48)" \
#     -e METRICS_TOKEN="$(openssl rand -hex 32)" -e MAIL_TRANSPORT=log -v aios-data:/data aios-server
#
# Serves on port 3000 with SQLite in the /data volume, unless DATABASE_URL names a PostgreSQL
# database. APP_ENV is production, so JWT_SECRET (at least 32 bytes) is required, and so is
# METRICS_TOKEN (or METRICS_ADDR, to serve /metrics on a separate address), and MAIL_TRANSPORT
# (smtp or sendgrid with their settings, or log to send no email; README.md, "Email"). The same image
# runs the other commands: `docker run ... aios-server worker`, `... migrate`, `... db check`.
# Needs BuildKit (the default builder since Docker 23) for the cache mounts below.

# --- build ---------------------------------------------------------------------------------------
FROM rust:1.95-slim-bookworm AS builder
WORKDIR /src

# Only what the build needs. rust-toolchain.toml is left out on purpose: it pins 1.95.0 with
# rustfmt and clippy, and rustup would download that toolchain again. The image's 1.95 satisfies
# the workspace's rust-version. The C parts (bundled SQLite, ring) build with the image's gcc.
COPY Cargo.toml Cargo.lock ./
# The build settings: SQLite's compile flags (its query planner stability guarantee).
COPY .cargo ./.cargo
COPY crates ./crates
# A workspace member (the benchmark's ceiling service): cargo needs its manifest to load the
# workspace, though only aios-server is built.
COPY bench/ceiling ./bench/ceiling

# The commit /metrics reports in aios_build_info (`--build-arg GIT_COMMIT=$(git rev-parse
# --short HEAD)`); without it, "unknown". .git is not copied, so the build cannot find it itself.
ARG GIT_COMMIT=""

# The registry and target directory are cache mounts, so a rebuild after a source change compiles
# only the workspace crates. The binary is copied out in the same step because a cache mount is
# not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    AIOS_GIT_COMMIT="${GIT_COMMIT}" cargo build --release --locked -p aios-server \
    && install -m 0755 target/release/aios-server /usr/local/bin/aios-server

# --- runtime -------------------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

# ca-certificates for TLS to PostgreSQL; curl for the health check only.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 aios \
    && useradd --system --uid 10001 --gid aios --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin aios \
    && mkdir -p /data/uploads \
    && chown aios:aios /data /data/uploads \
    && chmod 0700 /data/uploads

COPY --from=builder /usr/local/bin/aios-server /usr/local/bin/aios-server

ENV APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data

# The SQLite database when DATABASE_URL is unset (unused with PostgreSQL), and uploaded files
# under /data/uploads when S3_BUCKET_NAME is unset.
VOLUME ["/data"]
USER aios:aios
EXPOSE 3000

# Liveness only: /health/live answers 200 while the process serves. Point your load balancer's
# checks at /health/ready: it fails while the database is unreachable, and at once on SIGTERM
# (for SHUTDOWN_GRACE_SECS, 5 s, before the listener closes), so rolling restarts drop nothing. The `worker` command serves no
# HTTP, so disable this check for it (docker-compose.yml does).
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:${PORT:-3000}/health/live" || exit 1

# SIGTERM (docker stop) starts a graceful shutdown: SHUTDOWN_GRACE_SECS (5 s) of draining, then
# in-flight requests and background work, each bounded by SHUTDOWN_TIMEOUT_SECS (30 s by
# default). Longer than docker's default 10 s: use `docker stop -t 70` or stop_grace_period.
ENTRYPOINT ["aios-server"]
CMD ["serve"]
