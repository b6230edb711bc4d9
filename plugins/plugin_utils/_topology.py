# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Topology: which edges a flow crosses, and where it enters and leaves each (internal API).

Edges join zones through interfaces. Zones are the nodes of a graph, and an edge joining zones
A and B is a way from A to B. The path of a flow is the shortest sequence of zones from its
source zone to its destination zone; each step (a *hop*) is enforced by **every** edge that
joins both zones of the step (two edges joining the same zones are an HA pair, or parallel
routers: traffic may take either, so both get the rules).

What is assumed, and refused (docs/edge.md, "Several edges"):

- Routing is symmetric. Edges filter statefully, so a reply must take the way back through the
  same edges; a declared route applies to both directions, and a declared reverse that is not the
  same way is refused (asymmetric routing cannot be honoured by stateful edges).
- An external zone (the internet) is never a transit zone: traffic between two internal zones
  does not leave through one edge and come back in through another. Sites joined over the
  internet by a VPN are joined by the VPN's own zone (a transit zone such as ``wan``).
- Filtering sees the addresses of the inventory: no NAT between zones the plan manages (an edge
  sees pre-SNAT sources and post-DNAT destinations, which are the inventory's addresses when
  NAT happens only towards the external zone).
- Two equally short ways through different zones, with no declared route: an error that names
  both and the variable that settles it (``voiceops_routes``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import Problems
from ._plan_types import Hop as HopDict

ROUTES = "voiceops_routes"


@dataclass(frozen=True)
class Hop:
    """One step of a path: from zone ``src`` to zone ``dst`` through any of ``edges``."""

    src: str
    dst: str
    edges: tuple[str, ...]

    def as_dict(self) -> HopDict:
        return {"from": self.src, "to": self.dst, "edges": list(self.edges)}


@dataclass(frozen=True)
class Placement:
    """Where one flow is enforced on one edge: forwarded from zone ``src`` to ``dst``, or delivered to the edge itself."""

    edge: str
    kind: str  # "forward" or "input"
    src: str
    dst: str


class Topology:
    """The zone graph of an estate's edges, with the declared routes."""

    def __init__(self, edge_zones: Mapping[str, Iterable[str]], external: Iterable[str],
                 routes: Iterable[Mapping[str, Any]] = ()) -> None:
        self.edge_zones = {edge: frozenset(zones) for edge, zones in edge_zones.items()}
        self.external = frozenset(external)
        self._joining: dict[tuple[str, str], tuple[str, ...]] = {}
        neighbours: dict[str, set[str]] = {}
        for edge in sorted(self.edge_zones):
            for a in self.edge_zones[edge]:
                for b in self.edge_zones[edge]:
                    if a != b:
                        neighbours.setdefault(a, set()).add(b)
                        self._joining[(a, b)] = self._joining.get((a, b), ()) + (edge,)
        self._neighbours = {zone: sorted(others) for zone, others in neighbours.items()}
        # (from, to) -> the zones of the way, and the edges it goes through (None: every edge that joins)
        self._routes: dict[tuple[str, str], tuple[tuple[str, ...], frozenset[str] | None]] = {}
        for route in routes:
            zones = (route["from"], *route.get("via", []), route["to"])
            through = frozenset(route["through"]) if route.get("through") else None
            self._routes[(zones[0], zones[-1])] = (zones, through)
        for (a, b), (zones, through) in list(self._routes.items()):
            self._routes.setdefault((b, a), (tuple(reversed(zones)), through))
        self._paths: dict[tuple[str, str], tuple[Hop, ...] | None] = {}

    def check_routes(self, routes: Iterable[Mapping[str, Any]], problems: Problems) -> None:
        """Every step of a declared route must be joined by an edge, and the way back must be the
        same way: stateful edges drop replies that come back through edges the request did not cross."""
        declared: dict[tuple[str, str], tuple[int, tuple[str, ...]]] = {}
        for idx, route in enumerate(routes):
            zones = (route["from"], *route.get("via", []), route["to"])
            back = declared.get((zones[-1], zones[0]))
            if back is not None and tuple(reversed(back[1])) != zones:
                problems.add("%s[%d]" % (ROUTES, idx), dict(route),
                             "the way back from %s to %s (%s[%d]: %s) is not this way reversed; edges filter statefully "
                             "and would drop the replies, so asymmetric routing is refused"
                             % (zones[-1], zones[0], ROUTES, back[0], " -> ".join(back[1])))
            declared[(zones[0], zones[-1])] = (idx, zones)
            through = set(route.get("through") or ())
            for edge in sorted(through - set(self.edge_zones)):
                problems.add("%s[%d].through" % (ROUTES, idx), edge, "not an edge firewall of the estate")
            for a, b in zip(zones, zones[1:]):
                if (a, b) not in self._joining:
                    problems.add("%s[%d]" % (ROUTES, idx), dict(route),
                                 "no edge joins zones %s and %s (set voiceops_edge_zones on the edge between them)" % (a, b))
                elif through and not through & set(self._joining[(a, b)]):
                    problems.add("%s[%d].through" % (ROUTES, idx), sorted(through),
                                 "none of these edges joins zones %s and %s (those that do: %s)"
                                 % (a, b, ", ".join(self._joining[(a, b)])))

    def joins(self, edge: str, zone: str) -> bool:
        return zone in self.edge_zones.get(edge, ())

    def path(self, src: str, dst: str, problems: Problems | None = None) -> tuple[Hop, ...] | None:
        """The hops from zone ``src`` to zone ``dst``: () within one zone, None when no edge connects them.

        An ambiguous path is recorded in ``problems`` (and is None)."""
        key = (src, dst)
        if key not in self._paths:
            self._paths[key] = self._find(src, dst, problems)
        return self._paths[key]

    def _find(self, src: str, dst: str, problems: Problems | None) -> tuple[Hop, ...] | None:
        if src == dst:
            return ()
        declared = self._routes.get((src, dst))
        if declared is not None:
            return self._hops(*declared)
        shortest = self._shortest(src, dst)
        if not shortest:
            return None
        if len(shortest) > 1:
            if problems is not None:
                ways = ["%s (%s)" % (" -> ".join(z), ", then ".join("/".join(h.edges) for h in self._hops(z)))
                        for z in shortest]
                problems.add(ROUTES, None, "zones %s and %s are joined by equally short ways through different zones: %s; "
                             "declare the one traffic takes, for example %s: [{from: %s, to: %s, via: [%s]}]"
                             % (src, dst, "; ".join(ways), ROUTES, src, dst, ", ".join(shortest[0][1:-1])))
            return None
        return self._hops(shortest[0])

    def _hops(self, zones: tuple[str, ...], through: frozenset[str] | None = None) -> tuple[Hop, ...]:
        """The hops along ``zones``; with ``through``, only those edges enforce each hop (a branch
        whose internet traffic goes through head office, not through another branch's edge that
        also joins wan and the internet)."""
        return tuple(Hop(a, b, tuple(e for e in self._joining.get((a, b), ()) if through is None or e in through))
                     for a, b in zip(zones, zones[1:]))

    def _shortest(self, src: str, dst: str, limit: int = 3) -> list[tuple[str, ...]]:
        """Up to ``limit`` shortest zone sequences from ``src`` to ``dst`` (external zones only at the ends)."""
        if (src, dst) in self._joining:
            return [(src, dst)]  # one hop is the only shortest way
        dist = {src: 0}
        parents: dict[str, list[str]] = {src: []}
        queue = deque([src])
        while queue:
            zone = queue.popleft()
            if zone == dst:
                break
            if zone != src and zone in self.external:
                continue  # no transit through the internet
            for nxt in self._neighbours.get(zone, ()):
                if nxt not in dist:
                    dist[nxt] = dist[zone] + 1
                    parents[nxt] = [zone]
                    queue.append(nxt)
                elif dist[nxt] == dist[zone] + 1:
                    parents[nxt].append(zone)
        if dst not in dist:
            return []
        out: list[tuple[str, ...]] = []

        def walk(zone: str, tail: tuple[str, ...]) -> None:
            if len(out) >= limit:
                return
            if zone == src:
                out.append((src,) + tail)
                return
            for parent in parents[zone]:
                walk(parent, (zone,) + tail)

        walk(dst, ())
        return sorted(out)


def placements(topology: Topology, src_name: str, src_zone: str, dst_name: str, dst_zone: str,
               hops: tuple[Hop, ...] | None) -> list[Placement]:
    """Every edge that enforces a flow, with the zones it enters and leaves that edge by.

    A flow to an edge is delivered to it (input) at the first hop the edge takes part in, or at
    once when the edge joins the source's zone; a flow from an edge is its own output, which no
    edge filters, until it reaches the next edge.
    """
    if dst_name in topology.edge_zones and topology.joins(dst_name, src_zone):
        return [] if src_name == dst_name else [Placement(dst_name, "input", src_zone, dst_zone)]
    out = []
    for hop in hops or ():
        for edge in hop.edges:
            if edge == src_name:
                continue
            out.append(Placement(edge, "input" if edge == dst_name else "forward", hop.src, hop.dst))
        if dst_name in hop.edges:
            return out
    if hops and topology.joins(dst_name, dst_zone):
        # an edge addressed in a zone it joins (a branch edge managed on its wan address): the
        # packet reaches that zone through the hops, then the edge's own interface there
        out.append(Placement(dst_name, "input", dst_zone, dst_zone))
    return out


# from_plan and hops_of take Mapping[str, Any], not _plan_types.Plan: they read plans that may lack
# a key (.get: a plan.json from before schema 2, a plan a test trimmed), and _nft (not typed yet) calls them.
def from_plan(plan: Mapping[str, Any]) -> Topology:
    """The topology as a plan records it (its edges, zones and routes)."""
    edges = {name: list(data.get("zones", {})) for name, data in plan.get("edges", {}).items()}
    external = [name for name, data in plan.get("zones", {}).items() if data.get("external")]
    return Topology(edges, external, plan.get("routes", []))


def hops_of(plan: Mapping[str, Any], topology: Topology, src_zone: str, dst_zone: str) -> tuple[Hop, ...] | None:
    """The hops the plan recorded for a zone pair; computed from the topology for a plan that has none."""
    recorded = plan.get("paths", {}).get("%s>%s" % (src_zone, dst_zone))
    if recorded is None:  # a pair without flows (explain asks about any): the same computation
        return topology.path(src_zone, dst_zone)
    return tuple(Hop(h["from"], h["to"], tuple(h["edges"])) for h in recorded)
