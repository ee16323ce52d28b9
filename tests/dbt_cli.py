"""`dbt build` as a subprocess for tests that drive dbt directly (no Dagster in between)."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).parent / "dbt"


def dbt_build(
    target: str,
    variables: dict[str, Any],
    work: Path,
    env: dict[str, str] | None = None,
    select: str | None = None,
    exclude: str | None = None,
) -> str:
    """Build the project on `target` with `--vars variables`; returns dbt's stdout.

    `select` / `exclude` are passed as `--select` / `--exclude` (e.g. `"tag:preferences"`);
    by default the whole project.

    Target and log paths are `work`'s own (other dbt runs share dbt/target). Fails the test
    with dbt's output when dbt exits non-zero; the timeout bounds the Snowflake connector,
    which retries a failed emulator call forever.
    """
    done = subprocess.run(
        [
            str(DBT),
            "build",
            "--project-dir",
            "dbt",
            "--profiles-dir",
            "dbt",
            "--target",
            target,
            "--vars",
            json.dumps(variables),
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
            *(["--select", select] if select else []),
            *(["--exclude", exclude] if exclude else []),
        ],
        cwd=REPO,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, (
        f"dbt build --target {target} --select {select or '(all)'} {variables} "
        f"exited {done.returncode}:\n"
        f"{done.stdout[-6000:]}\n{done.stderr[-2000:]}"
    )
    return done.stdout
