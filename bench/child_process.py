"""Measuring a benchmark's child process (dbt, a peer): wall time and peak resident memory.

Shared by the bench scripts that run their subject in its own process. Peak RSS is the larger
of the child's `ru_maxrss` (from wait4) and the highest sum of resident memory over its
process tree, polled from /proc every 0.2 s (a child that forks is counted whole).
"""

import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any


def mib(n: float) -> str:
    return f"{n / (1 << 20):,.0f} MiB"


def tree_rss(root: int, page: int) -> int:
    """Resident bytes of `root` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
        except OSError:
            continue
        stack.extend(children.get(pid, []))
    return total


def run_child(cmd: list[str], log_file: Path, env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Run `cmd` to its end, its output in `log_file`: exit code, wall time, peak RSS (and its
    two sources), and the 1-minute load average when it started."""
    page = os.sysconf("SC_PAGE_SIZE")
    peak = [0]
    done = threading.Event()
    load = os.getloadavg()[0]
    began = time.perf_counter()
    with log_file.open("w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, env=env)

        def poll() -> None:
            while not done.wait(0.2):
                peak[0] = max(peak[0], tree_rss(proc.pid, page))

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - began
        done.set()
        poller.join()
    return {
        "code": os.waitstatus_to_exitcode(status),
        "wall": wall,
        "peak_rss": max(usage.ru_maxrss * 1024, peak[0]),
        "maxrss": usage.ru_maxrss * 1024,
        "tree_peak": peak[0],
        "load": load,
        "log": log_file,
    }
