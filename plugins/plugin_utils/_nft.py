# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nftables rule sets for Linux edge firewalls, rendered from the plan, and the checks of an edge (internal API).

One table (``table inet voiceops`` by default) per edge, owned by the collection and
replaced as a whole in one ``nft -f`` transaction; no other table is ever named.

Shape (see docs/edge.md):

* ``forward`` (policy accept) sends only traffic between two interfaces of managed
  zones to ``managed_fwd``; everything else is left to whoever else filters it.
* ``managed_fwd``: replies (``ct state established,related``) accepted, invalid
  dropped, then one verdict map keyed by ``iifname . oifname`` jumps to the chain
  of the zone pair, and everything else is dropped (the default deny).
* a zone pair chain has one rule per protocol and address family.  For tcp and udp it
  looks the connection's ``saddr . daddr`` up in an interval verdict map whose element
  jumps to the *service chain* of the ports allowed between those addresses
  (``svc_tcp_443_5060``: ``tcp dport { 443, 5060 } accept``); a port not there returns, and
  the default deny follows.  For icmp, gre and esp an interval set of ``saddr . daddr``
  accepts.  The maps hold the flows' real host addresses (a whole zone only for a name-only
  endpoint, reported), so the rule count grows with zone pairs and port sets, not with
  hosts x ports, and a host pair is one element whatever its ports (port ranges never reach
  the kernel's concatenated-set lookup, where each range costs several entries).  Every
  element has a counter (new connections between the pair) and a comment with the flow ids.
* elements of one map must not overlap: they go into layers (``x_tcp4``, ``x_tcp4_2``; one rule
  each, the narrowest first) and are compacted, as ``_nft_sets.py`` does; a merged element names
  every flow behind it (the report's ``trace``).
* ``input`` does the same for flows to the edge itself (management SSH among them).
* an end known only by name (``fqdn``, no addresses) is matched, with the edge's
  ``voiceops_edge_fqdn_ends: name`` (the default; the plan's ``edges.<edge>.fqdn_ends``), by a named set per address family (``name_<slug>_4``, ``_6``;
  ``_nft_table.name_set``) that the rendered text declares empty and the edge fills from DNS
  (``roles/edge_firewall/files/voiceops-dns-sets``). Such flows are rules of their own after the
  maps (``ip saddr @name_x_4 ip daddr 10.0.0.5 udp dport 9944 accept``), never elements of the
  layered maps. With ``zone`` (or for a wildcard name, which DNS cannot list) the end's whole
  zone stands in, reported under ``zone_wide``.

The verdict of a rendered table for one packet (explain) is ``_nft_verdict.py``.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import ipaddress
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.voiceops.firewall.plugins.module_utils._nft_table import DEFAULT_TABLE, canonical_name, marked_comment, name_set

from ._errors import Problems
from ._gc import gc_paused
from ._nft_sets import BITS, Cidr, _elements, _fmt_cidr, _Item, _nets
from ._plan_types import (Flow, NftByName, NftElement, NftNameMatch, NftNameRule, NftNameSet, NftNotEnforceable, NftReport,
                          NftZoneWide, Plan)
from ._ports import PortSet, format_ports, parse_ports, union
from ._schema import HOST_VARS, INVALID, PROTO_ORDER, clean, fqdn_name, instance_name, interface_name, passthrough_name, table_name, zone_name
from ._topology import Placement, from_plan as topology_from_plan, hops_of, placements

COMMENT_MAX = 120  # nft allows 128 bytes in an element comment
# Flow ids of a planned estate are ASCII names (the schema); a plan read from a file may hold
# anything, and a quote or a line break must not end an nft comment.
_COMMENT_UNSAFE = re.compile(r'[^\x20-\x7e]|"')
L4 = {"tcp": "tcp", "udp": "udp"}
PORTLESS = {("icmp", 4): "icmp", ("icmp", 6): "ipv6-icmp", ("gre", 4): "gre", ("gre", 6): "gre",
            ("esp", 4): "esp", ("esp", 6): "esp"}
ADDR_TYPE = {4: "ipv4_addr", 6: "ipv6_addr"}
ADDR_MATCH = {4: "ip", 6: "ip6"}
ND_TYPES = "nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert"


@dataclass
class EdgeReport:
    """What the renderer did, for people and tests (written beside the rule set)."""

    edge: str
    table: str
    forward_flows: list[str] = field(default_factory=list)
    input_flows: list[str] = field(default_factory=list)
    zone_wide: list[NftZoneWide] = field(default_factory=list)  # name-only ends enforced as a zone
    by_name: list[NftByName] = field(default_factory=list)  # name-only ends enforced by a set filled from DNS
    name_rules: list[NftNameRule] = field(default_factory=list)  # the rules that match those sets
    name_sets: list[NftNameSet] = field(default_factory=list)  # the sets the edge fills from DNS
    not_enforceable: list[NftNotEnforceable] = field(default_factory=list)
    trace: dict[str, list[NftElement]] = field(default_factory=dict)  # set -> elements -> flow ids
    rules: int = 0
    sets: int = 0  # sets and maps
    elements: int = 0
    services: int = 0  # service chains (one per protocol and port set in use)

    def as_dict(self) -> NftReport:
        return {
            "edge": self.edge,
            "table": self.table,
            "counts": {"rules": self.rules, "sets": self.sets, "set_elements": self.elements, "service_chains": self.services,
                       "forward_flows": len(self.forward_flows), "input_flows": len(self.input_flows)},
            "forward_flows": self.forward_flows,
            "input_flows": self.input_flows,
            "zone_wide": self.zone_wide,
            "by_name": self.by_name,
            "name_rules": self.name_rules,
            "name_sets": self.name_sets,
            "not_enforceable": self.not_enforceable,
            "trace": self.trace,
        }


@functools.lru_cache(maxsize=1 << 12)
def _ports_of(spec: tuple[str, ...]) -> PortSet:
    return parse_ports(spec)


Nets = tuple[tuple[int, Cidr], ...]


def _end_networks(plan: Plan, flow: Mapping[str, Any], side: str,  # Mapping: keys are computed from side
                  report: EdgeReport, fqdn_ends: str) -> Nets | str:
    """The end's networks; or, for an end known only by a name the edge can resolve (with
    ``fqdn_ends: name``), that name (canonical), whose addresses the edge keeps in its sets."""
    end = flow[side]
    if end["addresses"]:
        return _nets(end["addresses"])
    fqdn = end.get("fqdn") or ""
    if fqdn_ends == "name" and fqdn and not fqdn.startswith("*."):  # DNS cannot list a wildcard's names
        # a plan read from a file may hold anything: the name reaches the set's comment and the edge's config
        problems = Problems()
        clean(fqdn_name, fqdn, "flow %s: %s.fqdn" % (flow["id"], side), problems)
        problems.raise_if_any()
        return canonical_name(fqdn)
    zone = flow["%s_zone" % side]
    report.zone_wide.append({"flow": flow["id"], "end": side, "name": end["name"], "fqdn": end.get("fqdn") or "",
                             "enforced_as": "zone %s" % zone})
    return _nets(plan["zones"][zone]["networks"])


def _compact_ids(ids: Iterable[str]) -> str:
    """``a.x:s>d`` and ``a.y:s>d`` -> ``a.x,a.y:s>d``, cut to fit an nft comment."""
    ordered = sorted(ids)
    if len(ordered) == 1 and ":" in ordered[0]:  # the common case: one flow, its id as it is
        text = _COMMENT_UNSAFE.sub("", ordered[0])
        return text if len(text) <= COMMENT_MAX else text[: COMMENT_MAX - 6].rstrip(",;:") + " +more"
    by_pair: dict[str, list[str]] = defaultdict(list)
    for flow_id in ordered:
        entry, _sep, pair = flow_id.partition(":")
        by_pair[pair].append(entry)
    parts = ["%s:%s" % (",".join(entries), pair) for pair, entries in sorted(by_pair.items())]
    text = _COMMENT_UNSAFE.sub("", ";".join(parts))
    if len(text) > COMMENT_MAX:
        text = text[: COMMENT_MAX - 6].rstrip(",;:") + " +more"
    return text


SERVICE_NAME_MAX = 64


@functools.lru_cache(maxsize=1 << 12)
def service_chain(proto: str, ports: PortSet) -> str:
    """The name of the chain that accepts ``ports`` of ``proto``: ``svc_tcp_443_5000-5050``.

    A name that would be longer than 64 characters keeps the first ports that fit and ends in
    ``_more_`` and a digest of all of them, so it stays unique and the same for the same ports.
    """
    tokens = format_ports(ports)
    name = "svc_%s_%s" % (proto, "_".join(tokens))
    if len(name) <= SERVICE_NAME_MAX:
        return name
    tail = "_more_" + hashlib.sha256(name.encode()).hexdigest()[:8]
    head = "svc_%s" % proto
    for token in tokens:
        if len(head) + 1 + len(token) + len(tail) > SERVICE_NAME_MAX:
            break
        head += "_" + token
    return head + tail


class _SetBuilder:
    """Elements of one protocol and IP version between two zones (or to the edge), and their maps or sets.

    Address tuple -> the ports allowed there, with the flows behind them.  With ports (tcp,
    udp) each layer (see :func:`_layers`) becomes a verdict map from the addresses to the
    service chain of their ports; without (icmp, gre, esp) a set of addresses.
    """

    def __init__(self, name: str, proto: str, version: int, with_daddr: bool, with_ports: bool) -> None:
        self.name = name
        self.proto = proto
        self.version = version
        self.bits = BITS[version]
        self.with_daddr = with_daddr
        self.with_ports = with_ports
        self.items: dict[tuple[Cidr, ...], tuple[list[PortSet], set[str]]] = {}
        self._layers: list[list[_Item]] | None = None

    def add(self, addrs: tuple[Cidr, ...], ports: PortSet, flow_id: str) -> None:
        have = self.items.get(addrs)
        if have is None:
            have = self.items[addrs] = ([], set())
        if self.with_ports:
            have[0].append(ports)
        have[1].add(flow_id)

    def layers(self) -> list[list[_Item]]:
        if self._layers is None:
            items = [_Item(addrs, (port_sets[0] if len(port_sets) == 1 else union(*port_sets)) if port_sets else (), ids)
                     for addrs, (port_sets, ids) in self.items.items()]
            self._layers = _elements(items, self.bits, unique=True)
        return self._layers

    def names(self) -> list[str]:
        """One map or set per layer, the broadest first: ``a__b_tcp4``, ``a__b_tcp4_2``, ..."""
        return [self.name if i == 0 else "%s_%d" % (self.name, i + 1) for i in range(len(self.layers()))]

    def render(self, report: EdgeReport, services: dict[str, tuple[str, PortSet]]) -> tuple[list[str], list[str]]:
        """The declarations of the maps or sets and the rules that use them (the narrowest layer first)."""
        decl: list[str] = []
        rules: list[str] = []
        for name, layer in zip(self.names(), self.layers()):
            trace: list[NftElement] = []
            lines = ["\t%s %s {" % ("map" if self.with_ports else "set", name), "\t\ttype %s" % self.type_line(),
                     "\t\tflags interval", "\t\tcounter", "\t\telements = {"]
            for idx, item in enumerate(layer):
                key = " . ".join(_fmt_cidr(self.version, net, plen) for net, plen in item.addrs)
                ids = sorted(item.ids)
                line = "\t\t\t%s comment \"%s\"" % (key, _compact_ids(ids))
                entry: NftElement
                if self.with_ports:
                    chain = service_chain(self.proto, item.ports)
                    services[chain] = (self.proto, item.ports)
                    line += " : jump %s" % chain
                    entry = {"element": key, "service": chain, "ports": format_ports(item.ports), "flows": ids}
                else:
                    entry = {"element": key, "flows": ids}
                trace.append(entry)
                lines.append(line + ("," if idx < len(layer) - 1 else ""))
            lines += ["\t\t}", "\t}"]
            decl += lines
            rules.insert(0, self._rule(name))
            report.trace[name] = trace
            report.sets += 1
            report.elements += len(layer)
            report.rules += 1
        return decl, rules

    def _rule(self, name: str) -> str:
        fam = ADDR_MATCH[self.version]
        keys = "%s saddr" % fam + (" . %s daddr" % fam if self.with_daddr else "")
        if self.with_ports:
            return "meta l4proto %s %s vmap @%s" % (L4[self.proto], keys, name)
        return "meta l4proto %s %s @%s accept" % (PORTLESS[(self.proto, self.version)], keys, name)

    def type_line(self) -> str:
        kinds = " . ".join([ADDR_TYPE[self.version]] * (2 if self.with_daddr else 1))
        return kinds + " : verdict" if self.with_ports else kinds


Match = tuple[str, str] | tuple[str, tuple[str, ...]]  # ("set", name) or ("nets", networks as nft writes them)


def _match(end: Nets | str, version: int) -> Match:
    if isinstance(end, str):
        return ("set", name_set(end, version))
    parsed: list[Any] = [ipaddress.ip_network(_fmt_cidr(v, net, plen)) for v, (net, plen) in end if v == version]  # one version
    return ("nets", tuple(str(n.network_address) if n.prefixlen == n.max_prefixlen else str(n)
                          for n in ipaddress.collapse_addresses(parsed)))


def _match_text(match: Match) -> str:
    if match[0] == "set":
        return "@%s" % match[1]
    nets = match[1]
    return nets[0] if len(nets) == 1 else "{ %s }" % ", ".join(nets)


class _NameRules:
    """The flows of one chain with an end known only by name: one rule per protocol, IP version
    and pair of ends (the name's set, the other end's networks), their ports merged. Kept out of
    the layered maps: the set's elements come from DNS on the edge, not from the plan."""

    def __init__(self, chain: str) -> None:
        self.chain = chain
        self.items: dict[tuple[str, int, Match, Match | None], tuple[list[PortSet], set[str]]] = {}
        self.fqdns: dict[str, str] = {}  # set -> name

    def add(self, flow: Flow, src: Nets | str, dst: Nets | str | None, report: EdgeReport) -> bool:
        proto, flow_id = flow["protocol"], flow["id"]
        versions = {4, 6}
        for end in (src, dst):
            if end is not None and not isinstance(end, str):
                versions &= {v for v, _net in end}
        if not versions:
            report.not_enforceable.append({"flow": flow_id, "why": "source and destination share no IP version"})
            return False
        for version in sorted(versions):
            key = (proto, version, _match(src, version), None if dst is None else _match(dst, version))
            have = self.items.setdefault(key, ([], set()))
            if proto in L4:
                have[0].append(_ports_of(tuple(flow["ports"])))
            have[1].add(flow_id)
        for side, end in (("src", src), ("dst", dst)):
            if isinstance(end, str):
                sets = [name_set(end, v) for v in sorted(versions)]
                self.fqdns.update((s, end) for s in sets)
                named = flow["src"] if side == "src" else flow["dst"]
                report.by_name.append({"flow": flow_id, "end": side, "name": named["name"], "fqdn": end, "sets": sets,
                                       "enforced_as": "name %s (set %s)" % (end, ", ".join(sets))})
        return True

    def render(self, report: EdgeReport) -> list[str]:
        rules = []
        for key in sorted(self.items, key=lambda k: (PROTO_ORDER.get(k[0], 9), k[0], k[1], k[2], k[3] or ("", ""))):
            proto, version, src, dst = key
            port_sets, ids = self.items[key]
            fam = ADDR_MATCH[version]
            parts = ["meta l4proto %s" % (L4[proto] if proto in L4 else PORTLESS[(proto, version)]),
                     "%s saddr %s" % (fam, _match_text(src))]
            entry: NftNameRule = {"chain": self.chain, "protocol": proto, "version": version,  # type: ignore[typeddict-item]  # "rule" below
                                  "src": _report_match(src, self.fqdns), "flows": sorted(ids)}
            if dst is not None:
                parts.append("%s daddr %s" % (fam, _match_text(dst)))
                entry["dst"] = _report_match(dst, self.fqdns)
            if proto in L4:
                spec = format_ports(port_sets[0] if len(port_sets) == 1 else union(*port_sets))
                parts.append("%s dport %s" % (L4[proto], spec[0] if len(spec) == 1 else "{ %s }" % ", ".join(spec)))
                entry["ports"] = spec
            entry["rule"] = " ".join(parts)
            parts.append('counter accept comment "%s"' % _compact_ids(ids))
            rules.append(" ".join(parts))
            report.name_rules.append(entry)
            report.rules += 1
        return rules


def _report_match(match: Match, fqdns: Mapping[str, str]) -> NftNameMatch:
    if match[0] == "set":
        name = str(match[1])
        return {"set": name, "fqdn": fqdns[name]}
    return {"networks": list(match[1])}


def _name_set_lines(name_rules: Iterable[_NameRules], report: EdgeReport) -> list[str]:
    """The declarations of the name sets the rules use: empty; the edge fills them from DNS."""
    fqdns: dict[str, str] = {}
    for rules in name_rules:
        fqdns.update(rules.fqdns)
    lines = []
    for name, fqdn in sorted(fqdns.items()):
        version = int(name[-1])
        comment = "addresses of %s, from DNS on the edge" % fqdn
        lines += ["\tset %s {" % name, "\t\ttype %s" % ADDR_TYPE[version]]
        if len(comment) <= COMMENT_MAX:
            lines.append('\t\tcomment "%s"' % comment)
        lines.append("\t}")
        report.name_sets.append({"set": name, "fqdn": fqdn, "family": version})
        report.sets += 1
    return lines


# The names of the table's sets, maps and chains, in one place (explain reads a report by them).
INPUT_PREFIX = "in"


def _pair_prefix(src_zone: str, dst_zone: str) -> str:
    return "%s__%s" % (src_zone, dst_zone)


def _pair_chain(src_zone: str, dst_zone: str) -> str:
    return "fwd_%s__%s" % (src_zone, dst_zone)


def _set_name(prefix: str, proto: str, version: int) -> str:
    return "%s_%s%d" % (prefix, proto, version)


def _builder(builders: dict[tuple[str, int], _SetBuilder], prefix: str, proto: str, version: int,
             with_daddr: bool) -> _SetBuilder:
    key = (proto, version)
    if key not in builders:
        builders[key] = _SetBuilder(_set_name(prefix, proto, version), proto, version, with_daddr, proto in L4)
    return builders[key]


def _add_flow(builders: dict[tuple[str, int], _SetBuilder], prefix: str, flow: Flow,
              srcs: tuple[tuple[int, Cidr], ...], dsts: tuple[tuple[int, Cidr], ...] | None, report: EdgeReport) -> bool:
    proto, flow_id = flow["protocol"], flow["id"]
    ports = _ports_of(tuple(flow["ports"])) if flow["ports"] else ()
    added = False
    for version, s in srcs:
        if dsts is None:
            _builder(builders, prefix, proto, version, False).add((s,), ports, flow_id)
            added = True
            continue
        builder = None
        for dst_version, d in dsts:
            if dst_version == version:
                if builder is None:
                    builder = _builder(builders, prefix, proto, version, True)
                builder.add((s, d), ports, flow_id)
                added = True
    if not added:
        report.not_enforceable.append({"flow": flow_id, "why": "source and destination share no IP version"})
    return added


def _order(builders: dict[tuple[str, int], _SetBuilder]) -> list[_SetBuilder]:
    return [builders[k] for k in sorted(builders, key=lambda k: (PROTO_ORDER.get(k[0], 9), k[0], k[1]))]


def _service_lines(services: Mapping[str, tuple[str, PortSet]], report: EdgeReport) -> list[str]:
    lines = []
    for name, (proto, ports) in sorted(services.items(), key=lambda kv: (kv[1], kv[0])):  # by protocol, then ports
        spec = format_ports(ports)
        match = spec[0] if len(spec) == 1 else "{ %s }" % ", ".join(spec)
        lines += ["\tchain %s {" % name, "\t\t%s dport %s accept" % (L4[proto], match), "\t}"]
        report.rules += 1
        report.services += 1
    return lines


# Logging what the default deny drops (voiceops_edge_log_drops; docs/edge.md "Logging what the default deny drops").
# The prefix names the zone pair: zone names are at most 31 characters of [a-z0-9_] (the schema), so
# "voiceops drop <src>><dst> " stays within nft's 127-character log prefix and holds nothing to escape.
DROP_LOG_PREFIX = "voiceops drop %s>%s "
DROP_LOG_IN_PREFIX = "voiceops drop-in %s "  # to the edge itself, from a zone


def _log_chain(name: str, prefix: str, rate: str, burst: int) -> list[str]:
    return ["\tchain %s {" % name,
            "\t\tcounter limit rate %s burst %d packets log prefix \"%s\"" % (rate, burst, prefix), "\t}"]


def _verdict_map(name: str, key_type: str, elements: list[str]) -> list[str]:
    return (["\tmap %s {" % name, "\t\ttype %s : verdict" % key_type, "\t\telements = {"]
            + ["\t\t\t%s%s" % (e, "," if i < len(elements) - 1 else "") for i, e in enumerate(elements)]
            + ["\t\t}", "\t}"])


def _drop_log(plan: Plan, edge: str, zones: Mapping[str, list[str]], filter_input: bool,
              report: EdgeReport) -> tuple[list[str], list[str], list[str]]:
    """What logs the default deny's drops: the declarations (maps, one log chain per zone pair) and the
    rule before the forward and the input default deny. A packet jumps by ``iifname . oifname`` to its
    zone pair's chain, which counts it and logs it within that pair's own rate limit, and returns to
    the drop. Nothing when the edge does not log (the default)."""
    setting = plan["edges"][edge].get("log_drops")
    if not setting:
        return [], [], []
    problems = Problems()  # a plan read from a file may hold anything here: through the schema again
    path = "hostvars[%r].voiceops_edge_log_drops" % edge
    checked = clean(HOST_VARS["voiceops_edge_log_drops"], setting, path, problems)
    if checked is not INVALID and not (isinstance(checked, dict) and "rate" in checked and "burst" in checked):
        problems.add(path, setting, "a mapping with rate and burst (the planner writes both)")
    problems.raise_if_any()
    rate, burst = checked["rate"], checked["burst"]
    chains: list[str] = []
    log_rules = 0  # one per log chain
    decl: list[str] = []
    fwd_elements = []
    for sz, dz in ((a, b) for a in sorted(zones) for b in sorted(zones) if a != b):
        chain = "dlog_%s__%s" % (sz, dz)
        chains += _log_chain(chain, DROP_LOG_PREFIX % (sz, dz), rate, burst)
        log_rules += 1
        fwd_elements += ['"%s" . "%s" : jump %s' % (i, o, chain) for i in zones[sz] for o in zones[dz]]
    fwd: list[str] = []
    if fwd_elements:
        decl += _verdict_map("drop_log", "ifname . ifname", fwd_elements)
        fwd = ["\t\tiifname . oifname vmap @drop_log"]
        report.sets += 1
        report.elements += len(fwd_elements)
    inp: list[str] = []
    if filter_input:
        in_elements = []
        for zone in sorted(zones):
            chain = "dlog_in_%s" % zone
            chains += _log_chain(chain, DROP_LOG_IN_PREFIX % zone, rate, burst)
            log_rules += 1
            in_elements += ['"%s" : jump %s' % (i, chain) for i in zones[zone]]
        decl += _verdict_map("drop_log_in", "ifname", in_elements)
        inp = ["\t\tiifname vmap @drop_log_in"]
        report.sets += 1
        report.elements += len(in_elements)
    report.rules += len(fwd) + len(inp) + log_rules  # the vmap rules, and one rule per log chain
    return decl + chains, fwd, inp


def edge_placements(plan: Plan, edge: str) -> Iterator[tuple[Flow, Placement]]:
    """Each flow that ``edge`` enforces, with where (``_topology.placements``): forward between
    the zones it enters and leaves the edge by, or input to the edge itself."""
    topology = topology_from_plan(plan)
    edges = plan.get("edges", {})
    cache: dict[tuple[str, str, str | None, str | None], Placement | None] = {}
    for flow in plan["flows"]:
        enforced_by = flow.get("enforced_by")
        if enforced_by is not None and edge not in enforced_by:
            continue  # the planner's word, from the same placements: every edge need not walk every path
        sz, dz = flow["src_zone"], flow["dst_zone"]
        src, dst = flow["src"]["name"], flow["dst"]["name"]
        key = (sz, dz, src if src in edges else None, dst if dst in edges else None)
        if key not in cache:
            hops = hops_of(plan, topology, sz, dz)
            mine = [p for p in placements(topology, key[2] or "", sz, key[3] or "", dz, hops) if p.edge == edge]
            cache[key] = mine[0] if mine else None
        place = cache[key]
        if place is not None:
            yield flow, place


def unlisted_interfaces(plan: Plan, edge: str, present: Iterable[str]) -> list[str]:
    """Interfaces present on the edge that it neither filters (``voiceops_edge_zones``) nor passes
    on purpose (``voiceops_edge_passthrough``): traffic between them and the managed zones would
    pass unfiltered and in silence. The loopback interface is not forwarded through."""
    data = plan["edges"][edge]
    managed = {i for ifaces in data["zones"].values() for i in ifaces}
    patterns = data.get("passthrough", [])
    return sorted({name for name in present if name != "lo" and name not in managed
                   and not any(fnmatch.fnmatchcase(name, p) for p in patterns)})


def check_edge(plan: Plan, edge: str) -> dict[str, list[str]]:
    """The edge's zones and interfaces, checked: each zone needs its own interface(s)."""
    problems = Problems()
    if edge not in plan.get("edges", {}):
        problems.add("edge", edge, "not an edge firewall of this plan (set voiceops_edge_zones on it); edges: %s"
                     % ", ".join(sorted(plan.get("edges", {}))) or "none")
        problems.raise_if_any()
    # A plan may come from a file rather than from the planner: its names pass the schema here too.
    if clean(instance_name, edge, "edge", problems) is INVALID:
        problems.raise_if_any()
    zones = plan["edges"][edge]["zones"]
    owner: dict[str, str] = {}
    for zone, ifaces in sorted(zones.items()):
        path = "hostvars[%r].voiceops_edge_zones.%s" % (edge, zone)
        clean(zone_name, zone, path, problems)
        if not ifaces:
            problems.add(path, ifaces, "an edge firewall needs the interface(s) of every zone it joins")
        for iface in ifaces:
            if iface in owner:
                problems.add(path, iface, "interface already belongs to zone %s; each zone needs its own interfaces" % owner[iface])
            owner[iface] = zone
            clean(interface_name, iface, path, problems)
    for idx, pattern in enumerate(plan["edges"][edge].get("passthrough", [])):
        path = "hostvars[%r].voiceops_edge_passthrough[%d]" % (edge, idx)
        if clean(passthrough_name, pattern, path, problems) is not INVALID:
            taken = sorted(i for i in owner if fnmatch.fnmatchcase(i, pattern))
            if taken:
                problems.add(path, pattern, "interface(s) %s belong to zones the edge filters" % ", ".join(taken))
    problems.raise_if_any()
    return {z: list(i) for z, i in zones.items()}


def render_edge(plan: Plan, edge: str, table: str = DEFAULT_TABLE, filter_input: bool = True) -> tuple[str, EdgeReport]:
    """Render the nftables table for ``edge``; returns the ``nft -f`` text and a report.

    How an end known only by name is matched is the plan's (``edges.<edge>.fqdn_ends``, from
    ``voiceops_edge_fqdn_ends``): ``name`` (absent) by the sets the edge fills from DNS; ``zone``
    admits that end's whole zone."""
    with gc_paused():
        return _render_edge(plan, edge, table, filter_input)


def fqdn_ends_of(plan: Plan, edge: str) -> str:
    """The edge's ``voiceops_edge_fqdn_ends`` as the plan keeps it (absent: ``name``), checked again:
    a plan read from a file may hold anything."""
    value = plan["edges"][edge].get("fqdn_ends", "name")
    problems = Problems()
    checked = clean(HOST_VARS["voiceops_edge_fqdn_ends"], value, "hostvars[%r].voiceops_edge_fqdn_ends" % edge, problems)
    problems.raise_if_any()
    return str(checked)


def _render_edge(plan: Plan, edge: str, table: str, filter_input: bool) -> tuple[str, EdgeReport]:
    problems = Problems()
    clean(table_name, table, "table", problems)
    problems.raise_if_any()
    zones = check_edge(plan, edge)
    fqdn_ends = fqdn_ends_of(plan, edge)
    report = EdgeReport(edge=edge, table=table)
    fwd: dict[tuple[str, str], dict[tuple[str, int], _SetBuilder]] = defaultdict(dict)
    inp: dict[tuple[str, int], _SetBuilder] = {}
    fwd_names: dict[tuple[str, str], _NameRules] = {}
    in_names = _NameRules("managed_in")
    for flow, place in edge_placements(plan, edge):
        srcs = _end_networks(plan, flow, "src", report, fqdn_ends)
        if place.kind == "input":
            if isinstance(srcs, str):
                added = in_names.add(flow, srcs, None, report)
            else:
                added = _add_flow(inp, INPUT_PREFIX, flow, srcs, None, report)
            if added:
                report.input_flows.append(flow["id"])
            continue
        dsts = _end_networks(plan, flow, "dst", report, fqdn_ends)
        pair = (place.src, place.dst)
        builders = fwd[pair]  # the pair has its chain even when only named ends cross it
        if isinstance(srcs, str) or isinstance(dsts, str):
            if pair not in fwd_names:
                fwd_names[pair] = _NameRules(_pair_chain(*pair))
            added = fwd_names[pair].add(flow, srcs, dsts, report)
        else:
            added = _add_flow(builders, _pair_prefix(*pair), flow, srcs, dsts, report)
        if added:
            report.forward_flows.append(flow["id"])

    if filter_input and not any(fid.startswith("management.") for fid in report.input_flows):
        problems = Problems()
        problems.add("voiceops_management_networks", list(plan.get("management_networks", [])),
                     "no management flow reaches edge %s through the zones it joins; its input "
                     "filter would cut SSH. Set voiceops_management_networks (in a zone the edge joins) or turn the input "
                     "filter off (edge_firewall_filter_input: false)" % edge)
        problems.raise_if_any()

    lines = [
        "# Generated by voiceops.firewall for %s. Do not edit: every apply replaces this table." % edge,
        "# Forward: %d flows in %d zone pairs; input: %d flows." % (len(report.forward_flows), len(fwd), len(report.input_flows)),
        "table inet %s" % table,
        "delete table inet %s" % table,
        "table inet %s {" % table,
        "\tcomment \"%s\"" % marked_comment("edge " + edge),
    ]
    all_ifaces = sorted({i for ifaces in zones.values() for i in ifaces})
    lines += ["\tset managed_ifs {", "\t\ttype ifname",
              "\t\telements = { %s }" % ", ".join('"%s"' % i for i in all_ifaces), "\t}"]
    report.sets += 1
    report.elements += len(all_ifaces)

    pair_chains: list[list[str]] = []
    services: dict[str, tuple[str, PortSet]] = {}
    vmap: list[str] = []
    for ifaces in (zones[z] for z in sorted(zones)):  # inside one zone, across its own interfaces: trusted
        for a in ifaces:
            for b in ifaces:
                if a != b:
                    vmap.append('"%s" . "%s" : accept' % (a, b))
    for (sz, dz) in sorted(fwd):
        chain = _pair_chain(sz, dz)
        for a in zones[sz]:
            for b in zones[dz]:
                vmap.append('"%s" . "%s" : jump %s' % (a, b, chain))
        body = ["\tchain %s {" % chain]
        for builder in _order(fwd[(sz, dz)]):
            decl, rules = builder.render(report, services)
            lines += decl
            body += ["\t\t%s" % rule for rule in rules]
        if (sz, dz) in fwd_names:
            body += ["\t\t%s" % rule for rule in fwd_names[(sz, dz)].render(report)]
        body.append("\t}")
        pair_chains.append(body)

    if vmap:
        lines += ["\tmap zone_pairs {", "\t\ttype ifname . ifname : verdict", "\t\telements = {"]
        lines += ["\t\t\t%s%s" % (v, "," if i < len(vmap) - 1 else "") for i, v in enumerate(vmap)]
        lines += ["\t\t}", "\t}"]
        report.sets += 1
        report.elements += len(vmap)

    in_rules: list[str] = []
    for builder in _order(inp) if filter_input else []:  # without the input filter, nothing uses them
        decl, rules = builder.render(report, services)
        lines += decl
        in_rules += ["\t\t%s" % rule for rule in rules]
    if filter_input:
        in_rules += ["\t\t%s" % rule for rule in in_names.render(report)]
    lines += _name_set_lines([fwd_names[pair] for pair in sorted(fwd_names)] + ([in_names] if filter_input else []), report)

    lines += _service_lines(services, report)
    for body in pair_chains:
        lines += body

    log_decl, log_fwd, log_in = _drop_log(plan, edge, zones, filter_input, report)
    lines += log_decl
    lines += [
        "\tchain forward {",
        "\t\ttype filter hook forward priority filter; policy accept;",
        "\t\tiifname @managed_ifs oifname @managed_ifs jump managed_fwd",
    ]
    for iface in plan["edges"][edge].get("passthrough", []):  # declared: passed on purpose, and counted
        lines += ['\t\tiifname @managed_ifs oifname "%s" counter accept comment "passthrough (voiceops_edge_passthrough)"' % iface,
                  '\t\tiifname "%s" oifname @managed_ifs counter accept comment "passthrough (voiceops_edge_passthrough)"' % iface]
        report.rules += 2
    lines += [
        "\t}",
        "\tchain managed_fwd {",
        "\t\tct state established,related counter accept comment \"replies and related\"",
        "\t\tct state invalid counter drop comment \"invalid\"",
    ]
    report.rules += 3
    if vmap:
        lines.append("\t\tiifname . oifname vmap @zone_pairs")
        report.rules += 1
    lines += log_fwd
    lines += ["\t\tcounter drop comment \"voiceops default deny between managed zones\"", "\t}"]
    report.rules += 1

    if filter_input:
        lines += [
            "\tchain input {",
            "\t\ttype filter hook input priority filter; policy accept;",
            "\t\tiifname @managed_ifs jump managed_in",
            "\t}",
            "\tchain managed_in {",
            "\t\tct state established,related counter accept comment \"replies and related\"",
            "\t\tct state invalid counter drop comment \"invalid\"",
            "\t\ticmpv6 type { %s } accept comment \"IPv6 neighbour discovery\"" % ND_TYPES,
        ]
        report.rules += 4
        lines += in_rules
        lines += log_in
        lines += ["\t\tcounter drop comment \"voiceops default deny to the edge itself\"", "\t}"]
        report.rules += 1
    lines.append("}")
    report.forward_flows.sort()
    report.input_flows.sort()
    return "\n".join(lines) + "\n", report
