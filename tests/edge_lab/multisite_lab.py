# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lab of several edge namespaces in series (tests/edge_lab/multisite_lab.yml), with real traffic.

One namespace per edge, one per zone behind it (a veth pair from the edge's interface of that
zone, named as the inventory names it), and a veth `wan` link between the two edges with static
routes to the other site's zones. Each edge loads its rendered rule set with a real ``nft -f``.

Used by tests/functional/test_multisite.py; reuses the sockets, listeners and SIPp driver of
tests/edge_lab/probes.py (which the Molecule lab uses, unchanged). Only addresses inside the
namespaces this module makes are contacted; ``down`` kills what runs inside them and deletes them.
"""

from __future__ import annotations

import ipaddress
import json
import random
import subprocess
import uuid

import probes  # tests/edge_lab/probes.py

DENY_FWD = "voiceops default deny between managed zones"


def _run(args, check=True, input_text=None):
    proc = subprocess.run(args, input=input_text, capture_output=True, text=True, check=False, timeout=60)
    if check and proc.returncode != 0:
        raise RuntimeError("%s: rc=%d: %s" % (" ".join(args), proc.returncode, proc.stderr.strip()))
    return proc


class MultiLab:
    """The namespaces of the lab; ``where`` maps each host address to (namespace, zone)."""

    def __init__(self, topo, tag=None):
        self.topo = topo
        self.tag = "vo-ms-%s" % (tag or uuid.uuid4().hex[:6])
        self.edge_ns = {edge: "%s-%s" % (self.tag, edge) for edge in topo["edges"]}
        self.zone_ns = {zone: "%s-%s" % (self.tag, zone) for zone in topo["zones"]}
        self.made: list[str] = []
        self.where = {}
        for zone, data in topo["zones"].items():
            for addr in data["addrs"]:
                self.where[ipaddress.ip_interface(addr).ip] = (self.zone_ns[zone], zone)
            self.where[ipaddress.ip_interface(data["edge_addr"]).ip] = (self.edge_ns[data["edge"]], "edge:" + data["edge"])

    def ns_of(self, ip):
        return self.where[ipaddress.ip_address(ip)][0]

    # --- building and removing ------------------------------------------------------------
    def _ns(self, name):
        self.made.append(name)
        _run(["ip", "netns", "add", name])
        _run(["ip", "-n", name, "link", "set", "lo", "up"])

    def up(self):
        for edge, ns in self.edge_ns.items():
            self._ns(ns)
            _run(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
        for zone, data in self.topo["zones"].items():
            ns, edge_ns = self.zone_ns[zone], self.edge_ns[data["edge"]]
            self._ns(ns)
            _run(["ip", "-n", edge_ns, "link", "add", data["edge_if"], "type", "veth", "peer", "name", "eth0", "netns", ns])
            _run(["ip", "-n", edge_ns, "addr", "add", data["edge_addr"], "dev", data["edge_if"]])
            for addr in data["addrs"]:
                _run(["ip", "-n", ns, "addr", "add", addr, "dev", "eth0"])
            _run(["ip", "-n", edge_ns, "link", "set", data["edge_if"], "up"])
            _run(["ip", "-n", ns, "link", "set", "eth0", "up"])
            gateway = str(ipaddress.ip_interface(data["edge_addr"]).ip)
            _run(["ip", "-n", ns, "route", "add", "default", "via", gateway])
        (a, (a_if, a_addr)), (b, (b_if, b_addr)) = self.topo["wan"].items()
        _run(["ip", "-n", self.edge_ns[a], "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", self.edge_ns[b]])
        for edge, iface, addr in ((a, a_if, a_addr), (b, b_if, b_addr)):
            _run(["ip", "-n", self.edge_ns[edge], "addr", "add", addr, "dev", iface])
            _run(["ip", "-n", self.edge_ns[edge], "link", "set", iface, "up"])
        # each edge reaches the other site's zones through the other edge's wan address
        for edge, other_addr in ((a, b_addr), (b, a_addr)):
            via = str(ipaddress.ip_interface(other_addr).ip)
            for zone, data in self.topo["zones"].items():
                if data["edge"] != edge:
                    net = str(ipaddress.ip_interface(data["edge_addr"]).network)
                    _run(["ip", "-n", self.edge_ns[edge], "route", "add", net, "via", via])

    def down(self):
        """Kill every process inside the lab's namespaces, then delete them (also those of a failed ``up``)."""
        left = []
        listed = _run(["ip", "netns", "list"], check=False).stdout.split()
        for ns in dict.fromkeys(self.made + [n for n in listed if n.startswith(self.tag + "-")]):
            for pid in _run(["ip", "netns", "pids", ns], check=False).stdout.split():
                _run(["kill", "-9", pid], check=False)
            if _run(["ip", "netns", "del", ns], check=False).returncode != 0:
                left.append(ns)
        self.made = []
        return left

    # --- nftables -------------------------------------------------------------------------
    def load(self, edge, ruleset):
        _run(["ip", "netns", "exec", self.edge_ns[edge], "nft", "-f", "-"], input_text=ruleset)

    def nft_json(self, edge, *what):
        out = _run(["ip", "netns", "exec", self.edge_ns[edge], "nft", "-j", "list", *what]).stdout
        return json.loads(out)["nftables"]

    def deny_counter(self, edge):
        """Packets counted by the forward default deny of ``edge``."""
        for item in self.nft_json(edge, "chain", "inet", "voiceops", "managed_fwd"):
            rule = item.get("rule")
            if rule and rule.get("comment") == DENY_FWD:
                for expr in rule["expr"]:
                    if "counter" in expr:
                        return expr["counter"]["packets"]
        raise AssertionError("%s: no default-deny rule with a counter in managed_fwd" % edge)

    def element_counters(self, edge):
        """{(map, element key text): packets} of every map element of ``edge``'s table."""
        out = {}
        for item in self.nft_json(edge, "table", "inet", "voiceops"):
            data = item.get("map") or item.get("set")
            if not data:
                continue
            for elem in data.get("elem", []):
                if isinstance(elem, list):  # map: [key, verdict]
                    elem = elem[0]
                if isinstance(elem, dict) and "elem" in elem:
                    counter = elem["elem"].get("counter", {})
                    out[(data["name"], json.dumps(elem["elem"]["val"], sort_keys=True))] = counter.get("packets", 0)
        return out


