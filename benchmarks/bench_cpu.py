"""CPU time of processes from /proc (Linux): a server process and its children, and the
PostgreSQL backends serving one database, sampled while a phase runs.

A backend can exit during a phase (the pool closes an overflow connection), taking its
counters with it, so the sampler reads every few hundred milliseconds and keeps the last
reading of each process: what a process spent after its last reading is lost, nothing
else. PostgreSQL's shared background processes (WAL writer, checkpointer) serve every
database on the server, other people's too, and are not counted."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

TICK_S = 1 / os.sysconf("SC_CLK_TCK")
SAMPLE_EVERY_S = 0.2
PROC = Path("/proc")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds: user + system) of a live process, else None."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the name may hold spaces and brackets
    return int(fields[1]), (int(fields[11]) + int(fields[12])) * TICK_S


def _pids() -> Iterator[int]:
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            yield int(entry.name)


def tree(root: int) -> set[int]:
    """`root` and every process descended from it (a server's workers)."""
    parents: dict[int, int] = {}
    for pid in _pids():
        stat = _stat(pid)
        if stat is not None:
            parents[pid] = stat[0]
    found, grew = {root}, True
    for _ in range(16):  # bounded: process trees are shallow
        if not grew:
            break
        new = {pid for pid, parent in parents.items() if parent in found} - found
        found |= new
        grew = bool(new)
    return found


def postgres_backends(database: str) -> set[int]:
    """Backends whose process title names `database`: `postgres: USER DATABASE HOST STATE`,
    after the cluster's name when it has one (`postgres: 15/main: USER DATABASE ...`)."""
    found = set()
    for pid in _pids():
        try:
            title = (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, UnicodeDecodeError):
            continue
        words = title.split()
        if words[:1] == ["postgres:"] and database in words[1:4]:
            found.add(pid)
    return found


@dataclass
class Sampler:
    """CPU seconds spent by the processes `select()` names, from start() to stop()."""

    select: Callable[[], set[int]]
    first: dict[int, float] = field(default_factory=dict)
    last: dict[int, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _read(self) -> dict[int, float]:
        readings = {}
        for pid in self.select():
            stat = _stat(pid)
            if stat is not None:
                readings[pid] = stat[1]
        return readings

    def _update(self) -> None:
        for pid, seconds in self._read().items():
            self.first.setdefault(pid, 0.0)  # new since the start: born during the phase
            self.last[pid] = seconds

    def start(self) -> Sampler:
        self.first = self._read()
        self.last = dict(self.first)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self._update()

    def stop(self) -> float:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._update()
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def nothing() -> set[int]:
    return set()
