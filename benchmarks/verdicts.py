# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Static verdicts of generated rule sets: every planned flow accepted, and two tools compared.

Everything here reads the *generated output* (the ``nft -f`` text, the Windows rule dicts the
role applies), never the renderers' reports or traces; the plan says only what must be accepted.

* :func:`check_planned`, the check that must catch a drop: every planned flow, at every point
  of the plan's ``enforced_by`` that it was given the rules of (the edge's table, each Windows
  host's rules), is accepted there *in full*: each of its source networks x each of its
  destination networks (of one IP version) x all of its ports, with the Windows program
  condition (a flow that names a program counts only rules with that program's path; a flow
  without one only rules for any program).  Plus default-deny probes on the edge: between
  every two zones (and to the edge itself), a port no flow plans must be dropped, so an
  interface dropped from ``managed_ifs`` (traffic no longer filtered) fails too.
  ``planned_rejected`` is the number of flows not accepted somewhere they should be.
* Ends known only by name (``fqdn``, no addresses; docs/edge.md "Ends known only by name"):
  DNS is modelled, never skipped.  :func:`resolve_names` answers for every such name (one
  documentation address per IP version, deterministic; any mapping can be given instead); the
  table's sets of a name, declared empty, hold those addresses as the edge's refresh script
  would fill them (the name from the set's comment, or the report's ``name_sets``).  The end is
  judged by them, and least-privilege probes run: the same connection from (to) another address
  of the end's zone, one no name resolves to and no flow allows there, must be dropped.
* :class:`NftRuleset`: an nftables table as ``nft -f`` reads it (sets and maps with their
  elements, chains and rules), interpreted for one packet context (hook, interfaces, protocol,
  IP version): the walk follows ``iifname``/``oifname`` matches, verdict maps keyed by
  interfaces, jumps and returns, and leaves the accepted region as pieces (set or map
  elements, with the ports their service chain accepts).  A rule it does not understand is an
  error, never a guess.
* :class:`WindowsRules`: a host's allow rules as pieces, by direction, protocol, IP version
  and program.
* A box (networks x port ranges) is accepted when the union of the pieces covers it: the
  pieces that contain the box subtract their ports; if ports remain and some piece is narrower
  than the box, the box is halved where it is narrower and each half checked.  Networks are
  prefixes (nested or disjoint), so this is exact, and it names a point that nothing accepts.
* :class:`OurNft`, :func:`our_windows_allows`, :class:`AerleonNft`, :class:`AerleonNetsh`:
  single new connections ``(iif, oif, src, dst, proto, dport)``, for the sampled comparison
  with Aerleon's output (replies are allowed by connection state in both and not sampled).
