# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Address-set algebra of the nftables renderer: networks as integers, elements in disjoint layers, compacted (internal API).

An element of a map or set is a tuple of networks (``saddr`` or ``saddr . daddr``) with the
ports allowed there and the flow ids behind it; a network is a :data:`Cidr`, an integer and a
prefix length, throughout.  nft requires the elements of one interval map or set to be
disjoint, so overlapping ones go into layers (the renderer's ``x_tcp4``, ``x_tcp4_2``: one rule
each, the narrowest first), unless the broader element already allows the narrower one's
ports: then it takes its flow ids.  Then neighbouring networks with the same ports that together
are one prefix are merged (``10.50.0.10`` and ``10.50.0.11`` -> ``10.50.0.10/31``); a merged
element names every flow behind it.  Rendering the table is ``_nft.py``.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from ._ports import PortSet, is_subset, union

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


@functools.lru_cache(maxsize=1 << 17)
def _fmt_cidr(version: int, net: int, plen: int) -> str:
    """A host as its address, anything broader as ``address/length``."""
    if version == 4:
        text = "%d.%d.%d.%d" % (net >> 24, (net >> 16) & 255, (net >> 8) & 255, net & 255)
    else:
        text = str(ipaddress.IPv6Address(net))
    return text if plen == BITS[version] else "%s/%d" % (text, plen)


class _Item:
    """One element: its addresses (see :data:`Cidr`), the ports allowed there (``()`` without ports), flow ids."""

    __slots__ = ("addrs", "ports", "ids")

    def __init__(self, addrs: tuple[Cidr, ...], ports: PortSet, ids: set[str]) -> None:
        self.addrs = addrs
        self.ports = ports
        self.ids = ids

    def sort_key(self) -> tuple[tuple[Cidr, ...], PortSet]:
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
