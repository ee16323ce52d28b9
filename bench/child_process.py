"""Measuring a benchmark's child process (dbt, a peer): wall time and peak resident memory.

Shared by the bench scripts that run their subject in its own process. Peak RSS is the highest
sum of the per-process high-water marks (`VmHWM` in /proc/<pid>/status) over the child's
process tree, polled every 0.1 s (a child that forks is counted whole; a high-water mark never
drops, so a spike between two polls is still seen at the next one).

Not the child's `ru_maxrss` from wait4: Linux carries the *parent's* high-water mark into the
child at exec (`setmax_mm_hiwater_rss` in exec_mmap), so a child started from a bench process
that holds 4.5 GiB of generated data reports at least 4.5 GiB even when it used 3. Measured:
`/bin/true` spawned from a Python process holding 1.5 GB reports `ru_maxrss` = 1,511 MiB.
"""

import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any


def mib(n: float) -> str:
    return f"{n / (1 << 20):,.0f} MiB"


def tree_rss(root: int) -> int:
    """Peak resident bytes (VmHWM) of `root` and all its descendants, summed, from /proc."""
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
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        hwm = next((line for line in status.splitlines() if line.startswith("VmHWM:")), None)
        if hwm is None:  # a zombie has no memory left
            continue
        total += int(hwm.split()[1]) * 1024
        stack.extend(children.get(pid, []))
    return total


def run_child(cmd: list[str], log_file: Path, env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Run `cmd` to its end, its output in `log_file`: exit code, wall time, peak RSS (and its
    two sources), and the 1-minute load average when it started."""
    peak = [0]
    done = threading.Event()
    load = os.getloadavg()[0]
    began = time.perf_counter()
    with log_file.open("w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, env=env)

        def poll() -> None:
            while not done.wait(0.1):
                peak[0] = max(peak[0], tree_rss(proc.pid))

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - began
        done.set()
        poller.join()
    return {
        "code": os.waitstatus_to_exitcode(status),
        "wall": wall,
        "peak_rss": peak[0],
        "maxrss": usage.ru_maxrss * 1024,  # inflated by the parent's size: kept for reference
        "tree_peak": peak[0],
        "load": load,
        "log": log_file,
    }