"""

from __future__ import annotations

import bisect
import fnmatch
import functools
import hashlib
import ipaddress
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

Net = tuple[int, int, int]  # version, first address, last address (the sampled comparison)


def _net(text: str) -> Net:
    net = ipaddress.ip_network(text.strip(), strict=False)
    return net.version, int(net.network_address), int(net.broadcast_address)


def _in(addr: tuple[int, int], net: Net) -> bool:
    return addr[0] == net[0] and net[1] <= addr[1] <= net[2]


def _ports(text: str) -> tuple[int, int]:
    lo, _sep, hi = text.strip().partition("-")
    return int(lo), int(hi or lo)


def addr(text: str) -> tuple[int, int]:
    ip = ipaddress.ip_address(text)
    return ip.version, int(ip)


# ---------------------------------------------------------------------------- networks and ports

Cidr = tuple[int, int, int]  # version, network address as an integer, prefix length
Ranges = tuple[tuple[int, int], ...]  # sorted, disjoint, non-adjacent port ranges
BITS = {4: 32, 6: 128}
ANY_NET = {4: (4, 0, 0), 6: (6, 0, 0)}
ALL_PORTS: Ranges = ((0, 65535),)
SPLIT_BUDGET = 1 << 15  # halvings per box before giving up (then reported as not accepted, never passed)
_V4 = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:/(\d{1,2}))?$")


@functools.lru_cache(maxsize=1 << 16)
def cidrs(text: str) -> tuple[Cidr, ...]:
    """``10.1.0.0/16``, ``10.1.0.1``, ``2001:db8::/32`` or a range ``a-b`` as prefixes."""
    text = text.strip()
    m = _V4.match(text)
    if m and all(int(o) <= 255 for o in m.group(1, 2, 3, 4)) and int(m.group(5) or 32) <= 32:
        plen = int(m.group(5) or 32)
        number = int(m.group(1)) << 24 | int(m.group(2)) << 16 | int(m.group(3)) << 8 | int(m.group(4))
        return ((4, number >> (32 - plen) << (32 - plen), plen),)
    if "-" in text and "/" not in text:
        lo, _sep, hi = text.partition("-")
        first, last = ipaddress.ip_address(lo.strip()), ipaddress.ip_address(hi.strip())
        return tuple((n.version, int(n.network_address), n.prefixlen) for n in ipaddress.summarize_address_range(first, last))
    net = ipaddress.ip_network(text, strict=False)
    return ((net.version, int(net.network_address), net.prefixlen),)


def _contains(outer: Cidr, inner: Cidr) -> bool:
    if outer[0] != inner[0] or outer[2] > inner[2]:
        return False
    shift = BITS[outer[0]] - outer[2]
    return inner[1] >> shift == outer[1] >> shift


def _overlaps(a: Cidr, b: Cidr) -> bool:
    return _contains(a, b) or _contains(b, a)


def _halves(net: Cidr) -> tuple[Cidr, Cidr]:
    version, number, plen = net
    return (version, number, plen + 1), (version, number | 1 << (BITS[version] - plen - 1), plen + 1)


def _host(net: Cidr) -> str:
    return str(ipaddress.IPv4Address(net[1]) if net[0] == 4 else ipaddress.IPv6Address(net[1]))


def _text(net: Cidr) -> str:
    return _host(net) if net[2] == BITS[net[0]] else "%s/%d" % (_host(net), net[2])


def _merge(ranges: Iterable[tuple[int, int]]) -> Ranges:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return tuple(out)


def port_ranges(specs: Iterable[Any]) -> Ranges:
    """``["443", "5000-5050"]`` as ranges; anything but numbers is an error."""
    return _port_ranges(tuple(str(s) for s in specs))


@functools.lru_cache(maxsize=1 << 14)
def _port_ranges(specs: tuple[str, ...]) -> Ranges:
    parsed = []
    for spec in specs:
        lo, _sep, hi = str(spec).strip().partition("-")
        if not lo.isdigit() or not (hi.isdigit() or not _sep):
            raise ValueError("not a port or a port range: %r" % (spec,))
        parsed.append((int(lo), int(hi or lo)))
    return _merge(parsed)


def _subtract(a: Ranges, b: Ranges) -> Ranges:
    out = []
    for lo, hi in a:
        for blo, bhi in b:
            if bhi < lo or blo > hi:
                continue
            if blo > lo:
                out.append((lo, blo - 1))
            lo = bhi + 1
            if lo > hi:
                break
        if lo <= hi:
            out.append((lo, hi))
    return tuple(out)


def _meets(a: Ranges, b: Ranges) -> bool:
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i][1] < b[j][0]:
            i += 1
        elif b[j][1] < a[i][0]:
            j += 1
        else:
            return True
    return False


# ---------------------------------------------------------------------------- coverage of a box

# A box: a network per field (nft: source, destination; Windows: remote, local) and its ports
# (None: a protocol without ports).  A piece: what one element or rule accepts, a network per
# field (None: any) and ports (None: any, or the protocol has none).
Piece = tuple[tuple[Optional[Cidr], ...], Optional[Ranges]]
Witness = tuple[tuple[Cidr, ...], Optional[Ranges]]


def _narrower(net: Cidr | None, than: Cidr) -> bool:
    return net is not None and net[2] > than[2]


def _meets_net(net: Cidr | None, other: Cidr) -> bool:
    return net is None or _overlaps(net, other)


def _uncovered(addrs: tuple[Cidr, ...], ports: Ranges | None, pieces: list[Piece], budget: list[int]) -> Witness | None:
    """A part of the box that no piece accepts (None: all of it is accepted).

    ``pieces`` overlap the box in every field.  Those that contain it take their ports off;
    if ports remain, the others are narrower than the box in some field: the box is halved
    there and each half checked with the pieces that overlap it.
    """
    rest = ports
    partial = []
    for cons, pports in pieces:
        if ports is None and pports is not None:
            continue  # a port match never matches a protocol without ports
        if all(c is None or _contains(c, a) for c, a in zip(cons, addrs)):
            if pports is None:
                return None
            rest = _subtract(rest, pports)  # type: ignore[arg-type]  # ports is not None here
            if not rest:
                return None
        else:
            partial.append((cons, pports))
    if rest is not ports:
        partial = [p for p in partial if p[1] is None or _meets(rest, p[1])]  # type: ignore[arg-type]
    if not partial:
        return addrs, rest
    budget[0] -= 1
    if budget[0] < 0:
        return addrs, rest
    axis = next(i for i, a in enumerate(addrs) if any(_narrower(p[0][i], a) for p in partial))
    for half in _halves(addrs[axis]):
        sub = addrs[:axis] + (half,) + addrs[axis + 1:]
        found = _uncovered(sub, rest, [p for p in partial if _meets_net(p[0][axis], half)], budget)
        if found is not None:
            return found
    return None


class Pieces:
    """The pieces of one lookup (a set's or map's elements), indexed by the network of their first field."""

    def __init__(self, fields: tuple[int, ...], items: Iterable[tuple[tuple[Cidr, ...], Ranges | None]], width: int = 2) -> None:
        self.pieces: list[Piece] = []
        for key, ports in items:
            cons: list[Optional[Cidr]] = [None] * width
            for fld, net in zip(fields, key):
                cons[fld] = net
            self.pieces.append((tuple(cons), ports))
        self.first = fields[0] if fields else None
        self.by_len: dict[tuple[int, int], dict[int, list[int]]] = {}
        self.sorted: dict[tuple[int, int], list[int]] = {}
        if self.first is not None:
            for idx, (cons_, _ports) in enumerate(self.pieces):
                version, number, plen = cons_[self.first]  # type: ignore[misc]
                self.by_len.setdefault((version, plen), {}).setdefault(number, []).append(idx)
            self.sorted = {key: sorted(table) for key, table in self.by_len.items()}

    def overlapping(self, addrs: tuple[Cidr, ...], ports: Ranges | None) -> list[Piece]:
        if self.first is None:
            found = self.pieces
        else:
            version, number, plen = addrs[self.first]
            bits = BITS[version]
            idxs: list[int] = []
            for (pversion, length), table in self.by_len.items():
                if pversion != version:
                    continue
                if length <= plen:  # pieces that hold the box's network
                    shift = bits - length
                    idxs.extend(table.get(number >> shift << shift, ()))
                else:  # pieces inside it
                    nets = self.sorted[(pversion, length)]
                    last = number + (1 << (bits - plen)) - 1
                    for start in nets[bisect.bisect_left(nets, number):bisect.bisect_right(nets, last)]:
                        idxs.extend(table[start])
            found = [self.pieces[i] for i in idxs]
        out = []
        for piece in found:
            cons, pports = piece
            if pports is not None and (ports is None or not _meets(ports, pports)):
                continue
            for pos, net in enumerate(cons):  # the first field overlaps already (the index); inlined _overlaps
                if net is None or pos == self.first:
                    continue
                other = addrs[pos]
                if net[0] != other[0]:
                    break
                shift = BITS[net[0]] - (net[2] if net[2] < other[2] else other[2])
                if net[1] >> shift != other[1] >> shift:
                    break
            else:
                out.append(piece)
        return out


class Region:
    """What one packet context accepts: the union of its pieces, or everything."""

    def __init__(self, groups: list[Pieces], everything: bool) -> None:
        self.groups = groups
        self.everything = everything

    def uncovered(self, addrs: tuple[Cidr, ...], ports: Ranges | None) -> Witness | None:
        if self.everything:
            return None
        found = [p for group in self.groups for p in group.overlapping(addrs, ports)]
        return _uncovered(addrs, ports, found, [SPLIT_BUDGET])


def _witness(found: Witness) -> str:
    addrs, ports = found
    shown = " > ".join(_host(a) for a in addrs)
    return shown + ("" if ports is None else " port %d" % ports[0][0])


# ---------------------------------------------------------------------------- nftables

class NftError(ValueError):
    """Rule set text this evaluator does not understand (never guessed: the check fails)."""


_DNS_COMMENT = re.compile(r'"addresses of (\S+), from DNS on the edge"$')
_TOKEN = re.compile(r'"[^"]*"|[{},;]|[^\s{},;"]+')
L4_ALIASES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "ipv6-icmp", "icmpv6": "ipv6-icmp", "47": "gre", "50": "esp"}
_ADDRESS_FIELDS = {"ip saddr": (4, 0), "ip daddr": (4, 1), "ip6 saddr": (6, 0), "ip6 daddr": (6, 1)}
_PORT_SELECTORS = {"tcp dport": ("tcp",), "udp dport": ("udp",), "th dport": ("tcp", "udp")}
_STATIC = {"iifname", "oifname", "l4proto", "nfproto", "ct state", "ip protocol", "ip6 nexthdr"}
_TWO_TOKEN = {("meta", "l4proto"): "l4proto", ("meta", "nfproto"): "nfproto", ("meta", "iifname"): "iifname",
              ("meta", "oifname"): "oifname", ("ct", "state"): "ct state", ("ip", "protocol"): "ip protocol",
              ("ip6", "nexthdr"): "ip6 nexthdr", ("icmp", "type"): "icmp type", ("icmpv6", "type"): "icmpv6 type"}


def l4name(proto: str, version: int) -> str:
    """The ``meta l4proto`` name of a plan protocol."""
    return ("icmp" if version == 4 else "ipv6-icmp") if proto == "icmp" else proto


def _unquote(token: str) -> str:
    return token[1:-1] if token.startswith('"') else token


def _values(toks: list[str], i: int) -> tuple[list[str], int]:
    """``x``, ``x,y`` or ``{ x, y }`` from position ``i``."""
    if toks[i] == "{":
        end = toks.index("}", i)
        return [_unquote(t) for t in toks[i + 1:end] if t != ","], end + 1
    values = [_unquote(toks[i])]
    i += 1
    while i + 1 < len(toks) and toks[i] == ",":
        values.append(_unquote(toks[i + 1]))
        i += 2
    return values, i


class _Chain:
    def __init__(self, name: str) -> None:
        self.name = name
        self.hook: str | None = None
        self.policy = "accept"
        self.rules: list[str] = []


class NftRuleset:
    """One nftables table (``nft -f`` text) and what it accepts of new connections."""

    def __init__(self, text: str, resolution: Mapping[str, Iterable[str]] | None = None,
                 name_sets: Mapping[str, str] | None = None) -> None:
        self.table: tuple[str, str] | None = None
        self.sets: dict[str, tuple[str, tuple[str, ...], list[tuple[tuple[str, ...], tuple[str, ...] | None]]]] = {}
        self.chains: dict[str, _Chain] = {}
        self._rules: dict[str, tuple[list[tuple[Any, ...]], tuple[Any, ...]]] = {}
        self._walks: dict[tuple[Any, ...], tuple[list[Pieces], str]] = {}
        self._pieces: dict[tuple[Any, ...], Pieces] = {}
        self._keys: dict[str, tuple[dict[tuple[str, ...], tuple[str, ...] | None], list[tuple[tuple[str, ...], tuple[str, ...] | None]]]] = {}
        self._regions: dict[tuple[Any, ...], Region] = {}
        self._bases: dict[str, list[_Chain]] = {}
        self.comments: dict[str, str] = {}
        self.dns_sets: dict[str, str] = {}  # set -> the name whose addresses fill it
        self._parse(text.splitlines())
        self._fill_from_dns(resolution or {}, name_sets or {})

    def _fill_from_dns(self, resolution: Mapping[str, Iterable[str]], name_sets: Mapping[str, str]) -> None:
        """A set the text declares empty and that holds the addresses of a name (its comment
        ``addresses of <name>, from DNS on the edge``, or ``name_sets``: set -> name, the report's
        ``name_sets``) gets what the edge's refresh script puts in it: the name's addresses of the
        set's family in ``resolution`` (name -> addresses).  Nothing for a name it lacks."""
        for name, (kind, types, elements) in self.sets.items():
            m = _DNS_COMMENT.match(self.comments.get(name, ""))
            fqdn = name_sets.get(name) or (m.group(1) if m else None)
            if kind != "set" or elements or fqdn is None:
                continue
            if types not in (("ipv4_addr",), ("ipv6_addr",)):
                raise NftError("set %s: filled from DNS for %s, but of type %s" % (name, fqdn, " . ".join(types)))
            version = 4 if types == ("ipv4_addr",) else 6
            self.dns_sets[name] = fqdn
            found = resolution.get(fqdn.lower().rstrip("."), ())
            elements.extend(((a,), None) for a in found if ipaddress.ip_address(a).version == version)

    # -------------------------------------------------------------- parsing
    def _parse(self, lines: list[str]) -> None:
        i, in_table = 0, False
        while i < len(lines):
            line = lines[i].strip()
            i += 1
            if not line or line.startswith("#"):
                continue
            if not in_table:
                m = re.match(r"table (\w+) (\S+) \{$", line)
                if m:
                    if self.table is not None:
                        raise NftError("line %d: a second table; one table is evaluated" % i)
                    self.table, in_table = (m.group(1), m.group(2)), True
                elif not re.match(r"(?:(?:add|delete|flush) )?table \w+ \S+$", line):
                    raise NftError("line %d: not understood: %s" % (i, line))
                continue
            if line == "}":
                in_table = False
                continue
            if line.startswith("comment "):
                continue
            m = re.match(r"(set|map|chain) (\S+) \{$", line)
            if not m:
                raise NftError("line %d: not understood: %s" % (i, line))
            body, i = self._block(lines, i)
            if m.group(1) == "chain":
                self.chains[m.group(2)] = self._chain(m.group(2), body)
            else:
                self.sets[m.group(2)] = self._set(m.group(1), m.group(2), body)

    @staticmethod
    def _block(lines: list[str], i: int) -> tuple[list[str], int]:
        depth, body = 1, []  # type: int, list[str]
        while i < len(lines):
            line = lines[i]
            i += 1
            bare = re.sub(r'"[^"]*"', '""', line)
            depth += bare.count("{") - bare.count("}")
            if depth <= 0:
                if depth < 0 or bare.strip() != "}":
                    raise NftError("line %d: unbalanced braces" % i)
                return body, i
            body.append(line)
        raise NftError("a block is not closed")

    def _set(self, kind: str, name: str, body: list[str]) -> tuple[str, tuple[str, ...], list[tuple[tuple[str, ...], tuple[str, ...] | None]]]:
        types: tuple[str, ...] = ()
        elements: list[tuple[tuple[str, ...], tuple[str, ...] | None]] = []
        i = 0
        while i < len(body):
            line = body[i].strip()
            i += 1
            if line.startswith("type "):
                key, _sep, data = line[5:].partition(" : ")
                types = tuple(t.strip() for t in key.split(" . "))
                if kind == "map" and data.strip() != "verdict":
                    raise NftError("map %s: only verdict maps are understood" % name)
            elif line.startswith("elements = {"):
                chunk = [line[len("elements = "):]]
                depth = chunk[0].count("{") - chunk[0].count("}")
                while depth > 0:
                    bare = re.sub(r'"[^"]*"', '""', body[i])
                    depth += bare.count("{") - bare.count("}")
                    chunk.append(body[i])
                    i += 1
                elements = self._elements(name, _TOKEN.findall(" ".join(chunk)))
            elif line.startswith("comment "):
                self.comments[name] = line[len("comment "):].strip()
            elif line and line.split()[0] not in ("flags", "counter", "size", "policy", "timeout", "gc-interval",
                                                  "auto-merge"):
                raise NftError("%s %s: not understood: %s" % (kind, name, line))
        return kind, types, elements

    @staticmethod
    def _elements(name: str, toks: list[str]) -> list[tuple[tuple[str, ...], tuple[str, ...] | None]]:
        if not toks or toks[0] != "{" or toks[-1] != "}":
            raise NftError("set %s: elements not understood" % name)
        out: list[tuple[tuple[str, ...], tuple[str, ...] | None]] = []
        current: list[str] = []
        for tok in toks[1:-1] + [","]:
            if tok != ",":
                current.append(tok)
                continue
            if not current:
                continue
            parts = [_unquote(current[0])]
            j = 1
            while j + 1 < len(current) and current[j] == ".":
                parts.append(_unquote(current[j + 1]))
                j += 2
            verdict = None
            while j < len(current):
                if current[j] == "comment":
                    j += 2
                elif current[j] == "counter":
                    j += 5 if j + 1 < len(current) and current[j + 1] == "packets" else 1
                elif current[j] in ("timeout", "expires"):
                    j += 2
                elif current[j] == ":":
                    verdict = tuple(current[j + 1:])
                    break
                else:
                    raise NftError("set %s: element not understood: %s" % (name, " ".join(current)))
            out.append((tuple(parts), verdict))
            current = []
        return out

    @staticmethod
    def _chain(name: str, body: list[str]) -> _Chain:
        chain = _Chain(name)
        for raw in body:
            line = raw.strip()
            if not line or line.startswith("comment "):
                continue
            m = re.match(r"type (\w+) hook (\w+)(?: device \S+)? priority [^;]+;(?:\s*policy (\w+);)?$", line)
            if m:
                if m.group(1) != "filter":
                    raise NftError("chain %s: only filter chains are understood" % name)
                chain.hook, chain.policy = m.group(2), m.group(3) or "accept"
                continue
            m = re.match(r"policy (\w+);?$", line)
            if m:
                chain.policy = m.group(1)
                continue
            chain.rules.append(line)
        return chain

    # -------------------------------------------------------------- rules
    def _compiled(self, text: str) -> tuple[list[tuple[Any, ...]], tuple[Any, ...]]:
        """A rule as (matches, verdict): ``("match", selector, values)``, ``("lookup", selectors, set)``;
        ``(accept|drop|return|continue)``, ``(jump|goto, chain)``, ``("vmap", selectors, map)``."""
        if text in self._rules:
            return self._rules[text]
        toks = _TOKEN.findall(text)
        conds: list[tuple[Any, ...]] = []
        action: tuple[Any, ...] = ("continue",)
        i = 0
        try:
            while i < len(toks):
                tok = toks[i]
                if tok == "counter":
                    i += 5 if i + 1 < len(toks) and toks[i + 1] == "packets" else 1
                elif tok == "comment":
                    i += 2
                elif tok in ("accept", "drop", "return", "continue"):
                    action, i = (tok,), i + 1
                elif tok in ("jump", "goto"):
                    action, i = (tok, toks[i + 1]), i + 2
                else:
                    sels = []
                    while True:
                        sel, i = self._selector(toks, i, text)
                        sels.append(sel)
                        if i < len(toks) and toks[i] == ".":
                            i += 1
                            continue
                        break
                    if toks[i] == "vmap":
                        if not toks[i + 1].startswith("@"):
                            raise NftError("anonymous verdict maps are not understood: %s" % text)
                        action, i = ("vmap", tuple(sels), toks[i + 1][1:]), i + 2
                    elif toks[i].startswith("@"):
                        conds.append(("lookup", tuple(sels), toks[i][1:]))
                        i += 1
                    else:
                        if toks[i] in ("!=", "ne"):
                            raise NftError("negated matches are not understood: %s" % text)
                        if toks[i] in ("==", "eq"):
                            i += 1
                        if len(sels) != 1:
                            raise NftError("concatenated literal matches are not understood: %s" % text)
                        values, i = _values(toks, i)
                        conds.append(("match", sels[0], values))
        except (IndexError, ValueError):
            raise NftError("rule not understood: %s" % text)
        self._rules[text] = (conds, action)
        return conds, action

    @staticmethod
    def _selector(toks: list[str], i: int, text: str) -> tuple[str, int]:
        if toks[i] in ("iifname", "oifname"):
            return toks[i], i + 1
        pair = (toks[i], toks[i + 1] if i + 1 < len(toks) else "")
        joined = "%s %s" % pair
        if pair in _TWO_TOKEN:
            return _TWO_TOKEN[pair], i + 2
        if joined in _ADDRESS_FIELDS or joined in _PORT_SELECTORS:
            return joined, i + 2
        raise NftError("not understood at %r: %s" % (toks[i], text))

    @staticmethod
    def _implied(sel: str, ctx: tuple[Any, ...]) -> bool:
        """What a selector needs of the packet to apply at all (``ip saddr``: IPv4, ``tcp dport``: tcp)."""
        _hook, _iif, _oif, l4, family = ctx
        if sel in _ADDRESS_FIELDS:
            return _ADDRESS_FIELDS[sel][0] == family
        if sel in _PORT_SELECTORS:
            return l4 in _PORT_SELECTORS[sel]
        if sel == "icmp type":
            return l4 == "icmp"
        if sel == "icmpv6 type":
            return l4 == "ipv6-icmp"
        return True

    def _static(self, sel: str, values: list[str], ctx: tuple[Any, ...]) -> bool:
        _hook, iif, oif, l4, family = ctx
        if sel in ("iifname", "oifname"):
            name = iif if sel == "iifname" else oif
            return name is not None and any(fnmatch.fnmatchcase(name, v) if v.endswith("*") else name == v for v in values)
        if sel == "l4proto":
            return l4 in {L4_ALIASES.get(v, v) for v in values}
        if sel == "ip protocol":
            return family == 4 and l4 in {L4_ALIASES.get(v, v) for v in values}
        if sel == "ip6 nexthdr":
            return family == 6 and l4 in {L4_ALIASES.get(v, v) for v in values}
        if sel == "nfproto":
            return {"ipv4": 4, "ipv6": 6}.get(values[0]) == family if len(values) == 1 else family in (4, 6)
        if sel == "ct state":
            return "new" in values
        raise NftError("selector %s is not static" % sel)

    def _key_of(self, sels: tuple[str, ...], ctx: tuple[Any, ...]) -> tuple[str, ...] | None:
        _hook, iif, oif, l4, _family = ctx
        key = []
        for sel in sels:
            value = {"iifname": iif, "oifname": oif, "l4proto": l4}.get(sel)
            if value is None:
                return None
            key.append(value)
        return tuple(key)

    def _lookup(self, name: str, key: tuple[str, ...] | None) -> tuple[bool, tuple[str, ...] | None]:
        """Is ``key`` an element of the set or map ``name``, and its verdict."""
        if name not in self.sets:
            raise NftError("no set or map @%s" % name)
        if name not in self._keys:
            table: dict[tuple[str, ...], tuple[str, ...] | None] = {}
            wild: list[tuple[tuple[str, ...], tuple[str, ...] | None]] = []
            for parts, verdict in self.sets[name][2]:
                table.setdefault(parts, verdict)
                if any(p.endswith("*") for p in parts):
                    wild.append((parts, verdict))
            self._keys[name] = (table, wild)
        if key is None:
            return False, None
        table, wild = self._keys[name]
        if key in table:
            return True, table[key]
        for parts, verdict in wild:  # ifname wildcards (``"veth*"``)
            if len(parts) == len(key) and all(fnmatch.fnmatchcase(k, p) if p.endswith("*") else k == p for k, p in zip(key, parts)):
                return True, verdict
        return False, None

    def _judge(self, conds: list[tuple[Any, ...]], ctx: tuple[Any, ...]) -> tuple[bool, list[tuple[Any, ...]]]:
        """Whether a rule can apply in ``ctx``, and its matches on addresses and ports."""
        dynamic = []
        for cond in conds:
            sels = cond[1:2] if cond[0] == "match" else cond[1]
            if not all(self._implied(s, ctx) for s in sels):
                return False, []
            static = [s in _STATIC for s in sels]
            if all(static):
                ok = self._static(cond[1], cond[2], ctx) if cond[0] == "match" else self._lookup(cond[2], self._key_of(sels, ctx))[0]
                if not ok:
                    return False, []
            elif any(static):
                raise NftError("a lookup on interfaces and addresses together is not understood")
            else:
                dynamic.append(cond)
        return True, dynamic

    # -------------------------------------------------------------- walking
    def _walk(self, name: str, ctx: tuple[Any, ...], depth: int = 0) -> tuple[list[Pieces], str]:
        """The pieces a chain accepts in ``ctx`` and how it ends for the rest: accept, drop or return."""
        key = (name, ctx)
        if key in self._walks:
            return self._walks[key]
        if depth > 16:
            raise NftError("jumps nest deeper than 16 at chain %s" % name)
        if name not in self.chains:
            raise NftError("no chain %s" % name)
        groups: list[Pieces] = []
        rule_items: dict[tuple[int, ...], list[tuple[tuple[Cidr, ...], Ranges | None]]] = {}  # accept rules' pieces, by key fields
        end = "return"
        for text in self.chains[name].rules:
            conds, action = self._compiled(text)
            possible, dynamic = self._judge(conds, ctx)
            if not possible:
                continue
            verb = action[0]
            if verb == "vmap":
                sels = action[1]
                if all(s in _STATIC for s in sels):
                    found, verdict = self._lookup(action[2], self._key_of(sels, ctx))
                    if dynamic:
                        raise NftError("an interface verdict map behind an address match: %s" % text)
                    if not found:
                        continue
                    if not verdict:
                        raise NftError("map %s: an element without a verdict" % action[2])
                    action, verb = verdict, verdict[0]
                else:
                    if dynamic:
                        raise NftError("a verdict map behind an address or port match: %s" % text)
                    groups.append(self._map_pieces(action[2], sels, ctx, depth))
                    continue
            if dynamic:
                if verb != "accept":
                    raise NftError("%s under an address or port match is not understood: %s" % (verb, text))
                accepted = self._rule_pieces(dynamic, text)
                if accepted is not None:  # accept rules of one chain, one lookup per kind of key (many name rules: one group)
                    rule_items.setdefault(accepted[0], []).extend(accepted[1])
                continue
            if verb == "continue":
                continue
            if verb in ("accept", "drop", "return"):
                end = verb
                break
            if verb in ("jump", "goto"):
                sub, sub_end = self._walk(action[1], ctx, depth + 1)
                groups.extend(sub)
                if sub_end in ("accept", "drop") or verb == "goto":
                    end = sub_end
                    break
                continue
            raise NftError("verdict %s is not understood: %s" % (verb, text))
        groups.extend(Pieces(fields, items) for fields, items in rule_items.items())
        self._walks[key] = (groups, end)
        return groups, end

    @staticmethod
    def _fields(sels: tuple[str, ...], text: str) -> tuple[int, ...]:
        if not all(s in _ADDRESS_FIELDS for s in sels):
            raise NftError("a lookup on anything but addresses is not understood: %s" % text)
        fields = tuple(_ADDRESS_FIELDS[s][1] for s in sels)
        if len(set(fields)) != len(fields):
            raise NftError("one address twice in a key: %s" % text)
        return fields

    @staticmethod
    def _keys_as_nets(parts: tuple[str, ...], version: int, name: str) -> list[tuple[Cidr, ...]]:
        per_part = [cidrs(p) for p in parts]
        if any(n[0] != version for nets in per_part for n in nets):
            raise NftError("%s: element %s is not of the key's IP version" % (name, " . ".join(parts)))
        out: list[tuple[Cidr, ...]] = [()]
        for nets in per_part:
            out = [prefix + (n,) for prefix in out for n in nets]
        return out

    def _map_pieces(self, name: str, sels: tuple[str, ...], ctx: tuple[Any, ...], depth: int) -> Pieces:
        """A verdict map on addresses: each element accepts the ports its verdict's chain accepts."""
        key = (name, sels, ctx)
        if key in self._pieces:
            return self._pieces[key]
        if name not in self.sets:
            raise NftError("no map @%s" % name)
        fields = self._fields(sels, name)
        version = _ADDRESS_FIELDS[sels[0]][0]
        items = []
        for parts, verdict in self.sets[name][2]:
            if len(parts) != len(sels):
                raise NftError("map %s: element %s does not fit its key" % (name, " . ".join(parts)))
            ports = self._verdict_ports(name, verdict, ctx, depth)
            if ports is False:
                continue
            for nets in self._keys_as_nets(parts, version, name):
                items.append((nets, ports))
        group = self._pieces[key] = Pieces(fields, items)
        return group

    def _verdict_ports(self, name: str, verdict: tuple[str, ...] | None, ctx: tuple[Any, ...], depth: int) -> Any:
        """The ports an element's verdict accepts: None (all), ranges, or False (none)."""
        if not verdict:
            raise NftError("map %s: an element without a verdict" % name)
        if verdict[0] == "accept":
            return None
        if verdict[0] not in ("jump", "goto"):
            raise NftError("map %s: verdict %s for some addresses is not understood" % (name, " ".join(verdict)))
        sub, end = self._walk(verdict[1], ctx, depth + 1)
        if end == "accept":
            return None
        if end == "drop" or (end == "return" and verdict[0] == "goto"):
            raise NftError("map %s: chain %s drops or returns past its caller" % (name, verdict[1]))
        pieces = [p for group in sub for p in group.pieces]
        if any(c is not None for cons, _ports in pieces for c in cons):
            raise NftError("chain %s: address matches under an address verdict map are not understood" % verdict[1])
        if not pieces:
            return False
        if any(p[1] is None for p in pieces):
            return None
        return _merge(r for p in pieces for r in p[1])  # type: ignore[union-attr]

    def _rule_pieces(self, dynamic: list[tuple[Any, ...]], text: str) -> tuple[tuple[int, ...], list[tuple[tuple[Cidr, ...], Ranges | None]]] | None:
        """An accept rule with address and port matches (literal or a named set): its fields and pieces."""
        ports: Ranges | None = None
        literal: dict[int, list[Cidr]] = {}
        lookups: list[tuple[Any, ...]] = []
        for cond in dynamic:
            if cond[0] == "match" and cond[1] in _PORT_SELECTORS:
                found = port_ranges(cond[2])
                ports = found if ports is None else _merge(
                    (max(a[0], b[0]), min(a[1], b[1])) for a in ports for b in found if max(a[0], b[0]) <= min(a[1], b[1]))
            elif cond[0] == "match" and cond[1] in _ADDRESS_FIELDS:
                fld = _ADDRESS_FIELDS[cond[1]][1]
                if fld in literal:
                    raise NftError("one address matched twice: %s" % text)
                literal[fld] = [n for v in cond[2] for n in cidrs(v)]
            elif cond[0] == "match" and cond[1] in ("icmp type", "icmpv6 type"):
                return None  # accepts some ICMP types only: counted as accepting nothing (ICMP types are not modelled)
            elif cond[0] == "lookup":
                lookups.append(cond)
            else:
                raise NftError("not understood: %s" % text)
        if ports == ():
            return None
        keys: list[tuple[tuple[int, ...], tuple[Cidr, ...]]] = [((), ())]
        # literal networks first: the pieces are indexed by their first field, and a set of a name holds
        # the same few addresses in every rule of it
        for fld, nets in sorted(literal.items()):
            keys = [(flds + (fld,), key + (n,)) for flds, key in keys for n in nets]
        taken = set(literal)
        for lookup in lookups:  # a set per field (``ip saddr @a ip daddr @b``: two names) or one concatenated set
            fields = self._fields(lookup[1], text)
            if set(fields) & taken:
                raise NftError("one address matched twice: %s" % text)
            taken.update(fields)
            if lookup[2] not in self.sets:
                raise NftError("no set @%s" % lookup[2])
            version = _ADDRESS_FIELDS[lookup[1][0]][0]
            members = [nets for parts, _verdict in self.sets[lookup[2]][2] for nets in self._keys_as_nets(parts, version, lookup[2])]
            keys = [(flds + fields, key + nets) for flds, key in keys for nets in members]
        if not keys:
            return None
        return keys[0][0], [(key, ports) for _flds, key in keys]

    # -------------------------------------------------------------- verdicts
    def region(self, hook: str, iif: str | None, oif: str | None, l4: str, family: int) -> Region:
        """What the table accepts of new connections in one context (``l4``: ``tcp``, ``ipv6-icmp``...)."""
        ctx = (hook, iif, oif, l4, family)
        if ctx not in self._regions:
            if hook not in self._bases:
                self._bases[hook] = [c for c in self.chains.values() if c.hook == hook]
            bases = self._bases[hook]
            if len(bases) > 1:
                raise NftError("more than one %s chain: their order is not evaluated" % hook)
            if not bases:
                self._regions[ctx] = Region([], True)  # the table does not filter this hook
            else:
                groups, end = self._walk(bases[0].name, ctx)
                everything = end == "accept" or (end == "return" and bases[0].policy == "accept")
                self._regions[ctx] = Region(groups, everything)
        return self._regions[ctx]

    def has_hook(self, hook: str) -> bool:
        return any(c.hook == hook for c in self.chains.values())

    def accepts(self, hook: str, iif: str | None, oif: str | None, src: tuple[int, int], dst: tuple[int, int] | None,
                proto: str, port: int) -> bool:
        """One new connection (``src``, ``dst``: ``(version, address)``; ``dst`` None: to the edge itself)."""
        version = src[0]
        addrs = ((version, src[1], BITS[version]), ANY_NET[version] if dst is None else (dst[0], dst[1], BITS[dst[0]]))
        ports = ((port, port),) if proto in ("tcp", "udp") else None
        return self.region(hook, iif, oif, l4name(proto, version), version).uncovered(addrs, ports) is None


