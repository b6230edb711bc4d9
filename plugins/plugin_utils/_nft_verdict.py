# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verdict of a rendered nftables table for one packet, read from its report's trace (explain; internal API).

:func:`edge_verdict` finds the set element of ``_nft.render_edge``'s report that permits a
packet at one placement, or the default deny that drops it; the sets and chains are found by
the names the renderer gives them. A rule that matches an end by its name's set (an end known
only by name) cannot be decided here: the set holds what the name resolves to on the edge, so
the verdict is ``unknown`` and says so.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from ._nft import INPUT_PREFIX, _pair_chain, _pair_prefix, _set_name
from ._plan_types import NftElement, NftNameMatch, NftNameRule, NftReport
from ._ports import contains, parse_ports
from ._topology import Placement


def _element_contains(element: NftElement, src: str | None, dst: str | None, port: int | None) -> bool:
    """The element's addresses hold ``src`` (and ``dst``), and its ports (if it has any) hold ``port``."""
    parts = [p.strip() for p in element["element"].split(" . ")]
    addrs = [a for a in (src, dst) if a is not None]
    if len(parts) != len(addrs):
        return False
    for text, addr in zip(parts, addrs):
        net = ipaddress.ip_network(text)
        ip = ipaddress.ip_address(addr)
        if net.version != ip.version or ip not in net:
            return False
    if port is not None and "ports" in element:
        return contains(parse_ports(element["ports"]), port)
    return True


def _in_networks(match: NftNameMatch, addr: str | None) -> bool:
    if addr is None:
        return False
    ip = ipaddress.ip_address(addr)
    return any(ip.version == net.version and ip in net for net in map(ipaddress.ip_network, match.get("networks", [])))


def _name_rule(rules: list[NftNameRule], chain: str, protocol: str, src: str, dst: str | None,
               port: int | None) -> dict[str, Any] | None:
    """The first rule of ``chain`` that would match the packet if its named end's address were in
    the name's set: what the edge decides by DNS."""
    version = ipaddress.ip_address(src).version
    for rule in rules:
        if rule["chain"] != chain or rule["protocol"] != protocol or rule["version"] != version:
            continue
        if port is not None and "ports" in rule and not contains(parse_ports(rule["ports"]), port):
            continue
        ends = [("src", rule["src"], src)] + ([("dst", rule["dst"], dst)] if "dst" in rule else [])
        if any("set" not in match and not _in_networks(match, addr) for _side, match, addr in ends):
            continue
        named = [(match["set"], match["fqdn"], addr) for _side, match, addr in ends if "set" in match]
        why = "; ".join("the rule matches %s only if it is among the addresses %s resolves to on the edge (set %s, "
                        "filled from DNS there), which the plan cannot know" % (addr, fqdn, name) for name, fqdn, addr in named)
        return {"kind": "nftables", "verdict": "unknown", "chain": chain, "sets": [n for n, _f, _a in named],
                "fqdns": [f for _n, f, _a in named], "flows": rule["flows"], "why": why}
    return None


def edge_verdict(report: NftReport, s: Mapping[str, Any], d: Mapping[str, Any], protocol: str,
                 port: int | None, place: Placement | None) -> dict[str, Any]:
    """The verdict of a rendered table (its report's trace) for one packet at one placement: the
    set element that permits it, or the default deny that drops it."""
    if place is None:  # an edge answers only where the path places the packet on it
        return {"kind": "nftables", "verdict": "unknown", "why": "the packet's path does not cross this edge"}
    to_edge = place.kind == "input"
    if s["address"] is None or (d["address"] is None and not to_edge):
        return {"kind": "nftables", "verdict": "unknown", "why": "an end has no address to match"}
    version = ipaddress.ip_address(s["address"]).version
    if to_edge:
        set_name = _set_name(INPUT_PREFIX, protocol, version)
        chain = "managed_in"
    else:
        set_name = _set_name(_pair_prefix(place.src, place.dst), protocol, version)
        chain = _pair_chain(place.src, place.dst)
    # the layers of the set, in the order of their rules: the narrowest (highest suffix) first
    layers = [set_name]
    while "%s_%d" % (set_name, len(layers) + 1) in report["trace"]:
        layers.append("%s_%d" % (set_name, len(layers) + 1))
    for name in reversed(layers):
        for element in report["trace"].get(name, []):
            if _element_contains(element, s["address"], None if to_edge else d["address"], port):
                found = {"kind": "nftables", "verdict": "permit", "chain": chain, "set": name,
                         "element": element["element"], "flows": element["flows"]}
                if "service" in element:
                    found["service"] = element["service"]
                return found
    by_name = _name_rule(report.get("name_rules", []), chain, protocol, s["address"], None if to_edge else d["address"], port)
    if by_name is not None:
        return by_name
    rule = "voiceops default deny to the edge itself" if to_edge else "voiceops default deny between managed zones"
    return {"kind": "nftables", "verdict": "deny", "chain": "managed_in" if to_edge else "managed_fwd", "rule": rule}
