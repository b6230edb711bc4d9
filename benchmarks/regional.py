# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Several edges at scale: the single head-office edge beside an edge per region.

Run it with ``benchmarks/run.sh --regional`` (sets up .venv first) or, once set up,
``.venv/bin/python benchmarks/regional.py`` (``--help`` for the options). For each size
(default 1,000 and 10,000 hosts) it generates the same estate joined three ways
(``benchmarks/estate.py``):

* ``single``: one edge (``edge01``) joins every zone, today's worst case for one rule set;
* ``regional``: an edge per region joining the region's zones, ``wan`` and ``internet`` (local
  breakout), and ``edge01`` joining the head-office zones, ``wan`` and ``internet``;
* ``backhaul``: the same, but the regions reach the internet through head office (the regional
  edges join their zones and ``wan`` only).

and prints, per size and variant: hosts, zones, edges, flows, flow placements (the sum over
the edges of the flows each enforces), the in-process plan time (``load_catalog`` +
``build_estate`` + ``plan``, best of ``--repeats``, as bench.py measures it; the variants' repeats
are interleaved in one child process per size so that a change of machine speed hits all of
them alike), the ratio to the single edge's plan time (each repeat starts from a collected heap with no
other plan alive, and the variants take turns to go first), the per-edge rule set size (elements and
rules: min/median/max, and edge01's), the time to render every edge's rule set, the sum over
the edges of ``nft -c -f`` (each the best of ``--repeats``), the slowest edge's render (each edge
renders on its own host in the playbook, in parallel), and a check of every flow: a flow
whose ``enforced_by`` names an edge is in that edge's ``EdgeReport.forward_flows`` (or
``input_flows`` when it is addressed to the edge) or, for a flow whose ends share no IP
version, in its ``not_enforceable``, and no other flow is. Below the table: the per-host growth of
each time from the smallest size to the largest.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import bench  # noqa: E402  (puts .collections on sys.path)
import estate as generator  # noqa: E402

from ansible_collections.voiceops.firewall.plugins.plugin_utils._catalog import load_catalog  # noqa: E402
from ansible_collections.voiceops.firewall.plugins.plugin_utils._estate import build_estate  # noqa: E402
from ansible_collections.voiceops.firewall.plugins.plugin_utils._nft import render_edge  # noqa: E402
from ansible_collections.voiceops.firewall.plugins.plugin_utils._planner import plan  # noqa: E402

VARIANTS = {  # name -> generate() keyword arguments
    "single": {},
    "regional": {"regional_edges": True, "breakout": "local"},
    "backhaul": {"regional_edges": True, "breakout": "head_office"},
}
log = bench.log


# ---------------------------------------------------------------------------- child: plan times

