"""The dbt project, and nothing else: `dagster-dbt project prepare-and-package --file` loads it."""

import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from northstar_platform.errors import NorthstarError

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt"

dbt_project = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)
# Under `dagster dev` this re-parses the project on start, so model edits show up at once.
dbt_project.prepare_if_dev()


def manifest_is_stale() -> bool:
    """Whether any dbt source file is newer than `target/manifest.json` (or it is missing)."""
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [p for p in DBT_DIR.rglob("*") if p.suffix in (".sql", ".yml", ".csv")]
    return any(p.stat().st_mtime > built for p in sources if "target" not in p.parts)


def ensure_manifest() -> None:
    """Run `dbt parse` when the manifest is missing or stale: `@dbt_assets` reads it at import."""
    if not manifest_is_stale():
        return
    dbt = Path(sys.executable).parent / "dbt"
    done = subprocess.run(
        [
            str(dbt),
            "parse",
            "--project-dir",
            str(DBT_DIR),
            "--profiles-dir",
            str(DBT_DIR),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()[-800:]
        raise NorthstarError(f"dbt parse of {DBT_DIR} failed: {output}")
