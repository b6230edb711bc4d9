# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner: catalog + estate -> flows (internal API).

A flow is one catalog entry between two concrete instances (an inventory host or
an endpoint): who initiates, to whom, protocol, destination ports, why and on
whose word.  The plan is computed once for the whole estate; everything
downstream (per-zone views, rule sets, reports) is derived from it.
The plan's JSON schema is described in ``docs/plan-schema.md``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ._catalog import Catalog, Entry
from ._errors import Problems, closest
from ._estate import ComponentConfig, Estate, Instance
from ._gc import gc_paused
from ._plan_types import Citation, End, Flow, Hop, Instance as PlanInstance, Plan, SecurityCheck, Summary, Unenforced
from ._ports import PortError, PortSet, format_ports, parse_ports
from ._topology import Topology, placements

SCHEMA_VERSION = 2  # 2: edges have a kind; flows record enforced_by; plan has routes, paths, unenforced


def _role_index(catalog: Catalog, estate: Estate) -> dict[str, list[tuple[Instance, str]]]:
    index: dict[str, list[tuple[Instance, str]]] = defaultdict(list)
    for name in sorted(estate.instances):
        inst = estate.instances[name]
        for comp_name in sorted(inst.components):
            for role in catalog.components[comp_name].roles:
                index[role].append((inst, comp_name))
    return index


def _stood_in(catalog: Catalog, index: dict[str, list[tuple[Instance, str]]], role: str) -> bool:
    """Whether an alternative of every component that plays ``role`` is in the estate."""
    players = catalog.role_players(role)
    return bool(players) and all(any(index.get(alt) for alt in catalog.components[p].alternatives) for p in players)


def _entries_between(catalog: Catalog, src_role: str, dst_role: str) -> str:
    ids = sorted(e.id for e in catalog.entries.values() if e.src == src_role and e.dst == dst_role and not e.feature)
    return ids[0] if len(ids) == 1 else "%s and %d more" % (ids[0], len(ids) - 1) if ids else "(feature entries)"


def _allowed(config: ComponentConfig, other: Instance, other_comp: str, other_role: str, catalog: Catalog) -> bool:
    """Whether ``config`` (one end of a flow) accepts ``other`` as the far end."""
    if not config.peers:
        return True
    for key in {other_role, other_comp} | set(catalog.components[other_comp].roles):
        if key in config.peers and other.name not in config.peers[key]:
            return False
    return True


def _restriction(config: ComponentConfig, keys: frozenset[str]) -> frozenset[str] | None:
    """The far-end names ``config`` accepts among instances whose keys are ``keys``; None: no restriction."""
    allowed: frozenset[str] | None = None
    for key in keys:
        names = config.peers.get(key)
        if names is not None:
            allowed = names if allowed is None else allowed & names
    return allowed


def _candidates(catalog: Catalog, entry: Entry, sources: list[tuple[Instance, str]],
                dests: list[tuple[Instance, str]]) -> list[list[int]]:
    """Per source, the indices (ascending) of the destinations that neither end's ``peers`` excludes.

    Only pairs that :func:`_allowed` would reject are left out, so the planner's own checks
    still decide each pair; but a source or destination restricted to a few peers is paired
    with those by name instead of with every player of the role (linear, not quadratic).
    """
    keys_of: dict[tuple[str, str], frozenset[str]] = {}

    def keys(comp: str, role: str) -> frozenset[str]:
        key = (comp, role)
        if key not in keys_of:
            keys_of[key] = frozenset({role, comp} | set(catalog.components[comp].roles))
        return keys_of[key]

    src_groups: dict[str, list[int]] = defaultdict(list)
    for si, (_inst, comp) in enumerate(sources):
        src_groups[comp].append(si)
    dst_groups: dict[str, list[int]] = defaultdict(list)
    for di, (_inst, comp) in enumerate(dests):
        dst_groups[comp].append(di)
    out: list[list[int]] = [[] for _source in sources]
    for s_comp, s_idx in src_groups.items():
        s_keys = keys(s_comp, entry.src)
        for d_comp, d_idx in dst_groups.items():
            d_keys = keys(d_comp, entry.dst)
            s_restr = {si: r for si in s_idx
                       if (r := _restriction(sources[si][0].components[s_comp], d_keys)) is not None}
            d_restr = {di: r for di in d_idx
                       if (r := _restriction(dests[di][0].components[d_comp], s_keys)) is not None}
            if not s_restr and not d_restr:
                for si in s_idx:
                    out[si].extend(d_idx)
                continue
            d_by_name: dict[str, list[int]] = defaultdict(list)
            for di in d_idx:
                d_by_name[dests[di][0].name].append(di)
            s_by_name: dict[str, list[int]] = defaultdict(list)
            for si in s_idx:
                s_by_name[sources[si][0].name].append(si)
            d_free = [di for di in d_idx if di not in d_restr]
            for si in s_idx:
                names = s_restr.get(si)
                if names is None:
                    out[si].extend(d_free)
                    continue
                s_name = sources[si][0].name
                for name in names:
                    for di in d_by_name.get(name, ()):
                        if di not in d_restr or s_name in d_restr[di]:
                            out[si].append(di)
            for di, names in d_restr.items():
                for name in names:
                    for si in s_by_name.get(name, ()):
                        if si not in s_restr:
                            out[si].append(di)
    for lst in out:
        lst.sort()
    return out


