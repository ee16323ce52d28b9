"""The container image and the Kubernetes files agree with each other and with the code.

No Docker engine, cluster or helm is needed. The files are read as committed (Dockerfile,
.dockerignore, deploy/helm/values.yaml, deploy/k8s/*.example.*, deploy/dagster.production.yaml)
and checked against what the code and the lock say:

- the code location command the chart runs is the image's CMD, on the port it exposes;
- the image's `uv sync` flags, run here as `uv sync --dry-run`, install exactly the locked
  runtime dependencies (no `dev`/`bench` extras) and everything the deployment needs;
- every file the Dockerfile copies exists and is not cut by .dockerignore;
- the environment a pod gets (image ENV + chart ConfigMap + Secret) passes `get_settings`,
  names only known `NORTHSTAR_*` variables and mounts the Snowflake key where it points;
- the chart's instance (values) and the image's instance (deploy/dagster.production.yaml)
  use the same database and the same queue, pools, retries, monitoring and retention;
- the pods' IAM policy allows every S3 call the code makes on the landing prefix;
- the Dockerfile's CMD, started with that environment, loads the code location and its
  instance (PostgreSQL) without an error.
"""

import ast
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from northstar_platform import settings as settings_module
from northstar_platform.settings import KNOWN_VARIABLES, get_settings

pytestmark = pytest.mark.production

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
VALUES = REPO / "deploy" / "helm" / "values.yaml"
SECRETS = REPO / "deploy" / "k8s" / "secret.example.yaml"
IAM_POLICY = REPO / "deploy" / "k8s" / "iam-policy.example.json"
PRODUCTION_INSTANCE = REPO / "deploy" / "dagster.production.yaml"
DEPLOYMENT_GUIDE = REPO / "docs" / "deployment.md"

IMAGE_ROOT = "/app"
"""WORKDIR of the image: the repository's root there."""

CHART_CODE_SERVER_PREFIX = ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p"]
"""What the chart's user deployment runs before `<port>` and `codeServerArgs`
(dagster-user-deployments templates/deployment-user.yaml)."""

CHART_RUN_LAUNCHER_PACKAGES = {"K8sRunLauncher": "dagster-k8s"}
"""The distribution each chart run launcher type loads (`module: dagster_k8s`), which the run
workers (our image) must have to load the instance config the chart mounts."""


# --------------------------------------------------------------------------------------------
# Reading the files
# --------------------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        pending = f"{pending} {line}" if pending else line
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        keyword, _, arguments = pending.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def runtime_stage() -> list[tuple[str, str]]:
    """The instructions of the last stage: what the image runs."""
    instructions = dockerfile_instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from + 1 :]


def image_cmd() -> list[str]:
    (cmd,) = [json.loads(args) for keyword, args in runtime_stage() if keyword == "CMD"]
    return cmd


def image_env() -> dict[str, str]:
    """The runtime stage's ENV, `${ARG}` replaced by the ARG's default."""
    known: dict[str, str] = {}
    env: dict[str, str] = {}
    for keyword, args in runtime_stage():
        if keyword == "ARG":
            name, _, default = args.partition("=")
            known[name] = shlex.split(default)[0] if default.strip('"') else ""
        elif keyword == "ENV":
            for token in shlex.split(args):
                name, _, value = token.partition("=")
                env[name] = re.sub(
                    r"\$\{(\w+)\}", lambda m: known.get(m.group(1), m.group(0)), value
                )
    return env


def copied_sources() -> list[tuple[str, str]]:
    """(source, destination) of every COPY from the build context (not `--from=` a stage)."""
    pairs = []
    for keyword, args in dockerfile_instructions():
        if keyword != "COPY":
            continue
        words = shlex.split(args)
        if any(word.startswith("--from=") for word in words):
            continue
        paths = [word for word in words if not word.startswith("--")]
        pairs.extend((source, paths[-1]) for source in paths[:-1])
    return pairs


