# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mutation fuzzer for the plan's input (inventory variables and catalog extensions).

Runs N mutated inputs (tests/fuzz_inputs.py) through the whole plan pipeline in-process and
counts what each gave: a plan, a VoiceopsError whose problems name a variable path, a
VoiceopsError with a problem that names none, or another exception (a crash). Prints a summary
and one example per crash site; exits 1 when there was any crash or any error without a variable
path. See docs/fuzzing.md.

    python scripts/fuzz.py --inputs 50000 --seed 0 --jobs 2 --json fuzz.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import fuzz_inputs as fz  # noqa: E402  # pylint: disable=wrong-import-position

_BASE: dict[str, Any] | None = None
_SEED: str = "0"
_TIMEOUT: float = 0.0


class InputTimeout(Exception):
    """One input took longer than --timeout seconds (counted as a crash where it was stopped)."""


def _on_alarm(_signum: int, _frame: Any) -> None:
    raise InputTimeout("input took longer than %g s" % _TIMEOUT)


def _init(seed: str, timeout: float) -> None:
    global _BASE, _SEED, _TIMEOUT  # pylint: disable=global-statement
    _BASE = fz.base_inputs()
    _SEED, _TIMEOUT = seed, timeout
    fz.voiceops_error()  # import the plugins and cache the built-in catalog before timing
    if timeout > 0:
        signal.signal(signal.SIGALRM, _on_alarm)


def _classify_timed(data: dict[str, Any]) -> tuple[tuple[str, Any], float]:
    start = time.perf_counter()
    if _TIMEOUT > 0:
        signal.setitimer(signal.ITIMER_REAL, _TIMEOUT)
    try:
        result = fz.classify(data)
    finally:
        if _TIMEOUT > 0:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return result, time.perf_counter() - start


def _chunk(bounds: tuple[int, int]) -> dict[str, Any]:
    """Run inputs [start, end) and aggregate: counts, sites, first example per site, slowest inputs."""
    assert _BASE is not None
    out: dict[str, Any] = {"counts": {"plan": 0, "error": 0, "unpathed": 0, "unsafe": 0, "crash": 0},
                           "crashes": {}, "unpathed": {}, "unsafe": {}, "slowest": [], "seconds": 0.0}
    for index in range(*bounds):
        data, _log = fz.input_for(_BASE, _SEED, index)
        (outcome, detail), took = _classify_timed(data)
        out["seconds"] += took
        out["counts"][outcome] += 1
        out["slowest"] = sorted(out["slowest"] + [(took, index)], reverse=True)[:3]
        if outcome in ("crash", "unsafe"):
            site, message = detail
            rec = out["crashes" if outcome == "crash" else "unsafe"].setdefault(site, {"count": 0, "first": index, "message": message})
            rec["count"] += 1
        elif outcome == "unpathed":
            for problem in fz.unpathed(detail):
                kind = fz.problem_kind(problem)
                rec = out["unpathed"].setdefault(kind, {"count": 0, "first": index, "message": str(problem)[:300]})
                rec["count"] += 1
    return out


def _merge(total: dict[str, Any], part: dict[str, Any]) -> None:
    for key, value in part["counts"].items():
        total["counts"][key] += value
    total["seconds"] += part["seconds"]
    total["slowest"] = sorted(total["slowest"] + part["slowest"], reverse=True)[:3]
    for group in ("crashes", "unpathed", "unsafe"):
        for site, rec in part[group].items():
            mine = total[group].setdefault(site, {"count": 0, "first": rec["first"], "message": rec["message"]})
            mine["count"] += rec["count"]
            if rec["first"] < mine["first"]:
                mine["first"], mine["message"] = rec["first"], rec["message"]