def _address_list(inst: Instance) -> list[str]:
    return [str(n) if n.num_addresses != 1 else str(n.network_address) for n in inst.addresses]


class _Ends:
    """Memoised pieces of flows (ends, port lists, citations), built once and copied per flow."""

    def __init__(self) -> None:
        self._addresses: dict[str, list[str]] = {}
        self._ends: dict[tuple[str, str], tuple[str, str, str, str, list[str], str | None]] = {}
        self._ports: dict[PortSet, list[str]] = {}

    def addresses(self, inst: Instance) -> list[str]:
        cached = self._addresses.get(inst.name)
        if cached is None:
            cached = self._addresses[inst.name] = _address_list(inst)
        return list(cached)

    def end(self, inst: Instance, comp: str) -> End:
        key = (inst.name, comp)
        cached = self._ends.get(key)
        if cached is None:
            cached = self._ends[key] = (inst.name, inst.kind, inst.zone, comp, self.addresses(inst), inst.fqdn)
        name, kind, zone, component, addresses, fqdn = cached
        return {"name": name, "kind": kind, "zone": zone, "component": component, "addresses": addresses[:], "fqdn": fqdn}

    def ports(self, ports: PortSet) -> list[str]:
        cached = self._ports.get(ports)
        if cached is None:
            cached = self._ports[ports] = format_ports(ports)
        return cached[:]


def _ports_for(entry: Entry, src_cfg: ComponentConfig, dst_cfg: ComponentConfig) -> PortSet | None:
    if entry.protocol not in ("tcp", "udp"):
        return ()
    if entry.ports is not None:
        return entry.ports
    cfg = dst_cfg if entry.param_on == "dst" else src_cfg
    return cfg.params.get(entry.param or "")


def plan(catalog: Catalog, estate: Estate, outbound_block: frozenset[str] = frozenset()) -> Plan:
    """Compute every flow the estate needs.  Pure: the same input gives the same output.

    ``outbound_block``: the Windows hosts whose firewall blocks outbound traffic by default
    (``windows_firewall_outbound_default: block``); they enforce their outgoing flows too.
    """
    with gc_paused():
        return _plan(catalog, estate, outbound_block)