def uv_sync_flags() -> list[list[str]]:
    """The arguments after `uv sync` of every RUN that calls it."""
    found = []
    for keyword, args in dockerfile_instructions():
        for command in args.split("&&") if keyword == "RUN" else []:
            words = shlex.split(command)
            if words[:2] == ["uv", "sync"]:
                found.append(words[2:])
    return found


def dockerignore_patterns() -> list[str]:
    lines = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def docker_ignores(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps `path` out of the build context: a pattern matches the path
    or one of its parent folders (`**` any folders, `*` within one name; no `!` rules used)."""
    assert not any(p.startswith("!") for p in patterns), "negated .dockerignore rules: extend me"
    parts = Path(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        regex = re.escape(pattern.strip("/")).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*")
        regex = regex.replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        if any(re.fullmatch(regex, prefix) for prefix in prefixes):
            return True
    return False


def values() -> dict[str, Any]:
    return yaml.safe_load(VALUES.read_text())


def user_deployment() -> dict[str, Any]:
    (deployment,) = values()["dagster-user-deployments"]["deployments"]
    return deployment


def example_secrets() -> dict[str, dict[str, Any]]:
    """The example Secrets by name."""
    docs = [doc for doc in yaml.safe_load_all(SECRETS.read_text()) if doc]
    assert all(doc["kind"] == "Secret" for doc in docs)
    return {doc["metadata"]["name"]: doc for doc in docs}


def production_instance() -> dict[str, Any]:
    return yaml.safe_load(PRODUCTION_INSTANCE.read_text())


def pod_environment(tmp_path: Path) -> dict[str, str]:
    """The environment the code server and run pods get (image ENV, then the chart's ConfigMap,
    then the `northstar-env` Secret), with image paths mapped onto this machine: `/app/...`
    onto the repository, other absolute paths under `tmp_path`. The Snowflake key is a freshly
    generated PKCS#8 key (the format docs/deployment.md creates with openssl)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    env = {name: value for name, value in image_env().items() if name != "PATH"}
    env.update(user_deployment()["env"])
    env.update(example_secrets()["northstar-env"]["stringData"])
    for name, value in env.items():
        if value.startswith(f"{IMAGE_ROOT}/"):
            env[name] = str(REPO / value.removeprefix(f"{IMAGE_ROOT}/"))
        elif value.startswith("/"):
            env[name] = str(tmp_path / "image" / value.lstrip("/"))
    key_file = Path(env["NORTHSTAR_SNOWFLAKE_PRIVATE_KEY_PATH"])
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return env


# --------------------------------------------------------------------------------------------
# The image
# --------------------------------------------------------------------------------------------


def test_chart_runs_the_images_command_on_the_exposed_port() -> None:
    deployment = user_deployment()
    chart_command = [
        *CHART_CODE_SERVER_PREFIX,
        str(deployment["port"]),
        *deployment["codeServerArgs"],
    ]
    assert chart_command == image_cmd()
    exposed = [args for keyword, args in runtime_stage() if keyword == "EXPOSE"]
    assert exposed == [str(deployment["port"])]
    # The chart passes its command as the container's args: an ENTRYPOINT would prefix it.
    assert not [keyword for keyword, _ in dockerfile_instructions() if keyword == "ENTRYPOINT"]
    module = deployment["codeServerArgs"][deployment["codeServerArgs"].index("-m") + 1]
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert module == pyproject["tool"]["dagster"]["module_name"]


def test_image_runs_as_a_non_root_user() -> None:
    (user,) = [args for keyword, args in runtime_stage() if keyword == "USER"]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) > 0, "runAsNonRoot needs a numeric, non-zero USER"
    deployment = user_deployment()
    assert deployment["podSecurityContext"]["runAsUser"] == int(uid)
    assert deployment["podSecurityContext"]["runAsNonRoot"] is True


