"""Resident memory of a process, for the run's log lines and the benchmarks' figures."""
from __future__ import annotations


def resident_mb(pid: int | str = "self") -> tuple[float, float]:
    """A process's resident memory now and at its peak, in MB (Linux ``/proc``; zeros elsewhere).

    >>> now, peak = resident_mb()
    >>> 0 < now <= peak
    True
    """
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            status = dict(line.split(":", 1) for line in f)
    except OSError:
        return 0.0, 0.0
    return tuple(int(status.get(k, "0 kB").split()[0]) / 1024 for k in ("VmRSS", "VmHWM"))
