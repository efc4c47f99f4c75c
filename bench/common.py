"""Shared bits of the benchmarks: the result record and the table printer."""

from __future__ import annotations

import platform
import re
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


_AIM = re.compile(r"\s*(>=|<=|>|<)\s*(\d+(?:\.\d+)?)")
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda v, t: v >= t, "<=": lambda v, t: v <= t, ">": lambda v, t: v > t, "<": lambda v, t: v < t}


def check(value: float, aim: str) -> bool:
    """Whether ``value`` meets the ratio part of ``aim`` (its leading comparison: ">= 1.7", "< 1.3 and
    < 300 MB"; what follows "and" is the benchmark's own business)."""
    match = _AIM.match(aim)
    if match is None:
        raise ValueError(f"an aim starts with a comparison and a number, not {aim!r}")
    return _COMPARE[match.group(1)](value, float(match.group(2)))


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