class OurNft:
    """Our edge rule set (``voiceops.firewall.nft_ruleset``), one new connection at a time."""

    def __init__(self, text: str, resolution: Resolution | None = None, name_sets: Mapping[str, str] | None = None) -> None:
        self.table = NftRuleset(text, resolution, name_sets)  # the sets of names filled as by the edge's DNS refresh

    def forward(self, iif: str, oif: str, src: tuple[int, int], dst: tuple[int, int], proto: str, port: int) -> bool:
        return self.table.accepts("forward", iif, oif, src, dst, proto, port)

    def input(self, iif: str, src: tuple[int, int], proto: str, port: int) -> bool:
        return self.table.accepts("input", iif, None, src, None, proto, port)


# ---------------------------------------------------------------------------- Windows

ANY = "Any"
_WIN_PROTOCOLS = {"tcp": ("tcp", (4, 6)), "6": ("tcp", (4, 6)), "udp": ("udp", (4, 6)), "17": ("udp", (4, 6)),
                  "icmpv4": ("icmp", (4,)), "1": ("icmp", (4,)), "icmpv6": ("icmp", (6,)), "58": ("icmp", (6,)),
                  "47": ("gre", (4, 6)), "gre": ("gre", (4, 6)), "50": ("esp", (4, 6)), "esp": ("esp", (4, 6)),
                  "any": (None, (4, 6))}


