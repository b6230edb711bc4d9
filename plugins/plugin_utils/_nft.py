# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nftables rule sets for Linux edge firewalls, rendered from the plan (internal API).

One table (``table inet voiceops`` by default) per edge, owned by the collection and
replaced as a whole in one ``nft -f`` transaction; no other table is ever named.

Shape (see docs/edge.md):

* ``forward`` (policy accept) sends only traffic between two interfaces of managed
  zones to ``managed_fwd``; everything else is left to whoever else filters it.
* ``managed_fwd``: replies (``ct state established,related``) accepted, invalid
  dropped, then one verdict map keyed by ``iifname . oifname`` jumps to the chain
  of the zone pair, and everything else is dropped (the default deny).
* a zone pair chain has one rule per protocol and address family, matching a
  concatenated interval set ``saddr . daddr . dport``.  The sets hold the flows'
  real host addresses (a whole zone only for a name-only endpoint, reported), so
  the rule count grows with zone pairs, not with hosts x ports.  Every element
  has a counter and a comment with the flow ids behind it.
* ``input`` does the same for flows to the edge itself (management SSH among them).
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._errors import Problems
from ._estate import gc_paused
from ._ports import PortSet, merge, parse_ports

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_TABLE = "voiceops"
COMMENT_MAX = 120  # nft allows 128 bytes in an element comment
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
    zone_wide: list[dict[str, str]] = field(default_factory=list)  # name-only ends enforced as a zone
    not_enforceable: list[dict[str, str]] = field(default_factory=list)
    trace: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # set -> elements -> flow ids
    rules: int = 0
    sets: int = 0
    elements: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "edge": self.edge,
            "table": self.table,
            "counts": {"rules": self.rules, "sets": self.sets, "set_elements": self.elements,
                       "forward_flows": len(self.forward_flows), "input_flows": len(self.input_flows)},
            "forward_flows": self.forward_flows,
            "input_flows": self.input_flows,
            "zone_wide": self.zone_wide,
            "not_enforceable": self.not_enforceable,
            "trace": self.trace,
        }


@functools.lru_cache(maxsize=1 << 16)
def _parse_net(value: str) -> Network:
    return ipaddress.ip_network(value)


def _nets(values: list[str]) -> list[Network]:
    return [_parse_net(v) for v in values]


def _end_networks(plan: Mapping[str, Any], flow: Mapping[str, Any], side: str, report: EdgeReport) -> list[Network]:
    end = flow[side]
    if end["addresses"]:
        return _nets(end["addresses"])
    zone = flow["%s_zone" % side]
    report.zone_wide.append({"flow": flow["id"], "end": side, "name": end["name"], "fqdn": end.get("fqdn") or "",
                             "enforced_as": "zone %s" % zone})
    return _nets(plan["zones"][zone]["networks"])


def _compact_ids(ids: set[str]) -> str:
    """``a.x:s>d`` and ``a.y:s>d`` -> ``a.x,a.y:s>d``, cut to fit an nft comment."""
    by_pair: dict[str, list[str]] = defaultdict(list)
    for flow_id in sorted(ids):
        entry, _sep, pair = flow_id.partition(":")
        by_pair[pair].append(entry)
    parts = ["%s:%s" % (",".join(entries), pair) for pair, entries in sorted(by_pair.items())]
    text = ";".join(parts).replace('"', "")
    if len(text) > COMMENT_MAX:
        text = text[: COMMENT_MAX - 6].rstrip(",;:") + " +more"
    return text


@dataclass
class _Item:
    addrs: tuple[Network, ...]
    lo: int
    hi: int
    ids: set[str]

    def sort_key(self) -> tuple[Any, ...]:
        return (tuple((n.version, int(n.network_address), n.prefixlen) for n in self.addrs), self.lo, self.hi)


def _cidr(net: Network) -> tuple[int, int, int]:
    """``(network as an integer, prefix length, address bits)``."""
    return int(net.network_address), net.prefixlen, net.max_prefixlen