def lock_closure(lock: dict[str, Any], roots: list[dict[str, Any]]) -> set[str]:
    """Names of the locked packages `roots` (uv.lock dependency entries) pull in, extras
    followed, environment markers ignored (a superset on any one platform)."""
    packages = {package["name"]: package for package in lock["package"]}
    seen: set[tuple[str, str]] = set()
    todo = [(entry["name"], extra) for entry in roots for extra in ["", *entry.get("extra", [])]]
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        package = packages[name]
        entries = (
            package.get("dependencies", [])
            if not extra
            else package.get("optional-dependencies", {}).get(extra, [])
        )
        for entry in entries:
            todo.extend((entry["name"], e) for e in ["", *entry.get("extra", [])])
    return {name for name, _ in seen}


@pytest.fixture(scope="module")
def image_packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """name → version that the Dockerfile's `uv sync` flags would install, from a dry run
    against a throw-away environment path (nothing is installed, `.venv` is not touched)."""
    flags = uv_sync_flags()
    assert flags, "the Dockerfile installs nothing with uv sync"
    uv = shutil.which("uv")
    command = [uv] if uv else [sys.executable, "-m", "uv"]
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(tmp_path_factory.mktemp("venv") / "v")}
    if not uv:  # the Makefile's private copy (`make setup` installs it when uv is not on PATH)
        env["PYTHONPATH"] = str(REPO / ".uv-bin-pkg")
    # The final sync (with the project) is the full set; the earlier one is its subset.
    done = subprocess.run(
        [*command, "sync", *flags[-1], "--dry-run", "--python", sys.executable],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert not Path(env["UV_PROJECT_ENVIRONMENT"]).exists(), "a dry run created the venv"
    planned = re.findall(r"^ \+ ([A-Za-z0-9_.\-]+)==(\S+)", done.stderr + done.stdout, re.M)
    assert planned, done.stderr
    return {name.lower(): version for name, version in planned}


def test_image_installs_the_locked_runtime_dependencies_without_extras(
    image_packages: dict[str, str],
) -> None:
    for flags in uv_sync_flags():
        assert "--frozen" in flags, "the image must install the committed lock, not re-resolve"
        assert not {"--extra", "--all-extras", "--group", "--all-groups"} & set(flags)
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    (root,) = [p for p in lock["package"] if p.get("source", {}).get("editable") == "."]
    runtime = lock_closure(lock, root["dependencies"])
    extras = [entry for entries in root["optional-dependencies"].values() for entry in entries]
    extras_only = lock_closure(lock, extras) - runtime
    assert {"pytest", "fakesnow", "playwright"} <= extras_only  # the split is meaningful
    installed = set(image_packages)
    assert not installed & extras_only, "the image would install test/bench-only packages"
    assert installed - {root["name"]} <= runtime
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    for requirement in pyproject["project"]["dependencies"]:
        name = re.match(r"[A-Za-z0-9_.\-]+", requirement).group(0).lower()
        assert image_packages.get(name) == requirement.split("==")[1], requirement
    assert image_packages[root["name"]] == pyproject["project"]["version"]


def test_image_has_the_run_launcher_the_chart_configures(image_packages: dict[str, str]) -> None:
    launcher = values()["runLauncher"]["type"]
    assert CHART_RUN_LAUNCHER_PACKAGES[launcher] in image_packages


def test_every_copied_file_is_in_the_build_context() -> None:
    patterns = dockerignore_patterns()
    sources = [source for source, _ in copied_sources()]
    for source in sources:
        assert (REPO / source).exists(), f"Dockerfile copies {source}, which does not exist"
        assert not docker_ignores(source, patterns), f".dockerignore drops {source}"
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    needed = [
        "pyproject.toml",
        "uv.lock",
        pyproject["project"]["readme"],  # hatchling reads it to install the project
        *pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"],
        "dbt",
    ]
    for path in needed:
        assert path in sources, f"the image does not copy {path}"
    # Local state never enters the image; the manifest is parsed in the image, for snowflake.
    for path in [".git", ".venv", ".northstar", "dbt/target/manifest.json", "dbt/logs/dbt.log"]:
        assert docker_ignores(path, patterns), f".dockerignore lets {path} in"
    for path in ["northstar_platform/settings.py", "dbt/profiles.yml", "uv.lock"]:
        assert not docker_ignores(path, patterns), path


def test_image_carries_the_production_instance_config() -> None:
    env = image_env()
    home_config = f"{env['DAGSTER_HOME'].rstrip('/')}/dagster.yaml"
    copied = dict((dest, source) for source, dest in copied_sources())
    source = str(PRODUCTION_INSTANCE.relative_to(REPO))
    assert copied.get(home_config) == source
    assert (source, f"./{source}") in copied_sources(), "not under /app in the image"
    assert env["NORTHSTAR_DAGSTER_YAML"] == f"{IMAGE_ROOT}/{copied[home_config]}"
    # The chart sets the same DAGSTER_HOME on every pod (its default `global.dagsterHome`).
    assert env["DAGSTER_HOME"] == "/opt/dagster/dagster_home"


# --------------------------------------------------------------------------------------------
# The environment of a pod
# --------------------------------------------------------------------------------------------


def test_pod_environment_passes_the_settings(tmp_path: Path) -> None:
    env = pod_environment(tmp_path)
    settings = get_settings(env)
    assert settings.warehouse == "snowflake"
    assert settings.dbt_target == "snowflake"
    assert settings.landing_is_s3
    assert settings.snowflake is not None and settings.snowflake.private_key_path
    assert settings.dagster_yaml == PRODUCTION_INSTANCE
    assert settings.dsr.salt, "without NORTHSTAR_DSR_SALT every pod makes up its own salt"


def test_deployment_files_name_only_known_settings() -> None:
    """Variables the pods get are settings.py's; every other `NORTHSTAR_*` word in the files
    and this guide is a known setting too, or a value the deployment gives one (Snowflake
    object names such as the NORTHSTAR_PIPELINE role)."""
    env = user_deployment()["env"]
    secret = SECRETS.read_text()
    given = {
        *[name for name in image_env() if name.startswith("NORTHSTAR_")],
        *[name for name in env if name.startswith("NORTHSTAR_")],
        *example_secrets()["northstar-env"]["stringData"],
        # the optional keys, commented out in the example
        *re.findall(r"^\s*#\s*(NORTHSTAR_[A-Z0-9_]+):", secret, re.M),
    }
    unknown = sorted(given - set(KNOWN_VARIABLES))
    assert not unknown, f"the pods would get settings settings.py does not know: {unknown}"
    values_given = {*env.values(), *example_secrets()["northstar-env"]["stringData"].values()}
    for path in [DOCKERFILE, VALUES, SECRETS, DEPLOYMENT_GUIDE]:
        # `NORTHSTAR_DSR_*`-style families end in `_`: they are not one variable.
        words = set(re.findall(r"\bNORTHSTAR_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
        unknown = sorted(words - set(KNOWN_VARIABLES) - values_given)
        assert not unknown, f"{path.name} names settings settings.py does not know: {unknown}"


def test_secret_holds_what_snowflake_requires() -> None:
    """Every variable `_snowflake()` calls `required(...)` on is in the `northstar-env` Secret."""
    tree = ast.parse(Path(settings_module.__file__).read_text())
    (function,) = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "_snowflake"
    ]
    required = {
        call.args[0].value
        for call in ast.walk(function)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "required"
    }
    assert required, "settings._snowflake no longer calls required(); update this test"
    secret = example_secrets()["northstar-env"]["stringData"]
    assert required <= set(secret), sorted(required - set(secret))


def test_snowflake_key_is_mounted_where_the_setting_points() -> None:
    deployment = user_deployment()
    key_path = Path(deployment["env"]["NORTHSTAR_SNOWFLAKE_PRIVATE_KEY_PATH"])
    (mount,) = [m for m in deployment["volumeMounts"] if Path(m["mountPath"]) == key_path.parent]
    assert mount.get("readOnly") is True
    (volume,) = [v for v in deployment["volumes"] if v["name"] == mount["name"]]
    secret = example_secrets()[volume["secret"]["secretName"]]
    assert key_path.name in secret["stringData"]
    assert "northstar-env" in [s["name"] for s in deployment["envSecrets"]]
    # The key file is not an environment variable: it lives in a Secret of its own.
    assert volume["secret"]["secretName"] != "northstar-env"


# --------------------------------------------------------------------------------------------
# The Dagster instance: chart (values) and image (deploy/dagster.production.yaml)
# --------------------------------------------------------------------------------------------


def test_chart_and_image_use_one_instance_database() -> None:
    chart = values()
    pg = chart["postgresql"]
    assert pg["enabled"] is False, "the instance database is RDS, not an in-cluster chart"
    assert chart["generatePostgresqlPasswordSecret"] is False
    db = production_instance()["storage"]["postgres"]["postgres_db"]
    chart_side = {
        "hostname": pg["postgresqlHost"],
        "port": str(pg["service"]["port"]),
        "username": pg["postgresqlUsername"],
        "db_name": pg["postgresqlDatabase"],
    }
    pod_env = user_deployment()["env"]
    for field, chart_value in chart_side.items():
        variable = db[field]["env"]
        assert pod_env.get(variable) == chart_value, f"{variable} vs postgresql.{field}"
    # The password: the chart injects DAGSTER_PG_PASSWORD from this Secret's key.
    assert db["password"] == {"env": "DAGSTER_PG_PASSWORD"}
    secret = example_secrets()[chart["global"]["postgresqlSecretName"]]
    assert "postgresql-password" in secret["stringData"]
    assert db.get("scheme") == pg["postgresqlScheme"]


def test_chart_instance_matches_the_production_instance() -> None:
    chart = values()
    production = production_instance()
    rendered = {"storage", "telemetry"}

    concurrency = chart["concurrency"]
    assert concurrency["enabled"] is True
    runs = production["concurrency"]["runs"]
    assert concurrency["runs"]["maxConcurrentRuns"] == runs["max_concurrent_runs"]
    assert concurrency["runs"]["tagConcurrencyLimits"] == runs["tag_concurrency_limits"]
    pools = production["concurrency"]["pools"]
    assert concurrency["pools"] == {
        "defaultLimit": pools["default_limit"],
        "granularity": pools["granularity"],
    }
    rendered.add("concurrency")
    # Dagster refuses run-coordinator limits next to `concurrency` (instance/config.py).
    queued = chart["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert queued["maxConcurrentRuns"] is None and queued["tagConcurrencyLimits"] == []

    extra = chart["additionalInstanceConfig"]
    toggles = {
        "run_retries": chart["dagsterDaemon"]["runRetries"],
        "run_monitoring": chart["dagsterDaemon"]["runMonitoring"],
        "retention": chart["retention"],
    }
    for key, block in extra.items():
        assert block == production[key], f"additionalInstanceConfig.{key} differs"
        assert toggles[key]["enabled"] is False, f"the chart would also render {key}"
        rendered.add(key)
    assert chart["telemetry"]["enabled"] == production["telemetry"]["enabled"]
    missing = sorted(set(production) - rendered)
    assert not missing, f"deploy/dagster.production.yaml sets {missing}; values.yaml does not"


def test_run_queue_keeps_the_preference_reconciliation_single() -> None:
    """Seed 000's max_active_runs=1: the embedded dagster.yaml's limits hold in production,
    and the job really carries the limited tag."""
    from northstar_platform.defs.preferences.schedules import reconcile_preferences_job

    embedded = yaml.safe_load((REPO / "dagster.yaml").read_text())
    limits = values()["concurrency"]["runs"]["tagConcurrencyLimits"]
    for limit in embedded["run_queue"]["tag_concurrency_limits"]:
        assert limit in limits
    tags = reconcile_preferences_job.tags
    # A limit applies to a run carrying its key (and its value, when it names one).
    tagged = [
        limit
        for limit in limits
        if limit["key"] in tags and limit.get("value", tags[limit["key"]]) == tags[limit["key"]]
    ]
    assert [limit["limit"] for limit in tagged] == [1]


# --------------------------------------------------------------------------------------------
# IAM
# --------------------------------------------------------------------------------------------

S3_ACTIONS = {
    "get_object": ("object", "s3:GetObject"),
    "head_object": ("object", "s3:GetObject"),
    "put_object": ("object", "s3:PutObject"),
    "delete_object": ("object", "s3:DeleteObject"),
    "list_objects_v2": ("bucket", "s3:ListBucket"),
    "get_bucket_lifecycle_configuration": ("bucket", "s3:GetLifecycleConfiguration"),
    "put_bucket_lifecycle_configuration": ("bucket", "s3:PutLifecycleConfiguration"),
}
"""boto3 S3 client operation → (resource kind, IAM action)."""


def s3_operations_in_code() -> set[str]:
    found: set[str] = set()
    for path in (REPO / "northstar_platform").rglob("*.py"):
        text = path.read_text()
        if "s3" not in text.lower():
            continue
        found.update(re.findall(r"\bclient\.([a-z_0-9]+)", text))
        found.update(re.findall(r"get_paginator\(\s*[\"']([a-z_0-9]+)[\"']", text))
    return found - {"get_paginator"}


def test_pod_role_allows_every_s3_call_on_the_landing_prefix() -> None:
    landing = urlparse(user_deployment()["env"]["NORTHSTAR_LANDING_URL"])
    bucket, prefix = landing.netloc, landing.path.strip("/")
    statements = json.loads(IAM_POLICY.read_text())["Statement"]

    def allowed(action: str, resource: str) -> bool:
        return any(
            s["Effect"] == "Allow"
            and action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
            and s["Resource"] == resource
            for s in statements
        )

    operations = s3_operations_in_code()
    assert "get_object" in operations and "list_objects_v2" in operations
    unmapped = sorted(operations - set(S3_ACTIONS))
    assert not unmapped, f"S3 calls without an IAM action in this test: {unmapped}"
    for operation in operations:
        kind, action = S3_ACTIONS[operation]
        arn = f"arn:aws:s3:::{bucket}" + (f"/{prefix}/*" if kind == "object" else "")
        assert allowed(action, arn), f"{operation} needs {action} on {arn}"
    (listing,) = [s for s in statements if s["Action"] == "s3:ListBucket"]
    assert f"{prefix}/*" in listing["Condition"]["StringLike"]["s3:prefix"]


# --------------------------------------------------------------------------------------------
# The CMD, started
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def code_server(tmp_path: Path, fresh_pg_dsn: str) -> Iterator[tuple[subprocess.Popen, Path]]:
    """The image's CMD (host and port changed to a free loopback port) with the pod's
    environment, its DAGSTER_HOME holding the image's instance config on a fresh database."""
    env = pod_environment(tmp_path)
    dagster_home = Path(env["DAGSTER_HOME"])
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PRODUCTION_INSTANCE, dagster_home / "dagster.yaml")
    pg = urlparse(fresh_pg_dsn)
    db = production_instance()["storage"]["postgres"]["postgres_db"]
    local = {
        "hostname": pg.hostname,
        "port": str(pg.port),
        "username": pg.username,
        "db_name": pg.path.lstrip("/"),
        "password": "unused-by-trust-auth",
    }
    env.update({db[field]["env"]: value for field, value in local.items()})
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        HOME=str(tmp_path),
    )
    command = image_cmd()
    command[command.index("-h") + 1] = "127.0.0.1"
    command[command.index("-p") + 1] = str(free_port())
    log = tmp_path / "code-server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process, log
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=5)
                break
            except subprocess.TimeoutExpired:
                continue


def test_cmd_serves_the_code_location_with_the_pod_environment(
    code_server: tuple[subprocess.Popen, Path], fresh_pg_dsn: str
) -> None:
    import psycopg2

    process, log = code_server
    deadline = time.monotonic() + 120
    while "Started Dagster code proxy server" not in log.read_text():
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.5)
    output = log.read_text()
    assert "ERROR" not in output and "Error while importing" not in output, output[-3000:]
    # It loaded the image's instance config: PostgreSQL storage in the database it names.
    with psycopg2.connect(fresh_pg_dsn) as conn, conn.cursor() as cur:
        cur.execute("select count(*) from information_schema.tables where table_name = 'runs'")
        assert cur.fetchone() == (1,)