def program_key(program: Any) -> str | None:
    """A rule's program condition: None for any program, else the path (Windows paths ignore case)."""
    if program is None or str(program).strip() in ("", ANY) or str(program).strip().casefold() == "any":
        return None
    return str(program).strip().casefold()


def _win_nets(values: Any) -> list[Cidr]:
    values = list(values or [ANY])
    if values == [ANY]:
        return [ANY_NET[4], ANY_NET[6]]
    out: list[Cidr] = []
    for value in values:
        if not any(ch.isdigit() for ch in str(value)) or str(value) in ("LocalSubnet", "DNS", "DHCP", "WINS", "DefaultGateway"):
            raise ValueError("remote or local address keyword %r is not evaluated" % (value,))
        out.extend(cidrs(str(value)))
    return out


class WindowsRules:
    """The allow rules of one Windows host (the role's rule dicts), as pieces by direction, protocol,
    IP version and program.  A rule that is disabled, not Allow, in no profile, or limited to
    some source ports (remote ports inbound, local ports outbound) allows no new connection
    of a planned flow and is left out."""

    def __init__(self, rules: Iterable[Mapping[str, Any]]) -> None:
        items: dict[tuple[Any, ...], list[tuple[tuple[Cidr, ...], Ranges | None]]] = defaultdict(list)
        for rule in rules:
            if rule.get("action", "Allow") != "Allow" or rule.get("enabled") is False or not rule.get("profiles", True):
                continue
            direction = rule["direction"]
            if str(rule["protocol"]).casefold() not in _WIN_PROTOCOLS:
                raise ValueError("rule %s: protocol %r is not evaluated" % (rule.get("name"), rule["protocol"]))
            proto, versions = _WIN_PROTOCOLS[str(rule["protocol"]).casefold()]
            own, other = ("local_ports", "remote_ports") if direction == "Inbound" else ("remote_ports", "local_ports")
            if list(rule.get(other) or [ANY]) != [ANY]:
                continue
            spec = list(rule.get(own) or [ANY])
            ports = None if spec == [ANY] else port_ranges(spec)
            program = program_key(rule.get("program"))
            local = _win_nets(rule.get("local_addresses"))
            for remote in _win_nets(rule.get("remote_addresses")):
                if remote[0] not in versions:
                    continue
                for loc in local:
                    if loc[0] == remote[0]:
                        items[(direction, proto, remote[0], program)].append(((remote, loc), ports))
        self.groups = {key: Pieces((0, 1), found) for key, found in items.items()}

    def uncovered(self, direction: str, proto: str, version: int, program: str | None, addrs: tuple[Cidr, Cidr],
                  ports: Ranges | None) -> Witness | None:
        found: list[Piece] = []
        for key in ((direction, proto, version, program), (direction, None, version, program)):
            group = self.groups.get(key)
            if group is not None:
                found.extend(group.overlapping(addrs, ports))
        return _uncovered(addrs, ports, found, [SPLIT_BUDGET])


