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
* elements of one map must not overlap.  Overlapping ones go into layers (``x_tcp4``,
  ``x_tcp4_2``; one rule each, the narrowest first), unless the broader element already
  allows the narrower one's ports: then it takes its flow ids.  Then neighbouring networks
  with the same ports that together are one prefix are merged (``10.50.0.10`` and
  ``10.50.0.11`` -> ``10.50.0.10/31``).  A merged element names every flow behind it (the
  report's ``trace``).  Addresses are handled as integers (network, prefix length) throughout.
* ``input`` does the same for flows to the edge itself (management SSH among them).
"""

from __future__ import annotations

import bisect
import fnmatch
import functools
import hashlib
import ipaddress
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.voiceops.firewall.plugins.module_utils._nft_table import DEFAULT_TABLE, marked_comment

from ._errors import Problems
from ._gc import gc_paused
from ._ports import PortSet, contains, format_ports, is_subset, parse_ports, union
from ._schema import INVALID, clean, instance_name, interface_name, passthrough_name, table_name, zone_name
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
    zone_wide: list[dict[str, str]] = field(default_factory=list)  # name-only ends enforced as a zone
    not_enforceable: list[dict[str, str]] = field(default_factory=list)
    trace: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # set -> elements -> flow ids
    rules: int = 0
    sets: int = 0  # sets and maps
    elements: int = 0
    services: int = 0  # service chains (one per protocol and port set in use)

    def as_dict(self) -> dict[str, Any]:
        return {
            "edge": self.edge,
            "table": self.table,
            "counts": {"rules": self.rules, "sets": self.sets, "set_elements": self.elements, "service_chains": self.services,
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
    """``"10.1.0.0/16"`` -> ``(4, (0x0a010000, 16))``, once per distinct string.

    Plain IPv4 (``a.b.c.d`` or ``a.b.c.d/n``, the bulk of an estate) is read directly; anything
    else, and anything the direct reading would not accept exactly as ``ipaddress.ip_network``
    does (leading zeros, a netmask, host bits set), goes to ``ipaddress``, which also raises its
    errors.
    """
    addr, _sep, plen_text = value.partition("/")
    octets = addr.split(".")
    if len(octets) == 4 and value.isascii() and (plen_text.isdigit() and len(plen_text) <= 2 if _sep else True):
        plen = int(plen_text) if plen_text else 32
        if plen <= 32 and all(o.isdigit() and len(o) <= 3 and (o == "0" or o[0] != "0") for o in octets):
            a, b, c, d = (int(o) for o in octets)
            if a <= 255 and b <= 255 and c <= 255 and d <= 255:
                number = (a << 24) | (b << 16) | (c << 8) | d
                if not number & ((1 << (32 - plen)) - 1):
                    return 4, (number, plen)
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
    if version == 4:
        text = "%d.%d.%d.%d" % (net >> 24, (net >> 16) & 255, (net >> 8) & 255, net & 255)
    else:
        text = str(ipaddress.IPv6Address(net))
    return text if plen == BITS[version] else "%s/%d" % (text, plen)


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


class _Item:
    """One element: its addresses (see :data:`Cidr`), the ports allowed there (``()`` without ports), flow ids."""

    __slots__ = ("addrs", "ports", "ids")

    def __init__(self, addrs: tuple[Cidr, ...], ports: PortSet, ids: set[str]) -> None:
        self.addrs = addrs
        self.ports = ports
        self.ids = ids

    def sort_key(self) -> tuple[Any, ...]:
        return (self.addrs, self.ports)

    def __repr__(self) -> str:
        return "_Item(%r, %r, %r)" % (self.addrs, self.ports, sorted(self.ids))


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

    Equivalent to scanning them all in order, without the quadratic cost: an element can only
    overlap kept elements whose first address is a supernet of its own (one dictionary look-up
    per prefix length in use) or a subnet (a range of the sorted network numbers of each longer
    prefix length).
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
                    for a, b in zip(rest, kept.addrs[1:]):
                        shift = bits - min(a[1], b[1])
                        if a[0] >> shift != b[0] >> shift:
                            break
                    else:
                        best = pos
                        break
        return best


def _nothing_nested(ordered: list[_Item], bits: int) -> bool:
    """No two elements overlap, checked cheaply for the common case (distinct address tuples).

    True when, in every address, any two distinct networks are disjoint: then two elements
    can only overlap if their address tuples are equal, and they are not.
    """
    for dim in range(len(ordered[0].addrs) if ordered else 0):
        end = -1
        for net, plen in sorted({it.addrs[dim] for it in ordered}):
            if net <= end:
                return False
            end = net + (1 << (bits - plen)) - 1
    return True


def _by_addrs(items: Iterable[_Item]) -> list[_Item]:
    """One element per address tuple: the union of the ports and the flow ids of its equals."""
    merged: dict[tuple[Cidr, ...], _Item] = {}
    for it in items:
        have = merged.get(it.addrs)
        if have is None:
            merged[it.addrs] = _Item(it.addrs, it.ports, set(it.ids))
        else:
            have.ports = union(have.ports, it.ports)
            have.ids |= it.ids
    return sorted(merged.values(), key=_Item.sort_key)


def _layers(items: list[_Item], bits: int, unique: bool = False) -> list[list[_Item]]:
    """Elements in layers, each layer's elements disjoint in their addresses, as nft requires of one map or set.

    Each layer is one interval map (or set) and one rule; a connection is accepted when any
    layer accepts it, so elements that overlap may simply sit in different layers, and none is
    split.  Broadest first, an element goes into the first layer it does not overlap, unless
    an element there covers its addresses and already allows its ports: then that element takes
    its flow ids instead (the verdict is the same).  Equal address tuples are one element with
    the union of their ports.  Usually everything fits in one layer; an estate where a whole
    zone stands in for a name (``0.0.0.0/0``) and some of its hosts are also named gets two.
    """
    ordered = sorted(items, key=_Item.sort_key) if unique else _by_addrs(items)
    if _nothing_nested(ordered, bits):
        return [ordered] if ordered else []
    layers: list[_OverlapIndex] = []
    for cur in sorted(ordered, key=lambda it: (sum(a[1] for a in it.addrs), it.addrs)):
        for layer in layers:
            hit = layer.first_overlap(cur)
            if hit is None:
                layer.add(cur)
                break
            kept = layer.items[hit]
            if is_subset(cur.ports, kept.ports) and all(_subnet_of(a, b, bits) for a, b in zip(cur.addrs, kept.addrs)):
                kept.ids |= cur.ids
                break
        else:
            layer = _OverlapIndex(bits)
            layer.add(cur)
            layers.append(layer)
    return [sorted(layer.items, key=_Item.sort_key) for layer in layers]


def _collapse(items: list[_Item], dim: int, bits: int) -> list[_Item]:
    """Elements equal but in address ``dim`` whose networks there are siblings become one (their parent).

    The elements are disjoint, so within such a group the networks are disjoint and, sorted,
    two siblings are next to each other: a stack merges them bottom-up into the fewest prefixes,
    as ``ipaddress.collapse_addresses`` does.  The union of the flow ids goes with them.
    """
    groups: dict[tuple[Any, ...], list[_Item]] = defaultdict(list)
    width = len(items[0].addrs) if items else 0
    if width == 1:
        for it in items:
            groups[it.ports].append(it)
    elif width == 2:
        other = 1 - dim
        for it in items:
            groups[(it.addrs[other], it.ports)].append(it)
    else:
        for it in items:
            groups[(it.addrs[:dim], it.addrs[dim + 1:], it.ports)].append(it)
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
                stack.append(_Item(addrs, low.ports, low.ids | high.ids))
        out.extend(stack)
    return out


def _compact(items: list[_Item], bits: int) -> list[_Item]:
    """Fewer elements for exactly the same points: disjoint elements merged while any can be.

    Elements with the same ports that differ only in one address, where those networks
    together are a shorter prefix, become that prefix (``10.50.0.10`` and ``10.50.0.11`` ->
    ``10.50.0.10/31``).  Each merged element names every flow of the elements it replaces.
    The elements stay pairwise disjoint (a merge keeps the points), and the result does not
    depend on the order of ``items``.
    """
    passes = [functools.partial(_collapse, dim=dim, bits=bits) for dim in range(len(items[0].addrs) if items else 0)]
    # The fixed point: a whole cycle of passes that merge nothing.  Each pass is idempotent (on
    # its own output a group's stack leaves no siblings), so after a pass that merged, the
    # other passes merging nothing is enough; running the one that merged again would only
    # cost time.
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


def _elements(items: list[_Item], bits: int, unique: bool = False) -> list[list[_Item]]:
    """Layers of disjoint, compacted elements (each sorted) for the points of ``items``.

    ``unique``: no two items have the same addresses (a builder's items), so they need no merging.
    """
    return [_compact(layer, bits) for layer in _layers(items, bits, unique)]


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
            trace = []
            lines = ["\t%s %s {" % ("map" if self.with_ports else "set", name), "\t\ttype %s" % self.type_line(),
                     "\t\tflags interval", "\t\tcounter", "\t\telements = {"]
            for idx, item in enumerate(layer):
                key = " . ".join(_fmt_cidr(self.version, net, plen) for net, plen in item.addrs)
                ids = sorted(item.ids)
                line = "\t\t\t%s comment \"%s\"" % (key, _compact_ids(ids))
                entry: dict[str, Any] = {"element": key}
                if self.with_ports:
                    chain = service_chain(self.proto, item.ports)
                    services[chain] = (self.proto, item.ports)
                    line += " : jump %s" % chain
                    entry["service"] = chain
                    entry["ports"] = format_ports(item.ports)
                entry["flows"] = ids
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


def _order(builders: dict[tuple[str, int], _SetBuilder]) -> list[_SetBuilder]:
    rank = {"tcp": 0, "udp": 1, "icmp": 2, "gre": 3, "esp": 4}
    return [builders[k] for k in sorted(builders, key=lambda k: (rank.get(k[0], 9), k[0], k[1]))]


def _service_lines(services: Mapping[str, tuple[str, PortSet]], report: EdgeReport) -> list[str]:
    lines = []
    for name, (proto, ports) in sorted(services.items(), key=lambda kv: (kv[1], kv[0])):  # by protocol, then ports
        spec = format_ports(ports)
        match = spec[0] if len(spec) == 1 else "{ %s }" % ", ".join(spec)
        lines += ["\tchain %s {" % name, "\t\t%s dport %s accept" % (L4[proto], match), "\t}"]
        report.rules += 1
        report.services += 1
    return lines


def edge_placements(plan: Mapping[str, Any], edge: str) -> Iterator[tuple[Mapping[str, Any], Placement]]:
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


def unlisted_interfaces(plan: Mapping[str, Any], edge: str, present: Iterable[str]) -> list[str]:
    """Interfaces present on the edge that it neither filters (``voiceops_edge_zones``) nor passes
    on purpose (``voiceops_edge_passthrough``): traffic between them and the managed zones would
    pass unfiltered and in silence. The loopback interface is not forwarded through."""
    data = plan["edges"][edge]
    managed = {i for ifaces in data["zones"].values() for i in ifaces}
    patterns = data.get("passthrough", [])
    return sorted({name for name in present if name != "lo" and name not in managed
                   and not any(fnmatch.fnmatchcase(name, p) for p in patterns)})


def check_edge(plan: Mapping[str, Any], edge: str) -> dict[str, list[str]]:
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


def render_edge(plan: Mapping[str, Any], edge: str, table: str = DEFAULT_TABLE,
                filter_input: bool = True) -> tuple[str, EdgeReport]:
    """Render the nftables table for ``edge``; returns the ``nft -f`` text and a report."""
    with gc_paused():
        return _render_edge(plan, edge, table, filter_input)


def _render_edge(plan: Mapping[str, Any], edge: str, table: str, filter_input: bool) -> tuple[str, EdgeReport]:
    problems = Problems()
    clean(table_name, table, "table", problems)
    problems.raise_if_any()
    zones = check_edge(plan, edge)
    report = EdgeReport(edge=edge, table=table)
    fwd: dict[tuple[str, str], dict[tuple[str, int], _SetBuilder]] = defaultdict(dict)
    inp: dict[tuple[str, int], _SetBuilder] = {}
    for flow, place in edge_placements(plan, edge):
        if place.kind == "input":
            if _add_flow(inp, INPUT_PREFIX, flow, _end_networks(plan, flow, "src", report), None, report):
                report.input_flows.append(flow["id"])
            continue
        srcs = _end_networks(plan, flow, "src", report)
        dsts = _end_networks(plan, flow, "dst", report)
        pair = (place.src, place.dst)
        if _add_flow(fwd[pair], _pair_prefix(*pair), flow, srcs, dsts, report):
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
    for zone, ifaces in sorted(zones.items()):  # inside one zone, across its own interfaces: trusted
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

    lines += _service_lines(services, report)
    for body in pair_chains:
        lines += body

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
        lines += ["\t\tcounter drop comment \"voiceops default deny to the edge itself\"", "\t}"]
        report.rules += 1
    lines.append("}")
    report.forward_flows.sort()
    report.input_flows.sort()
    return "\n".join(lines) + "\n", report


# --------------------------------------------------------------------------- verdicts (explain)

def _element_contains(element: Mapping[str, Any], src: str | None, dst: str | None, port: int | None) -> bool:
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


def edge_verdict(report: Mapping[str, Any], s: Mapping[str, Any], d: Mapping[str, Any], protocol: str,
                 port: int | None, place: Placement) -> dict[str, Any]:
    """The verdict of a rendered table (its report's trace) for one packet at one placement: the
    set element that permits it, or the default deny that drops it."""
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
    rule = "voiceops default deny to the edge itself" if to_edge else "voiceops default deny between managed zones"
    return {"kind": "nftables", "verdict": "deny", "chain": "managed_in" if to_edge else "managed_fwd", "rule": rule}
