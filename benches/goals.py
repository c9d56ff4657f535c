"""The goals the benchmarks judge, one protocol for every script.

Each script judges its own figures and records them with `record`, into
``<results-dir>/goals-<suite>.json``; `benches/run.py` prints every suite's goals together
at the end of ``./dev.sh bench`` (`summary`), each with its figure and a pass/fail mark.

A goal is judged only from figures measured in the same run (medians, ratios against a
baseline measured alongside, request counts); `passed` is None for a figure printed for
information, with no threshold to judge.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path


@dataclass
class Goal:
    suite: str  # the script that judged it: "run", "stall", "load", ...
    goal: str  # what is asked, in the words: "save_nb_10k@moto+20ms within 1.3x the floor"
    figure: str  # what was measured: "1.12x (41.0 ms against 36.6 ms)"
    passed: bool | None


def record(results_dir: Path, suite: str, goals: list[Goal]) -> Path:
    """Write `suite`'s goals (replacing those of its previous run)."""
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"goals-{suite}.json"
    path.write_text(json.dumps([asdict(g) for g in goals], indent=2))
    return path


def write_report(results_dir: Path, suite: str, stamp: datetime, quick: bool, report: dict) -> Path:
    """A suite's JSON results, dated (`<suite>-<time>[-quick].json`) and as `<suite>-latest.json`."""
    path = results_dir / f"{suite}-{stamp.strftime('%Y%m%dT%H%M%SZ')}{'-quick' if quick else ''}.json"
    path.write_text(json.dumps(report, indent=2))
    (results_dir / f"{suite}-latest.json").write_text(json.dumps(report, indent=2))
    return path


def load(results_dir: Path, suites: list[str]) -> list[Goal]:
    """The goals the named suites recorded (a suite that recorded none adds nothing)."""
    out: list[Goal] = []
    for suite in suites:
        path = results_dir / f"goals-{suite}.json"
        if path.exists():
            out += [Goal(**g) for g in json.loads(path.read_text())]
    return out


def mark(passed: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: "info"}[passed]


def summary(goals: list[Goal]) -> str:
    """The goals as a table: mark, suite, goal, figure."""
    if not goals:
        return "goals: none recorded"
    width = max(len(g.goal) for g in goals)
    lines = [f"{mark(g.passed):<4}  {g.suite:<10}  {g.goal:<{width}}  {g.figure}" for g in goals]
    failed = sum(g.passed is False for g in goals)
    judged = sum(g.passed is not None for g in goals)
    lines.append(f"{judged - failed} of {judged} goals passed" + (f"; {failed} FAILED" if failed else ""))
    return "\n".join(lines)
