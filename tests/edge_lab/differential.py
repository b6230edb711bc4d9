# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Differential test: the model (voiceops.firewall.explain) against what packets really do.

    python differential.py --topology lab.yml --plan plan.json --count 80 --seed 7

Draws random (source, destination, protocol, port) tuples between addresses of the lab (about
half of them inside a planned flow, the rest between random addresses and ports), asks
``explain`` for the edge's verdict, sends the packet for real from the source's namespace to a
listener in the destination's, and compares. Prints how many flows it compared and every
disagreement; exits 1 on any. Only addresses inside the lab's namespaces are contacted.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import random
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / ".collections"))

import probes  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.voiceops.firewall.plugins.plugin_utils._explain import explain  # noqa: E402  pylint: disable=wrong-import-position

PORT_POOL = (22, 80, 443, 5060, 5061, 5986, 7423, 7424, 7425, 9100, 13667, 40000, 40999, 41000, 50000)


def _candidates(lab: probes.Lab, plan) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Addresses of hosts in the zones, plus the edge's own inventory address(es)."""
    out = sorted(lab.where, key=lambda ip: (ip.version, int(ip)))
    planned = {ipaddress.ip_network(a).network_address for a in plan["instances"][lab.edge_host]["addresses"]}
    inventory_edge = [ip for ip in lab.edge_addrs if ip in planned]
    return [ip for ip in out if lab.where[ip][1] != "edge"] + inventory_edge


def _planned_ports(plan, src, dst, proto) -> list[int]:
    ports = []
    for flow in plan["flows"]:
        if flow["protocol"] != proto or not flow["ports"]:
            continue
        ends = []
        for side, ip in (("src", src), ("dst", dst)):
            nets = flow[side]["addresses"] or plan["zones"][flow["%s_zone" % side]]["networks"]
            ends.append(any(ip in ipaddress.ip_network(n) for n in nets if ipaddress.ip_network(n).version == ip.version))
        if all(ends):
            for lo, hi in probes.parse_ports(flow["ports"]):
                ports.extend({lo, hi, (lo + hi) // 2})
    return sorted(set(ports))


def draw(lab, plan, count: int, seed: int) -> list[dict]:
    """Half the cases from planned flows (random port inside the flow's ports, random version),
    half between random addresses of different zones on a port from a pool or a planned one."""
    rng = random.Random(seed)
    addrs = _candidates(lab, plan)
    zone_of = {ip: lab.where[ip][1] for ip in addrs}
    crossing = [f for f in plan["flows"] if f["protocol"] in ("tcp", "udp") and f["src_zone"] != f["dst_zone"]
                and f["src"]["name"] != lab.edge_host]
    cases = []
    attempts = 0
    while len(cases) < count and attempts < count * 50:
        attempts += 1
        if crossing and rng.random() < 0.5:
            flow = rng.choice(crossing)
            version = rng.choice((4, 6))
            src, dst = lab.pick(plan, flow, "src", version), lab.pick(plan, flow, "dst", version)
            if src is None or dst is None or src not in zone_of or dst not in zone_of or zone_of[src] == zone_of[dst]:
                continue
            lo, hi = rng.choice(probes.parse_ports(flow["ports"]))
            cases.append({"src": src, "dst": dst, "proto": flow["protocol"], "port": rng.randint(lo, hi)})
            continue
        src, dst = rng.choice(addrs), rng.choice(addrs)
        if src.version != dst.version or zone_of[src] == zone_of[dst] or zone_of[src] == "edge":
            continue
        proto = rng.choice(("tcp", "udp"))
        planned = _planned_ports(plan, src, dst, proto)
        port = rng.choice(planned) if planned and rng.random() < 0.5 else rng.choice(PORT_POOL)
        cases.append({"src": src, "dst": dst, "proto": proto, "port": port})
    return cases


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--topology", required=True)
    parser.add_argument("--plan", required=True)
    parser.add_argument("--count", type=int, default=80)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    with open(args.topology, encoding="utf-8") as handle:
        lab = probes.Lab(yaml.safe_load(handle))
    with open(args.plan, encoding="utf-8") as handle:
        plan = json.load(handle)
    edge = lab.edge_host
    cases = draw(lab, plan, args.count, args.seed)
    for case in cases:
        answer = explain(plan, str(case["src"]), str(case["dst"]), case["proto"], case["port"])
        target = answer["targets"].get(edge)
        case["model"] = target["verdict"] if target else "no edge on the path"
        case["flows"] = [f["id"] for f in answer["flows"]]

    def _send(case):
        ns = lab.ns_of(case["src"])
        outcome = probes.send(ns, case["proto"], case["src"], case["dst"], case["port"])
        if outcome == "timeout" and case["model"] == "permit":  # the first packet may wait for ARP/ND
            outcome = probes.send(ns, case["proto"], case["src"], case["dst"], case["port"])
        case["real"] = "permit" if outcome == "pass" else "deny"
        case["outcome"] = outcome

    probes.with_listeners(lab, cases, _send)

    disagreements = [c for c in cases if c["model"] != c["real"]]
    for case in disagreements:
        print("DISAGREE %s %s -> %s:%s model=%s real=%s (%s) flows=%s" % (
            case["proto"], case["src"], case["dst"], case["port"], case["model"], case["real"], case["outcome"], case["flows"]))
    permits = sum(1 for c in cases if c["model"] == "permit")
    print("differential: %d random flows compared (model: %d permit, %d deny), %d disagreements" % (
        len(cases), permits, len(cases) - permits, len(disagreements)))
    return 1 if disagreements or len(cases) < args.count else 0


if __name__ == "__main__":
    sys.exit(main())