def _plan(catalog: Catalog, estate: Estate, outbound_block: frozenset[str] = frozenset()) -> Plan:
    index = _role_index(catalog, estate)
    ends = _Ends()
    pair_candidates: dict[tuple[str, str], list[list[int]]] = {}
    citations: dict[str, dict[str, str]] = {}
    flows: list[Flow] = []
    warnings: set[str] = set()
    for entry_id in sorted(catalog.entries):
        entry = catalog.entries[entry_id]
        sources = index.get(entry.src, [])
        dests = index.get(entry.dst, [])
        pair = (entry.src, entry.dst)
        candidates = pair_candidates.get(pair)
        if candidates is None:  # the same for every entry between the same two roles
            candidates = pair_candidates[pair] = _candidates(catalog, entry, sources, dests) if dests else [[] for _source in sources]
        for (src, src_comp), dst_indices in zip(sources, candidates):
            src_cfg = src.components[src_comp]
            if entry.feature and entry.feature_on == "src" and entry.feature not in src_cfg.features:
                continue
            if entry.unless_feature and entry.unless_feature_on == "src" and entry.unless_feature in src_cfg.features:
                continue  # e.g. a fax adapter on the provider's trunk has no flows with the local PBX
            if not dests and not _stood_in(catalog, index, entry.dst):
                warnings.add("%s on %s needs a peer that plays %s; none is in the estate, so its entries %s are not planned"
                             % (src_comp, src.name, entry.dst, _entries_between(catalog, entry.src, entry.dst)))
            for di in dst_indices:
                dst, dst_comp = dests[di]
                if dst.name == src.name:
                    continue  # same computer: no network flow (e.g. TIMC beside Speech Server)
                dst_cfg = dst.components[dst_comp]
                if entry.feature and entry.feature_on == "dst" and entry.feature not in dst_cfg.features:
                    continue
                if entry.unless_feature and entry.unless_feature_on == "dst" and entry.unless_feature in dst_cfg.features:
                    continue
                if entry.tls_alternative and (src_cfg.tls_only or dst_cfg.tls_only):
                    continue
                if not _allowed(src_cfg, dst, dst_comp, entry.dst, catalog):
                    continue
                if not _allowed(dst_cfg, src, src_comp, entry.src, catalog):
                    continue
                ports = _ports_for(entry, src_cfg, dst_cfg)
                if ports is None:
                    owner = dst if entry.param_on == "dst" else src
                    owner_comp = dst_comp if entry.param_on == "dst" else src_comp
                    warnings.add("%s: not planned until %s.params.%s is set on %s (the vendor gives no default)"
                                 % (entry.id, owner_comp, entry.param, owner.name))
                    continue
                if entry.protocol in ("tcp", "udp") and not ports:
                    continue  # an empty optional port list (e.g. no application ports)
                flows.append(_flow(entry, catalog, src, src_comp, dst, dst_comp, ports, ends, citations))
    flows += _local_flows(catalog, estate, ends)
    flows.sort(key=lambda f: f["id"])
    paths, unenforced = _enforcement(estate, flows, outbound_block)
    return {
        "schema_version": SCHEMA_VERSION,
        "zones": {
            z.name: {
                "networks": [str(n) for n in z.networks],
                "external": z.external,
                "description": z.description,
            }
            for z in sorted(estate.zones.values(), key=lambda z: z.name)
        },
        "management_networks": [str(n) for n in estate.management_networks],
        "instances": _with_zone_ends(flows, {
            i.name: {
                "kind": i.kind,
                "zone": i.zone,
                "platform": i.platform,
                "addresses": ends.addresses(i),
                "fqdn": i.fqdn,
                "components": sorted(i.components),
                "features": {c: sorted(cfg.features) for c, cfg in sorted(i.components.items()) if cfg.features},
                # mypy checks each branch of the unpacked conditional as a whole Instance (typeddict-item)
                **({"outbound_default": "block" if i.name in outbound_block else "allow"}  # type: ignore[typeddict-item]
                   if i.kind == "host" and i.platform == "windows" else {}),  # type: ignore[typeddict-item]
            }
            for i in sorted(estate.instances.values(), key=lambda i: i.name)
        }),
        "edges": {
            e.name: {
                "kind": "nftables",
                "addresses": [str(n.network_address) for n in e.addresses],
                "zones": {z: list(ifaces) for z, ifaces in sorted(e.zones.items())},
                "passthrough": list(e.passthrough),
                **({"log_drops": dict(e.log_drops)} if e.log_drops else {}),  # type: ignore[typeddict-item]
                **({"fqdn_ends": e.fqdn_ends} if e.fqdn_ends != "name" else {}),  # type: ignore[typeddict-item]  # absent: name
            }
            for e in sorted(estate.edges.values(), key=lambda e: e.name)
        },
        "routes": [dict(r) for r in estate.routes],  # type: ignore[misc]  # _estate: dict[str, Any], schema-checked Routes
        "paths": paths,
        "unenforced": unenforced,
        "security_checks": _security_checks(catalog, estate),
        "flows": flows,
        "warnings": sorted(warnings),
        "summary": _summary(flows),
    }


def _security_checks(catalog: Catalog, estate: Estate) -> list[SecurityCheck]:
    """The catalog's checkable security facts of the components in the estate, so that the lint
    needs nothing but the plan."""
    used = {c for inst in estate.instances.values() for c in inst.components}
    # _catalog's SecurityFact.as_dict is typed dict[str, Any]; its keys are those of SecurityCheck
    return [fact.as_dict(name) for name in sorted(used) for fact in catalog.components[name].security if fact.check]  # type: ignore[misc]


