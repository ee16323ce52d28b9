"""The production profile's stack for `tests/production/test_production_profile.py`.

Run by `tests/background.py` as one background process from the end of collection, so the
demo (≈3 minutes) overlaps the integration tests instead of adding to them:

    python tests/production_stack.py <work dir> <postgresql://user@host:port>

It starts fakesnow's server (Snowflake's dialect, with `fakesnow_fixes`) and a moto S3
server, creates a Snowflake database, a bucket and a PostgreSQL database for the Dagster
instance, runs `northstar demo` on the production profile against them, and writes
`<work>/stack.json` (endpoints, names, the demo's environment and, once it ends, its exit
code; output in `<work>/stdout`, `<work>/stderr`). Then it keeps serving — the tests query
the warehouse and the bucket afterwards — until it is terminated, dropping its databases.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import fakesnow
import fakesnow_fixes
import psycopg2
import snowflake.connector
from moto.server import ThreadedMotoServer

REPO = Path(__file__).resolve().parents[1]
DAY = "2026-11-01"
ARGS = ["demo", "--start", DAY, "--days", "1", "--scale", "0.3", "--seed", "11"]
AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _write(work: Path, stack: dict) -> None:
    partial = work / "stack.json.part"
    partial.write_text(json.dumps(stack))
    partial.replace(work / "stack.json")


def main(work: Path, dsn_base: str) -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # run the `finally` below
    os.environ.update(AWS)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(name, None)
    tag = uuid.uuid4().hex[:8]
    source_db, instance_db = f"ns_prod_source_{tag}", f"ns_prod_instance_{tag}"
    database, bucket = f"NS_PROD_{tag.upper()}", f"ns-prod-{tag}"
    fakesnow_fixes.apply()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    admin = psycopg2.connect(f"{dsn_base}/postgres")
    admin.autocommit = True
    try:
        with fakesnow.server() as emulator:
            host, port = moto.get_host_and_port()
            s3 = f"http://{host}:{port}"
            boto3.client("s3", endpoint_url=s3).create_bucket(Bucket=bucket)
            with snowflake.connector.connect(**emulator) as con:
                con.cursor().execute(f"create database {database}")
            with admin.cursor() as cur:
                cur.execute(f"create database {instance_db}")
            env = _demo_env(work / "home", dsn_base, source_db, instance_db, emulator)
            env.update(
                NORTHSTAR_SNOWFLAKE_DATABASE=database,
                NORTHSTAR_LANDING_URL=f"s3://{bucket}/northstar",
                NORTHSTAR_S3_ENDPOINT_URL=s3,
            )
            stack = {
                "emulator": emulator,
                "database": database,
                "s3": s3,
                "bucket": bucket,
                "source_dsn": f"{dsn_base}/{source_db}",
                "instance_dsn": f"{dsn_base}/{instance_db}",
                "home": str(work / "home"),
                "env": env,
            }
            _write(work, stack)
            northstar = Path(sys.executable).parent / "northstar"
            with (work / "stdout").open("w") as out, (work / "stderr").open("w") as err:
                done = subprocess.run(
                    [str(northstar), *ARGS], cwd=REPO, env=env, stdout=out, stderr=err, timeout=900
                )
            _write(work, {**stack, "returncode": done.returncode})
            while True:  # serve the tests' queries until terminated
                time.sleep(3600)
    finally:
        with admin.cursor() as cur:
            for name in (source_db, instance_db):
                cur.execute(f"drop database if exists {name} with (force)")
        admin.close()
        moto.stop()


def _demo_env(
    home: Path, dsn_base: str, source_db: str, instance_db: str, emulator: dict
) -> dict[str, str]:
    """The production profile: instance on PostgreSQL, Snowflake's dialect, a bucket."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NORTHSTAR_", "DAGSTER_"))}
    env.update(
        NORTHSTAR_HOME=str(home),
        NORTHSTAR_SOURCE_DSN=f"{dsn_base}/{source_db}",
        # The instance: the production file, PostgreSQL from the environment.
        NORTHSTAR_DAGSTER_YAML=str(REPO / "deploy" / "dagster.production.yaml"),
        DAGSTER_PG_HOST="127.0.0.1",
        DAGSTER_PG_PORT="5432",
        DAGSTER_PG_USER="postgres",
        DAGSTER_PG_PASSWORD="",
        DAGSTER_PG_DB=instance_db,
        # The warehouse: Snowflake's dialect on the emulator, Python and dbt alike.
        NORTHSTAR_WAREHOUSE="snowflake",
        NORTHSTAR_DBT_TARGET="snowflake_emulator",
        NORTHSTAR_SNOWFLAKE_ACCOUNT="emulator",
        NORTHSTAR_SNOWFLAKE_USER=emulator["user"],
        NORTHSTAR_SNOWFLAKE_PASSWORD=emulator["password"],
        NORTHSTAR_SNOWFLAKE_HOST=emulator["host"],
        NORTHSTAR_SNOWFLAKE_PORT=str(emulator["port"]),
        NORTHSTAR_SNOWFLAKE_PROTOCOL="http",
    )
    return env


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
