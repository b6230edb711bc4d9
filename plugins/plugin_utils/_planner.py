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
from ._estate import ComponentConfig, Estate, Instance
from ._ports import PortSet, format_ports

SCHEMA_VERSION = 1


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


def product_entries(catalog: Catalog, src_role: str, dst_role: str) -> str:
    ids = sorted(e.id for e in catalog.entries.values() if e.src == src_role and e.dst == dst_role and not e.feature)
    return ids[0] if len(ids) == 1 else "%s and %d more" % (ids[0], len(ids) - 1) if ids else "(feature entries)"


def _allowed(config: ComponentConfig, other: Instance, other_comp: str, other_role: str, catalog: Catalog) -> bool:
    """Whether ``config`` (one end of a flow) accepts ``other`` as the far end."""
    for key in {other_role, other_comp} | set(catalog.components[other_comp].roles):
        if key in config.peers and other.name not in config.peers[key]:
            return False
    return True


def _address_list(inst: Instance) -> list[str]:
    return [str(n) if n.num_addresses != 1 else str(n.network_address) for n in inst.addresses]


def _end(inst: Instance, comp: str) -> dict[str, Any]:
    return {
        "name": inst.name,
        "kind": inst.kind,
        "zone": inst.zone,
        "component": comp,
        "addresses": _address_list(inst),
        "fqdn": inst.fqdn,
    }


def _ports_for(entry: Entry, src_cfg: ComponentConfig, dst_cfg: ComponentConfig) -> PortSet | None:
    if entry.protocol not in ("tcp", "udp"):
        return ()
    if entry.ports is not None:
        return entry.ports
    cfg = dst_cfg if entry.param_on == "dst" else src_cfg
    return cfg.params.get(entry.param or "")


def plan(catalog: Catalog, estate: Estate) -> dict[str, Any]:
    """Compute every flow the estate needs.  Pure: the same input gives the same output."""
    index = _role_index(catalog, estate)
    flows: list[dict[str, Any]] = []
    warnings: set[str] = set()
    for entry_id in sorted(catalog.entries):
        entry = catalog.entries[entry_id]
        sources = index.get(entry.src, [])
        dests = index.get(entry.dst, [])
        for src, src_comp in sources:
            src_cfg = src.components[src_comp]
            if entry.feature and entry.feature_on == "src" and entry.feature not in src_cfg.features:
                continue
            if not dests and not _stood_in(catalog, index, entry.dst):
                warnings.add("%s on %s needs a peer that plays %s; none is in the estate, so its entries %s are not planned"
                             % (src_comp, src.name, entry.dst, product_entries(catalog, entry.src, entry.dst)))
            for dst, dst_comp in dests:
                if dst.name == src.name:
                    continue  # same computer: no network flow (e.g. TIMC beside Speech Server)
                dst_cfg = dst.components[dst_comp]
                if entry.feature and entry.feature_on == "dst" and entry.feature not in dst_cfg.features:
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
                flows.append(_flow(entry, catalog, src, src_comp, dst, dst_comp, ports))
    flows.sort(key=lambda f: f["id"])
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
        "instances": {
            i.name: {
                "kind": i.kind,
                "zone": i.zone,
                "platform": i.platform,
                "addresses": _address_list(i),
                "fqdn": i.fqdn,
                "components": sorted(i.components),
            }
            for i in sorted(estate.instances.values(), key=lambda i: i.name)
        },
        "edges": {
            e.name: {
                "addresses": [str(n.network_address) for n in e.addresses],
                "zones": {z: list(ifaces) for z, ifaces in sorted(e.zones.items())},
            }
            for e in sorted(estate.edges.values(), key=lambda e: e.name)
        },
        "flows": flows,
        "warnings": sorted(warnings),
        "summary": _summary(flows),
    }


def _flow(entry: Entry, catalog: Catalog, src: Instance, src_comp: str, dst: Instance, dst_comp: str,
          ports: PortSet) -> dict[str, Any]:
    citation = entry.cite.as_dict()
    citation["title"] = catalog.documents.get(entry.cite.doc, entry.cite.doc)
    return {
        "id": "%s:%s>%s" % (entry.id, src.name, dst.name),
        "entry": entry.id,
        "product": entry.product,
        "service": entry.service,
        "purpose": entry.purpose,
        "src": _end(src, src_comp),
        "dst": _end(dst, dst_comp),
        "src_zone": src.zone,
        "dst_zone": dst.zone,
        "protocol": entry.protocol,
        "ports": format_ports(ports),
        "program": entry.program,
        "feature": entry.feature,
        "transport": entry.transport,
        "replies_only": entry.replies_only,
        "condition": entry.condition,
        "citation": citation,
    }


def _summary(flows: list[dict[str, Any]]) -> dict[str, Any]:
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
