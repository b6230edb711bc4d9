# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verdict of a rendered nftables table for one packet, read from its report's trace (explain; internal API).

:func:`edge_verdict` finds the set element of ``_nft.render_edge``'s report that permits a
packet at one placement, the rule of an end known only by name that accepts it, or the default
deny that drops it; the sets and chains are found by the names the renderer gives them.

An end known only by name (``fqdn``, no address) is asked about in one of two ways:

* by an address: a rule that matches the name's set (``@name_<slug>_4``, filled from DNS on the
  edge) holds that address only if the name resolves to it there, which the plan cannot know;
  the verdict is ``unknown`` and says so.
* by the name itself (the end has ``fqdn`` and no ``address``): the rule whose set is that name's
  accepts whatever addresses the name resolves to on the edge (``permit``, naming the rule and
  the set). An edge that enforces the end as its zone (``fqdn_ends: zone``, or a wildcard name)
  has an element that holds the whole zone (the end's ``zone_networks``, which explain passes):
  that element permits it. An element that holds only part of the zone accepts the name only if
  it resolves into that part (``unknown``). Nothing of the kind: the default deny.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from ansible_collections.voiceops.firewall.plugins.module_utils._nft_table import canonical_name
from ._nft import INPUT_PREFIX, _pair_chain, _pair_prefix, _set_name
from ._plan_types import NftElement, NftNameMatch, NftNameRule, NftReport
from ._ports import contains, parse_ports
from ._topology import Placement

# How much of an end a set element or a rule's networks hold: all of it, part of it (an end known
# only by name, whose zone the networks cut), or none.
ALL, PART, NONE = 2, 1, 0


def _holds(text: str, who: Mapping[str, Any], version: int) -> int:
    """How much of the end ``who`` the network ``text`` holds: its address, or for an end known
    only by name its zone's networks of that IP version (whatever the name resolves to there)."""
    net = ipaddress.ip_network(text)
    if net.version != version:
        return NONE
    if who.get("address") is not None:
        return ALL if ipaddress.ip_address(who["address"]) in net else NONE
    zone = [z for z in map(ipaddress.ip_network, who.get("zone_networks", [])) if z.version == version]
    if zone and all(z.subnet_of(net) for z in zone):  # type: ignore[arg-type]  # same version, checked above
        return ALL
    return PART if any(z.overlaps(net) for z in zone) else NONE


def _element_holds(element: NftElement, ends: list[Mapping[str, Any]], version: int, port: int | None) -> int:
    """How much of the packet the element holds: the least of its ends; none when its ports (if it has any) miss ``port``."""
    parts = [p.strip() for p in element["element"].split(" . ")]
    if len(parts) != len(ends):
        return NONE
    if port is not None and "ports" in element and not contains(parse_ports(element["ports"]), port):
        return NONE
    return min(_holds(text, who, version) for text, who in zip(parts, ends))


def _by_name(who: Mapping[str, Any]) -> bool:
    """The end is asked about by its name: it has one and no address."""
    return who.get("address") is None and bool(who.get("fqdn"))


def _rule_holds(match: NftNameMatch, who: Mapping[str, Any], version: int) -> int | str:
    """How much of the end the rule's side holds; ``"dns"`` when it holds the end's address only
    if the set's name resolves to it on the edge."""
    if "set" in match:
        if _by_name(who):
            return ALL if canonical_name(who["fqdn"]) == match.get("fqdn") else NONE
        return "dns" if who.get("address") is not None else NONE
    return max((_holds(text, who, version) for text in match.get("networks", [])), default=NONE)


def _name_rule(rules: list[NftNameRule], chain: str, protocol: str, ends: list[Mapping[str, Any]], version: int,
               port: int | None) -> dict[str, Any] | None:
    """The verdict of the rules of ``chain`` with a name's set for the packet: ``permit`` by the first
    rule whose set is the packet's end's name (the end asked about by that name); otherwise
    ``unknown`` by the first rule that takes the packet only if a name resolves to its address on
    the edge, or (an end by name) only if the name resolves into the part of its zone the rule holds."""
    unsure: dict[str, Any] | None = None
    for rule in rules:
        if rule["chain"] != chain or rule["protocol"] != protocol or rule["version"] != version:
            continue
        if port is not None and "ports" in rule and not contains(parse_ports(rule["ports"]), port):
            continue
        sides = [("src", rule["src"], ends[0])] + ([("dst", rule["dst"], ends[1])] if "dst" in rule else [])
        held = [_rule_holds(match, who, version) for _side, match, who in sides]
        if NONE in held:
            continue
        named = [(match["set"], match["fqdn"], who) for _side, match, who in sides if "set" in match]
        sets, fqdns = [n for n, _f, _w in named], [f for _n, f, _w in named]
        if all(h == ALL for h in held):
            why = "; ".join("the rule accepts whatever addresses %s resolves to on the edge (set %s, filled from DNS there)"
                            % (fqdn, name) for name, fqdn, _w in named)
            return {"kind": "nftables", "verdict": "permit", "chain": chain, "set": ", ".join(sets), "rule": rule["rule"],
                    "sets": sets, "fqdns": fqdns, "flows": rule["flows"], "why": why}
        if PART in held:
            why = "the rule holds only part of the zone of %s, so it accepts the name only if it resolves into that part" % (
                " and ".join(w["fqdn"] for (_s, _m, w), h in zip(sides, held) if h == PART))
        else:
            why = "; ".join("the rule matches %s only if it is among the addresses %s resolves to on the edge (set %s, "
                            "filled from DNS there), which the plan cannot know" % (who["address"], fqdn, name)
                            for name, fqdn, who in named if who.get("address") is not None)
        unsure = unsure or {"kind": "nftables", "verdict": "unknown", "chain": chain, "sets": sets, "fqdns": fqdns,
                            "flows": rule["flows"], "why": why}
    return unsure


def edge_verdict(report: NftReport, s: Mapping[str, Any], d: Mapping[str, Any], protocol: str,
                 port: int | None, place: Placement | None) -> dict[str, Any]:
    """The verdict of a rendered table (its report's trace) for one packet at one placement: the
    set element or the name's rule that permits it, or the default deny that drops it.

    ``s`` and ``d`` are explain's ends: ``address``, or for an end known only by name ``fqdn`` and
    ``zone_networks`` (no address)."""
    if place is None:  # an edge answers only where the path places the packet on it
        return {"kind": "nftables", "verdict": "unknown", "why": "the packet's path does not cross this edge"}
    to_edge = place.kind == "input"
    ends = [s] if to_edge else [s, d]
    if not all(who.get("address") is not None or _by_name(who) for who in ends):
        return {"kind": "nftables", "verdict": "unknown", "why": "an end has no address to match"}
    # the IP version of the addresses asked about; two ends by name could meet in either
    versions = sorted({ipaddress.ip_address(who["address"]).version for who in ends if who.get("address") is not None}) or [4, 6]
    chain = "managed_in" if to_edge else _pair_chain(place.src, place.dst)
    unsure: dict[str, Any] | None = None
    for version in versions:
        set_name = _set_name(INPUT_PREFIX if to_edge else _pair_prefix(place.src, place.dst), protocol, version)
        # the layers of the set, in the order of their rules: the narrowest (highest suffix) first
        layers = [set_name]
        while "%s_%d" % (set_name, len(layers) + 1) in report["trace"]:
            layers.append("%s_%d" % (set_name, len(layers) + 1))
        for name in reversed(layers):
            for element in report["trace"].get(name, []):
                held = _element_holds(element, ends, version, port)
                if held == ALL:
                    found = {"kind": "nftables", "verdict": "permit", "chain": chain, "set": name,
                             "element": element["element"], "flows": element["flows"]}
                    if "service" in element:
                        found["service"] = element["service"]
                    zones = [who for who in ends if _by_name(who)]
                    if zones:  # enforced as its zone (fqdn_ends: zone, a wildcard), or an element wider than the zone
                        found["why"] = "; ".join("the element holds all of zone %s, so whatever %s resolves to there"
                                                 % (who.get("zone"), who["fqdn"]) for who in zones)
                    return found
                if held == PART and unsure is None:
                    cut = [who["fqdn"] for text, who in zip(element["element"].split(" . "), ends) if _holds(text.strip(), who, version) == PART]
                    unsure = {"kind": "nftables", "verdict": "unknown", "chain": chain, "set": name,
                              "element": element["element"], "flows": element["flows"],
                              "why": "the element holds only part of the zone of %s, so it accepts the name only if it resolves "
                                     "into that part" % " and ".join(cut)}
        by_name = _name_rule(report.get("name_rules", []), chain, protocol, ends, version, port)
        if by_name is not None and by_name["verdict"] == "permit":
            return by_name
        unsure = unsure or by_name
    if unsure is not None:
        return unsure
    rule = "voiceops default deny to the edge itself" if to_edge else "voiceops default deny between managed zones"
    return {"kind": "nftables", "verdict": "deny", "chain": "managed_in" if to_edge else "managed_fwd", "rule": rule}
