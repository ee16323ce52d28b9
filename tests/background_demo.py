"""The embedded demo of `tests/e2e/test_demo.py`, started as soon as collection ends.

The demo is one long subprocess (≈3.5 minutes) and the rest of the suite is mostly one busy
core: started early, it runs on the second core while the integration tests run, and its
module fixture only waits for it. `tests/conftest.py` starts it when the module is selected
and stops it (and removes its home) when the session ends.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ARGS = ["demo", "--start", "2026-11-01", "--days", "3", "--scale", "0.3", "--seed", "11"]
DATABASE = "ns_e2e_demo"
MODULE = "tests/e2e/test_demo.py"

_run: dict[str, Any] = {}


def start(dsn_base: str) -> None:
    """Start the demo in the background once per session (a new home, its own database)."""
    if _run:
        return
    work = Path(tempfile.mkdtemp(prefix="ns-e2e-demo-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NORTHSTAR_", "DAGSTER_"))}
    env.update(NORTHSTAR_HOME=str(work / "home"), NORTHSTAR_SOURCE_DSN=f"{dsn_base}/{DATABASE}")
    northstar = Path(sys.executable).parent / "northstar"
    with (work / "stdout").open("w") as out, (work / "stderr").open("w") as err:
        process = subprocess.Popen(
            [str(northstar), *ARGS], cwd=REPO, env=env, stdout=out, stderr=err, text=True
        )
    _run.update(process=process, work=work)


def result(timeout_s: float = 600) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Wait for the demo; its completed process (with its output) and its NORTHSTAR_HOME."""
    process: subprocess.Popen[str] = _run["process"]
    process.wait(timeout=timeout_s)
    work: Path = _run["work"]
    done = subprocess.CompletedProcess(
        process.args,
        process.returncode,
        (work / "stdout").read_text(),
        (work / "stderr").read_text(),
    )
    return done, work / "home"


def stop() -> None:
    """Stop a demo still running (its tests were deselected or failed early); clean up."""
    if not _run:
        return
    process: subprocess.Popen[str] = _run["process"]
    if process.poll() is None:
        process.kill()
        process.wait()
    shutil.rmtree(_run["work"], ignore_errors=True)
    _run.clear()
