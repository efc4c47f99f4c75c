"""The benchmark harness: scoring, log reading, the table and the exit status (no crawls here)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

import bench.__main__ as bench_main
from bench.common import BenchResult
from bench.end_to_end import task_timeline
from bench.parse_cost import ours, quality, render_pages


@pytest.fixture(scope="module")
def pages():
    return render_pages(8)


def test_our_parser_scores_perfectly_and_chrome_is_caught(pages) -> None:
    q = quality(pages, ours)
    assert q["f1"] == pytest.approx(1.0) and q["leaks"] == 0
    assert all(p.other_titles for p in pages)  # the sidebars were found, so leakage is checkable

    def with_sidebar(page):
        return ours(page) + "\n\n" + page.other_titles[0]

    leaky = quality(pages, with_sidebar)
    assert leaky["leaks"] == len(pages) and leaky["precision"] < 1.0 and leaky["recall"] == pytest.approx(1.0)


def test_half_the_body_halves_recall(pages) -> None:
    def first_half(page):
        words = ours(page).split()
        return " ".join(words[: len(words) // 2])

    q = quality(pages, first_half)
    assert q["precision"] == pytest.approx(1.0) and 0.4 < q["recall"] < 0.6


def test_task_timeline_reads_dags_test_log() -> None:
    log = "\n".join([
        "2026-11-29T02:14:07.800000Z [info     ] [DAG TEST] starting task_id=plan map_index=-1 [x]",
        "2026-11-29T02:14:13.200000Z [info     ] [DAG TEST] end task task_id=plan map_index=-1 [x]",
        "2026-11-29T02:14:13.300000Z [info     ] [DAG TEST] starting task_id=crawl map_index=-1 [x]",
        "2026-11-29T02:14:19.800000Z [info     ] [DAG TEST] end task task_id=crawl map_index=-1 [x]",
    ])
    got = task_timeline(log, datetime(2026, 11, 29, 2, 14, 1, 800000, tzinfo=UTC))
    assert got == pytest.approx({"_startup": 6.0, "plan": 5.4, "crawl": 6.5})


def test_exit_status_counts_errors_not_misses(monkeypatch, tmp_path: Path, capsys) -> None:
    def missed(quick: bool) -> list[BenchResult]:
        return [BenchResult("slow thing", 2.0, "<= 1.5", False, "detail")]

    def broken(quick: bool) -> list[BenchResult]:
        raise RuntimeError("demo server gone")

    monkeypatch.setattr(bench_main, "BENCHMARKS", {"a": ("A", missed), "b": ("B", broken)})
    out = tmp_path / "results.md"
    assert bench_main.main(["--only", "a", "--out", str(out)]) == 0
    assert "| slow thing | 2.00 | <= 1.5 | MISSED | detail |" in out.read_text()
    assert bench_main.main(["--out", str(out)]) == 1
    text = out.read_text()
    assert "| B | n/a |  | ERROR | could not run: RuntimeError: demo server gone |" in text
    assert "Machine: " in text and "MISSED" in text
    assert "| benchmark | ratio | aim | verdict | detail |" in capsys.readouterr().out


def test_a_ratio_just_under_its_aim_is_not_printed_as_the_aim() -> None:
    from bench.common import check

    assert BenchResult("x", 1.6966, ">= 1.7", check(1.6966, ">= 1.7")).row().startswith("| x | 1.697 | >= 1.7 | MISSED |")
    assert BenchResult("x", 1.7012, ">= 1.7", check(1.7012, ">= 1.7")).row().startswith("| x | 1.70 | >= 1.7 | met |")
    assert BenchResult("x", 1.5049, "<= 1.5", check(1.5049, "<= 1.5")).row().startswith("| x | 1.505 | <= 1.5 | MISSED |")
    assert BenchResult("x", 1.63, ">= 1.7", False).row().startswith("| x | 1.63 |")


def test_every_aim_form_the_benchmarks_use_prints_a_row() -> None:
    """The memory rows' aims carry a second condition ("<= 1.3 and < 500 MB"): printing such a row
    raised ValueError and stopped `make bench` at the memory benchmark. "<" is strict."""
    from bench.common import check
    from bench.memory import AIM, DISCOVERY_AIM, DISCOVERY_LIMIT_MB, LIMIT_MB

    assert BenchResult("m", 1.2996, f"{AIM} and < {LIMIT_MB} MB", True).row().startswith("| m | 1.30 | <= 1.3 and")
    assert BenchResult("d", 1.3001, f"< {DISCOVERY_AIM} and < {DISCOVERY_LIMIT_MB} MB", False).row() \
        .startswith("| d | 1.30 | < 1.3 and < 300 MB | MISSED |")
    assert check(1.3, "<= 1.3") and not check(1.3, "< 1.3") and check(1.7, ">= 1.7") and not check(1.7, "> 1.7")
    with pytest.raises(ValueError, match="comparison"):
        check(1.0, "about 1")
