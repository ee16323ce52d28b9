# The Northstar code location image (DESIGN §3). One image serves:
#   - the code location: the default CMD, a gRPC code server on port 3030 that the Dagster
#     webserver and daemon load definitions from and evaluate sensors and schedules in;
#   - the run workers: K8sRunLauncher (or EcsRunLauncher) starts every run in this same image,
#     as `dagster api execute_run`, so a run executes exactly the code the location served;
#   - one-off commands: `northstar sync`, `northstar quarantine release`, ... (docs/deployment.md).
#
# Build (the commit becomes the code version recorded in the run log; the image has no .git):
#   docker build --build-arg NORTHSTAR_GIT_COMMIT=$(git rev-parse HEAD) -t northstar:<tag> .
#
# Nothing secret is baked in: warehouse, source and landing settings come from the environment
# at run time (deploy/helm/values.yaml, deploy/k8s/secret.example.yaml).

ARG PYTHON_IMAGE=python:3.11-slim

# ------------------------------------------------------------------------------------------
# build: the locked virtual environment and the parsed dbt manifest
# ------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build

# uv pinned as in the Makefile, from PyPI like every other package.
RUN pip install --no-cache-dir uv==0.13.8

# Byte-compile at build time (faster cold starts of every run pod); keep no download cache in
# the layer; never download an interpreter: the base image's Python 3.11 is the one
# pyproject.toml requires.
ENV UV_COMPILE_BYTECODE=1 \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never

WORKDIR /app

# Dependencies first, from the committed lock only (--frozen: fail rather than re-resolve),
# without the `dev` and `bench` extras (tests, emulators, benchmark peers). This layer is
# rebuilt only when pyproject.toml or uv.lock change.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

# The project itself. `uv sync` installs it editable, on purpose: settings.REPO_ROOT, the dbt
# project (defs/dbt_project.py) and the instance configs are found relative to the source
# tree, so the tree stays at /app exactly as in a checkout.
COPY README.md dagster.yaml workspace.yaml ./
COPY asset_checks ./asset_checks
COPY northstar_platform ./northstar_platform
COPY dbt ./dbt
COPY snowflake ./snowflake
COPY deploy/dagster.production.yaml ./deploy/dagster.production.yaml
RUN uv sync --frozen --no-dev

# The dbt manifest `@dbt_assets` reads at import, parsed for the production target. Parsing
# never connects: the snowflake target's account and user fall back to placeholders in
# dbt/profiles.yml, so no credential is needed (or present) here.
RUN NORTHSTAR_DBT_TARGET=snowflake DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    .venv/bin/dbt parse --project-dir dbt --profiles-dir dbt --quiet \
    && test -s dbt/target/manifest.json \
    && rm -rf dbt/logs

# ------------------------------------------------------------------------------------------
# runtime: the same base image (the venv's interpreter is /usr/local/bin/python3.11), no uv,
# no pip cache, no build layers
# ------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ARG NORTHSTAR_GIT_COMMIT=""

# A fixed numeric user, so Kubernetes' runAsNonRoot can verify it without a passwd lookup.
RUN groupadd --system --gid 10001 northstar \
    && useradd --system --uid 10001 --gid northstar --home-dir /opt/dagster \
        --no-create-home --shell /usr/sbin/nologin northstar

COPY --from=build /app /app

# Writable at run time by the service user, nothing else is:
#   /app/dbt        dbt writes target/<invocation> and logs/ for every dbt step
#   DAGSTER_HOME    `northstar` copies NORTHSTAR_DAGSTER_YAML into it before each command
#   NORTHSTAR_HOME  alerts.jsonl, command logs (per container; the ops tables are the record)
# chown changes ownership, not mtimes: the manifest stays newer than every dbt source file,
# so no process re-parses the project at start.
COPY --chown=10001:10001 deploy/dagster.production.yaml /opt/dagster/dagster_home/dagster.yaml
RUN mkdir -p /opt/dagster/northstar_home \
    && chown -R 10001:10001 /app/dbt /opt/dagster

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    NORTHSTAR_HOME=/opt/dagster/northstar_home \
    NORTHSTAR_DAGSTER_YAML=/app/deploy/dagster.production.yaml \
    NORTHSTAR_GIT_COMMIT=${NORTHSTAR_GIT_COMMIT} \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false

WORKDIR /app
USER 10001:10001

# The code location's gRPC port (deploy/helm/values.yaml serves the same command and port).
EXPOSE 3030

# No ENTRYPOINT: the helm chart and run launchers pass full commands (`dagster code-server
# start ...`, `dagster api execute_run ...`) as the container's args.
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "3030", "-m", "northstar_platform.definitions"]