def _example(index: int, same: Any, minimise: bool) -> list[str]:
    """The mutations of input ``index``, cut down to those that still give the same outcome."""
    assert _BASE is not None
    _data, log = fz.input_for(_BASE, _SEED, index)
    if minimise:
        log = fz.minimise(_BASE, log, same)
    return [fz.describe(m) for m in log]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--inputs", type=int, default=50000, help="number of mutated inputs (default 50000)")
    parser.add_argument("--seed", default="0", help="run seed: the same seed gives the same inputs (default 0)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--json", metavar="FILE", help="write the figures and crash sites to FILE as JSON")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds one input may take before it counts as a crash (0: none)")
    parser.add_argument("--no-minimise", action="store_true", help="show each example's mutations as drawn, not cut down")
    args = parser.parse_args(argv)

    chunk = max(50, min(500, args.inputs // (args.jobs * 8) or 50))
    bounds = [(start, min(start + chunk, args.inputs)) for start in range(0, args.inputs, chunk)]
    total: dict[str, Any] = {"counts": {"plan": 0, "error": 0, "unpathed": 0, "unsafe": 0, "crash": 0},
                             "crashes": {}, "unpathed": {}, "unsafe": {}, "slowest": [], "seconds": 0.0}
    started = time.monotonic()
    done = 0
    if args.jobs <= 1:
        _init(args.seed, args.timeout)
        parts = map(_chunk, bounds)
        pool = None
    else:
        pool = multiprocessing.get_context("fork" if os.name == "posix" else "spawn").Pool(
            args.jobs, initializer=_init, initargs=(args.seed, args.timeout))
        parts = pool.imap_unordered(_chunk, bounds)
    try:
        for part in parts:
            _merge(total, part)
            done += sum(part["counts"].values())
            if sys.stderr.isatty():
                print("\r%d/%d inputs, %d crashes" % (done, args.inputs, total["counts"]["crash"]), end="", file=sys.stderr)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    wall = time.monotonic() - started
    if sys.stderr.isatty():
        print(file=sys.stderr)

    if _BASE is None:
        _init(args.seed, 0)
    for site, rec in total["crashes"].items():
        rec["example"] = _example(rec["first"], lambda r, s=site: r[0] == "crash" and r[1][0] == s, not args.no_minimise)
    for site, rec in total["unsafe"].items():
        rec["example"] = _example(rec["first"], lambda r, s=site: r[0] == "unsafe" and r[1][0] == s, not args.no_minimise)
    for kind, rec in total["unpathed"].items():
        rec["example"] = _example(rec["first"], lambda r, k=kind: r[0] == "unpathed" and any(
            fz.problem_kind(p) == k for p in fz.unpathed(r[1])), not args.no_minimise)

    counts = total["counts"]
    figures = {
        "inputs": args.inputs, "seed": args.seed, "jobs": args.jobs,
        "plans": counts["plan"], "voiceops_errors": counts["error"] + counts["unpathed"],
        "errors_without_variable_path": counts["unpathed"], "crashes": counts["crash"],
        "distinct_crash_sites": len(total["crashes"]), "distinct_unpathed_kinds": len(total["unpathed"]),
        "unsafe_plans": counts["unsafe"], "distinct_unsafe_sites": len(total["unsafe"]),
        "wall_seconds": round(wall, 1), "inputs_per_second": round(args.inputs / wall, 1) if wall else None,
        "slowest_inputs": [{"index": i, "seconds": round(t, 3)} for t, i in total["slowest"]],
    }
    rows = [("inputs", figures["inputs"]), ("plans", figures["plans"]),
            ("VoiceopsErrors", figures["voiceops_errors"]),
            ("  of which with a problem naming no variable path", figures["errors_without_variable_path"]),
            ("crashes (other exceptions)", figures["crashes"]),
            ("distinct crash sites", figures["distinct_crash_sites"]),
            ("plans with unsafe files (file name, injected line)", figures["unsafe_plans"]),
            ("wall time (s)", figures["wall_seconds"]), ("inputs per second", figures["inputs_per_second"])]
    print("voiceops.firewall input fuzzer: seed %s, %d jobs" % (args.seed, args.jobs))
    width = max(len(r[0]) for r in rows)
    for label, value in rows:
        print("  %-*s  %s" % (width, label, value))
    print("  slowest inputs: %s" % ", ".join("#%d %.2f s" % (i, t) for t, i in total["slowest"]))

    def listing(title: str, group: dict[str, Any]) -> None:
        if not group:
            return
        print("\n%s (%d):" % (title, len(group)))
        for n, (site, rec) in enumerate(sorted(group.items(), key=lambda kv: (-kv[1]["count"], kv[0])), 1):
            print("%3d. %s  [%d inputs, first #%d]" % (n, site, rec["count"], rec["first"]))
            print("     %s" % rec["message"].replace("\n", "\\n")[:300])
            for line in rec["example"]:
                print("       - %s" % line)

    listing("Crash sites", total["crashes"])
    listing("Plans with unsafe files", total["unsafe"])
    listing("Errors naming no variable path, by kind", total["unpathed"])
    if args.json:
        figures["crash_sites"] = [dict(site=s, **r) for s, r in sorted(total["crashes"].items(), key=lambda kv: -kv[1]["count"])]
        figures["unsafe_sites"] = [dict(site=s, **r) for s, r in sorted(total["unsafe"].items(), key=lambda kv: -kv[1]["count"])]
        figures["unpathed_kinds"] = [dict(kind=k, **r) for k, r in sorted(total["unpathed"].items(), key=lambda kv: -kv[1]["count"])]
        Path(args.json).write_text(json.dumps(figures, indent=2, default=repr) + "\n", encoding="utf-8")
    return 1 if counts["crash"] or counts["unpathed"] or counts["unsafe"] else 0


if __name__ == "__main__":
    sys.exit(main())
