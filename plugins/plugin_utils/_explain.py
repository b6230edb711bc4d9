# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Explain: is this packet allowed, and why? (internal API)

Given a plan, a source and destination (inventory or endpoint names, an endpoint's DNS name, or
IP addresses), a protocol and a port, answer permit or deny with the flows, catalog entries and
citations that allow it, and at each enforcement point on its path (every edge it crosses, the
destination's Windows firewall) the verdict of that target's rendered rules, with the rule or set
element that decides (or the default deny), and the overall ``enforcement``.

An end known only by name (an endpoint with ``fqdn`` and no addresses) is that name, not its
zone: asked by its name (or its endpoint's), a flow to or from it matches; asked by an address, it
matches only if the name resolves to that address, which the plan cannot know. Such an answer is
``permit_if`` with the condition (``only_if``: "203.0.113.77 is an address of acme.telovip.de"),
as the edge's own verdict is ``unknown`` for the same reason. Asked by its name, the edge answers
from the rule that matches the name's set (whatever the name resolves to on the edge), or from
the element that holds the end's whole zone where the edge enforces it as its zone (``_nft_verdict``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from ansible_collections.voiceops.firewall.plugins.module_utils._nft_table import canonical_name

from ._errors import Problems, VoiceopsError, closest
from ._plan_types import Plan
from ._ports import PortError, contains, parse_ports, parse_range
from ._schema import PROTOCOLS
from ._topology import from_plan as topology_from_plan, hops_of, placements


def _dns(name: Any) -> str:
    return canonical_name(str(name or ""))


def _named(name: str, inst: Mapping[str, Any]) -> dict[str, Any]:
    """The end given by name: a host or endpoint, and for an end known only by name its ``fqdn``."""
    first = inst["addresses"][0] if inst["addresses"] else None
    address = str(ipaddress.ip_network(first).network_address) if first else None
    return {"name": name, "address": address, "zone": inst["zone"],
            **({"fqdn": inst["fqdn"]} if first is None and inst.get("fqdn") else {})}


def _resolve(plan: Plan, value: Any, arg: str, problems: Problems) -> dict[str, Any] | None:
    """A name (host or endpoint, or the DNS name of an endpoint known only by it) or an IP address
    -> {name, address, zone} (and ``fqdn`` for an end known only by name)."""
    if not isinstance(value, str) or not value:
        problems.add(arg, value, "a host or endpoint name, or an IP address")
        return None
    instances = plan["instances"]
    if value in instances:
        return _named(value, instances[value])
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        by_fqdn = sorted(n for n, i in instances.items() if i.get("fqdn") and not i["addresses"] and _dns(i["fqdn"]) == _dns(value))
        if by_fqdn:
            return _named(by_fqdn[0], instances[by_fqdn[0]])
        close = closest(value, instances)
        problems.add(arg, value, "neither a host or endpoint of the plan nor an IP address%s"
                     % ("; did you mean %s?" % close if close else ""))
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
                 side: str, who: Mapping[str, Any], by_name: bool) -> list[str] | None:
    """Whether the flow's end is ``who``: None when not, else the conditions it depends on (none: it is)."""
    end = flow[side]
    if by_name:  # a local rule's end may be a whole zone (kind "zone"): every instance in it
        same = (end["name"] == who["name"] or (end["kind"] == "zone" and end["name"] == who["zone"])
                or (bool(who.get("fqdn")) and not end["addresses"] and _dns(end.get("fqdn")) == _dns(who["fqdn"])))
        return [] if same else None
    if who["address"] is None or who["zone"] != flow["%s_zone" % side]:
        return None  # an internet flow's 0.0.0.0/0 does not hold an address of an internal zone
    addr = ipaddress.ip_address(who["address"])
    nets = end["addresses"] or plan["zones"][flow["%s_zone" % side]]["networks"]
    if not any(addr in ipaddress.ip_network(n) for n in nets if ipaddress.ip_network(n).version == addr.version):
        return None
    if not end["addresses"] and end.get("fqdn"):  # known only by name: the name's addresses, not its zone
        return ["%s is an address of %s" % (addr, end["fqdn"])]
    return []


def _question(plan: Plan, src: Any, dst: Any, protocol: Any, port: Any,
              problems: Problems) -> tuple[Any, int | None, dict[str, Any] | None, dict[str, Any] | None]:
    """The question checked against the plan: (protocol, port, source, destination); what is wrong goes to ``problems``."""
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
    return protocol, port_no, _resolve(plan, src, "src", problems), _resolve(plan, dst, "dst", problems)


def check(plan: Plan, src: Any, dst: Any, protocol: Any, port: Any = None) -> str:
    """What is wrong with the question, as ``explain`` would say it ("" when it can be answered).

    A playbook checks the question first and fails with this message alone, rather than with the
    templating error Ansible wraps around a filter that raises."""
    problems = Problems()
    _question(plan, src, dst, protocol, port, problems)
    return "voiceops.firewall.explain: %s" % VoiceopsError(problems.items).message if problems else ""


def explain(plan: Plan, src: Any, dst: Any, protocol: Any, port: Any = None) -> dict[str, Any]:
    problems = Problems()
    protocol, port_no, s, d = _question(plan, src, dst, protocol, port, problems)
    problems.raise_if_any()
    if s is None or d is None:  # pragma: no cover - problems were raised above
        raise VoiceopsError("src/dst could not be resolved")
    # given by name (a host or endpoint, or an end's DNS name), not by address
    named = {"src": src in plan["instances"] or "fqdn" in s, "dst": dst in plan["instances"] or "fqdn" in d}
    both = named["src"] and named["dst"]
    # a side is matched by name when both are named, or when it has no address to match (known only by name)
    by_name = {side: both or (named[side] and who["address"] is None) for side, who in (("src", s), ("dst", d))}
    matches = []
    for flow in plan["flows"]:
        if flow["protocol"] != protocol:
            continue
        if port_no is not None and not contains(parse_ports(flow["ports"]), port_no):
            continue
        src_if = _end_matches(plan, flow, "src", s, by_name["src"])
        dst_if = _end_matches(plan, flow, "dst", d, by_name["dst"])
        if src_if is not None and dst_if is not None:
            matches.append({"id": flow["id"], "entry": flow["entry"], "purpose": flow["purpose"],
                            "citation": flow["citation"], "ports": flow["ports"],
                            **({"local": dict(flow["local"])} if flow.get("local") else {}),
                            **({"only_if": " and ".join(src_if + dst_if)} if src_if or dst_if else {})})
    # permit_if: only flows whose end is known only by name allow it, asked by an address the plan cannot tie to the name
    verdict = "deny" if not matches else "permit" if any("only_if" not in m for m in matches) else "permit_if"
    result: dict[str, Any] = {
        "src": s, "dst": d, "protocol": protocol, "port": port_no,
        "verdict": verdict,
        "flows": matches,
        "targets": {},
        **({"only_if": sorted({m["only_if"] for m in matches})} if verdict == "permit_if" else {}),
    }
    # every enforcement point on the way, in order, each answering from its own rendered rules
    # (the target registry, _targets.py): the source's host firewall when it blocks outbound
    # traffic, every edge on the path (with the zones the packet enters and leaves it by), then
    # the destination's host firewall
    from ._targets import TARGETS, Packet

    def on_the_way(end: Mapping[str, Any]) -> Mapping[str, Any]:
        """An end known only by name, for its enforcement points: with its zone's networks, which an edge
        that enforces it as its zone (fqdn_ends: zone, a wildcard name) holds in its stead."""
        if end["address"] is None and end.get("fqdn"):
            return {**end, "zone_networks": list(plan["zones"][end["zone"]]["networks"])}
        return end

    packet = Packet(on_the_way(s), on_the_way(d), protocol, port_no)
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


_POINT_KEYS = ("chain", "set", "element", "service", "rule")  # an enforcement point's deciding rule, in this order


def _who(end: Mapping[str, Any]) -> str:
    where = ", ".join(str(x) for x in (end.get("address") or end.get("fqdn"), "zone %s" % end.get("zone")) if x)
    return "%s (%s)" % (end.get("name") or end.get("address"), where)


def _point(name: str, target: Mapping[str, Any]) -> list[str]:
    keys = [k for k in _POINT_KEYS if target.get(k)] + sorted(
        k for k, v in target.items() if k not in _POINT_KEYS + ("kind", "verdict", "flows", "citations") and isinstance(v, (str, int)))
    lines = ["  %s (%s): %s" % (name, target.get("kind", "?"), target.get("verdict", "unknown"))]
    lines += ["    %s: %s" % (k, target[k]) for k in keys]
    if target.get("flows"):
        lines.append("    carries %d planned flow(s)" % len(target["flows"]))
    return lines


def text(result: Mapping[str, Any]) -> str:
    """``explain``'s answer as lines a person reads in the play output (``voiceops.firewall.explain_text``)."""
    what = result["protocol"] + ("/%s" % result["port"] if result.get("port") is not None else "")
    src, dst = result["src"], result["dst"]
    verdict = str(result["verdict"]).upper()
    if result["verdict"] == "permit_if":  # "PERMIT only if 203.0.113.77 is an address of acme.telovip.de"
        verdict = "PERMIT only if %s" % " or ".join(result.get("only_if", []))
    lines = ["%s: %s -> %s, %s" % (verdict, src.get("name") or src.get("address"), dst.get("name") or dst.get("address"), what),
             "from %s to %s" % (_who(src), _who(dst))]
    if result["flows"]:
        lines.append("planned flows that allow it:")
        for flow in result["flows"]:
            cite = flow.get("citation") or {}
            lines.append("  %s (%s %s)" % (flow["id"], result["protocol"], ",".join(flow.get("ports", []))))
            if flow.get("only_if"):
                lines.append("    only if: %s (the plan knows that end only by name)" % flow["only_if"])
            lines.append("    why: %s" % flow.get("purpose", ""))
            lines.append("    source: %s § %s" % (cite.get("title") or cite.get("doc", ""), cite.get("section", "")))
    else:
        lines.append("no planned flow allows it")
    targets = result.get("targets", {})
    if targets:
        lines.append("enforcement on the way, in order: %s" % result.get("enforcement", "unknown"))
        for name, target in targets.items():
            lines += _point(name, target)
    else:
        lines.append("no enforcement point of the plan is on the way")
    return "\n".join(line.rstrip() for line in lines)
