# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan's flows written as an Aerleon policy (for the side-by-side benchmark).

What is handed to Aerleon is the *same computed flows* that our renderers enforce, so Aerleon
gets the planning for free and only compiles:

* ``edge``: one ``nftables`` filter ``mixed forward`` for the flows the edge forwards (between
  two zones it joins) and one ``mixed input`` filter for the flows to the edge itself, each term
  naming the zone interfaces (``source-interface``/``destination-interface``) as our ``vmap``
  does; ends given only by name stand for the addresses the name resolves to (the
  benchmark's stand-in for DNS, ``verdicts.resolve_names``), as our edge's name sets hold them.
* ``windows``: per Windows host, ``windows_advfirewall`` filters ``in inet`` and ``in inet6``
  with the host's inbound flows (Aerleon has no program condition: a program rule's ports and
  addresses are kept, the program is not).

Terms are merged losslessly, which is what a person writing the policy would do and keeps
Aerleon's input small: flows with the same interfaces, protocol, ports and source set are one
term with the union of their destinations, then terms with the same destination set are one
term with the union of their sources.  A term is a cross product of its sources, destinations
and ports, and every combination in it is a planned flow, so no verdict changes.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ansible_collections.voiceops.firewall.plugins.plugin_utils._windows import windows_hosts


class Names:
    """Aerleon definitions: one NETWORK per distinct address set, one SERVICE per port set."""

    def __init__(self) -> None:
        self.networks: dict[tuple[str, ...], str] = {}
        self.services: dict[tuple[str, tuple[str, ...]], str] = {}

    def network(self, addresses: tuple[str, ...]) -> str:
        if addresses not in self.networks:
            self.networks[addresses] = "NET_%d" % len(self.networks)
        return self.networks[addresses]

    def service(self, protocol: str, ports: tuple[str, ...]) -> str:
        key = (protocol, ports)
        if key not in self.services:
            self.services[key] = "SVC_%d" % len(self.services)
        return self.services[key]

    def definitions(self) -> dict[str, Any]:
        return {
            "networks": {name: {"values": [{"address": a} for a in addrs]} for addrs, name in self.networks.items()},
            "services": {name: [{"port": p, "protocol": proto} for p in ports]
                         for (proto, ports), name in self.services.items()},
        }


def _end_addresses(plan: dict[str, Any], flow: dict[str, Any], side: str,
                   resolution: dict[str, tuple[str, ...]] | None = None) -> tuple[str, ...]:
    """An end's addresses; one known only by name has what ``resolution`` says the name resolves
    to (an Aerleon policy is static: a person writing it resolves the name when writing, as our
    edge's DNS sets do at run time), or its zone's networks without one, a wildcard included."""
    end = flow[side]
    if end["addresses"]:
        return tuple(end["addresses"])
    fqdn = (end.get("fqdn") or "").lower().rstrip(".")
    if resolution is not None and fqdn in resolution:
        return tuple(resolution[fqdn])
    return tuple(plan["zones"][flow["%s_zone" % side]]["networks"])


def _merge(cells: dict[tuple[Any, ...], set[str]]) -> list[tuple[Any, ...]]:
    """``(key..., src) -> dsts`` into ``(key..., srcs, dsts)``, grouping equal destination sets."""
    by_dst: dict[tuple[Any, ...], set[tuple[str, ...]]] = defaultdict(set)
    for key, dsts in cells.items():
        *rest, src = key
        by_dst[(*rest, tuple(sorted(dsts)))].add(src)
    out = []
    for key, srcs in by_dst.items():
        *rest, dsts = key
        out.append((*rest, tuple(sorted(srcs)), dsts))
    return sorted(out, key=repr)


def _term(names: Names, name: str, protocol: str, ports: tuple[str, ...], srcs: Any, dsts: Any,
          iif: str | None, oif: str | None, nft: bool) -> dict[str, Any]:
    term: dict[str, Any] = {"name": name, "action": "accept"}
    src_addrs = tuple(sorted({a for group in srcs for a in group})) if srcs else ()
    dst_addrs = tuple(sorted({a for group in dsts for a in group})) if dsts else ()
    if src_addrs:
        term["source-address"] = names.network(src_addrs)
    if dst_addrs:
        term["destination-address"] = names.network(dst_addrs)
    if iif:
        term["source-interface"] = iif
    if oif:
        term["destination-interface"] = oif
    if protocol == "icmp":
        term["protocol"] = ["icmp", "icmpv6"] if nft else ["icmp"]
    else:
        term["protocol"] = [protocol]
    if ports:
        term["destination-port"] = names.service(protocol, ports)
    return term


