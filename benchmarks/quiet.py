"""How busy the machine is with other people's work, before and while we measure.

The benchmark shares its machine (a 2-core VM) with whatever else runs there: someone's index
build halves our build speed and doubles our latency. So before each engine the benchmark waits
for the CPUs to be quiet (:func:`wait_until_quiet`), and while the engine runs a
:class:`CpuMeter` works out how much CPU went to processes that are not ours, for the report.
Linux only (``/proc``); elsewhere the figures are None and nothing waits.
"""

from __future__ import annotations

import os
import pwd
import resource
import time
from pathlib import Path

#: Below this share of all CPUs busy with other processes the machine counts as quiet.
QUIET_SHARE = 0.10

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from the first line of /proc/stat."""
    with open("/proc/stat", encoding="ascii") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def background_cpu(seconds: float) -> float | None:
    """The share of the machine's CPU busy over ``seconds`` while we do nothing: other people's
    work that a figure measured next would compete with (None without /proc/stat)."""
    if seconds <= 0:
        return None
    try:
        busy0, total0 = _cpu_times()
        time.sleep(seconds)
        busy1, total1 = _cpu_times()
    except (OSError, ValueError, IndexError):
        return None
    return (busy1 - busy0) / (total1 - total0) if total1 > total0 else 0.0


def wait_until_quiet(
    sample_s: float, max_wait_s: float, threshold: float = QUIET_SHARE
) -> tuple[float | None, float]:
    """Sample :func:`background_cpu` until it is below ``threshold`` or ``max_wait_s`` passed.

    Waiting a little for someone's build to finish costs less than a misleading figure.
    Returns the last share measured and the seconds waited.
    """
    started = time.perf_counter()
    while True:
        share = background_cpu(sample_s)
        waited = time.perf_counter() - started
        if share is None or share < threshold or waited >= max_wait_s:
            return share, waited


def _own_cpu_s() -> float:
    """CPU seconds of this process and of its children that have been waited for (build
    workers, the server subprocess)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _user_cpu_s(user: str) -> float:
    """CPU seconds of the live processes of ``user``: the PostgreSQL server the benchmark starts
    runs as ``postgres`` and is not our child, so rusage does not see it."""
    try:
        uid = pwd.getpwnam(user).pw_uid
    except KeyError:
        return 0.0
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if proc.stat().st_uid != uid:
                continue
            fields = (proc / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS


def _pids_cpu_s(pids: tuple[int, ...]) -> float:
    """CPU seconds of the given live processes (all their threads)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / _TICKS


class CpuMeter:
    """CPU used by other processes between construction and :meth:`others_share`.

    Everything busy on the machine, minus what this process and its reaped children used, minus
    the ``postgres`` user's processes (ours when the PostgreSQL engine runs; a system cluster
    would be counted as ours too), minus ``pids`` (a server subprocess still running).
    Approximate, since any other child that has not been waited for yet is counted as someone
    else's, but enough to tell a quiet run from one shared with a build.
    """

    def __init__(self, pg_user: str = "postgres", pids: tuple[int, ...] = ()) -> None:
        self.pg_user = pg_user
        self.pids = pids
        self._start = self._read()

    def _read(self) -> tuple[int, int, float, float] | None:
        try:
            busy, total = _cpu_times()
        except (OSError, ValueError, IndexError):
            return None
        ours = _own_cpu_s() + _pids_cpu_s(self.pids)
        return busy, total, ours, _user_cpu_s(self.pg_user)

    def others_share(self) -> float | None:
        """The share of all CPUs' time that went to other processes so far."""
        end = self._read()
        if self._start is None or end is None or end[1] <= self._start[1]:
            return None
        busy = (end[0] - self._start[0]) / _TICKS
        capacity = (end[1] - self._start[1]) / _TICKS
        ours = (end[2] - self._start[2]) + max(0.0, end[3] - self._start[3])
        return min(1.0, max(0.0, busy - ours) / capacity)
