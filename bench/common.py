"""Shared bits of the benchmarks: the result record and the table printer."""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class BenchResult:
    name: str
    ratio: float | None  # the measured ratio (what the aim is about)
    aim: str  # e.g. ">= 5.0" or "<= 1.5"
    met: bool | None  # None = could not run
    detail: str = ""  # absolute numbers, for context only
    extra: dict[str, float] = field(default_factory=dict)

    def row(self) -> str:
        ratio = "n/a" if self.ratio is None else f"{self.ratio:.2f}"
        if self.ratio is not None and self.met is not None and check(float(ratio), self.aim) != self.met:
            ratio = f"{self.ratio:.3f}"  # 1.697 printed as 1.70 next to "MISSED" would read as a contradiction
        verdict = "ERROR" if self.met is None else ("met" if self.met else "MISSED")
        return f"| {self.name} | {ratio} | {self.aim} | {verdict} | {self.detail} |"


def check(value: float, aim: str) -> bool:
    op, _, num = aim.partition(" ")
    target = float(num)
    return value >= target if op == ">=" else value <= target


def machine() -> str:
    import os

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def interleaved(fns: dict[str, Callable[[], float | None]], rounds: int) -> dict[str, list[float]]:
    """Run the contenders in alternation so background noise hits them alike; each fn returns
    its own measured seconds (or None to use wall time around the call)."""
    out: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            measured = fn()
            out[name].append(measured if measured is not None else time.perf_counter() - t0)
    return out


def med(values: list[float]) -> float:
    return statistics.median(values)