def _enforcement(estate: Estate, flows: list[Flow],
                 outbound_block: frozenset[str]) -> tuple[dict[str, list[Hop]], list[Unenforced]]:
    """Each flow's enforcement points (``enforced_by``), the paths of the zone pairs, and the pairs nothing enforces.

    A flow is enforced on every edge along its path (``_topology``), by the firewall of its
    destination when that is a managed Windows host, and by its source's when that is a Windows
    host that blocks outbound traffic.  The edges a flow crosses depend only on its
    zones and on whether an end is an edge itself, so they are worked out once per such key.
    """
    problems = Problems()
    topology = Topology({e.name: list(e.zones) for e in estate.edges.values()},
                        [z.name for z in estate.zones.values() if z.external], estate.routes)
    topology.check_routes(estate.routes, problems)
    edges = estate.edges
    windows = {name for name, inst in estate.instances.items() if inst.kind == "host" and inst.platform == "windows"}
    by_key: dict[tuple[str, str, str | None, str | None], list[str]] = {}
    paths: dict[str, list[Hop]] = {}
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for flow in flows:
        sz, dz = flow["src_zone"], flow["dst_zone"]
        src, dst = flow["src"]["name"], flow["dst"]["name"]
        key = (sz, dz, src if src in edges else None, dst if dst in edges else None)
        enforced = by_key.get(key)
        if enforced is None:
            hops = topology.path(sz, dz, problems)
            if hops:
                paths["%s>%s" % (sz, dz)] = [h.as_dict() for h in hops]
            enforced = by_key[key] = sorted({p.edge for p in placements(topology, key[2] or "", sz, key[3] or "", dz, hops)})
        flow["enforced_by"] = enforced + ([dst] if dst in windows else []) + ([src] if src in windows and src in outbound_block else [])
        if not flow["enforced_by"]:
            counts[(sz, dz)] += 1
    problems.raise_if_any()
    unenforced: list[Unenforced] = [{"src_zone": sz, "dst_zone": dz, "flows": n} for (sz, dz), n in sorted(counts.items())]
    return dict(sorted(paths.items())), unenforced


def _flow(entry: Entry, catalog: Catalog, src: Instance, src_comp: str, dst: Instance, dst_comp: str,
          ports: PortSet, ends: _Ends, citations: dict[str, dict[str, str]]) -> Flow:
    citation = citations.get(entry.id)
    if citation is None:
        citation = entry.cite.as_dict()
        citation["title"] = catalog.documents.get(entry.cite.doc, entry.cite.doc)
        citations[entry.id] = citation
    return {  # type: ignore[typeddict-item]  # no "enforced_by" yet: _enforcement sets it on every flow
        "id": "%s:%s>%s" % (entry.id, src.name, dst.name),
        "entry": entry.id,
        "product": entry.product,
        "service": entry.service,
        "purpose": entry.purpose,
        "src": ends.end(src, src_comp),
        "dst": ends.end(dst, dst_comp),
        "src_zone": src.zone,
        "dst_zone": dst.zone,
        "protocol": entry.protocol,
        "ports": ends.ports(ports),
        "program": entry.program,
        "feature": entry.feature,
        "transport": entry.transport,
        "tls_alternative": entry.tls_alternative,
        "replies_only": entry.replies_only,
        "icmp_types": list(entry.icmp_types) if entry.protocol == "icmp" and entry.icmp_types else None,
        "condition": entry.condition,
        "citation": dict(citation),
    }


LOCAL_PRODUCT = "local"  # a local rule's flows: entry "local.<name>", product "local", no citation


def _local_end(estate: Estate, name: str, path: str, ends: _Ends, problems: Problems) -> End | None:
    """A local rule's end: an inventory host or endpoint (component "local"), or a whole zone (kind "zone")."""
    inst = estate.instances.get(name)
    zone = estate.zones.get(name)
    if inst is not None and zone is not None:
        problems.add(path, name, "is both a host or endpoint and a zone; rename one of them")
        return None
    if inst is not None:
        return ends.end(inst, LOCAL_PRODUCT)
    if zone is not None:
        nets = [str(n) if n.num_addresses != 1 else str(n.network_address) for n in zone.networks]
        return {"name": name, "kind": "zone", "zone": name, "component": LOCAL_PRODUCT, "addresses": nets, "fqdn": None}
    known = sorted(estate.instances) + sorted(estate.zones)
    close = closest(name, known)
    problems.add(path, name, "no host, endpoint or zone of that name" + (" (did you mean %r?)" % close if close else ""))
    return None