_WIN_PROTO = {"TCP": "tcp", "UDP": "udp", "ICMPv4": "icmp", "ICMPv6": "icmp", "47": "gre", "50": "esp"}


def our_windows_allows(rules: list[dict[str, Any]], src: tuple[int, int], proto: str, port: int) -> bool:
    """One inbound connection against our rules, program conditions ignored: Aerleon has none, so
    the sampled comparison is program-blind (:func:`check_planned` is not)."""
    for rule in rules:
        if rule["direction"] != "Inbound" or _WIN_PROTO.get(rule["protocol"], rule["protocol"]) != proto:
            continue
        if rule["protocol"] in ("ICMPv4", "ICMPv6") and (rule["protocol"] == "ICMPv4") != (src[0] == 4):
            continue
        if rule["local_ports"] != ["Any"] and not any(_ports(p)[0] <= port <= _ports(p)[1] for p in rule["local_ports"]):
            continue
        if rule["remote_addresses"] != ["Any"] and not any(_in(src, _net(a)) for a in rule["remote_addresses"]):
            continue
        return True
    return False


# ---------------------------------------------------------------------------- names and DNS

Resolution = Mapping[str, Iterable[str]]  # name (lower case, no trailing dot) -> its addresses
# Where a made-up answer comes from: the documentation ranges (RFC 5737, RFC 3849), when the end's zone holds them.
DOC_POOLS = {4: ("203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24"), 6: ("2001:db8::/32",)}


def resolvable(end: Mapping[str, Any]) -> str | None:
    """The name the edge resolves for an end known only by name (lower case, no trailing dot);
    None for an end with addresses, without a name, or with a wildcard (DNS cannot list its names)."""
    fqdn = str(end.get("fqdn") or "")
    if end.get("addresses") or not fqdn or fqdn.startswith("*."):
        return None
    return fqdn.lower().rstrip(".")


def _names_and_addresses(plan: Mapping[str, Any]) -> tuple[dict[str, set[str]], set[tuple[str, ...]]]:
    """The zones of each name known only by name, and the address lists of the other ends."""
    zones: dict[str, set[str]] = defaultdict(set)
    given: set[tuple[str, ...]] = set()
    for flow in plan["flows"]:
        for side in ("src", "dst"):
            name = resolvable(flow[side])
            if name is not None:
                zones[name].add(flow["%s_zone" % side])
            elif flow[side].get("addresses"):
                given.add(tuple(flow[side]["addresses"]))
    return zones, given


def _candidates(version: int, nets: list[Cidr], seed: int) -> Iterable[int]:
    """Addresses of ``nets`` (one IP version) in a deterministic order from ``seed``: first those of
    the documentation ranges the networks hold, then the networks' own (never their first and last)."""
    pools = [c for text in DOC_POOLS[version] for c in cidrs(text) if any(_contains(n, c) for n in nets)]
    pools += [n for n in nets if not any(_contains(p, n) or _contains(n, p) for p in pools) and BITS[version] - n[2] >= 2]
    for pool in pools:
        size = 1 << (BITS[version] - pool[2])
        usable = min(size - 2, 1 << 20)
        for step in range(usable):
            yield pool[1] + 1 + (seed + step) % usable