def _cidrs_overlap(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    """``a.overlaps(b)`` for two networks of one IP version: CIDR networks nest or are disjoint."""
    shift = a[2] - min(a[1], b[1])
    return a[0] >> shift == b[0] >> shift


class _OverlapIndex:
    """The elements kept so far, indexed by their first address, to find the first one that overlaps.

    Equivalent to scanning them all in order (what :func:`_disjoint` means), without the
    quadratic cost: an element can only overlap kept elements whose first address is a supernet
    of its own (one dictionary look-up per prefix length in use) or a subnet (a range of the
    sorted network numbers of each longer prefix length).
    """

    def __init__(self) -> None:
        self.items: list[_Item] = []
        self.keys: list[tuple[tuple[int, int, int], ...]] = []
        self.by_len: dict[int, dict[int, list[int]]] = {}   # prefix length -> network -> positions
        self.sorted_nets: dict[int, list[int]] = {}         # prefix length -> sorted networks

    def add(self, item: _Item, keys: tuple[tuple[int, int, int], ...]) -> None:
        pos = len(self.items)
        self.items.append(item)
        self.keys.append(keys)
        net, plen, _bits = keys[0]
        table = self.by_len.setdefault(plen, {})
        if net not in table:
            table[net] = []
            bisect.insort(self.sorted_nets.setdefault(plen, []), net)
        table[net].append(pos)

    def first_overlap(self, item: _Item, keys: tuple[tuple[int, int, int], ...]) -> int | None:
        net, plen, bits = keys[0]
        best: int | None = None
        for length, table in self.by_len.items():
            if length <= plen:
                shift = bits - length
                found: Iterable[list[int]] = [table.get(net >> shift << shift, [])]
            else:
                nets = self.sorted_nets[length]
                last = net + (1 << (bits - plen)) - 1
                found = [table[n] for n in nets[bisect.bisect_left(nets, net):bisect.bisect_right(nets, last)]]
            for positions in found:
                for pos in positions:
                    if best is not None and pos >= best:
                        break
                    kept = self.items[pos]
                    if item.hi < kept.lo or item.lo > kept.hi:
                        continue
                    if all(_cidrs_overlap(a, b) for a, b in zip(keys[1:], self.keys[pos][1:])):
                        best = pos
                        break
        return best


def _disjoint(items: list[_Item]) -> list[_Item]:
    """Make elements disjoint, as nft requires of an interval set.

    CIDR networks are either nested or disjoint, so an element whose addresses lie
    inside a broader element's and whose ports overlap gives those ports to the
    broader element (its comment then names both flows; the verdict is the same)
    and keeps the rest.  When two elements are each broader in a different
    address, the narrower address is split off first.  Each element is compared with
    the first kept element it overlaps (see :class:`_OverlapIndex`).
    """
    index = _OverlapIndex()
    pending = sorted(items, key=lambda it: (sum(n.prefixlen for n in it.addrs), it.sort_key()), reverse=True)
    while pending:
        cur = pending.pop()
        keys = tuple(_cidr(n) for n in cur.addrs)
        hit = index.first_overlap(cur, keys)
        if hit is None:
            index.add(cur, keys)
            continue
        kept = index.items[hit]
        if all(a.subnet_of(b) for a, b in zip(cur.addrs, kept.addrs)):  # type: ignore[arg-type]
            kept.ids |= cur.ids
            if cur.lo < kept.lo:
                pending.append(_Item(cur.addrs, cur.lo, kept.lo - 1, set(cur.ids)))
            if cur.hi > kept.hi:
                pending.append(_Item(cur.addrs, kept.hi + 1, cur.hi, set(cur.ids)))
            continue
        for dim, (a, b) in enumerate(zip(cur.addrs, kept.addrs)):
            if a != b and b.subnet_of(a):  # type: ignore[arg-type]
                for piece in [*a.address_exclude(b), b]:  # type: ignore[arg-type]
                    addrs = cur.addrs[:dim] + (piece,) + cur.addrs[dim + 1:]
                    pending.append(_Item(addrs, cur.lo, cur.hi, set(cur.ids)))
                break
    return sorted(index.items, key=_Item.sort_key)


class _SetBuilder:
    """Elements of one set: address tuple -> merged port ranges, each with the flows behind it."""

    def __init__(self, name: str, proto: str, version: int, with_daddr: bool, with_ports: bool) -> None:
        self.name = name
        self.proto = proto
        self.version = version
        self.with_daddr = with_daddr
        self.with_ports = with_ports
        self.items: dict[tuple[Network, ...], list[tuple[int, int, str]]] = defaultdict(list)
        self._elements: list[str] | None = None
        self._keys: list[str] = []
        self.final: list[_Item] = []

    def add(self, addrs: tuple[Network, ...], ports: PortSet, flow_id: str) -> None:
        if self.with_ports:
            for lo, hi in ports:
                self.items[addrs].append((lo, hi, flow_id))
        else:
            self.items[addrs].append((0, 0, flow_id))

    def elements(self) -> list[str]:
        if self._elements is None:
            self.final = _disjoint(self._merged())
            self._elements = [self._format(item) for item in self.final]
            self._keys = [element.split(" comment ", 1)[0] for element in self._elements]
        return self._elements

    def trace(self) -> list[dict[str, Any]]:
        """Each element (without its comment) and every flow id behind it."""
        self.elements()
        return [{"element": key, "flows": sorted(item.ids)} for key, item in zip(self._keys, self.final)]

    def _merged(self) -> list[_Item]:
        items = []
        for addrs, raw in self.items.items():
            if not self.with_ports:
                items.append(_Item(addrs, 0, 0, {r[2] for r in raw}))
                continue
            for lo, hi in merge((r[0], r[1]) for r in raw):
                items.append(_Item(addrs, lo, hi, {r[2] for r in raw if r[0] <= hi and r[1] >= lo}))
        return items

    def _format(self, item: _Item) -> str:
        text = " . ".join(_fmt_net(n) for n in item.addrs)
        if self.with_ports:
            text += " . " + (str(item.lo) if item.lo == item.hi else "%d-%d" % (item.lo, item.hi))
        return "%s comment \"%s\"" % (text, _compact_ids(item.ids))

    def type_line(self) -> str:
        kinds = [ADDR_TYPE[self.version]] * (2 if self.with_daddr else 1)
        if self.with_ports:
            kinds.append("inet_service")
        return " . ".join(kinds)


@functools.lru_cache(maxsize=1 << 16)
def _fmt_net(net: Network) -> str:
    return str(net.network_address) if net.num_addresses == 1 and net.prefixlen == net.max_prefixlen else str(net)


def _match(proto: str, version: int, with_daddr: bool) -> str:
    fam = ADDR_MATCH[version]
    keys = "%s saddr" % fam + (" . %s daddr" % fam if with_daddr else "")
    if proto in L4:
        return "%s . %s dport" % (keys, L4[proto])
    return "meta l4proto %s %s" % (PORTLESS[(proto, version)], keys)


def _add_flow(builders: dict[tuple[str, int], _SetBuilder], prefix: str, flow: Mapping[str, Any],
              srcs: list[Network], dsts: list[Network] | None, report: EdgeReport) -> bool:
    proto = flow["protocol"]
    ports = parse_ports(flow["ports"]) if flow["ports"] else ()
    added = False
    for s in srcs:
        for d in dsts if dsts is not None else [None]:
            if d is not None and d.version != s.version:
                continue
            key = (proto, s.version)
            if key not in builders:
                name = "%s_%s%d" % (prefix, proto, s.version)
                builders[key] = _SetBuilder(name, proto, s.version, dsts is not None, proto in L4)
            builders[key].add((s, d) if d is not None else (s,), ports, flow["id"])
            added = True
    if not added:
        report.not_enforceable.append({"flow": flow["id"], "why": "source and destination share no IP version"})
    return added


def _render_set(builder: _SetBuilder, report: EdgeReport) -> list[str]:
    elements = builder.elements()
    report.trace[builder.name] = builder.trace()
    report.sets += 1
    report.elements += len(elements)
    lines = ["\tset %s {" % builder.name, "\t\ttype %s" % builder.type_line(), "\t\tflags interval", "\t\tcounter"]
    lines.append("\t\telements = {")
    for idx, element in enumerate(elements):
        lines.append("\t\t\t%s%s" % (element, "," if idx < len(elements) - 1 else ""))
    lines.append("\t\t}")
    lines.append("\t}")
    return lines


def _order(builders: dict[tuple[str, int], _SetBuilder]) -> list[_SetBuilder]:
    rank = {"tcp": 0, "udp": 1, "icmp": 2, "gre": 3, "esp": 4}
    return [builders[k] for k in sorted(builders, key=lambda k: (rank.get(k[0], 9), k[0], k[1]))]


def check_edge(plan: Mapping[str, Any], edge: str) -> dict[str, list[str]]:
    """The edge's zones and interfaces, checked: each zone needs its own interface(s)."""
    problems = Problems()
    if edge not in plan.get("edges", {}):
        problems.add("edge", edge, "not an edge firewall of this plan (set voiceops_edge_zones on it); edges: %s"
                     % ", ".join(sorted(plan.get("edges", {}))) or "none")
        problems.raise_if_any()
    zones = plan["edges"][edge]["zones"]
    owner: dict[str, str] = {}
    for zone, ifaces in sorted(zones.items()):
        path = "hostvars[%r].voiceops_edge_zones.%s" % (edge, zone)
        if not ifaces:
            problems.add(path, ifaces, "an edge firewall needs the interface(s) of every zone it joins")
        for iface in ifaces:
            if iface in owner:
                problems.add(path, iface, "interface already belongs to zone %s; each zone needs its own interfaces" % owner[iface])
            owner[iface] = zone
            if not iface or len(iface) > 15 or any(c in iface for c in " \"'\\/"):
                problems.add(path, iface, "not a Linux interface name")
    problems.raise_if_any()
    return {z: list(i) for z, i in zones.items()}


def render_edge(plan: Mapping[str, Any], edge: str, table: str = DEFAULT_TABLE,
                filter_input: bool = True) -> tuple[str, EdgeReport]:
    """Render the nftables table for ``edge``; returns the ``nft -f`` text and a report."""
    with gc_paused():
        return _render_edge(plan, edge, table, filter_input)


def _render_edge(plan: Mapping[str, Any], edge: str, table: str, filter_input: bool) -> tuple[str, EdgeReport]:
    zones = check_edge(plan, edge)
    report = EdgeReport(edge=edge, table=table)
    fwd: dict[tuple[str, str], dict[tuple[str, int], _SetBuilder]] = defaultdict(dict)
    inp: dict[tuple[str, int], _SetBuilder] = {}
    for flow in plan["flows"]:
        sz, dz = flow["src_zone"], flow["dst_zone"]
        if flow["dst"]["name"] == edge:
            if sz in zones and flow["src"]["name"] != edge:
                if _add_flow(inp, "in", flow, _end_networks(plan, flow, "src", report), None, report):
                    report.input_flows.append(flow["id"])
            continue
        if flow["src"]["name"] == edge or sz == dz or sz not in zones or dz not in zones:
            continue
        srcs = _end_networks(plan, flow, "src", report)
        dsts = _end_networks(plan, flow, "dst", report)
        if _add_flow(fwd[(sz, dz)], "%s__%s" % (sz, dz), flow, srcs, dsts, report):
            report.forward_flows.append(flow["id"])

    if filter_input and not any(fid.startswith("management.") for fid in report.input_flows):
        problems = Problems()
        problems.add("voiceops_management_networks", [], "no management flow reaches edge %s through the zones it joins; its input "
                     "filter would cut SSH. Set voiceops_management_networks (in a zone the edge joins) or turn the input "
                     "filter off (edge_firewall_filter_input: false)" % edge)
        problems.raise_if_any()

    lines = [
        "# Generated by voiceops.firewall for %s. Do not edit: every apply replaces this table." % edge,
        "# Forward: %d flows in %d zone pairs; input: %d flows." % (len(report.forward_flows), len(fwd), len(report.input_flows)),
        "table inet %s" % table,
        "delete table inet %s" % table,
        "table inet %s {" % table,
        "\tcomment \"voiceops.firewall edge %s\"" % edge,
    ]
    all_ifaces = sorted({i for ifaces in zones.values() for i in ifaces})
    lines += ["\tset managed_ifs {", "\t\ttype ifname",
              "\t\telements = { %s }" % ", ".join('"%s"' % i for i in all_ifaces), "\t}"]
    report.sets += 1
    report.elements += len(all_ifaces)

    pair_chains: list[list[str]] = []
    vmap: list[str] = []
    for zone, ifaces in sorted(zones.items()):  # inside one zone, across its own interfaces: trusted
        for a in ifaces:
            for b in ifaces:
                if a != b:
                    vmap.append('"%s" . "%s" : accept' % (a, b))
    for (sz, dz) in sorted(fwd):
        chain = "fwd_%s__%s" % (sz, dz)
        for a in zones[sz]:
            for b in zones[dz]:
                vmap.append('"%s" . "%s" : jump %s' % (a, b, chain))
        body = ["\tchain %s {" % chain]
        for builder in _order(fwd[(sz, dz)]):
            lines += _render_set(builder, report)
            body.append("\t\t%s @%s accept" % (_match(builder.proto, builder.version, True), builder.name))
            report.rules += 1
        body.append("\t}")
        pair_chains.append(body)

    if vmap:
        lines += ["\tmap zone_pairs {", "\t\ttype ifname . ifname : verdict", "\t\telements = {"]
        lines += ["\t\t\t%s%s" % (v, "," if i < len(vmap) - 1 else "") for i, v in enumerate(vmap)]
        lines += ["\t\t}", "\t}"]
        report.sets += 1
        report.elements += len(vmap)

    in_sets = _order(inp)
    for builder in in_sets:
        lines += _render_set(builder, report)

    for body in pair_chains:
        lines += body

    lines += [
        "\tchain forward {",
        "\t\ttype filter hook forward priority filter; policy accept;",
        "\t\tiifname @managed_ifs oifname @managed_ifs jump managed_fwd",
        "\t}",
        "\tchain managed_fwd {",
        "\t\tct state established,related counter accept comment \"replies and related\"",
        "\t\tct state invalid counter drop comment \"invalid\"",
    ]
    report.rules += 3
    if vmap:
        lines.append("\t\tiifname . oifname vmap @zone_pairs")
        report.rules += 1
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
        for builder in in_sets:
            lines.append("\t\t%s @%s accept" % (_match(builder.proto, builder.version, False), builder.name))
            report.rules += 1
        lines += ["\t\tcounter drop comment \"voiceops default deny to the edge itself\"", "\t}"]
        report.rules += 1
    lines.append("}")
    report.forward_flows.sort()
    report.input_flows.sort()
    return "\n".join(lines) + "\n", report
