"""CPU seconds spent by each process of the local system, read from /proc (Linux only).

A process is counted with all its descendants (gunicorn's workers, PostgreSQL's backends),
including descendants that have already exited and been reaped (the parent's ``cutime`` and
``cstime``), so a connection opened and closed during a run is not lost.
"""

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and its reaped children)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after its closing one.
    fields = raw[raw.rindex(")") + 2 :].split()
    ppid = int(fields[1])
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return ppid, (utime + stime + cutime + cstime) / TICKS


def tree_cpu_seconds(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds of each named root process and its descendants, now."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            stats[int(entry.name)] = stat
    children: dict[int, list[int]] = {}
    for pid, (ppid, _cpu) in stats.items():
        children.setdefault(ppid, []).append(pid)
    totals = {}
    for name, root in roots.items():
        total, stack = 0.0, [root]
        while stack:
            pid = stack.pop()
            if pid in stats:
                total += stats[pid][1]
                stack.extend(children.get(pid, []))
        totals[name] = total
    return totals


def system_processes(infra_dir: Path) -> dict[str, int]:
    """The processes ``tools/infra.sh`` and ``tools/system.sh`` started, by name."""
    roots = {}
    for pid_file in sorted((infra_dir / "run").glob("*.pid")):
        roots[pid_file.stem] = int(pid_file.read_text().split()[0])
    postmaster = infra_dir / "postgres" / "data" / "postmaster.pid"
    if postmaster.exists():
        roots["postgres"] = int(postmaster.read_text().split()[0])
    return {name: pid for name, pid in roots.items() if Path(f"/proc/{pid}").exists()}


class CpuMeter:
    """CPU seconds each process spent between construction and :meth:`read`."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots
        self.start = tree_cpu_seconds(roots)

    def read(self) -> dict[str, float]:
        end = tree_cpu_seconds(self.roots)
        return {name: round(end[name] - self.start[name], 2) for name in self.roots}