def local_citation(name: str, rule: dict[str, Any]) -> Citation:
    """Where a catalog flow cites a vendor document, a local rule's flow names its rule and owner (never a document)."""
    who = ["owner %s" % rule["owner"]] + ["%s %s" % (k, rule[k]) for k in ("ticket", "expires") if rule.get(k)]
    return {"doc": "voiceops_local_rules", "title": "local rule (%s)" % ", ".join(who),
            "section": "%s: %s" % (name, rule.get("reason") or "ticket %s" % rule["ticket"])}


def _with_zone_ends(flows: list[Flow], instances: dict[str, PlanInstance]) -> dict[str, PlanInstance]:
    """The instances, and each zone a local rule names as an end, as an instance of kind "zone" (its networks),
    so that every flow end is an instance of the plan."""
    zone_ends = {end["name"]: end for f in flows if f.get("local") for end in (f["src"], f["dst"]) if end["kind"] == "zone"}
    if not zone_ends:
        return instances
    for name, end in zone_ends.items():
        instances[name] = {"kind": "zone", "zone": end["zone"], "platform": None, "addresses": list(end["addresses"]),
                           "fqdn": None, "components": [LOCAL_PRODUCT], "features": {}}
    return dict(sorted(instances.items()))


def _local_flows(catalog: Catalog, estate: Estate, ends: _Ends) -> list[Flow]:
    """``voiceops_local_rules`` as flows: enforced like any other, marked ``local`` (owner, reason, ticket, expires)
    where a catalog flow has its citation. Whether one has expired is the lint's business (the gate), not the plan's."""
    problems = Problems()
    out: list[Flow] = []
    seen: dict[str, int] = {}
    for idx, rule in enumerate(estate.local_rules):
        path = "voiceops_local_rules[%d]" % idx
        name, proto = rule["name"], rule["protocol"]
        entry_id = "%s.%s" % (LOCAL_PRODUCT, name)
        if name in seen:
            problems.add(path + ".name", name, "listed twice (also voiceops_local_rules[%d])" % seen[name])
            continue
        seen[name] = idx
        if entry_id in catalog.entries:
            problems.add(path + ".name", name, "the catalog has an entry %s; choose another name" % entry_id)
        if not rule.get("reason") and not rule.get("ticket"):
            problems.add(path, sorted(rule), "a local rule needs a reason or a ticket (or both)")
            continue
        src = _local_end(estate, rule["from"], path + ".from", ends, problems)
        dst = _local_end(estate, rule["to"], path + ".to", ends, problems)
        ports: PortSet = ()
        if proto in ("tcp", "udp"):
            try:
                ports = parse_ports(rule.get("ports"))
            except PortError as exc:
                problems.add(path + ".ports", rule.get("ports"), "%s needs ports: %s" % (proto, exc))
                continue
        elif rule.get("ports") is not None:
            problems.add(path + ".ports", rule["ports"], "only tcp and udp have ports")
        if src is None or dst is None:
            continue
        if src["name"] == dst["name"]:
            problems.add(path + ".to", rule["to"], "from and to are the same")
            continue
        out.append({  # type: ignore[typeddict-item]  # no "enforced_by" yet: _enforcement sets it on every flow
            "id": "%s:%s>%s" % (entry_id, src["name"], dst["name"]),
            "entry": entry_id, "product": LOCAL_PRODUCT, "service": name,
            "purpose": rule.get("reason") or "ticket %s" % rule["ticket"],
            "src": src, "dst": dst, "src_zone": src["zone"], "dst_zone": dst["zone"],
            "protocol": proto, "ports": format_ports(ports), "program": None, "feature": None, "transport": None,
            "tls_alternative": None, "replies_only": False, "icmp_types": None, "condition": None,
            "citation": local_citation(name, rule),
            "local": {"owner": rule["owner"], "reason": rule.get("reason"), "ticket": rule.get("ticket"),
                      "expires": rule.get("expires")},
        })
    problems.raise_if_any()
    return out


def _summary(flows: list[Flow]) -> Summary:
    by_product: dict[str, int] = defaultdict(int)
    pairs: set[tuple[str, str]] = set()
    for flow in flows:
        by_product[flow["product"]] += 1
        pairs.add((flow["src_zone"], flow["dst_zone"]))
    return {
        "flows": len(flows),
        "flows_by_product": dict(sorted(by_product.items())),
        "zone_pairs": len(pairs),
        "cross_zone_flows": sum(1 for f in flows if f["src_zone"] != f["dst_zone"]),
    }
