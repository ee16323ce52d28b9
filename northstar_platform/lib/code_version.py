"""Which code produced a result: the git commit and a hash of the dbt project's logic.

Recorded on every run-log row and every correction (DESIGN §5.4), so a result can be traced to
the code that made it and a rebuild under other code is recognisable (`northstar explain`'s
TRANSFORMATION class). Both are computed once per process.
"""

import functools
import hashlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST = REPO_ROOT / "dbt" / "target" / "manifest.json"
COMMIT_ENV = "NORTHSTAR_GIT_COMMIT"
"""Set by an image build that ships without `.git` (the Dockerfile's build argument)."""


@dataclass(frozen=True)
class CodeVersion:
    """`commit` is the git commit (suffixed `-dirty` when tracked files differ from it);
    `dbt_manifest_hash` hashes the dbt project's logic as parsed into the manifest."""

    commit: str
    dbt_manifest_hash: str


def git_commit(repo: Path = REPO_ROOT) -> str:
    """HEAD of the checkout, `<sha>-dirty` with uncommitted changes to tracked files, or the
    image's `NORTHSTAR_GIT_COMMIT`, or `unknown`."""
    if os.environ.get(COMMIT_ENV):
        return os.environ[COMMIT_ENV]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}-dirty" if dirty else head


def manifest_hash(manifest: Path = MANIFEST) -> str:
    """sha256 of what decides dbt's output: every node's and source's checksum (the hash of
    its file) and the body of every macro of this project, by unique id.

    Not the file's own hash: the manifest also stores when and by which invocation it was
    parsed, which changes on every parse of unchanged code.
    """
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "unknown"
    logic: dict[str, str] = {}
    for section in ("nodes", "sources", "seeds"):
        for unique_id, node in (data.get(section) or {}).items():
            checksum = node.get("checksum") or {}
            logic[unique_id] = str(checksum.get("checksum", ""))
            logic[f"{unique_id}#config"] = json.dumps(node.get("config", {}), sort_keys=True)
    project = data.get("metadata", {}).get("project_name")
    for unique_id, macro in (data.get("macros") or {}).items():
        if macro.get("package_name") == project:
            logic[unique_id] = macro.get("macro_sql", "")
    return hashlib.sha256(json.dumps(logic, sort_keys=True).encode()).hexdigest()


@functools.cache
def current() -> CodeVersion:
    """The running code's version (cached: the code does not change under a process)."""
    return CodeVersion(git_commit(), manifest_hash())