# --- what to send -------------------------------------------------------------------------------
def _in(ip, nets):
    return any(ip in ipaddress.ip_network(n) for n in nets if ipaddress.ip_network(n).version == ip.version)


def lab_address(lab, plan, flow, side):
    """An address of the lab inside this end of the flow (the edge's own address for an edge)."""
    end = flow[side]
    nets = end["addresses"] or plan["zones"][flow["%s_zone" % side]].get("networks") or []
    for ip, (_ns, zone) in sorted(lab.where.items(), key=lambda item: int(item[0])):
        is_edge = zone.startswith("edge:")
        if side == "dst" and end["name"] in plan["edges"]:
            if zone == "edge:" + end["name"] and _in(ip, nets):
                return ip
        elif not is_edge and zone == flow["%s_zone" % side] and _in(ip, nets):
            return ip
    return None


def crossing_flows(plan, edges):
    """TCP and UDP flows that every one of ``edges`` enforces."""
    return [f for f in plan["flows"] if f["protocol"] in ("tcp", "udp") and set(edges) <= set(f["enforced_by"])]


def must_pass_probes(lab, plan, edges):
    out, problems = [], []
    for flow in crossing_flows(plan, edges):
        src, dst = lab_address(lab, plan, flow, "src"), lab_address(lab, plan, flow, "dst")
        if src is None or dst is None:
            problems.append("%s: the lab has no address for one of its ends" % flow["id"])
            continue
        for port in probes.probe_ports(flow["ports"]):
            out.append({"expect": "pass", "why": flow["id"], "src": src, "dst": dst, "proto": flow["protocol"], "port": port})
    return out, problems


def must_drop_probes(lab, plan, at=None):
    out, problems = [], []
    every = {f["id"] for f in plan["flows"]}
    for item in lab.topo["must_drop"]:
        if at is not None and item["at"] != at:
            continue
        src, dst = ipaddress.ip_address(item["src"]), ipaddress.ip_address(item["dst"])
        # a flow to or from the internet holds every address, but not one in an internal zone
        flows = {f["id"]: f for f in plan["flows"]}
        hits = [fid for fid in probes.allowed_by(plan, every, src, dst, item["proto"], item["port"])
                if (flows[fid]["src_zone"], flows[fid]["dst_zone"]) == (lab.where[src][1], lab.where[dst][1])]
        if hits:
            problems.append("must-drop probe %r is allowed by planned flows %s: fix the test" % (item["why"], hits))
            continue
        out.append({"expect": "drop", "at": item["at"], "why": item["why"], "src": src, "dst": dst,
                    "proto": item["proto"], "port": item["port"]})
    return out, problems


def send_all(lab, items):
    """Send every probe (in parallel, listeners behind each destination); sets ``outcome`` and ``ok``."""
    def _send(probe):
        ns = lab.ns_of(probe["src"])
        outcome = probes.send(ns, probe["proto"], probe["src"], probe["dst"], probe["port"])
        if outcome == "timeout" and probe["expect"] == "pass":  # the first packet may wait for ARP
            outcome = probes.send(ns, probe["proto"], probe["src"], probe["dst"], probe["port"])
        probe["outcome"] = outcome
        probe["ok"] = outcome == "pass" if probe["expect"] == "pass" else outcome == "timeout"

    listeners = probes.with_listeners(lab, items, _send)
    for probe in items:
        if probe["expect"] == "drop" and (probe["proto"], probe["dst"], probe["port"], probe["src"]) in listeners.received:
            probe["ok"] = False
            probe["outcome"] += " (but it reached the listener)"
    return items


def differential_cases(lab, plan, edges, count, seed):
    """Random (src, dst, proto, port) between the two sites, about half inside planned flows."""
    rng = random.Random(seed)
    site = {ip: lab.topo["zones"][zone]["edge"] for ip, (_ns, zone) in lab.where.items() if not zone.startswith("edge:")}
    addrs = sorted(site, key=int)
    planned = crossing_flows(plan, edges)
    pool = (22, 53, 80, 88, 123, 135, 389, 443, 445, 3389, 5060, 5061, 40000, 50000, 50199, 50200)
    cases = []
    while len(cases) < count:
        if planned and rng.random() < 0.5:
            flow = rng.choice(planned)
            src, dst = lab_address(lab, plan, flow, "src"), lab_address(lab, plan, flow, "dst")
            if src is None or dst is None or dst not in site:
                continue
            lo, hi = rng.choice(probes.parse_ports(flow["ports"]))
            cases.append({"src": src, "dst": dst, "proto": flow["protocol"], "port": rng.randint(lo, hi)})
            continue
        src, dst = rng.choice(addrs), rng.choice(addrs)
        if site[src] == site[dst]:
            continue
        cases.append({"src": src, "dst": dst, "proto": rng.choice(("tcp", "udp")), "port": rng.choice(pool)})
    return cases