def edge_policy(plan: dict[str, Any], edge: str, names: Names,
                resolution: dict[str, tuple[str, ...]] | None = None) -> tuple[dict[str, Any], int]:
    """The edge's flows as an Aerleon nftables policy, and the number of flows in it; ends known only
    by name as ``resolution`` resolves them (``verdicts.resolve_names``) where the edge enforces
    names (``edges.<edge>.fqdn_ends``, default ``name``)."""
    if plan["edges"][edge].get("fqdn_ends", "name") != "name":
        resolution = None
    zones = plan["edges"][edge]["zones"]
    fwd: dict[tuple[Any, ...], set[tuple[str, ...]]] = defaultdict(set)
    inp: dict[tuple[Any, ...], set[tuple[str, ...]]] = defaultdict(set)
    count = 0
    for flow in plan["flows"]:
        sz, dz = flow["src_zone"], flow["dst_zone"]
        ports = tuple(flow["ports"])
        if flow["dst"]["name"] == edge:
            if sz in zones and flow["src"]["name"] != edge:
                for iif in zones[sz]:
                    inp[(iif, flow["protocol"], ports, _end_addresses(plan, flow, "src", resolution))].add(())
                count += 1
            continue
        if flow["src"]["name"] == edge or sz == dz or sz not in zones or dz not in zones:
            continue
        for iif in zones[sz]:
            for oif in zones[dz]:
                fwd[(iif, oif, flow["protocol"], ports, _end_addresses(plan, flow, "src", resolution))].add(
                    _end_addresses(plan, flow, "dst", resolution))
        count += 1
    fwd_terms = []
    for i, (iif, oif, proto, ports, srcs, dsts) in enumerate(_merge(fwd)):
        fwd_terms.append(_term(names, "f%d" % i, proto, ports, srcs, dsts, iif, oif, True))
    inp_terms = []
    for i, (iif, proto, ports, srcs, _dsts) in enumerate(_merge(inp)):
        inp_terms.append(_term(names, "i%d" % i, proto, ports, srcs, (), iif, None, True))
    policy = {"filename": "edge_%s" % edge, "filters": [
        {"header": {"targets": {"nftables": "mixed forward"}, "comment": "voiceops flows forwarded by %s" % edge},
         "terms": fwd_terms},
        {"header": {"targets": {"nftables": "mixed input"}, "comment": "voiceops flows to %s" % edge},
         "terms": inp_terms},
    ]}
    return policy, count


def windows_policy(plan: dict[str, Any], flows_by_host: dict[str, list[dict[str, Any]]],
                   names: Names) -> tuple[list[dict[str, Any]], int]:
    """Per Windows host, its inbound flows as an Aerleon windows_advfirewall policy."""
    policies = []
    terms_total = 0
    for host in windows_hosts(plan):
        cells: dict[tuple[Any, ...], set[tuple[str, ...]]] = defaultdict(set)
        for flow in flows_by_host.get(host, []):
            if flow["dst"]["name"] != host:
                continue
            remote = tuple(flow["src"]["addresses"]) or ("0.0.0.0/0", "::/0")
            cells[(flow["protocol"], tuple(flow["ports"]), remote)].add(tuple(plan["instances"][host]["addresses"]))
        terms = []
        for i, (proto, ports, srcs, dsts) in enumerate(_merge(cells)):
            terms.append(_term(names, "w%d" % i, proto, ports, srcs, dsts, None, None, False))
        if not terms:
            continue
        terms_total += len(terms)
        policies.append({"filename": "win_%s" % host, "filters": [
            {"header": {"targets": {"windows_advfirewall": "in inet"}}, "terms": terms},
            {"header": {"targets": {"windows_advfirewall": "in inet6"}}, "terms": terms},
        ]})
    return policies, terms_total