def resolve_names(plan: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """What DNS answers for the plan's ends known only by name, as the edge's refresh script would
    fill their sets: per name one IPv4 and one IPv6 address (where the end's zone has networks of
    that version), from the documentation ranges when the zone holds them, else from the zone's own
    networks; chosen from a digest of the name, never two names the same address.  Deterministic."""
    zone_nets = {z: [n for v in data.get("networks", []) for n in cidrs(v)] for z, data in plan.get("zones", {}).items()}
    names, given = _names_and_addresses(plan)
    # an address an end of the plan names is some other host's, never the answer for a name
    hosts = {n for addresses in given for text in addresses for n in cidrs(text) if n[2] >= BITS[n[0]] - 8}
    used: set[tuple[int, int]] = set()
    out: dict[str, tuple[str, ...]] = {}
    for name, zones in sorted(names.items()):
        seed = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")
        found = []
        for version in (4, 6):
            nets = [n for z in sorted(zones) for n in zone_nets.get(z, []) if n[0] == version]
            near = [h for h in hosts if h[0] == version and any(_overlaps(h, n) for n in nets)]
            for number in _candidates(version, nets, seed):
                point = (version, number, BITS[version])
                if (version, number) not in used and not any(_contains(h, point) for h in near):
                    used.add((version, number))
                    found.append(_host((version, number, BITS[version])))
                    break
        out[name] = tuple(found)
    return out


# ---------------------------------------------------------------------------- every planned flow

@dataclass
class Rejected:
    """A planned flow that a rule set does not accept in full where the plan enforces it."""

    flow: str
    where: str
    why: str

    def __str__(self) -> str:
        return "%s at %s: %s" % (self.flow, self.where, self.why)


@dataclass
class PlannedCheck:
    """The result of :func:`check_planned`."""

    edge: str | None
    plan_flows: int = 0
    flows: int = 0            # flows checked at one or more enforcement points
    edge_flows: int = 0
    windows_flows: int = 0
    windows_hosts: int = 0
    program_flows: int = 0
    boxes: int = 0            # source network x destination network x all of the flow's ports, each accepted in full
    port_ranges: int = 0      # the boxes' port ranges (a protocol without ports counts 1)
    unenforced: int = 0       # enforced_by empty: nothing the plan manages enforces the flow
    elsewhere: int = 0        # enforced only by targets whose rules were not given
    no_common_version: int = 0
    names: int = 0            # names of ends known only by name, and the sets the edge fills with their addresses
    name_sets: int = 0
    by_name: int = 0          # edge flows with an end judged by its name's addresses
    probes: int = 0
    name_probes: int = 0      # least privilege: another address of a named end's zone, on the flow's port, dropped
    name_probes_planned: int = 0  # not probed: every other address tried is one the plan allows there
    open_probes: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    seconds: float = 0.0      # wall clock
    cpu_seconds: float = 0.0  # this process's CPU time (steadier on a shared machine)

    @property
    def planned_rejected(self) -> int:
        return len({r.flow for r in self.rejected})

    @property
    def ok(self) -> bool:
        return not self.rejected and not self.open_probes

    def as_dict(self) -> dict[str, Any]:
        return {"plan_flows": self.plan_flows, "flows": self.flows, "edge_flows": self.edge_flows,
                "windows_flows": self.windows_flows, "windows_hosts": self.windows_hosts,
                "program_flows": self.program_flows, "boxes": self.boxes, "port_ranges": self.port_ranges,
                "unenforced": self.unenforced, "elsewhere": self.elsewhere, "no_common_version": self.no_common_version,
                "names": self.names, "name_sets": self.name_sets, "by_name": self.by_name, "name_probes": self.name_probes,
                "name_probes_planned": self.name_probes_planned,
                "probes": self.probes, "open_probes": len(self.open_probes), "planned_rejected": self.planned_rejected,
                "seconds": self.seconds, "cpu_seconds": self.cpu_seconds}

    def summary(self) -> str:
        return ("every planned flow: %d of %d checked (%d at %s, %d at %d Windows hosts, %d with a program "
                "condition), planned_rejected = %d; %d boxes checked whole (source network x destination network x "
                "all ports, %d port ranges); %d flows by name (%d names in %d sets filled from DNS); %d default-deny "
                "probes and %d for ends known by name (%d not probed: the plan allows every other address tried), %d open; "
                "not checked: %d enforced by nothing managed, %d only elsewhere, %d with no common IP version; %.3f s (CPU %.3f s)"
                % (self.flows, self.plan_flows, self.edge_flows, self.edge or "no edge", self.windows_flows,
                   self.windows_hosts, self.program_flows, self.planned_rejected, self.boxes, self.port_ranges,
                   self.by_name, self.names, self.name_sets, self.probes, self.name_probes, self.name_probes_planned,
                   len(self.open_probes), self.unenforced, self.elsewhere, self.no_common_version,
                   self.seconds, self.cpu_seconds))

    def failure(self, limit: int = 8) -> str | None:
        """A message naming the first rejected flows and open probes, or None when all is well."""
        if self.ok:
            return None
        lines = ["verdict check failed: planned_rejected = %d (of %d planned flows checked)%s"
                 % (self.planned_rejected, self.flows,
                    "; %d default-deny probes accepted" % len(self.open_probes) if self.open_probes else "")]
        lines += ["  rejected: %s" % r for r in self.rejected[:limit]]
        if len(self.rejected) > limit:
            lines.append("  ... and %d more" % (len(self.rejected) - limit))
        lines += ["  default deny open: %s" % p for p in self.open_probes[:limit]]
        if len(self.open_probes) > limit:
            lines.append("  ... and %d more" % (len(self.open_probes) - limit))
        return "\n".join(lines)


class _Checker:
    def __init__(self, plan: Mapping[str, Any], edge: str | None, table: NftRuleset | None,
                 hosts: dict[str, WindowsRules], program_paths: Mapping[str, str], result: PlannedCheck,
                 resolution: Mapping[str, tuple[str, ...]], by_name: bool = True) -> None:
        self.plan = plan
        self.resolution = resolution
        self.by_name = by_name
        # what the plan allows at each place of the edge, (hook, zone in, zone out, protocol) -> boxes
        self.at: dict[tuple[Any, ...], list[tuple[list[Cidr], list[Cidr], Ranges | None]]] = defaultdict(list)
        self.plan_pieces: dict[tuple[Any, ...], Pieces] = {}
        self.named: list[tuple[Mapping[str, Any], list[tuple[str, str, str | None]], list[Cidr], list[Cidr], Ranges | None, list[str]]] = []
        self.edge = edge
        self.table = table
        self.hosts = hosts
        self.paths = {k.casefold(): v for k, v in program_paths.items()}
        self.result = result
        self.zone_ifs: dict[str, list[str]] = dict(plan["edges"][edge]["zones"]) if table is not None and edge else {}
        self.zone_nets = {z: [n for v in data.get("networks", []) for n in cidrs(v)] for z, data in plan.get("zones", {}).items()}
        self.nets: dict[tuple[str, ...], list[Cidr]] = {}
        self.resolved = {(n[0], n[1]) for found in resolution.values() for n in self._nets(found)}  # every name's addresses
        self.memo: dict[tuple[Any, ...], Witness | None] = {}
        self.managed_windows = {name for name, inst in plan.get("instances", {}).items()
                                if inst.get("platform") == "windows" and inst.get("kind") == "host"}

    def _nets(self, values: Iterable[str]) -> list[Cidr]:
        key = tuple(values)
        if key not in self.nets:
            self.nets[key] = [n for v in key for n in cidrs(v)]
        return self.nets[key]

    def _named(self, flow: Mapping[str, Any], side: str) -> str | None:
        """The name an end is enforced by on the edge (docs/edge.md "Ends known only by name"), or None."""
        return resolvable(flow[side]) if self.by_name else None

    def _end(self, flow: Mapping[str, Any], side: str) -> list[Cidr]:
        """An end's addresses on the edge: its own; for an end known only by name, what the name
        resolves to; for a wildcard name or none (or ``fqdn_ends: zone``), its zone's networks."""
        end = flow[side]
        if end.get("addresses"):
            return self._nets(end["addresses"])
        name = self._named(flow, side)
        if name is not None:
            return self._nets(self.resolution.get(name, ()))
        return self.zone_nets.get(flow["%s_zone" % side], [])

    def _boxes(self, srcs: list[Cidr], dsts: list[Cidr], ports: Ranges | None, judge: Any) -> tuple[int, str | None]:
        """Each pair of one IP version judged; (pairs, the first point nothing accepts)."""
        pairs = 0
        for version in (4, 6):
            for s in srcs:
                if s[0] != version:
                    continue
                for d in dsts:
                    if d[0] != version:
                        continue
                    pairs += 1
                    self.result.boxes += 1
                    self.result.port_ranges += len(ports) if ports else 1
                    found = judge(version, (s, d))
                    if found is not None:
                        point = _witness(found)
                        boxed = "%s > %s" % (_text(s), _text(d))
                        return pairs, point if point.startswith(boxed + " ") else "%s (of %s)" % (point, boxed)
        return pairs, None

    @staticmethod
    def _ports(flow: Mapping[str, Any]) -> Ranges | None:
        if flow["protocol"] not in ("tcp", "udp"):
            return None
        return port_ranges(flow["ports"]) if flow.get("ports") else ALL_PORTS

    def places(self, flow: Mapping[str, Any]) -> list[tuple[str, str, str | None]] | str:
        """Where the edge sees the flow, from the plan's recorded path: forward from a zone to a zone,
        or input (to the edge itself) from a zone."""
        edge = self.edge
        sz, dz = flow["src_zone"], flow["dst_zone"]
        src, dst = flow["src"]["name"], flow["dst"]["name"]
        hops = self.plan.get("paths", {}).get("%s>%s" % (sz, dz))
        if hops is None:  # a plan without recorded paths: one edge joining both zones
            hops = [{"from": sz, "to": dz, "edges": [edge]}] if sz != dz and sz in self.zone_ifs and dz in self.zone_ifs else []
        if dst == edge:
            if sz in self.zone_ifs:
                return [("input", sz, None)]
            for hop in hops:
                if edge in hop["edges"]:
                    return [("input", hop["from"], None)]
            if hops and dz in self.zone_ifs:
                return [("input", dz, None)]
            return "the flow to %s has no path into it" % edge
        out: list[tuple[str, str, str | None]] = [("forward", h["from"], h["to"]) for h in hops if edge in h["edges"] and src != edge]
        return out or "the plan says %s enforces it, but its path %s>%s does not cross %s" % (edge, sz, dz, edge)

    def edge_flow(self, flow: Mapping[str, Any]) -> None:
        table, result = self.table, self.result
        assert table is not None
        places = self.places(flow)
        if isinstance(places, str):
            result.rejected.append(Rejected(flow["id"], str(self.edge), places))
            return
        forward = places[0][0] == "forward"
        srcs = self._end(flow, "src")
        dsts = self._end(flow, "dst") if forward or flow["dst"].get("addresses") \
            else self._nets(self.plan["edges"][self.edge].get("addresses", []))
        ports = self._ports(flow)
        named = [side for side in ("src", "dst") if (side == "src" or forward) and self._named(flow, side) is not None]
        for side in named:
            if not (srcs if side == "src" else dsts):
                result.rejected.append(Rejected(flow["id"], str(self.edge), "%s %s resolves to no address: the edge's sets of it stay "
                                                "empty and accept nothing" % (side, self._named(flow, side))))
                return
        if named:
            result.by_name += 1
            self.named.append((flow, places, srcs, dsts, ports, named))
        common = False
        for hook, zin, zout in places:
            missing = [z for z in (zin, zout) if z is not None and not self.zone_ifs.get(z)]
            if missing:
                result.rejected.append(Rejected(flow["id"], str(self.edge), "%s has no interface in zone %s" % (self.edge, missing[0])))
                return
            self.at[(hook, zin, zout, flow["protocol"])].append((srcs, dsts, ports))
            for iif in self.zone_ifs[zin]:
                for oif in (self.zone_ifs[zout] if zout is not None else [None]):
                    def judge(version: int, addrs: tuple[Cidr, Cidr], iif: str = iif, oif: str | None = oif) -> Witness | None:
                        region = table.region(hook, iif, oif, l4name(flow["protocol"], version), version)
                        key = (region, addrs, ports)
                        if key not in self.memo:
                            self.memo[key] = region.uncovered(addrs, ports)
                        return self.memo[key]
                    pairs, why = self._boxes(srcs, dsts, ports, judge)
                    common = common or pairs > 0
                    if why:
                        where = "%s %s %s" % (self.edge, hook, "%s>%s" % (iif, oif) if oif else iif)
                        result.rejected.append(Rejected(flow["id"], where, "nothing accepts %s %s" % (flow["protocol"], why)))
                        return
        if not common:
            result.no_common_version += 1

    def windows_flow(self, flow: Mapping[str, Any], host: str) -> None:
        result, rules = self.result, self.hosts[host]
        if flow["dst"]["name"] == host:
            direction, remote, local = "Inbound", flow["src"], flow["dst"]
        elif flow["src"]["name"] == host:
            direction, remote, local = "Outbound", flow["dst"], flow["src"]
        else:
            result.rejected.append(Rejected(flow["id"], host, "the plan says %s enforces it, but it is neither end" % host))
            return
        program = flow.get("program") or None
        key = None
        if program:
            result.program_flows += 1
            path = self.paths.get(program.casefold())
            if path is None:
                result.rejected.append(Rejected(flow["id"], host, "no path is known for program %s" % program))
                return
            key = program_key(path)
        # a remote end given only by name: the role's rule allows any remote address (fqdn_remote: any)
        remotes = self._nets(remote["addresses"]) if remote.get("addresses") else [ANY_NET[4], ANY_NET[6]]
        locals_ = self._nets(local["addresses"]) if local.get("addresses") else [ANY_NET[4], ANY_NET[6]]
        ports = self._ports(flow)
        proto = flow["protocol"]

        def judge(version: int, addrs: tuple[Cidr, Cidr]) -> Witness | None:
            return rules.uncovered(direction, proto, version, key, addrs, ports)
        pairs, why = self._boxes(remotes, locals_, ports, judge)
        if why:
            result.rejected.append(Rejected(flow["id"], "%s %s" % (host, direction), "no rule allows %s%s %s" % (
                proto, " (program %s)" % program if program else "", why)))
        elif not pairs:
            result.no_common_version += 1

    def _planned_with(self, place: tuple[Any, ...], side: str, other: Cidr, port: Ranges | None) -> list[Cidr]:
        """The networks the plan allows on the ``side`` of a connection at ``place`` whose other end is
        ``other`` (a host) on ``port``: the flows there as pieces, indexed by their other end."""
        version = other[0]
        fld = 1 if side == "src" else 0  # the other end's field
        key = (place, version, fld)
        if key not in self.plan_pieces:
            items = []
            for srcs, dsts, ports in self.at.get(place, ()):
                for s in srcs:
                    if s[0] != version:
                        continue
                    for d in dsts:
                        if d[0] == version:
                            items.append(((d, s) if fld else (s, d), ports))
            self.plan_pieces[key] = Pieces((fld, 1 - fld), items)
        addrs = (ANY_NET[version], other) if fld else (other, ANY_NET[version])
        return [cons[1 - fld] for cons, _ports in self.plan_pieces[key].overlapping(addrs, port)]  # type: ignore[misc]

    def _other_address(self, place: tuple[Any, ...], side: str, zone: str, other: Cidr, port: Ranges | None, seed: int) -> Cidr | None:
        """An address of ``zone`` that no name resolves to and that the plan does not allow here
        (tried from the documentation ranges the zone holds, then its networks); None if a few tries find none."""
        version = other[0]
        nets = [n for n in self.zone_nets.get(zone, []) if n[0] == version]
        allowed = self._planned_with(place, side, other, port)
        tries = 0
        for number in _candidates(version, nets, seed):
            if (version, number) in self.resolved:
                continue
            probe = (version, number, BITS[version])
            if not any(_contains(n, probe) for n in allowed):
                return probe
            tries += 1
            if tries >= 16:
                break
        return None

    def name_probes(self) -> None:
        """Least privilege for ends known only by name: at every place a flow with such an end
        crosses the edge, the same connection from (or to) another address of the end's zone, one
        no name resolves to and no flow allows there, is dropped: the edge admits the name's
        addresses, not its zone."""
        table, result = self.table, self.result
        assert table is not None
        seen = set()
        for flow, places, srcs, dsts, ports, sides in self.named:
            proto = flow["protocol"]
            tried = [None] if ports is None else [((lo, lo),) for lo, _hi in ports[:4]]
            for side in sides:
                name = self._named(flow, side)
                zone = flow["%s_zone" % side]
                seed = int.from_bytes(hashlib.sha256(str(name).encode("utf-8")).digest()[:8], "big")
                for version in (4, 6):
                    if not any(n[0] == version for n in (srcs if side == "src" else dsts)):
                        continue
                    theirs = [n for n in (dsts if side == "src" else srcs) if n[0] == version]
                    if not theirs:
                        continue
                    other = _host_of(theirs[0])
                    for hook, zin, zout in places:
                        key = (hook, zin, zout, proto, version, side, name, other, ports)
                        if key in seen:
                            continue
                        seen.add(key)
                        probe, port = None, None
                        for port in tried:  # a port of the flow on which the plan allows no other address of the zone
                            probe = self._other_address(key[:4], side, zone, other, port, seed)
                            if probe is not None:
                                break
                        if probe is None:
                            result.name_probes_planned += 1
                            continue
                        addrs = (probe, other) if side == "src" else (other, probe)
                        for iif in self.zone_ifs[zin]:
                            for oif in (self.zone_ifs[zout] if zout is not None else [None]):
                                result.name_probes += 1
                                region = table.region(hook, iif, oif, l4name(proto, version), version)
                                if region.uncovered(addrs, port) is None:
                                    result.open_probes.append("%s %s: %s > %s %s%s accepted, but %s is not an address of %s (zone %s; %s)" % (
                                        hook, "%s>%s" % (iif, oif) if oif else iif, _host(addrs[0]), _host(addrs[1]), proto,
                                        "" if port is None else " %d" % port[0][0], _host(probe), name, zone, flow["id"]))

    def probes(self) -> None:
        """Default deny: between two zones, and to the edge itself, a tcp port no flow plans is dropped."""
        table, result = self.table, self.result
        assert table is not None
        planned = _merge(r for f in self.plan["flows"] if f["protocol"] == "tcp" for r in (self._ports(f) or ()))
        free = _subtract(((1, 65535),), planned)
        if not free:
            return
        port = ((free[0][0], free[0][0]),)
        first = {z: {n[0]: (n[0], n[1], BITS[n[0]]) for n in reversed(self.zone_nets.get(z, []))} for z in self.zone_ifs}
        edge_addrs = {n[0]: (n[0], n[1], BITS[n[0]]) for n in reversed(self._nets(self.plan["edges"][self.edge].get("addresses", [])))}
        for za in sorted(self.zone_ifs):
            for zb in sorted(self.zone_ifs) + [None]:
                if zb == za or (zb is None and not table.has_hook("input")):
                    continue
                ends = first[zb] if zb is not None else edge_addrs
                version = next((v for v in (4, 6) if v in first[za] and v in ends), None)
                if version is None:
                    continue
                addrs = (first[za][version], ends[version])
                for iif in self.zone_ifs[za]:
                    for oif in (self.zone_ifs[zb] if zb is not None else [None]):
                        result.probes += 1
                        region = table.region("forward" if zb else "input", iif, oif, "tcp", version)
                        if region.uncovered(addrs, port) is None:
                            result.open_probes.append("%s %s: %s > %s tcp %d accepted (no flow plans it)" % (
                                "forward %s>%s" % (za, zb) if zb else "input from %s" % za,
                                "%s>%s" % (iif, oif) if oif else iif, _host(addrs[0]), _host(addrs[1]), port[0][0]))


def _host_of(net: Cidr) -> Cidr:
    return net[0], net[1], BITS[net[0]]


def check_planned(plan: Mapping[str, Any], edge: str | None, nft_text: str | None,
                  windows_rules: Mapping[str, Iterable[Mapping[str, Any]]] | None,
                  program_paths: Mapping[str, str] | None = None, probes: bool = True,
                  resolution: Resolution | None = None, name_sets: Mapping[str, str] | None = None,
                  fqdn_ends: str | None = None) -> PlannedCheck:
    """Every planned flow against the rendered rule sets given: ``nft_text`` (the table of
    ``edge``) and ``windows_rules`` (host -> its rule dicts), at every point of the flow's
    ``enforced_by`` among them.  ``program_paths``: the role's ``windows_firewall_program_paths``.
    A Windows host of ``enforced_by`` missing from ``windows_rules`` (when given) rejects its flows.

    Ends known only by name (``fqdn_ends``, default the plan's ``edges.<edge>.fqdn_ends``, absent:
    ``name``, as the renderer reads it): with ``name``, ``resolution`` is what DNS
    answers (name -> addresses; default :func:`resolve_names`).  The table's sets of a name (by
    their comment, or ``name_sets``: set -> name) hold the name's addresses, as the edge's refresh
    script fills them; such an end is judged by those addresses, and another address of its zone
    on the flow's port must be dropped.  ``fqdn_ends: zone``: such an end is its zone's networks."""
    if fqdn_ends is None:
        fqdn_ends = plan["edges"][edge].get("fqdn_ends", "name") if edge and edge in plan.get("edges", {}) else "name"
    if fqdn_ends not in ("name", "zone"):
        raise ValueError("fqdn_ends must be name or zone, not %r" % (fqdn_ends,))
    start, cpu = time.perf_counter(), time.process_time()
    result = PlannedCheck(edge=edge if nft_text is not None else None, plan_flows=len(plan["flows"]))
    answers = {k.lower().rstrip("."): tuple(v) for k, v in (resolve_names(plan) if resolution is None else resolution).items()}
    table = NftRuleset(nft_text, answers, name_sets) if nft_text is not None else None
    if table is not None:
        result.name_sets = len(table.dns_sets)
    result.names = sum(bool(v) for v in answers.values())
    hosts = {h: WindowsRules(r) for h, r in (windows_rules or {}).items()}
    result.windows_hosts = len(hosts)
    checker = _Checker(plan, edge, table, hosts, program_paths or {}, result, answers, fqdn_ends == "name")
    for flow in plan["flows"]:
        enforcers = flow.get("enforced_by")
        if enforcers is None:
            raise ValueError("flow %s has no enforced_by: a plan from before schema 2; plan again" % flow["id"])
        if not enforcers:
            result.unenforced += 1
            continue
        checked = False
        for who in enforcers:
            if table is not None and who == edge:
                checker.edge_flow(flow)
                result.edge_flows += 1
                checked = True
            elif who in hosts:
                checker.windows_flow(flow, who)
                result.windows_flows += 1
                checked = True
            elif windows_rules is not None and who in checker.managed_windows:
                result.rejected.append(Rejected(flow["id"], who, "no rules were rendered for Windows host %s" % who))
                checked = True
        if checked:
            result.flows += 1
        else:
            result.elsewhere += 1
    if table is not None and probes:
        checker.probes()
        checker.name_probes()
    result.seconds, result.cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    return result


# ---------------------------------------------------------------------------- Aerleon

class AerleonNft:
    """Aerleon's nftables output: base chains (policy drop) jumping to one chain per term."""

    _SET = re.compile(r"\{ ([^}]*) \}|(\S+)")

    def __init__(self, text: str) -> None:
        self.chains: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.base: dict[str, tuple[str, list[str]]] = {}  # chain -> (hook, jumps)
        chain = None
        for raw in text.splitlines():
            line = raw.strip()
            if line.startswith("chain ") and line.endswith("{"):
                chain = line.split()[1]
            elif line.startswith("type filter hook"):
                self.base[chain] = (line.split()[3], [])
            elif line.startswith("jump ") and chain in self.base:
                self.base[chain][1].append(line.split()[1])
            elif line.endswith(" accept") and not line.startswith("ct state established") and chain:
                self.chains[chain].append(self._rule(line))

    def _values(self, text: str, pos: int) -> tuple[list[str], int]:
        if text[pos] == "{":
            end = text.index("}", pos)
            return [v.strip() for v in text[pos + 1:end].split(",")], end + 1
        end = text.find(" ", pos)
        end = len(text) if end < 0 else end
        return [text[pos:end]], end

    def _rule(self, line: str) -> dict[str, Any]:
        rule: dict[str, Any] = {}
        tokens = [("iifname ", "iif"), ("oifname ", "oif"), ("ip saddr ", "src"), ("ip daddr ", "dst"),
                  ("ip6 saddr ", "src"), ("ip6 daddr ", "dst"), ("tcp dport ", "tcp"), ("udp dport ", "udp"),
                  ("ip protocol ", "proto"), ("meta l4proto ", "proto")]
        pos = 0
        while pos < len(line):
            for token, key in tokens:
                if line.startswith(token, pos):
                    values, pos = self._values(line, pos + len(token))
                    if key in ("iif", "oif"):
                        rule[key] = values[0].strip('"')
                    elif key in ("src", "dst"):
                        rule[key] = [_net(v) for v in values]
                    elif key in ("tcp", "udp"):
                        rule["proto"] = [key]
                        rule["ports"] = [_ports(v) for v in values]
                    else:
                        rule["proto"] = values
                    break
            else:
                pos += 1
        return rule

    def _index(self) -> dict[tuple[str, Any, Any], list[dict[str, Any]]]:
        if not hasattr(self, "_by_if"):
            self._by_if: dict[tuple[str, Any, Any], list[dict[str, Any]]] = defaultdict(list)
            for _base, (hook, jumps) in self.base.items():
                for chain in jumps:
                    for r in self.chains[chain]:
                        self._by_if[(hook, r.get("iif"), r.get("oif"))].append(r)
        return self._by_if

    def _accepts(self, hook: str, iif: str, oif: str | None, src: tuple[int, int], dst: tuple[int, int] | None,
                 proto: str, port: int) -> bool:
        names = {"icmp": {"icmp", "icmpv6"}}.get(proto, {proto})
        index = self._index()
        for key in dict.fromkeys([(hook, iif, oif), (hook, iif, None), (hook, None, oif), (hook, None, None)]):
            for r in index.get(key, ()):
                if "src" in r and not any(_in(src, n) for n in r["src"]):
                    continue
                if "dst" in r and (dst is None or not any(_in(dst, n) for n in r["dst"])):
                    continue
                if "proto" in r and not names & set(r["proto"]):
                    continue
                if "ports" in r and not any(lo <= port <= hi for lo, hi in r["ports"]):
                    continue
                return True
        return False

    def forward(self, iif: str, oif: str, src: tuple[int, int], dst: tuple[int, int], proto: str, port: int) -> bool:
        return self._accepts("forward", iif, oif, src, dst, proto, port)

    def input(self, iif: str, src: tuple[int, int], proto: str, port: int) -> bool:
        return self._accepts("input", iif, None, src, None, proto, port)


class AerleonNetsh:
    """``netsh advfirewall firewall add rule ... dir=in ... action=allow`` lines."""

    def __init__(self, text: str) -> None:
        self.rules = []
        for line in text.splitlines():
            if not line.startswith("netsh advfirewall firewall add rule"):
                continue
            atoms = dict(a.split("=", 1) for a in line.split() if "=" in a)
            if atoms.get("dir") != "in" or atoms.get("action") != "allow":
                continue
            self.rules.append({
                "remote": None if atoms.get("remoteip", "any") == "any" else [_net(a) for a in atoms["remoteip"].split(",")],
                "ports": None if "localport" not in atoms else [_ports(p) for p in atoms["localport"].split(",")],
                "proto": {"icmpv4": "icmp", "icmpv6": "icmp"}.get(atoms.get("protocol", ""), atoms.get("protocol", "")),
            })

    def allows(self, src: tuple[int, int], proto: str, port: int) -> bool:
        for rule in self.rules:
            if rule["proto"] != proto:
                continue
            if rule["ports"] is not None and not any(lo <= port <= hi for lo, hi in rule["ports"]):
                continue
            if rule["remote"] is not None and not any(_in(src, n) for n in rule["remote"]):
                continue
            return True
        return False
