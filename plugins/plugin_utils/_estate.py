# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate: zones, hosts, endpoints and edge firewalls from inventory variables (internal API).

Input is plain data (what the action plugin read from the inventory); output is a
checked, normalised :class:`Estate`.  Every problem names the variable path and
the value.  The inventory model is described in ``docs/inventory.md``.
"""

from __future__ import annotations

import difflib
import gc
import ipaddress
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ._catalog import Catalog
from ._errors import Problems
from ._ports import PortError, PortSet, parse_ports

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
ANY_NETWORKS = ("0.0.0.0/0", "::/0")
WINDOWS_CONNECTIONS = ("winrm", "psrp")
MANAGEMENT = "management"  # the endpoint made from voiceops_management_networks


@dataclass(frozen=True)
class Zone:
    name: str
    networks: tuple[Network, ...]
    external: bool
    description: str


@dataclass
class ComponentConfig:
    name: str
    params: dict[str, PortSet | None]
    features: frozenset[str]
    tls_only: bool
    peers: dict[str, frozenset[str]]  # role or component name -> allowed instance names
    path: str = ""  # variable path of these settings, for error messages


@dataclass
class Instance:
    """Something that takes part in flows: a managed inventory host or an unmanaged endpoint."""

    name: str
    kind: str  # "host" or "endpoint"
    zone: str
    addresses: tuple[Network, ...]
    fqdn: str | None
    platform: str
    components: dict[str, ComponentConfig]


@dataclass
class Edge:
    name: str
    zones: dict[str, tuple[str, ...]]  # zone -> interfaces (may be empty: decided by the role)
    addresses: tuple[Network, ...]


@dataclass
class Estate:
    zones: dict[str, Zone] = field(default_factory=dict)
    management_networks: tuple[Network, ...] = ()
    instances: dict[str, Instance] = field(default_factory=dict)
    edges: dict[str, Edge] = field(default_factory=dict)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a large acyclic structure.

    The plan of a large estate is hundreds of thousands of small dictionaries and lists, none of
    them in a reference cycle; without this, the collector walks all of them again and again and
    takes more time than the planning itself.  Reference counting still frees everything.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _suggest(value: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(value, choices, n=1)
    return " (did you mean %r?)" % close[0] if close else ""


def _network(value: Any, path: str, problems: Problems, host: bool = False) -> Network | None:
    if not isinstance(value, str) or not value:
        problems.add(path, value, "not an IP address or network")
        return None
    try:
        net = ipaddress.ip_network(value.strip(), strict=True)
    except ValueError as exc:
        problems.add(path, value, "not an IP address or network (%s)" % exc)
        return None
    if host and net.num_addresses != 1:
        problems.add(path, value, "a host address is a single address, not a network")
        return None
    return net


def _networks(value: Any, path: str, problems: Problems, host: bool = False) -> tuple[Network, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        problems.add(path, value, "a list of IP addresses or networks")
        return ()
    out = []
    for idx, item in enumerate(value):
        net = _network(item, "%s[%d]" % (path, idx), problems, host=host)
        if net is not None:
            out.append(net)
    return tuple(sorted(set(out), key=_net_key))


def _net_key(net: Network) -> tuple[int, int, int]:
    return (net.version, int(net.network_address), net.prefixlen)


def _zones(raw: Any, problems: Problems) -> dict[str, Zone]:
    path = "voiceops_zones"
    if not isinstance(raw, Mapping) or not raw:
        problems.add(path, raw, "a mapping of zone name to its networks is required")
        return {}
    zones: dict[str, Zone] = {}
    for name in sorted(raw):
        zraw = raw[name] or {}
        zpath = "%s.%s" % (path, name)
        if not isinstance(name, str) or not NAME_RE.match(name):
            problems.add(zpath, name, "a zone name is lower case letters, digits and _, starting with a letter, at most 31 characters")
            continue
        if not isinstance(zraw, Mapping):
            problems.add(zpath, zraw, "a zone is a mapping with 'networks'")
            continue
        external = bool(zraw.get("external", False))
        nets = zraw.get("networks", list(ANY_NETWORKS) if external else None)
        if nets is None:
            problems.add(zpath + ".networks", nets, "required (only an external zone defaults to any address)")
            continue
        zones[name] = Zone(name, _networks(nets, zpath + ".networks", problems), external, str(zraw.get("description", "")))
    internal = [z for z in zones.values() if not z.external]
    for i, zone in enumerate(internal):
        for other in internal[i + 1:]:
            for net in zone.networks:
                for onet in other.networks:
                    if net.version == onet.version and net.overlaps(onet):
                        problems.add("voiceops_zones.%s.networks" % other.name, str(onet),
                                     "overlaps %s of zone %s; internal zones must not overlap" % (net, zone.name))
    return zones


def _component_configs(raw: Any, path: str, catalog: Catalog, problems: Problems,
                       roles: set[str] | None = None) -> dict[str, ComponentConfig]:
    if isinstance(raw, list):
        raw = {name: {} for name in raw}
    if not isinstance(raw, Mapping):
        problems.add(path, raw, "a list of component names or a mapping of component name to its settings")
        return {}
    configs: dict[str, ComponentConfig] = {}
    for name in sorted(raw, key=str):
        cpath = "%s.%s" % (path, name)
        comp = catalog.components.get(name)
        if comp is None:
            problems.add(cpath, name, "unknown component" + _suggest(str(name), sorted(catalog.components)))
            continue
        craw = raw[name] or {}
        if not isinstance(craw, Mapping):
            problems.add(cpath, craw, "component settings are a mapping (params, features, tls_only, peers)")
            continue
        unknown = sorted(set(craw) - {"params", "features", "tls_only", "peers"})
        if unknown:
            problems.add(cpath, unknown, "unknown settings; allowed are params, features, tls_only, peers")
        params: dict[str, PortSet | None] = {p.name: p.default for p in comp.parameters.values()}
        for pname, pvalue in sorted((craw.get("params") or {}).items()):
            ppath = "%s.params.%s" % (cpath, pname)
            param = comp.parameters.get(pname)
            if param is None:
                problems.add(ppath, pvalue, "component %s has no parameter %s%s" % (name, pname, _suggest(pname, sorted(comp.parameters))))
                continue
            if not param.configurable:
                problems.add(ppath, pvalue, "the catalog says %s of %s is not configurable (the vendor fixes it)" % (pname, name))
                continue
            try:
                parsed = () if pvalue == [] and param.kind == "ports" else parse_ports(pvalue)
            except PortError as exc:
                problems.add(ppath, pvalue, str(exc))
                continue
            if param.kind == "port" and len(parsed) != 1 or param.kind == "port" and parsed[0][0] != parsed[0][1]:
                problems.add(ppath, pvalue, "%s is a single port" % pname)
                continue
            params[pname] = parsed
        features = {f.name for f in comp.features.values() if f.default}
        fraw = craw.get("features") or []
        if isinstance(fraw, list):
            fraw = {f: True for f in fraw}
        if not isinstance(fraw, Mapping):
            problems.add(cpath + ".features", fraw, "a list of feature names or a mapping of feature name to true/false")
            fraw = {}
        for fname, on in sorted(fraw.items(), key=lambda kv: str(kv[0])):
            if fname not in comp.features:
                problems.add("%s.features.%s" % (cpath, fname), on, "component %s has no feature %s%s"
                             % (name, fname, _suggest(str(fname), sorted(comp.features))))
                continue
            if not isinstance(on, bool):
                problems.add("%s.features.%s" % (cpath, fname), on, "true or false")
                continue
            (features.add if on else features.discard)(fname)
        tls_only = craw.get("tls_only", False)
        if not isinstance(tls_only, bool):
            problems.add(cpath + ".tls_only", tls_only, "true or false")
            tls_only = False
        peers: dict[str, frozenset[str]] = {}
        praw = craw.get("peers") or {}
        if not isinstance(praw, Mapping):
            problems.add(cpath + ".peers", praw, "a mapping of role or component to a list of instance names")
            praw = {}
        for role, names in sorted(praw.items()):
            if isinstance(names, str):
                names = [names]
            if roles is None:
                roles = catalog.roles
            if role not in roles:
                problems.add("%s.peers.%s" % (cpath, role), names, "no component plays this role" + _suggest(str(role), sorted(roles)))
                continue
            if not isinstance(names, list):
                problems.add("%s.peers.%s" % (cpath, role), names, "a list of host or endpoint names")
                continue
            peers[role] = frozenset(str(n) for n in names)
        configs[name] = ComponentConfig(name, params, frozenset(features), tls_only, peers, cpath)
    return configs


def _platform(configs: dict[str, ComponentConfig], catalog: Catalog, declared: Any) -> str:
    if isinstance(declared, str) and declared:
        return declared
    platforms = {catalog.components[c].platform for c in configs}
    for candidate in ("windows", "linux", "device", "network", "external"):
        if candidate in platforms:
            return candidate
    return "any"


def _inside(addr: Network, net: Network) -> bool:
    """``addr.version == net.version and addr.subnet_of(net)``, with integers (CIDR networks nest or are disjoint)."""
    return (addr.version == net.version and addr.prefixlen >= net.prefixlen
            and int(addr.network_address) & int(net.netmask) == int(net.network_address))


def _place(name: str, path: str, zone_path: str, zone_name: Any, addresses: tuple[Network, ...],
           zones: dict[str, Zone], problems: Problems, fqdn: str | None) -> str | None:
    """The zone of an instance: the declared one (checked) or the one its addresses fall in."""
    if zone_name is not None:
        if zone_name not in zones:
            problems.add(zone_path, zone_name, "unknown zone" + _suggest(str(zone_name), sorted(zones)))
            return None
        zone = zones[zone_name]
        if not zone.external:
            for addr in addresses:
                if not any(_inside(addr, n) for n in zone.networks):
                    problems.add(path, str(addr), "not inside the networks of zone %s" % zone_name)
        return zone_name
    found = set()
    for addr in addresses:
        hits = [z.name for z in zones.values() if not z.external
                and any(_inside(addr, n) for n in z.networks)]
        found.update(hits or ["<none>"])
    if len(found) == 1 and "<none>" not in found:
        return found.pop()
    if not addresses and fqdn:
        problems.add(path, fqdn, "%s is given by name: say which zone it is in" % name)
    else:
        problems.add(path, [str(a) for a in addresses],
                     "%s is in no zone (its addresses fall in %s); set its zone or fix voiceops_zones" % (name, sorted(found) or "none"))
    return None


def _add_management_target(configs: dict[str, ComponentConfig], platform: str, port: Any, base: str,
                           catalog: Catalog, problems: Problems) -> None:
    """Every managed host stays reachable from the management networks on the port Ansible uses."""
    comp_name, param = ("managed_windows", "winrm_port") if platform == "windows" else ("managed_linux", "ssh_port")
    comp = catalog.components.get(comp_name)
    if comp is None:  # pragma: no cover - the built-in catalog always has them
        return
    params = {p.name: p.default for p in comp.parameters.values()}
    if port is not None:
        try:
            parsed = parse_ports(port)
        except PortError as exc:
            problems.add(base + ".ansible_port", port, str(exc))
            return
        if len(parsed) != 1 or parsed[0][0] != parsed[0][1]:
            problems.add(base + ".ansible_port", port, "a single port")
            return
        params[param] = parsed
    configs[comp_name] = ComponentConfig(comp_name, params, frozenset(), False, {}, base + ".ansible_port")


def _management_endpoint(estate: Estate, catalog: Catalog, problems: Problems) -> None:
    if not estate.management_networks or "management_station" not in catalog.components:
        return
    if MANAGEMENT in estate.instances:
        problems.add("voiceops_endpoints.%s" % MANAGEMENT, MANAGEMENT,
                     "the name is reserved for the endpoint made from voiceops_management_networks")
        return
    zone = _place(MANAGEMENT, "voiceops_management_networks", "voiceops_management_networks", None,
                  estate.management_networks, estate.zones, problems, None)
    if zone is None:
        return
    config = ComponentConfig("management_station", {}, frozenset(), False, {}, "voiceops_management_networks")
    estate.instances[MANAGEMENT] = Instance(MANAGEMENT, "endpoint", zone, estate.management_networks, None, "any",
                                            {"management_station": config})


def build_estate(global_vars: Mapping[str, Any], host_vars: Mapping[str, Mapping[str, Any]], catalog: Catalog) -> Estate:
    """Build the estate from the play's variables and every inventory host's variables."""
    with gc_paused():
        return _build_estate(global_vars, host_vars, catalog)


def _build_estate(global_vars: Mapping[str, Any], host_vars: Mapping[str, Mapping[str, Any]], catalog: Catalog) -> Estate:
    problems = Problems()
    estate = Estate()
    roles = catalog.roles
    estate.zones = _zones(global_vars.get("voiceops_zones"), problems)
    estate.management_networks = _networks(global_vars.get("voiceops_management_networks", []), "voiceops_management_networks", problems)

    for host in sorted(host_vars):
        hv = host_vars[host]
        base = "hostvars[%r]" % host
        edge_raw = hv.get("voiceops_edge_zones")
        comps_raw = hv.get("voiceops_components")
        if comps_raw is None and edge_raw is None:
            continue
        addr_raw = hv.get("voiceops_addresses")
        if addr_raw is None:
            addr_raw = hv.get("ansible_host", host)
            apath = base + ".ansible_host"
            try:
                ipaddress.ip_address(str(addr_raw))
            except ValueError:
                problems.add(apath, addr_raw, "not an IP address; set voiceops_addresses for %s" % host)
                continue
        else:
            apath = base + ".voiceops_addresses"
        addresses = _networks(addr_raw, apath, problems, host=True)
        if edge_raw is not None:
            epath = base + ".voiceops_edge_zones"
            if isinstance(edge_raw, list):
                edge_raw = {z: [] for z in edge_raw}
            if not isinstance(edge_raw, Mapping) or not edge_raw:
                problems.add(epath, edge_raw, "a list of zone names or a mapping of zone name to interface(s)")
            else:
                ezones: dict[str, tuple[str, ...]] = {}
                for zname, ifaces in sorted(edge_raw.items()):
                    if zname not in estate.zones:
                        problems.add("%s.%s" % (epath, zname), zname, "unknown zone" + _suggest(str(zname), sorted(estate.zones)))
                        continue
                    ifaces = [ifaces] if isinstance(ifaces, str) else list(ifaces or [])
                    ezones[zname] = tuple(str(i) for i in ifaces)
                estate.edges[host] = Edge(host, ezones, addresses)
        configs = _component_configs(comps_raw or {}, base + ".voiceops_components", catalog, problems, roles)
        zone = _place(host, apath, base + ".voiceops_zone", hv.get("voiceops_zone"), addresses, estate.zones, problems, None)
        if zone is None:
            continue
        declared = hv.get("voiceops_platform")
        if declared is None and hv.get("ansible_connection") in WINDOWS_CONNECTIONS:
            declared = "windows"
        platform = _platform(configs, catalog, declared)
        _add_management_target(configs, platform, hv.get("ansible_port"), base, catalog, problems)
        estate.instances[host] = Instance(host, "host", zone, addresses, None, platform, configs)

    endpoints = global_vars.get("voiceops_endpoints") or {}
    if isinstance(endpoints, list):
        listed: dict[str, Any] = {}
        for idx, item in enumerate(endpoints):
            if not isinstance(item, Mapping) or not item.get("name"):
                problems.add("voiceops_endpoints[%d]" % idx, item, "an endpoint is a mapping with a name")
                continue
            listed[str(item["name"])] = item
        endpoints = listed
    if not isinstance(endpoints, Mapping):
        problems.add("voiceops_endpoints", endpoints, "a mapping of endpoint name to its settings")
        endpoints = {}
    for name in sorted(endpoints):
        eraw = endpoints[name]
        epath = "voiceops_endpoints.%s" % name
        if not isinstance(eraw, Mapping):
            problems.add(epath, eraw, "an endpoint is a mapping with zone, addresses or fqdn, and components")
            continue
        if name in estate.instances:
            problems.add(epath, name, "an inventory host has the same name")
            continue
        configs = _component_configs(eraw.get("components"), epath + ".components", catalog, problems, roles)
        fqdn = eraw.get("fqdn")
        if fqdn is None:
            fqdns = sorted({catalog.components[c].fqdn for c in configs if catalog.components[c].fqdn})
            fqdn = fqdns[0] if len(fqdns) == 1 else None
        addresses = _networks(eraw.get("addresses", []), epath + ".addresses", problems)
        zone_name = eraw.get("zone")
        if zone_name is not None and zone_name in estate.zones and estate.zones[zone_name].external and not addresses and not fqdn:
            addresses = estate.zones[zone_name].networks
        if not addresses and not fqdn:
            problems.add(epath, dict(eraw), "give addresses or an fqdn")
            continue
        zone = _place(name, epath + ".addresses", epath + ".zone", zone_name, addresses, estate.zones, problems, fqdn)
        if zone is None:
            continue
        estate.instances[name] = Instance(name, "endpoint", zone, addresses, fqdn,
                                          _platform(configs, catalog, eraw.get("platform")), configs)

    _management_endpoint(estate, catalog, problems)
    known = set(estate.instances)
    for inst in estate.instances.values():
        for comp in inst.components.values():
            for role, names in comp.peers.items():
                for peer in sorted(names - known):
                    problems.add("%s.peers.%s" % (comp.path, role), peer,
                                 "no host or endpoint of that name" + _suggest(peer, sorted(estate.instances)))
    problems.raise_if_any()
    return estate
