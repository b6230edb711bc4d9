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
* elements are made disjoint, then merged where that keeps exactly the same
  (source, destination, port) points: neighbouring networks that together are one
  prefix (``10.50.0.10`` and ``10.50.0.11`` -> ``10.50.0.10/31``) and touching port
  ranges.  A merged element names every flow behind it (the report's ``trace``).
  Addresses are handled as integers (network, prefix length) throughout.
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
from ._ports import PortSet, parse_ports

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


Cidr = tuple[int, int]  # (network address as an integer, prefix length); the IP version is the set's
BITS = {4: 32, 6: 128}


@functools.lru_cache(maxsize=1 << 16)
def _parse_net(value: str) -> tuple[int, Cidr]:
    """``"10.1.0.0/16"`` -> ``(4, (0x0a010000, 16))``, once per distinct string."""
    net = ipaddress.ip_network(value)
    return net.version, (int(net.network_address), net.prefixlen)


@functools.lru_cache(maxsize=1 << 16)
def _nets_of(values: tuple[str, ...]) -> tuple[tuple[int, Cidr], ...]:
    """The parsed networks of an end, once per distinct address list (read-only, shared)."""
    return tuple(_parse_net(v) for v in values)


def _nets(values: list[str]) -> tuple[tuple[int, Cidr], ...]:
    return _nets_of(tuple(values))


@functools.lru_cache(maxsize=1 << 12)
def _ports_of(spec: tuple[Any, ...]) -> PortSet:
    return parse_ports(spec)


@functools.lru_cache(maxsize=1 << 17)
def _fmt_cidr(version: int, net: int, plen: int) -> str:
    """A host as its address, anything broader as ``address/length``."""
    addr = ipaddress.IPv4Address(net) if version == 4 else ipaddress.IPv6Address(net)
    return str(addr) if plen == BITS[version] else "%s/%d" % (addr, plen)


def _end_networks(plan: Mapping[str, Any], flow: Mapping[str, Any], side: str,
                  report: EdgeReport) -> tuple[tuple[int, Cidr], ...]:
    end = flow[side]
    if end["addresses"]:
        return _nets(end["addresses"])
    zone = flow["%s_zone" % side]
    report.zone_wide.append({"flow": flow["id"], "end": side, "name": end["name"], "fqdn": end.get("fqdn") or "",
                             "enforced_as": "zone %s" % zone})
    return _nets(plan["zones"][zone]["networks"])


def _compact_ids(ids: Iterable[str]) -> str:
    """``a.x:s>d`` and ``a.y:s>d`` -> ``a.x,a.y:s>d``, cut to fit an nft comment."""
    ordered = sorted(ids)
    if len(ordered) == 1 and ":" in ordered[0]:  # the common case: one flow, its id as it is
        text = ordered[0].replace('"', "")
        return text if len(text) <= COMMENT_MAX else text[: COMMENT_MAX - 6].rstrip(",;:") + " +more"
    by_pair: dict[str, list[str]] = defaultdict(list)
    for flow_id in ordered:
        entry, _sep, pair = flow_id.partition(":")
        by_pair[pair].append(entry)
    parts = ["%s:%s" % (",".join(entries), pair) for pair, entries in sorted(by_pair.items())]
    text = ";".join(parts).replace('"', "")
    if len(text) > COMMENT_MAX:
        text = text[: COMMENT_MAX - 6].rstrip(",;:") + " +more"
    return text


class _Item:
    """One set element: its addresses (see :data:`Cidr`), a port range (``0-0`` without ports), flow ids."""

    __slots__ = ("addrs", "lo", "hi", "ids")

    def __init__(self, addrs: tuple[Cidr, ...], lo: int, hi: int, ids: set[str]) -> None:
        self.addrs = addrs
        self.lo = lo
        self.hi = hi
        self.ids = ids

    def sort_key(self) -> tuple[Any, ...]:
        return (self.addrs, self.lo, self.hi)

    def __repr__(self) -> str:
        return "_Item(%r, %d, %d, %r)" % (self.addrs, self.lo, self.hi, sorted(self.ids))


def _subnet_of(inner: Cidr, outer: Cidr, bits: int) -> bool:
    """``inner`` lies inside ``outer`` (or is ``outer``)."""
    shift = bits - outer[1]
    return inner[1] >= outer[1] and inner[0] >> shift == outer[0] >> shift


def _exclude(a: Cidr, b: Cidr, bits: int) -> list[Cidr]:
    """``a`` without ``b`` (``b`` strictly inside ``a``), as ``ipaddress``'s ``address_exclude`` orders it."""
    pieces = []
    for plen in range(a[1] + 1, b[1] + 1):
        shift = bits - plen
        pieces.append(((b[0] >> shift << shift) ^ (1 << shift), plen))
    return pieces


class _OverlapIndex:
    """The elements kept so far, indexed by their first address, to find the first one that overlaps.

    Equivalent to scanning them all in order (what :func:`_disjoint` means), without the
    quadratic cost: an element can only overlap kept elements whose first address is a supernet
    of its own (one dictionary look-up per prefix length in use) or a subnet (a range of the
    sorted network numbers of each longer prefix length).
    """

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self.items: list[_Item] = []
        self.by_len: dict[int, dict[int, list[int]]] = {}   # prefix length -> network -> positions
        self.sorted_nets: dict[int, list[int]] = {}         # prefix length -> sorted networks

    def add(self, item: _Item) -> None:
        pos = len(self.items)
        self.items.append(item)
        net, plen = item.addrs[0]
        table = self.by_len.setdefault(plen, {})
        if net not in table:
            table[net] = []
            bisect.insort(self.sorted_nets.setdefault(plen, []), net)
        table[net].append(pos)

    def first_overlap(self, item: _Item) -> int | None:
        bits = self.bits
        (net, plen), rest = item.addrs[0], item.addrs[1:]
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
                    for a, b in zip(rest, kept.addrs[1:]):
                        shift = bits - min(a[1], b[1])
                        if a[0] >> shift != b[0] >> shift:
                            break
                    else:
                        best = pos
                        break
        return best


def _nothing_nested(ordered: list[_Item], bits: int) -> bool:
    """No two elements overlap, checked cheaply for the common case (``ordered`` by sort key).

    True when, in every address, any two distinct networks are disjoint, and elements with
    the same addresses have disjoint port ranges: then there is nothing to fold or split.
    """
    for prev, cur in zip(ordered, ordered[1:]):
        if prev.addrs == cur.addrs and cur.lo <= prev.hi:
            return False
    for dim in range(len(ordered[0].addrs) if ordered else 0):
        end = -1
        for net, plen in sorted({it.addrs[dim] for it in ordered}):
            if net <= end:
                return False
            end = net + (1 << (bits - plen)) - 1
    return True


def _disjoint(items: list[_Item], bits: int) -> list[_Item]:
    """Make elements disjoint, as nft requires of an interval set.

    CIDR networks are either nested or disjoint, so an element whose addresses lie
    inside a broader element's and whose ports overlap gives those ports to the
    broader element (its comment then names both flows; the verdict is the same)
    and keeps the rest.  When two elements are each broader in a different
    address, the narrower address is split off first.  Each element is compared with
    the first kept element it overlaps (see :class:`_OverlapIndex`).
    """
    ordered = sorted(items, key=_Item.sort_key)
    if _nothing_nested(ordered, bits):
        return ordered
    index = _OverlapIndex(bits)
    pending = sorted(items, key=lambda it: (sum(a[1] for a in it.addrs), it.addrs, it.lo, it.hi), reverse=True)
    while pending:
        cur = pending.pop()
        hit = index.first_overlap(cur)
        if hit is None:
            index.add(cur)
            continue
        kept = index.items[hit]
        if all(_subnet_of(a, b, bits) for a, b in zip(cur.addrs, kept.addrs)):
            kept.ids |= cur.ids
            if cur.lo < kept.lo:
                pending.append(_Item(cur.addrs, cur.lo, kept.lo - 1, set(cur.ids)))
            if cur.hi > kept.hi:
                pending.append(_Item(cur.addrs, kept.hi + 1, cur.hi, set(cur.ids)))
            continue
        for dim, (a, b) in enumerate(zip(cur.addrs, kept.addrs)):
            if a != b and _subnet_of(b, a, bits):
                for piece in [*_exclude(a, b, bits), b]:
                    addrs = cur.addrs[:dim] + (piece,) + cur.addrs[dim + 1:]
                    pending.append(_Item(addrs, cur.lo, cur.hi, set(cur.ids)))
                break
    return sorted(index.items, key=_Item.sort_key)


def _collapse(items: list[_Item], dim: int, bits: int) -> list[_Item]:
    """Elements equal but in address ``dim`` whose networks there are siblings become one (their parent).

    The elements are disjoint, so within such a group the networks are disjoint and, sorted,
    two siblings are next to each other: a stack merges them bottom-up into the fewest prefixes,
    as ``ipaddress.collapse_addresses`` does.  The union of the flow ids goes with them.
    """
    groups: dict[tuple[Any, ...], list[_Item]] = defaultdict(list)
    if len(items[0].addrs if items else ()) == 2:
        other = 1 - dim
        for it in items:
            groups[(it.addrs[other], it.lo, it.hi)].append(it)
    else:
        for it in items:
            groups[(it.addrs[:dim], it.addrs[dim + 1:], it.lo, it.hi)].append(it)
    out: list[_Item] = []
    for group in groups.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        group.sort(key=lambda it: it.addrs[dim])
        stack: list[_Item] = []
        for it in group:
            stack.append(it)
            while len(stack) > 1:
                (low_net, plen), (high_net, high_len) = stack[-2].addrs[dim], stack[-1].addrs[dim]
                if plen != high_len or plen == 0 or low_net ^ high_net != 1 << (bits - plen):
                    break
                high, low = stack.pop(), stack.pop()
                addrs = low.addrs[:dim] + ((low_net, plen - 1),) + low.addrs[dim + 1:]
                stack.append(_Item(addrs, low.lo, low.hi, low.ids | high.ids))
        out.extend(stack)
    return out


def _join_ports(items: list[_Item]) -> list[_Item]:
    """Elements with the same addresses and touching port ranges become one."""
    groups: dict[tuple[Cidr, ...], list[_Item]] = defaultdict(list)
    for it in items:
        groups[it.addrs].append(it)
    out: list[_Item] = []
    for group in groups.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        group.sort(key=lambda it: it.lo)
        cur = group[0]
        for it in group[1:]:
            if it.lo == cur.hi + 1:
                cur = _Item(cur.addrs, cur.lo, it.hi, cur.ids | it.ids)
            else:
                out.append(cur)
                cur = it
        out.append(cur)
    return out


def _compact(items: list[_Item], bits: int, with_ports: bool) -> list[_Item]:
    """Fewer elements for exactly the same points: disjoint elements merged while any can be.

    Elements that differ only in one address, where those networks together are a shorter
    prefix, become that prefix; elements that differ only in touching port ranges become one
    range.  Each merged element names every flow of the elements it replaces.  The elements
    stay pairwise disjoint (a merge keeps the points), and the result does not depend on the
    order of ``items``.
    """
    passes: list[Any] = [functools.partial(_collapse, dim=dim, bits=bits) for dim in range(len(items[0].addrs) if items else 0)]
    if with_ports:
        passes.append(_join_ports)
    # The fixed point: a whole cycle of passes that merge nothing.  Each pass is idempotent (on
    # its own output it merges nothing: a group's stack leaves no siblings, a group's sorted
    # ranges no touching ones), so after a pass that merged, the other passes merging nothing
    # is enough; running the one that merged again would only cost time.
    idle = 0  # passes in a row that merged nothing
    merged = 0  # 1 once some pass merged
    step = 0
    while idle < len(passes) - merged:
        before = len(items)
        items = passes[step % len(passes)](items)
        step += 1
        if len(items) == before:
            idle += 1
        else:
            idle, merged = 0, 1
    return sorted(items, key=_Item.sort_key)


def _elements(items: list[_Item], bits: int, with_ports: bool) -> list[_Item]:
    """Disjoint, compacted elements (sorted) for the points of ``items``."""
    return _compact(_disjoint(items, bits), bits, with_ports)


class _SetBuilder:
    """Elements of one set: address tuple -> merged port ranges, each with the flows behind it."""

    def __init__(self, name: str, proto: str, version: int, with_daddr: bool, with_ports: bool) -> None:
        self.name = name
        self.proto = proto
        self.version = version
        self.bits = BITS[version]
        self.with_daddr = with_daddr
        self.with_ports = with_ports
        self.items: dict[tuple[Cidr, ...], list[tuple[int, int, str]]] = defaultdict(list)
        self._elements: list[str] | None = None
        self._keys: list[str] = []
        self._ids: list[list[str]] = []  # each final element's flow ids, sorted
        self.final: list[_Item] = []

    def add(self, addrs: tuple[Cidr, ...], ports: PortSet, flow_id: str) -> None:
        if self.with_ports:
            self.items[addrs].extend([(lo, hi, flow_id) for lo, hi in ports])
        else:
            self.items[addrs].append((0, 0, flow_id))

    def elements(self) -> list[str]:
        if self._elements is None:
            self.final = _elements(self._merged(), self.bits, self.with_ports)
            self._keys = [self._key(item) for item in self.final]
            self._ids = [sorted(item.ids) for item in self.final]
            self._elements = ["%s comment \"%s\"" % (key, _compact_ids(ids)) for key, ids in zip(self._keys, self._ids)]
        return self._elements

    def trace(self) -> list[dict[str, Any]]:
        """Each element (without its comment) and every flow id behind it."""
        self.elements()
        return [{"element": key, "flows": ids} for key, ids in zip(self._keys, self._ids)]

    def _merged(self) -> list[_Item]:
        """One element per address tuple and maximal port range (overlapping and touching ranges merged)."""
        items = []
        for addrs, raw in self.items.items():
            if not self.with_ports:
                items.append(_Item(addrs, 0, 0, {r[2] for r in raw}))
                continue
            raw.sort()
            cur: _Item | None = None
            for lo, hi, flow_id in raw:
                if cur is not None and lo <= cur.hi + 1:
                    cur.hi = max(cur.hi, hi)
                    cur.ids.add(flow_id)
                else:
                    cur = _Item(addrs, lo, hi, {flow_id})
                    items.append(cur)
        return items

    def _key(self, item: _Item) -> str:
        text = " . ".join(_fmt_cidr(self.version, net, plen) for net, plen in item.addrs)
        if self.with_ports:
            text += " . " + (str(item.lo) if item.lo == item.hi else "%d-%d" % (item.lo, item.hi))
        return text

    def type_line(self) -> str:
        kinds = [ADDR_TYPE[self.version]] * (2 if self.with_daddr else 1)
        if self.with_ports:
            kinds.append("inet_service")
        return " . ".join(kinds)


def _match(proto: str, version: int, with_daddr: bool) -> str:
    fam = ADDR_MATCH[version]
    keys = "%s saddr" % fam + (" . %s daddr" % fam if with_daddr else "")
    if proto in L4:
        return "%s . %s dport" % (keys, L4[proto])
    return "meta l4proto %s %s" % (PORTLESS[(proto, version)], keys)


def _builder(builders: dict[tuple[str, int], _SetBuilder], prefix: str, proto: str, version: int,
             with_daddr: bool) -> _SetBuilder:
    key = (proto, version)
    if key not in builders:
        builders[key] = _SetBuilder("%s_%s%d" % (prefix, proto, version), proto, version, with_daddr, proto in L4)
    return builders[key]


def _add_flow(builders: dict[tuple[str, int], _SetBuilder], prefix: str, flow: Mapping[str, Any],
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