def child(size: int, seed: int, repeats: int, variants: list[str], work: Path) -> None:
    """Time catalog + estate + plan for every variant of one size, repeats interleaved; write the plans."""
    inputs = {}
    for name in variants:
        est = generator.generate(size, seed, **VARIANTS[name])
        inputs[name] = (est.global_vars(), est.all_host_vars())
    best: dict[str, float] = {}
    out: dict[str, Any] = {}
    for repeat in range(repeats):
        shift = repeat % len(variants)  # each variant takes its turn first: no order favours one
        for name in variants[shift:] + variants[:shift]:
            # No other plan is alive while one is timed, and the heap is collected first, so that
            # no variant pays (in the collections gc_paused lets through) for another's objects.
            gc.collect()
            global_vars, host_vars = inputs[name]
            start = time.perf_counter()
            catalog = load_catalog()
            the_plan = plan(catalog, build_estate(global_vars, host_vars, catalog))
            elapsed = time.perf_counter() - start
            best[name] = min(best.get(name, elapsed), elapsed)
            if repeat == repeats - 1:
                plan_file = work / ("plan-%s-%d.json" % (name, size))
                plan_file.write_text(json.dumps(the_plan), encoding="utf-8")
                out[name] = {"seconds": 0.0, "flows": len(the_plan["flows"]), "plan": str(plan_file)}
            del the_plan
    for name in variants:
        out[name]["seconds"] = best[name]
    out["peak_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(out))


# ---------------------------------------------------------------------------- parent: render, nft -c, check

def render_all(the_plan: dict[str, Any], times: dict[str, float]) -> dict[str, tuple[str, Any]]:
    """``render_edge`` on the whole plan for every edge (as the playbook's filter is called); ``times``
    keeps each edge's best time over the repeats."""
    out = {}
    for edge in sorted(the_plan["edges"]):
        start = time.perf_counter()
        out[edge] = render_edge(the_plan, edge)
        elapsed = time.perf_counter() - start
        times[edge] = min(times.get(edge, elapsed), elapsed)
    return out


def check(the_plan: dict[str, Any], reports: dict[str, Any]) -> dict[str, int]:
    """Every flow against every edge's report: enforced_by names the edge <=> the report lists the flow."""
    edges = set(reports)
    expected: dict[str, set[str]] = {edge: set() for edge in edges}
    to_edge: dict[str, set[str]] = {edge: set() for edge in edges}
    for flow in the_plan["flows"]:
        for name in flow["enforced_by"]:
            if name in edges:
                expected[name].add(flow["id"])
        if flow["dst"]["name"] in edges:
            to_edge[flow["dst"]["name"]].add(flow["id"])
    stats = {"checked": 0, "placements": 0, "missing": 0, "extra": 0, "wrong_kind": 0, "not_enforceable": 0}
    for edge, report in reports.items():
        fwd, inp = set(report.forward_flows), set(report.input_flows)
        unenforceable = {item["flow"] for item in report.not_enforceable}
        listed = fwd | inp | unenforceable
        stats["checked"] += len(the_plan["flows"])
        stats["placements"] += len(fwd) + len(inp)
        stats["not_enforceable"] += len(unenforceable)
        stats["missing"] += len(expected[edge] - listed)
        stats["extra"] += len(listed - expected[edge])
        stats["wrong_kind"] += len(fwd & inp) + len(inp - to_edge[edge]) + len((fwd & to_edge[edge]))
    return stats


def designed_edges(edge_zones: dict[str, dict[str, str]], flow: dict[str, Any]) -> set[str]:
    """The edges that should enforce a flow, from the generator's design rather than from ``_topology``.

    Zones one edge joins: that edge (the internet included: a region's own breakout, or head
    office's). Otherwise the way is through ``wan``: the edge joining the source's zone and
    ``wan``, then the one joining ``wan`` and the destination's zone. A flow to an edge that joins
    its source's zone is delivered to it at once; an edge's own traffic is not filtered by itself.
    """
    sz, dz, src, dst = flow["src_zone"], flow["dst_zone"], flow["src"]["name"], flow["dst"]["name"]
    if dst in edge_zones and sz in edge_zones[dst]:
        return set() if src == dst else {dst}
    if sz == dz:
        return set()
    out = {e for e, zones in edge_zones.items() if sz in zones and dz in zones}
    if not out:
        out = {e for e, zones in edge_zones.items() if generator.WAN in zones and (sz in zones or dz in zones)}
    out.discard(src)
    return out


def measure(name: str, size: int, planned: dict[str, Any], args: argparse.Namespace, work: Path) -> dict[str, Any]:
    est = generator.generate(size, args.seed, **VARIANTS[name])
    the_plan = json.loads(Path(planned["plan"]).read_text(encoding="utf-8"))
    row: dict[str, Any] = {"variant": name, "size": size, "hosts": est.count, "zones": len(the_plan["zones"]),
                           "edges": len(the_plan["edges"]), "regions": est.regions, "flows": len(the_plan["flows"]),
                           "plan_s": planned["seconds"]}
    if sorted(the_plan["edges"]) != sorted(est.edges):
        raise RuntimeError("the plan's edges are not the generator's: %s" % sorted(the_plan["edges"]))
    edge_times: dict[str, float] = {}
    row["render_s"], rendered = bench.best_of(args.repeats, lambda: render_all(the_plan, edge_times))
    row["render_edge_max_s"] = max(edge_times.values())
    reports = {edge: report for edge, (_text, report) in rendered.items()}
    nft_dir = work / ("nft-%s-%d" % (name, size))
    nft_dir.mkdir(parents=True, exist_ok=True)
    for old in nft_dir.glob("*.nft"):
        old.unlink()
    nft_s: float | None = 0.0
    for edge, (text, _report) in rendered.items():
        path = nft_dir / ("%s.nft" % edge)
        path.write_text(text, encoding="utf-8")
        if args.no_nft or nft_s is None:
            continue
        seconds = bench.nft_check(path, args.repeats)
        nft_s = None if seconds is None else nft_s + seconds
    row["nft_c_s"] = None if args.no_nft else nft_s
    elements = sorted(r.elements for r in reports.values())
    rules = sorted(r.rules for r in reports.values())
    row.update(elements_min=elements[0], elements_median=statistics.median(elements), elements_max=elements[-1],
               elements_total=sum(elements), rules_min=rules[0], rules_median=statistics.median(rules), rules_max=rules[-1],
               edge01_elements=reports["edge01"].elements, edge01_rules=reports["edge01"].rules,
               per_edge={edge: {"elements": r.elements, "rules": r.rules, "forward_flows": len(r.forward_flows),
                                "input_flows": len(r.input_flows)} for edge, r in reports.items()})
    row["check"] = check(the_plan, reports)
    row["check"]["not_as_designed"] = sum(1 for f in the_plan["flows"]
                                          if {e for e in f["enforced_by"] if e in reports} != designed_edges(est.edges, f))
    row["multi_edge_flows"] = sum(1 for f in the_plan["flows"] if sum(1 for e in f["enforced_by"] if e in reports) > 1)
    row["unenforced_flows"] = sum(u["flows"] for u in the_plan["unenforced"])
    log("%s %d hosts: %d zones, %d edges, %d flows (%d on two edges or more), plan %.3f s, render %.3f s, nft -c %s, "
        "elements %d/%s/%d (edge01 %d), check %s" % (
            name, row["hosts"], row["zones"], row["edges"], row["flows"], row["multi_edge_flows"], row["plan_s"],
            row["render_s"], "n/a" if row["nft_c_s"] is None else "%.3f s" % row["nft_c_s"], row["elements_min"],
            _num(row["elements_median"]), row["elements_max"], row["edge01_elements"], row["check"]))
    return row


def _bad(row: dict[str, Any]) -> bool:
    return any(row["check"][key] for key in ("missing", "extra", "wrong_kind", "not_as_designed"))


def _num(value: float) -> str:
    return "%d" % value if value == int(value) else "%.1f" % value


# ---------------------------------------------------------------------------- report

def table(rows: list[dict[str, Any]]) -> str:
    def f(v: Any, fmt: str = "%.3f") -> str:
        return "n/a" if v is None else fmt % v

    cols = [("variant", lambda r: r["variant"]),
            ("hosts", lambda r: "%d" % r["hosts"]),
            ("zones", lambda r: "%d" % r["zones"]),
            ("edges", lambda r: "%d" % r["edges"]),
            ("flows", lambda r: "%d" % r["flows"]),
            ("placements", lambda r: "%d" % r["check"]["placements"]),
            ("plan s", lambda r: f(r["plan_s"])),
            ("plan / single", lambda r: f(r.get("plan_ratio"), "%.2fx")),
            ("elements min/median/max",
             lambda r: "%d/%s/%d" % (r["elements_min"], _num(r["elements_median"]), r["elements_max"])),
            ("elements all edges", lambda r: "%d" % r["elements_total"]),
            ("edge01 elements", lambda r: "%d" % r["edge01_elements"]),
            ("rules min/median/max", lambda r: "%d/%s/%d" % (r["rules_min"], _num(r["rules_median"]), r["rules_max"])),
            ("render s (all edges)", lambda r: f(r["render_s"])),
            ("render s (slowest edge)", lambda r: f(r["render_edge_max_s"])),
            ("nft -c s (all edges)", lambda r: f(r["nft_c_s"])),
            ("check", lambda r: "ok" if not _bad(r) else
             "%(missing)d missing, %(extra)d extra, %(wrong_kind)d wrong kind, %(not_as_designed)d not as designed" % r["check"])]
    head = "| " + " | ".join(col[0] for col in cols) + " |"
    sep = "|:---|" + "|".join("---:" for _col in cols[1:]) + "|"
    body = ["| " + " | ".join(col[1](r) for col in cols) + " |" for r in rows]
    return "\n".join([head, sep] + body)


def growth(rows: list[dict[str, Any]], variants: list[str]) -> str:
    sizes = sorted({r["size"] for r in rows})
    if len(sizes) < 2:
        return ""
    lo, hi = sizes[0], sizes[-1]
    lines = ["Growth per host, %d -> %d hosts ((time / hosts) at %d over the same at %d; 1.00 = linear):" % (lo, hi, hi, lo)]
    by = {(r["variant"], r["size"]): r for r in rows}
    for name in variants:
        a, b = by[(name, lo)], by[(name, hi)]
        parts = []
        for key in ("plan_s", "render_s", "nft_c_s"):
            if a.get(key) and b.get(key):
                parts.append("%s %.2f" % (key, (b[key] / b["hosts"]) / (a[key] / a["hosts"])))
        lines.append("  %-9s %s" % (name, "  ".join(parts)))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="comma separated host counts (default %(default)s)")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help="comma separated, of %s (default: all)" % ", ".join(VARIANTS))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3, help="best of N for plan, render and each nft -c")
    parser.add_argument("--max-ratio", type=float, default=1.5,
                        help="plan time over the single edge's above which the summary says so (default %(default)s)")
    parser.add_argument("--work", default=str(BENCH / ".work"))
    parser.add_argument("--no-nft", action="store_true", help="skip nft -c")
    parser.add_argument("--json", help="also write the rows as JSON here")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    variants = [v for v in args.variants.split(",") if v]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error("unknown variant(s) %s" % ", ".join(unknown))
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if args.child:
        child(args.child, args.seed, args.repeats, variants, work)
        return 0
    if "single" not in variants:
        variants.insert(0, "single")  # the reference of the ratio
    info = bench.machine()
    print("machine: %s" % ", ".join("%s %s" % kv for kv in info.items()), file=sys.stderr)
    start = time.perf_counter()
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        log("%d hosts: planning %s, %d repeats interleaved" % (size, ", ".join(variants), args.repeats))
        _t, rc, _rss, out = bench.run_timed([sys.executable, __file__, "--child", str(size), "--seed", str(args.seed),
                                             "--repeats", str(args.repeats), "--variants", ",".join(variants),
                                             "--work", str(work)])
        if rc != 0:
            raise RuntimeError("planning failed:\n" + out[-4000:])
        planned = json.loads(out.strip().splitlines()[-1])
        for name in variants:
            row = measure(name, size, planned[name], args, work)
            row["plan_ratio"] = row["plan_s"] / planned["single"]["seconds"] if name != "single" else None
            rows.append(row)
    print()
    print("Seed %d; plan, render and each nft -c the best of %d; render = render_edge for every edge, memo caches "
          "emptied before each repeat." % (args.seed, args.repeats))
    print()
    print(table(rows))
    print()
    print(growth(rows, variants))
    worst = max((r["plan_ratio"] for r in rows if r.get("plan_ratio")), default=None)
    if worst is not None:
        print("largest plan time over the single edge's: %.2fx (limit %.2fx)%s" % (
            worst, args.max_ratio, ": OVER, profile the planner" if worst > args.max_ratio else ""))
    bad = [r for r in rows if _bad(r)]
    print("check: %s" % ("every flow on exactly the edges its enforced_by names, and those are the edges the estate's "
                         "design gives it (%d flow x edge pairs)"
                         % sum(r["check"]["checked"] for r in rows) if not bad else
                         "MISMATCH in %s" % ", ".join("%s/%d" % (r["variant"], r["hosts"]) for r in bad)))
    print("machine: %s" % "; ".join("%s %s" % kv for kv in info.items()))
    print("benchmark wall time: %.0f s" % (time.perf_counter() - start))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "rows": rows}, indent=2) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
