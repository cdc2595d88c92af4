"""CPU seconds spent by each process of the local system, and how the machine's CPUs spent the
same time, read from /proc (Linux only).

A process is counted with all its descendants (gunicorn's workers, PostgreSQL's backends),
including descendants that have already exited and been reaped (the parent's ``cutime`` and
``cstime``), so a connection opened and closed during a run is not lost.
"""

import os
import threading
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


def _machine_ticks() -> list[int]:
    """The ``cpu`` line of /proc/stat: user, nice, system, idle, iowait, irq, softirq, steal."""
    return [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]


def _spent(start: list[int], end: list[int]) -> list[int]:
    """The ticks of each kind between two readings of :func:`_machine_ticks`."""
    return [b - a for a, b in zip(start, end, strict=True)]


class MachineMeter:
    """How every CPU of the machine spent the time between construction and :meth:`read`.

    ``steal`` is time the hypervisor gave this virtual machine's CPUs to other guests: on a
    shared host it comes and goes, and a run with much of it is slower for reasons outside
    the system measured. It comes in bursts, which stretch every hop of the sagas in flight at
    once, so the worst second is kept beside the average.
    """

    def __init__(self) -> None:
        self.start = _machine_ticks()
        self.worst_steal = 0.0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        previous = self.start
        while not self._stop.wait(1.0):
            now = _machine_ticks()
            spent = _spent(previous, now)
            self.worst_steal = max(self.worst_steal, spent[7] / (sum(spent) or 1))
            previous = now

    def read(self) -> dict[str, float]:
        self._stop.set()
        self._sampler.join()
        spent = _spent(self.start, _machine_ticks())
        user, nice, system, idle, iowait, irq, softirq, steal = spent
        total = sum(spent) or 1
        return {
            "busy_percent": round(100 * (user + nice + system + irq + softirq) / total, 1),
            "idle_percent": round(100 * (idle + iowait) / total, 1),
            "steal_percent": round(100 * steal / total, 1),
            "steal_percent_worst_second": round(100 * self.worst_steal, 1),
        }
