"""The suite's two demos, started as soon as collection ends and waited for by their tests.

Each demo is one long subprocess (≈3 minutes) and the rest of the suite keeps about one core
busy: started early, the demos run on the other core while the integration tests run, and
their modules (which `tests/conftest.py` sorts last) only wait for them.

- the embedded demo of `tests/e2e/test_demo.py`: `northstar demo` on the defaults;
- the production profile of `tests/production/test_production_profile.py`:
  `tests/production_stack.py` (its own fakesnow and moto servers, the demo against them).

`tests/conftest.py` starts the ones whose module is selected and stops them (removing their
work folders) when the session ends.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EMBEDDED_MODULE = "tests/e2e/test_demo.py"
EMBEDDED_ARGS = ["demo", "--start", "2026-11-01", "--days", "3", "--scale", "0.3", "--seed", "11"]
EMBEDDED_DATABASE = "ns_e2e_demo"
PRODUCTION_MODULE = "tests/production/test_production_profile.py"

_running: dict[str, tuple[subprocess.Popen[str], Path]] = {}


def _spawn(name: str, command: Callable[[Path], tuple[list[str], dict[str, str]]]) -> None:
    """Start `command(work)` (argv, environment) once per session, in a new work folder."""
    if name in _running:
        return
    work = Path(tempfile.mkdtemp(prefix=f"ns-{name}-"))
    argv, env = command(work)
    with (work / "out").open("w") as out, (work / "err").open("w") as err:
        process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=err, text=True)
    _running[name] = (process, work)


def start_embedded(dsn_base: str) -> None:
    """`northstar demo` on the embedded defaults, in a new home with its own database."""

    def command(work: Path) -> tuple[list[str], dict[str, str]]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NORTHSTAR_", "DAGSTER_"))}
        env.update(
            NORTHSTAR_HOME=str(work / "home"),
            NORTHSTAR_SOURCE_DSN=f"{dsn_base}/{EMBEDDED_DATABASE}",
        )
        return [str(Path(sys.executable).parent / "northstar"), *EMBEDDED_ARGS], env

    _spawn("embedded", command)


def embedded_result(timeout_s: float = 900) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Wait for the embedded demo; its completed process (with output) and NORTHSTAR_HOME."""
    process, work = _running["embedded"]
    process.wait(timeout=timeout_s)
    done = subprocess.CompletedProcess(
        process.args, process.returncode, (work / "out").read_text(), (work / "err").read_text()
    )
    return done, work / "home"


def start_production(dsn_base: str) -> None:
    """The production stack and its demo (`tests/production_stack.py`), writing into
    `<work>/stack/`."""

    def command(work: Path) -> tuple[list[str], dict[str, str]]:
        (work / "stack").mkdir()
        stack = REPO / "tests" / "production_stack.py"
        return [sys.executable, str(stack), str(work / "stack"), dsn_base], dict(os.environ)

    _spawn("production", command)


def production_result(
    timeout_s: float = 900,
) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    """Wait until the production demo has ended; the stack's description (endpoints, names,
    the demo's environment) and the demo's completed process. The stack keeps serving."""
    process, work = _running["production"]
    described = work / "stack" / "stack.json"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stack = json.loads(described.read_text()) if described.exists() else {}
        if "returncode" in stack:
            output = work / "stack"
            done = subprocess.CompletedProcess(
                ["northstar", "demo"],
                stack["returncode"],
                (output / "stdout").read_text(),
                (output / "stderr").read_text(),
            )
            return stack, done
        if process.poll() is not None:
            raise RuntimeError(
                f"the production stack exited ({process.returncode}) before its demo ended: "
                f"{(work / 'err').read_text()[-3000:]}"
            )
        time.sleep(1)
    raise TimeoutError(f"the production demo did not end within {timeout_s:.0f} s")


def stop() -> None:
    """Stop what still runs (a stack serves until now), remove the work folders."""
    for process, work in _running.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # the stack drops its databases on the way out
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(work, ignore_errors=True)
    _running.clear()
