# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Explain: is this packet allowed, and why? (internal API)

Given a plan, a source and destination (inventory or endpoint names, or IP addresses), a
protocol and a port, answer permit or deny with the flows, catalog entries and citations
that allow it, and at each enforcement point on its path (every edge it crosses, the destination's Windows
firewall) the verdict of that target's rendered rules, with the rule or set element that
decides (or the default deny), and the overall ``enforcement``.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Mapping
from typing import Any

from ._errors import Problems, VoiceopsError
from ._plan_types import Plan
from ._ports import PortError, contains, parse_ports, parse_range
from ._topology import from_plan as topology_from_plan, hops_of, placements

PROTOCOLS = ("tcp", "udp", "icmp", "gre", "esp")


def _resolve(plan: Plan, value: Any, arg: str, problems: Problems) -> dict[str, Any] | None:
    """A name (host or endpoint) or an IP address -> {name, address, zone}."""
    if not isinstance(value, str) or not value:
        problems.add(arg, value, "a host or endpoint name, or an IP address")
        return None
    instances = plan["instances"]
    if value in instances:
        inst = instances[value]
        first = inst["addresses"][0] if inst["addresses"] else None
        address = str(ipaddress.ip_network(first).network_address) if first else None
        return {"name": value, "address": address, "zone": inst["zone"]}
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        close = difflib.get_close_matches(value, sorted(instances), n=1)
        problems.add(arg, value, "neither a host or endpoint of the plan nor an IP address%s"
                     % ("; did you mean %s?" % close[0] if close else ""))
        return None
    zone = None
    for zname, zone_data in sorted(plan["zones"].items()):
        if not zone_data["external"] and any(addr in ipaddress.ip_network(n) for n in zone_data["networks"]
                                             if ipaddress.ip_network(n).version == addr.version):
            zone = zname
    if zone is None:
        external = sorted(z for z, d in plan["zones"].items() if d["external"])
        if len(external) != 1:
            problems.add(arg, value, "in no internal zone, and the plan has no single external zone")
            return None
        zone = external[0]
    owners = sorted(
        name for name, inst in instances.items()
        if inst["zone"] == zone and any(addr in ipaddress.ip_network(a) for a in inst["addresses"]
                                        if ipaddress.ip_network(a).version == addr.version))
    # the most specific owner (a host inside an endpoint subnet is that host)
    owners.sort(key=lambda n: min(ipaddress.ip_network(a).num_addresses for a in instances[n]["addresses"]
                                  if ipaddress.ip_network(a).version == addr.version))
    return {"name": owners[0] if owners else None, "address": str(addr), "zone": zone}


def _end_matches(plan: Plan, flow: Mapping[str, Any],  # Mapping: keys are computed from side
                 side: str, who: Mapping[str, Any], by_name: bool) -> bool:
    end = flow[side]
    if by_name:
        return end["name"] == who["name"]
    if who["address"] is None or who["zone"] != flow["%s_zone" % side]:
        return False  # an internet flow's 0.0.0.0/0 does not hold an address of an internal zone
    addr = ipaddress.ip_address(who["address"])
    nets = end["addresses"] or plan["zones"][flow["%s_zone" % side]]["networks"]
    return any(addr in ipaddress.ip_network(n) for n in nets if ipaddress.ip_network(n).version == addr.version)


def explain(plan: Plan, src: Any, dst: Any, protocol: Any, port: Any = None) -> dict[str, Any]:
    problems = Problems()
    if isinstance(protocol, str):
        protocol = protocol.strip().lower()  # TCP, Udp: as people write them
    if protocol not in PROTOCOLS:
        problems.add("protocol", protocol, "one of " + ", ".join(PROTOCOLS))
    port_no = None
    if protocol in ("tcp", "udp"):
        try:
            lo, hi = parse_range(port)
            port_no = lo if lo == hi else None
        except PortError:
            port_no = None
        if port_no is None and (port is None or not isinstance(port, (int, str))):
            problems.add("port", "(none)", "%s needs the destination port, one from 1 to 65535" % protocol)
        elif port_no is None:
            problems.add("port", port, "one port from 1 to 65535 for %s" % protocol)
    s = _resolve(plan, src, "src", problems)
    d = _resolve(plan, dst, "dst", problems)
    problems.raise_if_any()
    if s is None or d is None:  # pragma: no cover - problems were raised above
        raise VoiceopsError("src/dst could not be resolved")
    by_name = src in plan["instances"] and dst in plan["instances"]
    matches = []
    for flow in plan["flows"]:
        if flow["protocol"] != protocol:
            continue
        if port_no is not None and not contains(parse_ports(flow["ports"]), port_no):
            continue
        if _end_matches(plan, flow, "src", s, by_name) and _end_matches(plan, flow, "dst", d, by_name):
            matches.append({"id": flow["id"], "entry": flow["entry"], "purpose": flow["purpose"],
                            "citation": flow["citation"], "ports": flow["ports"]})
    result: dict[str, Any] = {
        "src": s, "dst": d, "protocol": protocol, "port": port_no,
        "verdict": "permit" if matches else "deny",
        "flows": matches,
        "targets": {},
    }
    # every enforcement point on the way, in order, each answering from its own rendered rules
    # (the target registry, _targets.py): the source's host firewall when it blocks outbound
    # traffic, every edge on the path (with the zones the packet enters and leaves it by), then
    # the destination's host firewall
    from ._targets import TARGETS, Packet

    packet = Packet(s, d, protocol, port_no)
    topology = topology_from_plan(plan)
    edges = plan.get("edges", {})

    def host_firewall(end: Mapping[str, Any], outgoing: bool) -> None:
        name = end["name"]
        # .get(name, {}) is Instance | {}, which mypy cannot .get from
        outbound = plan["instances"].get(name, {}).get("outbound_default", "allow") if name else "allow"  # type: ignore[call-overload]
        if name is None or name in edges or (outgoing and outbound != "block"):
            return
        for target in TARGETS.values():
            if name in target.hosts(plan):
                result["targets"][name] = target.verdict(plan, name, {"outbound_default": outbound}, packet, None)

    host_firewall(s, True)
    hops = hops_of(plan, topology, s["zone"], d["zone"])
    for place in placements(topology, s["name"] if s["name"] in edges else "", s["zone"],
                            d["name"] if d["name"] in edges else "", d["zone"], hops):
        target = TARGETS[edges[place.edge].get("kind", "nftables")]
        result["targets"][place.edge] = target.verdict(plan, place.edge, {}, packet, place)
    host_firewall(d, False)
    # the catalog's word for each point that permits: the citations of the flows its rule carries
    by_id = {f["id"]: f for f in plan["flows"]}
    for target in result["targets"].values():
        ids = target.get("flows")
        if ids:
            cites = sorted({(c["doc"], c.get("title") or c["doc"], c["section"]) for c in (by_id[i]["citation"] for i in ids if i in by_id)})
            # the document's title for a person, its file name to find it
            target["citations"] = [{"doc": doc, "title": title, "section": section} for doc, title, section in cites]
    verdicts = [t.get("verdict", "unknown") for t in result["targets"].values()]
    result["enforcement"] = ("none" if not verdicts else "deny" if "deny" in verdicts
                             else "permit" if all(v == "permit" for v in verdicts) else "unknown")
    return result
