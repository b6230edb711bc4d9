# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scale benchmark: synthetic estates of 100, 1,000 and 10,000 hosts, and Aerleon on the same flows.

Run it with ``benchmarks/run.sh`` (sets up .venv and Aerleon's throwaway virtualenv first).
``python benchmarks/bench.py --help`` for the options.  Per size it prints:

* plan: catalog + estate + plan in-process, from the same variables the inventory holds (best of
  ``--repeats``), and the peak RSS of the process that did it;
* e2e: ``ansible-playbook -i <generated inventory> playbooks/plan.yml`` (every artefact the
  playbook writes), its peak RSS, and a check that its plan.json is the in-process plan;
* edge: the edge firewall's rule set (rules, set elements, render time, ``nft -c`` time);
* windows: rules per Windows host (mean and max) and the time to render all of them as the product
  does (the split into each host's part of the plan and the render from it, both timed);
* verdicts: every planned flow checked against our rendered output (the edge's nft text and every
  Windows host's rules, program conditions included) where the plan enforces it, each flow's
  networks x all of its ports accepted in full, plus default-deny probes between the edge's zones
  (``verdicts.check_planned``); the benchmark stops, naming the first rejected flows, unless
  ``planned_rejected`` is 0; its time is printed;
* Aerleon: the same flows as an Aerleon policy, compiled to nftables and windows_advfirewall
  (``nft -c`` on its nftables output too), the verdicts of both compared on a sample of
  connections first, and two ratios: Aerleon's compile over ours on the same flows (edge render
  + Windows render, like for like: Aerleon is given the planned flows) and Aerleon's compile
  over our whole job (plan + both renders, from the inventory's variables).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / ".collections"))
sys.path.insert(0, str(BENCH))

import estate as generator  # noqa: E402
import verdicts  # noqa: E402

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _nft, _nft_sets, _windows  # noqa: E402
from ansible_collections.voiceops.firewall.plugins.plugin_utils._catalog import load_catalog  # noqa: E402
from ansible_collections.voiceops.firewall.plugins.plugin_utils._estate import build_estate  # noqa: E402
from ansible_collections.voiceops.firewall.plugins.plugin_utils._nft import render_edge  # noqa: E402
from ansible_collections.voiceops.firewall.plugins.plugin_utils._planner import plan  # noqa: E402
from ansible_collections.voiceops.firewall.plugins.plugin_utils._targets import TARGETS  # noqa: E402

EDGE = "edge01"
ARGS_NFT_TIMEOUT = 120
PROGRAM_PATHS = generator.PROGRAM_PATHS


def log(msg: str) -> None:
    print("  " + msg, file=sys.stderr, flush=True)


def cold_caches() -> None:
    """Empty the renderers' memo caches (parsed addresses, formatted networks, collapsed lists).

    A repeat must not find the previous repeat's work done: the plugins run in a fresh worker
    process per task, so every timed repeat starts cold, as Aerleon's does.
    """
    for module in (_nft, _nft_sets, _windows):
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()


def best_of(repeats: int, fn: Any) -> tuple[float, Any]:
    best, value = None, None
    for _repeat in range(repeats):
        cold_caches()
        start = time.perf_counter()
        value = fn()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best, value


def run_timed(cmd: list[str], **kw: Any) -> tuple[float, int, int, str]:
    """Wall time, exit status, peak RSS (KiB, the process and the children it waited for), output."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    out = proc.stdout.read() if proc.stdout else ""
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - start, proc.returncode, usage.ru_maxrss, out


# ---------------------------------------------------------------------------- in-process plan

def inprocess(size: int, seed: int, repeats: int, out: Path) -> None:
    """Child process: time catalog + estate + plan on the generated variables; write the plan."""
    est = generator.generate(size, seed)
    host_vars, global_vars = est.all_host_vars(), est.global_vars()

    def once() -> dict[str, Any]:
        catalog = load_catalog()
        return plan(catalog, build_estate(global_vars, host_vars, catalog))

    seconds, the_plan = best_of(repeats, once)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out.write_text(json.dumps(the_plan), encoding="utf-8")
    print(json.dumps({"seconds": seconds, "peak_kib": peak, "flows": len(the_plan["flows"])}))


# ---------------------------------------------------------------------------- helpers

def flows_by_host(the_plan: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    index: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for flow in the_plan["flows"]:
        index[flow["dst"]["name"]].append(flow)
        if flow["src"]["name"] != flow["dst"]["name"]:
            index[flow["src"]["name"]].append(flow)
    return index


def render_windows(the_plan: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The Windows side as the product runs it, all inside the timer: the plan step's split of the
    plan into each Windows host's part (``WindowsHost.inputs``, one pass over the flows), and the
    role's ``render_host`` of each host from its part."""
    target = TARGETS["windows"]
    rules = {}
    for host, part in target.inputs(the_plan).items():
        rules[host], _warnings = _windows.render_host(part, host, program_paths=PROGRAM_PATHS)
    return rules


def nft_check(path: Path, repeats: int, timeout: float | None = None) -> float | None:
    """Best time of ``nft -c -f``; None without nft; ``inf`` when it ran past ``timeout`` seconds."""
    nft = shutil.which("nft")
    if not nft:
        return None

    def once() -> None:
        proc = subprocess.run([nft, "-c", "-f", str(path)], capture_output=True, text=True, check=False, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError("nft -c rejected %s:\n%s" % (path, proc.stderr[-2000:]))

    try:
        return best_of(repeats, once)[0]
    except subprocess.TimeoutExpired:
        return float("inf")


def _random_in(cidr: str, rng: random.Random) -> tuple[int, int]:
    import ipaddress
    net = ipaddress.ip_network(cidr)
    return net.version, int(net.network_address) + rng.randrange(net.num_addresses)


def _random_port(ports: list[str], rng: random.Random) -> int:
    if not ports:
        return 0
    lo, _s, hi = rng.choice(ports).partition("-")
    return rng.randint(int(lo), int(hi or lo))


def compare_edge(the_plan: dict[str, Any], ours: str, theirs: str, samples: int, rng: random.Random,
                 name_sets: dict[str, str] | None = None) -> dict[str, Any]:
    """Verdicts of both nftables rule sets on flows of the plan and on near misses.  An end known
    only by name is sampled from what it resolves to (``verdicts.resolve_names``), the addresses
    our edge's sets hold and Aerleon's policy names (benchmarks/aerleon_policy.py)."""
    resolution = verdicts.resolve_names(the_plan)
    a, b = verdicts.OurNft(ours, resolution, name_sets), verdicts.AerleonNft(theirs)
    zones = the_plan["edges"][EDGE]["zones"]
    iface = {z: ifs[0] for z, ifs in zones.items() if ifs}
    fwd = [f for f in the_plan["flows"] if f["src_zone"] != f["dst_zone"] and f["src_zone"] in iface
           and f["dst_zone"] in iface and EDGE not in (f["src"]["name"], f["dst"]["name"])]
    inp = [f for f in the_plan["flows"] if f["dst"]["name"] == EDGE and f["src_zone"] in iface]
    zone_nets = {z: v["networks"] for z, v in the_plan["zones"].items()}

    def end_nets(flow: dict[str, Any], side: str) -> list[str]:
        name = verdicts.resolvable(flow[side])
        resolved = list(resolution.get(name, ())) if name is not None else []
        return resolved or flow[side]["addresses"] or zone_nets[flow["%s_zone" % side]]
    stats: dict[str, Any] = {"packets": 0, "accepted": 0, "disagree": 0, "planned_rejected": 0, "rejected_flows": []}
    protos = ["tcp", "udp", "icmp", "gre", "esp"]
    for i in range(samples):
        flow = rng.choice(fwd)
        src_nets, dst_nets = end_nets(flow, "src"), end_nets(flow, "dst")
        src_net = rng.choice(src_nets)
        dst_net = rng.choice([n for n in dst_nets if (":" in n) == (":" in src_net)] or dst_nets)
        src, dst = _random_in(src_net, rng), _random_in(dst_net, rng)
        proto, port = flow["protocol"], _random_port(flow["ports"], rng)
        iif, oif = iface[flow["src_zone"]], iface[flow["dst_zone"]]
        planned = src[0] == dst[0]
        mutation = i % 5  # 0: the flow itself; 1-4: a near miss
        if mutation == 1:
            port, planned = rng.randint(1, 65535), False
        elif mutation == 2:
            other = rng.choice(fwd)
            src, planned = _random_in(rng.choice(end_nets(other, "src")), rng), False
        elif mutation == 3:
            other = rng.choice(fwd)
            dst, planned = _random_in(rng.choice(end_nets(other, "dst")), rng), False
            oif = iface[other["dst_zone"]]
        elif mutation == 4:
            proto, planned = rng.choice(protos), False
        va = a.forward(iif, oif, src, dst, proto, port)
        vb = b.forward(iif, oif, src, dst, proto, port)
        stats["packets"] += 1
        stats["accepted"] += va
        stats["disagree"] += va != vb
        stats["planned_rejected"] += planned and not va
        if planned and not va and len(stats["rejected_flows"]) < 5:
            stats["rejected_flows"].append(flow["id"])
    for flow in rng.sample(inp, min(len(inp), max(1, samples // 20))):
        src = _random_in(rng.choice(end_nets(flow, "src")), rng)
        port = _random_port(flow["ports"], rng)
        for p in (port, rng.randint(1, 65535)):
            va = a.input(iface[flow["src_zone"]], src, flow["protocol"], p)
            vb = b.input(iface[flow["src_zone"]], src, flow["protocol"], p)
            stats["packets"] += 1
            stats["accepted"] += va
            stats["disagree"] += va != vb
    return stats


def compare_windows(the_plan: dict[str, Any], index: dict[str, list[dict[str, Any]]], ours: dict[str, list[dict[str, Any]]],
                    aerleon_dir: Path, samples: int, rng: random.Random) -> dict[str, int]:
    stats = {"packets": 0, "accepted": 0, "disagree": 0, "hosts": 0}
    hosts = sorted(ours)
    for host in rng.sample(hosts, min(len(hosts), 60)):
        path = aerleon_dir / ("win_%s.bat" % host)
        theirs = verdicts.AerleonNetsh(path.read_text() if path.exists() else "")
        inbound = [f for f in index.get(host, []) if f["dst"]["name"] == host]
        if not inbound:
            continue
        stats["hosts"] += 1
        for i in range(max(1, samples // 60)):
            flow = rng.choice(inbound)
            src = _random_in(rng.choice(flow["src"]["addresses"] or ["0.0.0.0/0"]), rng)
            proto, port = flow["protocol"], _random_port(flow["ports"], rng)
            if i % 3 == 1:
                port = rng.randint(1, 65535)
            elif i % 3 == 2:
                other = rng.choice(the_plan["flows"])
                src = _random_in(rng.choice(other["src"]["addresses"] or ["0.0.0.0/0"]), rng)
            va = verdicts.our_windows_allows(ours[host], src, proto, port)
            vb = theirs.allows(src, proto, port)
            stats["packets"] += 1
            stats["accepted"] += va
            stats["disagree"] += va != vb
    return stats


# ---------------------------------------------------------------------------- one size

def bench_size(size: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    import aerleon_policy

    row: dict[str, Any] = {"size": size}
    rng = random.Random(args.seed)
    est = generator.generate(size, args.seed)
    inv = work / ("inventory-%d" % size)
    shutil.rmtree(inv, ignore_errors=True)
    generator.write_inventory(est, inv)
    row.update(hosts=est.count, inventory_hosts=len(est.host_vars), endpoints=len(est.endpoints),
               zones=len(est.zones), sites=est.sites, windows_hosts=len(est.windows_hosts()))
    log("%d hosts: %d inventory hosts, %d endpoints, %d zones, %d sites"
        % (est.count, len(est.host_vars), len(est.endpoints), len(est.zones), est.sites))

    # In-process plan, in a child process of its own so that its peak memory is its own.
    plan_file = work / ("plan-%d.json" % size)
    _t, rc, _rss, out = run_timed([sys.executable, __file__, "--inprocess", str(size), "--seed", str(args.seed),
                                   "--repeats", str(args.repeats), "--plan-out", str(plan_file)])
    if rc != 0:
        raise RuntimeError("in-process plan failed:\n" + out)
    child = json.loads(out.strip().splitlines()[-1])
    row.update(plan_s=child["seconds"], plan_peak_mib=child["peak_kib"] / 1024, flows=child["flows"])
    log("plan in-process: %.3f s, %d flows, peak %.0f MiB" % (child["seconds"], child["flows"], child["peak_kib"] / 1024))
    the_plan = json.loads(plan_file.read_text())

    # Renderers, in-process.
    row["edge_render_s"], (text, report) = best_of(args.repeats, lambda: render_edge(the_plan, EDGE))
    edge_file = work / ("edge-%d.nft" % size)
    edge_file.write_text(text)
    row.update(edge_rules=report.rules, edge_elements=report.elements, edge_sets=report.sets)
    row["nft_c_s"] = nft_check(edge_file, args.repeats)
    log("edge: %d rules, %d set elements, render %.3f s, nft -c %s" % (
        report.rules, report.elements, row["edge_render_s"], "%.3f s" % row["nft_c_s"] if row["nft_c_s"] is not None else "n/a"))
    index = flows_by_host(the_plan)
    row["win_render_s"], win_rules = best_of(args.repeats, lambda: render_windows(the_plan))
    counts = [len(r) for r in win_rules.values()] or [0]
    row.update(win_rules_mean=statistics.mean(counts), win_rules_max=max(counts), win_rules_total=sum(counts))
    log("windows: %d hosts, %.1f rules per host (max %d), render %.3f s" % (
        len(win_rules), row["win_rules_mean"], row["win_rules_max"], row["win_render_s"]))

    # Verdicts: every planned flow accepted by our rendered output where the plan enforces it.
    # names known only by name: the sets as the role's DNS configuration names them (the report's name_sets),
    # filled with verdicts.resolve_names (documentation addresses, deterministic)
    check = verdicts.check_planned(the_plan, EDGE, text, win_rules, PROGRAM_PATHS,
                                   name_sets={entry["set"]: entry["fqdn"] for entry in report.name_sets})
    row["verdict_check"] = check.as_dict()
    log("verdicts: " + check.summary())
    if not check.ok:
        raise SystemExit(check.failure())

    # Aerleon on the same flows.
    if not args.no_aerleon:
        names = aerleon_policy.Names()
        build_start = time.perf_counter()
        edge_pol, edge_flows = aerleon_policy.edge_policy(the_plan, EDGE, names, verdicts.resolve_names(the_plan))
        win_pols, win_terms = aerleon_policy.windows_policy(the_plan, index, names)
        row["aerleon_policy_build_s"] = time.perf_counter() - build_start
        row.update(aerleon_edge_terms=sum(len(f["terms"]) for f in edge_pol["filters"]), aerleon_win_terms=win_terms,
                   aerleon_edge_flows=edge_flows)
        pol_file = work / ("aerleon-%d.json" % size)
        pol_file.write_text(json.dumps({"definitions": names.definitions(), "policies": [edge_pol] + win_pols}))
        aer_out = work / ("aerleon-out-%d" % size)
        shutil.rmtree(aer_out, ignore_errors=True)
        _t, rc, _rss, out = run_timed([args.aerleon_python, str(BENCH / "aerleon_compile.py"), str(pol_file), str(aer_out),
                                       str(args.aerleon_repeats)])
        if rc != 0:
            raise RuntimeError("Aerleon failed:\n" + out[-4000:])
        aer = json.loads(out.strip().splitlines()[-1])
        row["aerleon_s"] = aer["seconds"]
        row["aerleon_version"] = aer["version"]
        aer_nft = aer_out / ("edge_%s.nft" % EDGE)
        aer_text = aer_nft.read_text()
        row["aerleon_nft_rules"] = sum(1 for line in aer_text.splitlines() if line.strip().endswith(" accept")
                                       and not line.strip().startswith("ct state"))
        # Once, and capped: nft takes minutes on Aerleon's 10,000-host output (a chain per term).
        row["aerleon_nft_c_s"] = nft_check(aer_nft, 1, timeout=args.nft_timeout)
        # Same verdicts first, then compare times.
        row["verdicts_edge"] = compare_edge(the_plan, text, aer_text, args.samples, rng,
                                            {entry["set"]: entry["fqdn"] for entry in report.name_sets})
        row["verdicts_windows"] = compare_windows(the_plan, index, win_rules, aer_out, args.samples, rng)
        if row["verdicts_edge"]["planned_rejected"]:
            raise SystemExit("sampled comparison: %d points of planned flows rejected by our edge table (%s)"
                             % (row["verdicts_edge"]["planned_rejected"], ", ".join(row["verdicts_edge"]["rejected_flows"])))
        if row["verdicts_edge"]["disagree"] or row["verdicts_windows"]["disagree"]:
            raise RuntimeError("verdicts differ between our rule sets and Aerleon's: %s %s"
                               % (row["verdicts_edge"], row["verdicts_windows"]))
        # Like for like: Aerleon is given the planned flows, so its compile is compared with our
        # compile of the same flows (edge render + Windows render).  End to end (plan included)
        # is kept beside it: it is our whole job from the inventory's variables.
        compile_s = row["edge_render_s"] + row["win_render_s"]
        ours = row["plan_s"] + compile_s
        row["ours_compile_s"] = compile_s
        row["ratio_compile"] = row["aerleon_s"] / compile_s
        row["ours_total_s"] = ours
        row["ratio"] = row["aerleon_s"] / ours
        log("Aerleon %s: %d edge terms (%d rules), %d Windows terms, compile %.3f s, nft -c %s; "
            "verdicts agree on %d + %d packets; ours compile (edge + Windows render) %.3f s: %.1fx; "
            "ours plan + compile %.3f s: %.1fx" % (
                row["aerleon_version"], row["aerleon_edge_terms"], row["aerleon_nft_rules"], win_terms, row["aerleon_s"],
                ("> %d s" % args.nft_timeout if row["aerleon_nft_c_s"] == float("inf")
                 else "%.3f s" % (row["aerleon_nft_c_s"] or 0)), row["verdicts_edge"]["packets"], row["verdicts_windows"]["packets"],
                compile_s, row["ratio_compile"], ours, row["ratio"]))

    # The playbook end to end on the same inventory.
    if not args.no_playbook:
        out_dir = work / ("output-%d" % size)
        shutil.rmtree(out_dir, ignore_errors=True)
        env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"))
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inv), str(REPO / "playbooks" / "plan.yml"),
               "-e", "voiceops_output_dir=%s" % out_dir]
        if not args.diagrams:  # Graphviz layouts of thousands of nodes take longer than everything else
            cmd += ["-e", "voiceops_plan_diagrams=false"]
        seconds, rc, rss, out = run_timed(cmd, env=env, cwd=str(REPO))
        if rc != 0:
            raise RuntimeError("ansible-playbook failed:\n" + out[-4000:])
        row.update(e2e_s=seconds, e2e_peak_mib=rss / 1024)
        same = json.loads((out_dir / "plan.json").read_text()) == the_plan
        row["e2e_plan_same"] = same
        if not same:
            raise RuntimeError("the playbook's plan.json differs from the in-process plan")
        log("playbook end to end: %.1f s, peak %.0f MiB, plan.json = in-process plan" % (seconds, rss / 1024))
    return row


# ---------------------------------------------------------------------------- report

def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = "%.1f GiB" % (kib / 1024 / 1024)
    except (OSError, ValueError, IndexError):
        pass
    nft = subprocess.run(["nft", "--version"], capture_output=True, text=True, check=False).stdout.strip() if shutil.which("nft") else "absent"
    from ansible.release import __version__ as ansible_version
    return {"cpus": str(os.cpu_count()), "cpu": cpu, "memory": mem, "kernel": platform.release(),
            "python": platform.python_version(), "ansible-core": ansible_version, "nft": nft,
            "load": "%.2f %.2f %.2f" % os.getloadavg()}


def table(rows: list[dict[str, Any]]) -> str:
    def f(v: Any, fmt: str = "%.3f") -> str:
        if v == float("inf"):
            return "> %d" % ARGS_NFT_TIMEOUT
        return "n/a" if v is None else fmt % v

    cols = [("hosts", lambda r: "%d" % r["hosts"]),
            ("(inventory/endpoints/zones)", lambda r: "%d/%d/%d" % (r["inventory_hosts"], r["endpoints"], r["zones"])),
            ("flows", lambda r: "%d" % r["flows"]),
            ("plan s", lambda r: f(r["plan_s"])),
            ("plan MiB", lambda r: f(r["plan_peak_mib"], "%.0f")),
            ("playbook s", lambda r: f(r.get("e2e_s"), "%.1f")),
            ("playbook MiB", lambda r: f(r.get("e2e_peak_mib"), "%.0f")),
            ("edge rules", lambda r: "%d" % r["edge_rules"]),
            ("edge elements", lambda r: "%d" % r["edge_elements"]),
            ("edge render s", lambda r: f(r["edge_render_s"])),
            ("nft -c s", lambda r: f(r["nft_c_s"])),
            ("win rules/host", lambda r: "%.1f (max %d)" % (r["win_rules_mean"], r["win_rules_max"])),
            ("win render s", lambda r: f(r["win_render_s"])),
            ("Aerleon terms", lambda r: "%d+%d" % (r["aerleon_edge_terms"], r["aerleon_win_terms"]) if "aerleon_s" in r else "n/a"),
            ("Aerleon s", lambda r: f(r.get("aerleon_s"))),
            ("Aerleon nft -c s", lambda r: f(r.get("aerleon_nft_c_s"))),
            ("ours compile s", lambda r: f(r.get("ours_compile_s"))),
            ("Aerleon/compile", lambda r: f(r.get("ratio_compile"), "%.1fx")),
            ("ours s", lambda r: f(r.get("ours_total_s"))),
            ("Aerleon/ours", lambda r: f(r.get("ratio"), "%.1fx")),
            ("verdicts", lambda r: "%d agree" % (r["verdicts_edge"]["packets"] + r["verdicts_windows"]["packets"])
             if "verdicts_edge" in r else "n/a"),
            ("planned flows checked (boxes)", lambda r: "%d (%d), %d rejected" % (
                r["verdict_check"]["flows"], r["verdict_check"]["boxes"], r["verdict_check"]["planned_rejected"])),
            ("check s", lambda r: "%.2f (CPU %.2f)" % (r["verdict_check"]["seconds"], r["verdict_check"]["cpu_seconds"]))]
    head = "| " + " | ".join(col[0] for col in cols) + " |"
    sep = "|" + "|".join("---:" for _col in cols) + "|"
    body = ["| " + " | ".join(col[1](r) for col in cols) + " |" for r in rows]
    return "\n".join([head, sep] + body)


def growth(rows: list[dict[str, Any]]) -> str:
    if len(rows) < 2:
        return ""
    lines = ["Growth per host (time / hosts, smallest size = 1.00):"]
    base = rows[0]
    for key in ("plan_s", "edge_render_s", "win_render_s", "nft_c_s", "e2e_s"):
        if all(r.get(key) for r in rows):
            vals = ["%d: %.2f" % (r["hosts"], (r[key] / r["hosts"]) / (base[key] / base["hosts"])) for r in rows]
            lines.append("  %-14s %s" % (key, "  ".join(vals)))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000,10000", help="comma separated host counts (default %(default)s)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3, help="best of N for in-process timings and nft -c")
    parser.add_argument("--aerleon-repeats", type=int, default=1)
    parser.add_argument("--samples", type=int, default=3000, help="connections sampled for the verdict comparison")
    parser.add_argument("--aerleon-python", default=os.environ.get("AERLEON_PYTHON", str(BENCH / ".venv-aerleon" / "bin" / "python")))
    parser.add_argument("--work", default=os.environ.get("BENCH_WORK", str(BENCH / ".work")))
    parser.add_argument("--nft-timeout", type=float, default=120, help="cap on nft -c of Aerleon's output (s)")
    parser.add_argument("--no-aerleon", action="store_true")
    parser.add_argument("--no-playbook", action="store_true")
    parser.add_argument("--diagrams", action="store_true",
                        help="let the playbook draw its Graphviz diagrams too (minutes to hours at 10,000 hosts)")
    parser.add_argument("--json", help="also write the rows as JSON here")
    parser.add_argument("--inprocess", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--plan-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inprocess:
        inprocess(args.inprocess, args.seed, args.repeats, Path(args.plan_out))
        return 0
    global ARGS_NFT_TIMEOUT  # noqa: PLW0603 - shown in the table
    ARGS_NFT_TIMEOUT = int(args.nft_timeout)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    info = machine()
    print("machine: %s" % ", ".join("%s %s" % kv for kv in info.items()), file=sys.stderr)
    rows = []
    start = time.perf_counter()
    for size in (int(s) for s in args.sizes.split(",")):
        rows.append(bench_size(size, args, work))
    print()
    print(table(rows))
    print()
    print(growth(rows))
    print("machine: %s" % "; ".join("%s %s" % kv for kv in info.items()))
    print("benchmark wall time: %.0f s" % (time.perf_counter() - start))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
