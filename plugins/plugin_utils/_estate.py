# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate: zones, hosts, endpoints and edge firewalls from inventory variables (internal API).

Input is plain data (what the action plugin read from the inventory); output is a
checked, normalised :class:`Estate`.  Every problem names the variable path and
the value.  The inventory model is described in ``docs/inventory.md``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._catalog import Catalog
from ._errors import Problems, closest
from ._gc import gc_paused
from ._ports import PortError, PortSet, parse_ports
from ._schema import GLOBAL_VARS, HOST_VARS, INVALID, clean, instance_name

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

ANY_NETWORKS = ("0.0.0.0/0", "::/0")
WINDOWS_CONNECTIONS = ("winrm", "psrp")


def connection_name(value: Any) -> Any:
    """``ansible_connection`` without the collection prefix Ansible also accepts
    (``ansible.builtin.winrm``, ``ansible.legacy.psrp`` -> ``winrm``, ``psrp``)."""
    if isinstance(value, str) and value.startswith(("ansible.builtin.", "ansible.legacy.")):
        return value.rsplit(".", 1)[1]
    return value


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
    passthrough: tuple[str, ...] = ()  # interfaces forwarded unfiltered, by declaration
    log_drops: dict[str, Any] | None = None  # voiceops_edge_log_drops: {rate, burst}; None: off
    fqdn_ends: str = "name"  # voiceops_edge_fqdn_ends: how an end known only by name is matched (name or zone)


@dataclass
class Estate:
    zones: dict[str, Zone] = field(default_factory=dict)
    management_networks: tuple[Network, ...] = ()
    instances: dict[str, Instance] = field(default_factory=dict)
    edges: dict[str, Edge] = field(default_factory=dict)
    routes: list[dict[str, Any]] = field(default_factory=list)  # voiceops_routes, zones checked
    local_rules: list[dict[str, Any]] = field(default_factory=list)  # voiceops_local_rules, schema-checked (the planner resolves them)


def _suggest(value: str, choices: list[str]) -> str:
    close = closest(value, choices)
    return " (did you mean %r?)" % close if close else ""


def unknown_zone(value: Any, zones: Mapping[str, Any]) -> str:
    """The message for a zone name that ``voiceops_zones`` does not define."""
    known = sorted(zones)
    close = closest(value, known)
    hint = "did you mean %r? " % close if close else ""
    return "unknown zone %r (%sknown zones: %s)" % (value, hint, ", ".join(known) or "none")


@dataclass(frozen=True)
class _Places:
    """The zones instances are placed in, and what an earlier problem already made uncertain.

    One mistake gets one message: an instance whose placement depends on a refused zone network,
    on overlapping zones or on a refused ``voiceops_zones`` is not reported a second time.
    """

    zones: dict[str, Zone]
    refused: frozenset[str] = frozenset()  # zones with a refused network: what it would hold is unknown
    unusable: bool = False  # voiceops_zones itself was refused or missing


def _network(value: str, path: str, problems: Problems, host: bool = False) -> Network | None:
    """One address or network (its type was checked by the schema: a string)."""
    if not value or not value.isascii():
        problems.add(path, value, "not an IP address or network")
        return None
    try:
        net = ipaddress.ip_network(value.strip(), strict=True)
    except ValueError as exc:
        return _loose_network(value, path, problems, host, exc)
    if host and net.num_addresses != 1:
        problems.add(path, value, "a host address is a single address, not a network")
        return None
    return net


def _loose_network(value: str, path: str, problems: Problems, host: bool, exc: ValueError) -> Network | None:
    """A network written with host bits (``10.0.0.1/24``) is refused with the form to write instead; the
    network it means is returned, so that nothing placed in it is reported again."""
    try:
        iface = ipaddress.ip_interface(value.strip())
    except ValueError:
        problems.add(path, value, "not an IP address or network (%s)" % exc)
        return None
    if host:
        problems.add(path, value, "a host address is one address without a prefix length: write %s" % iface.ip)
        return ipaddress.ip_network(iface.ip)
    problems.add(path, value, "%s has host bits set: write the network %s (or %s/%d for the one address %s)"
                 % (value, iface.network, iface.ip, iface.ip.max_prefixlen, iface.ip))
    return iface.network


def _networks(value: list[str], path: str, problems: Problems, host: bool = False) -> tuple[Network, ...]:
    out = []
    for idx, item in enumerate(value):
        net = _network(item, "%s[%d]" % (path, idx), problems, host=host)
        if net is not None:
            out.append(net)
    return tuple(sorted(set(out), key=_net_key))


def _net_key(net: Network) -> tuple[int, int, int]:
    return (net.version, int(net.network_address), net.prefixlen)


def _zones(raw: Any, problems: Problems) -> _Places:
    path = "voiceops_zones"
    if raw is INVALID:
        return _Places({}, unusable=True)
    if not raw:
        problems.add(path, raw, "a mapping of zone name to its networks is required")
        return _Places({}, unusable=True)
    zones: dict[str, Zone] = {}
    refused = set()
    for name, zraw in raw.items():
        zpath = "%s.%s" % (path, name)
        external = zraw.get("external", False)
        nets = zraw.get("networks", list(ANY_NETWORKS) if external else None)
        before = len(problems.items)
        if nets is None:
            problems.add(zpath + ".networks", nets, "required (only an external zone defaults to any address)")
            nets = []
        zones[name] = Zone(name, _networks(nets, zpath + ".networks", problems), external, zraw.get("description", ""))
        if len(problems.items) > before:
            refused.add(name)
    _check_overlaps(zones, problems)
    return _Places(zones, frozenset(refused))


def _check_overlaps(zones: dict[str, Zone], problems: Problems) -> None:
    """Internal zones must not overlap: one sweep over all their networks, in address order.

    CIDR networks either nest or are disjoint, so a network overlaps another zone's exactly when
    one of the networks still open at its start (a chain of nested networks) belongs to another
    zone.  O(n log n) in the number of networks (it was pairwise, 37 s for 2 x 2,000 networks).
    """
    nets = sorted(((net, zone.name) for zone in zones.values() if not zone.external for net in zone.networks),
                  key=lambda item: (item[0].version, int(item[0].network_address), item[0].prefixlen, item[1]))
    open_nets: list[tuple[Network, str]] = []
    for net, zone in nets:
        while open_nets and (open_nets[-1][0].version != net.version
                             or int(open_nets[-1][0].broadcast_address) < int(net.network_address)):
            open_nets.pop()
        seen = {zone}
        for onet, ozone in reversed(open_nets):  # at most one per prefix length: bounded
            if ozone not in seen:
                seen.add(ozone)
                problems.add("voiceops_zones.%s.networks" % zone, str(net),
                             "%s overlaps %s of zone %s; internal zones must not overlap, as every address belongs to one "
                             "zone: make them disjoint (remove %s from zone %s, or %s from zone %s, or split the wider "
                             "network into the parts each zone owns)" % (net, onet, ozone, net, zone, onet, ozone))
        open_nets.append((net, zone))


def _component_configs(raw: dict[str, dict[str, Any]], path: str, catalog: Catalog, problems: Problems,
                       roles: set[str] | None = None) -> dict[str, ComponentConfig]:
    """Component settings (shape checked by the schema) against the catalog."""
    configs: dict[str, ComponentConfig] = {}
    if roles is None:
        roles = catalog.roles
    for name, craw in raw.items():
        cpath = "%s.%s" % (path, name)
        comp = catalog.components.get(name)
        if comp is None:
            problems.add(cpath, name, "unknown component" + _suggest(name, sorted(catalog.components)))
            continue
        params: dict[str, PortSet | None] = {p.name: p.default for p in comp.parameters.values()}
        for pname, pvalue in craw.get("params", {}).items():
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
            if param.kind == "port" and (len(parsed) != 1 or parsed[0][0] != parsed[0][1]):
                problems.add(ppath, pvalue, "%s is a single port" % pname)
                continue
            params[pname] = parsed
        features = {f.name for f in comp.features.values() if f.default}
        fraw = craw.get("features", [])
        for fname, on in (fraw.items() if isinstance(fraw, dict) else ((f, True) for f in fraw)):
            if fname not in comp.features:
                problems.add("%s.features.%s" % (cpath, fname), on, "component %s has no feature %s%s"
                             % (name, fname, _suggest(fname, sorted(comp.features))))
                continue
            (features.add if on else features.discard)(fname)
        peers: dict[str, frozenset[str]] = {}
        for role, names in craw.get("peers", {}).items():
            if role not in roles:
                problems.add("%s.peers.%s" % (cpath, role), names, "no component plays this role" + _suggest(role, sorted(roles)))
                continue
            peers[role] = frozenset(names)
        configs[name] = ComponentConfig(name, params, frozenset(features), craw.get("tls_only", False), peers, cpath)
    return configs


def _platform(configs: dict[str, ComponentConfig], catalog: Catalog, declared: str | None) -> str:
    if declared:
        return declared
    platforms = {catalog.components[c].platform for c in configs}
    for candidate in ("windows", "linux", "device", "network", "external"):
        if candidate in platforms:
            return candidate
    return "any"


def _host_platform(hv: dict[str, Any], base: str, configs: dict[str, ComponentConfig], catalog: Catalog,
                   problems: Problems) -> str | None:
    """A managed host's platform: declared, or derived from how Ansible connects to it and its components.

    A host Ansible reaches over WinRM or PSRP is a Windows host whatever else is said: its
    management flow is WinRM, and the Windows target applies its rules.  A declared platform
    that says otherwise is a contradiction, not a preference.
    """
    declared = hv.get("voiceops_platform")
    connection = connection_name(hv.get("ansible_connection"))
    if connection in WINDOWS_CONNECTIONS:
        if declared not in (None, "windows"):
            problems.add(base + ".voiceops_platform", declared,
                         "ansible_connection is %s, so the host is managed as a Windows host; "
                         "leave voiceops_platform unset or set it to windows" % connection)
            return None
        declared = "windows"
    return _platform(configs, catalog, declared)


def _inside(addr: Network, net: Network) -> bool:
    """``addr.version == net.version and addr.subnet_of(net)``, with integers (CIDR networks nest or are disjoint)."""
    return (addr.version == net.version and addr.prefixlen >= net.prefixlen
            and int(addr.network_address) & int(net.netmask) == int(net.network_address))


def _nets_text(nets: tuple[Network, ...], most: int = 4) -> str:
    shown = ", ".join(str(n) for n in nets[:most])
    return shown + (" and %d more" % (len(nets) - most) if len(nets) > most else "") if nets else "no networks"


def _addr_text(addr: Network) -> str:
    return str(addr.network_address) if addr.num_addresses == 1 else str(addr)


def _place(name: str, path: str, zone_path: str | None, zone_name: Any, addresses: tuple[Network, ...],
           places: _Places, problems: Problems, fqdn: str | None) -> str | None:
    """The zone of an instance: the declared one (checked) or the one its addresses fall in.

    ``zone_path`` is the variable that declares the zone (None: the instance has none, as the
    management networks). Nothing is said when an earlier problem (a refused zone network,
    overlapping zones) is the cause: that problem has its own message.
    """
    zones = places.zones
    if places.unusable:
        return None
    if zone_name is not None:
        if zone_name not in zones:
            problems.add(str(zone_path), zone_name, unknown_zone(zone_name, zones))
            return None
        zone = zones[zone_name]
        if not zone.external and zone_name not in places.refused:
            for addr in addresses:
                if not any(_inside(addr, n) for n in zone.networks):
                    elsewhere = sorted(z.name for z in zones.values() if not z.external and any(_inside(addr, n) for n in z.networks))
                    fix = ("it is in zone %s: set %s to %s, or leave it unset" % (elsewhere[0], zone_path, elsewhere[0]) if elsewhere
                           else "add a network that holds it to voiceops_zones.%s.networks, or correct the address" % zone_name)
                    problems.add(path, str(addr), "%s is not inside the networks of zone %s (%s): %s"
                                 % (_addr_text(addr), zone_name, _nets_text(zone.networks), fix))
        return zone_name
    if not addresses and fqdn:
        problems.add(str(zone_path), None, "%s is given only by name (%s), so its zone cannot come from its addresses: "
                     "set its zone (%s)" % (name, fqdn, ", ".join(sorted(zones)) or "no zone is defined"))
        return None
    by_addr = [(addr, [z.name for z in zones.values() if not z.external and any(_inside(addr, n) for n in z.networks)])
               for addr in addresses]
    if any(len(hits) > 1 for _addr, hits in by_addr):
        return None  # in two zones: they overlap, which voiceops_zones.<zone>.networks reports
    found = {hits[0] for _addr, hits in by_addr if hits}
    outside = [addr for addr, hits in by_addr if not hits]
    if outside:
        if places.refused:
            return None  # the network that would hold it may be the refused one
        external = sorted(z.name for z in zones.values() if z.external)
        hint = ""
        if zone_path is not None and external:
            hint = "; or, if it is outside every internal network, set %s: %s" % (zone_path, external[0])
        problems.add(path, [_addr_text(a) for a in outside],
                     "%s is in none of the networks of voiceops_zones: add a network that holds %s to its zone "
                     "(voiceops_zones.<zone>.networks)%s" % (name if zone_path is not None else "a management network",
                                                             ", ".join(_addr_text(a) for a in outside), hint))
        return None
    if len(found) > 1:
        problems.add(path, [_addr_text(a) for a in addresses],
                     "%s has addresses in different zones (%s); an instance is in one zone: give it the addresses of one "
                     "zone, or make one instance per zone" % (name, ", ".join("%s in %s" % (_addr_text(a), hits[0]) for a, hits in by_addr)))
        return None
    if not found:  # no addresses and no name: the caller says what to give
        return None
    return found.pop()


def management_port(hv: Mapping[str, Any], platform: str) -> tuple[str | None, Any]:
    """The variable that sets the port Ansible connects to, and its value; ``(None, default)`` when
    none is set. As the connection plugins read it: each plugin's ``port`` option takes the last
    of its variables that is set (winrm: ``ansible_port``, ``ansible_winrm_port``; psrp:
    ``ansible_port``, ``ansible_psrp_port``; ssh: ``ansible_port``, ``ansible_ssh_port``). Unset,
    winrm uses 5986, psrp 5985 with ``ansible_psrp_protocol: http`` and 5986 otherwise, and the
    catalog's defaults say so (``None``: the catalog default)."""
    if platform == "windows":
        psrp = connection_name(hv.get("ansible_connection")) == "psrp"
        names = ("ansible_psrp_port", "ansible_port") if psrp else ("ansible_winrm_port", "ansible_port")
    else:
        names = ("ansible_ssh_port", "ansible_port")
    for name in names:
        if hv.get(name) is not None:
            return name, hv[name]
    if platform == "windows" and connection_name(hv.get("ansible_connection")) == "psrp" and hv.get("ansible_psrp_protocol") == "http":
        return "ansible_psrp_protocol", 5985
    return None, None


def _add_management_target(configs: dict[str, ComponentConfig], platform: str, hv: Mapping[str, Any], base: str,
                           catalog: Catalog, problems: Problems) -> None:
    """Every managed host stays reachable from the management networks on the port Ansible uses."""
    comp_name, param = ("managed_windows", "winrm_port") if platform == "windows" else ("managed_linux", "ssh_port")
    comp = catalog.components.get(comp_name)
    if comp is None:  # pragma: no cover - the built-in catalog always has them
        return
    params = {p.name: p.default for p in comp.parameters.values()}
    variable, port = management_port(hv, platform)
    path = base + "." + (variable or "ansible_port")
    if port is not None:
        try:
            parsed = parse_ports(port)
        except PortError as exc:
            problems.add(path, port, str(exc))
            return
        if len(parsed) != 1 or parsed[0][0] != parsed[0][1]:
            problems.add(path, port, "a single port")
            return
        params[param] = parsed
    configs[comp_name] = ComponentConfig(comp_name, params, frozenset(), False, {}, path)


def _management_endpoint(estate: Estate, places: _Places, catalog: Catalog, problems: Problems) -> None:
    if not estate.management_networks or "management_station" not in catalog.components:
        return
    if MANAGEMENT in estate.instances:
        problems.add("voiceops_endpoints.%s" % MANAGEMENT, MANAGEMENT,
                     "the name is reserved for the endpoint made from voiceops_management_networks")
        return
    zone = _place(MANAGEMENT, "voiceops_management_networks", None, None, estate.management_networks, places, problems, None)
    if zone is None:
        return
    config = ComponentConfig("management_station", {}, frozenset(), False, {}, "voiceops_management_networks")
    estate.instances[MANAGEMENT] = Instance(MANAGEMENT, "endpoint", zone, estate.management_networks, None, "any",
                                            {"management_station": config})


def build_estate(global_vars: Mapping[str, Any], host_vars: Mapping[str, Mapping[str, Any]], catalog: Catalog) -> Estate:
    """Build the estate from the play's variables and every inventory host's variables."""
    with gc_paused():
        return _build_estate(global_vars, host_vars, catalog)


def _clean_globals(global_vars: Mapping[str, Any], problems: Problems) -> dict[str, Any]:
    return {key: clean(GLOBAL_VARS[key], global_vars[key], key, problems)
            for key in ("voiceops_zones", "voiceops_management_networks", "voiceops_endpoints", "voiceops_routes",
                        "voiceops_local_rules")
            if key in global_vars}


def _clean_host(host: Any, hv: Any, problems: Problems) -> tuple[str, dict[str, Any]] | None:
    """A participating host's name and variables through the schema; None when any is bad."""
    if not isinstance(hv, Mapping):
        problems.add("hostvars[%r]" % (host,), hv, "host variables are a mapping")
        return None
    base = "hostvars[%r]" % (host,)
    ok = clean(instance_name, host, base, problems) is not INVALID
    out: dict[str, Any] = {}
    for key, spec in HOST_VARS.items():
        if key in hv and hv[key] is not None:
            value = clean(spec, hv[key], "%s.%s" % (base, key), problems)
            ok = ok and value is not INVALID
            out[key] = value
    return (str(host), out) if ok else None


def _build_estate(global_vars: Mapping[str, Any], host_vars: Mapping[str, Mapping[str, Any]], catalog: Catalog) -> Estate:
    problems = Problems()
    estate = Estate()
    roles = catalog.roles
    gv = _clean_globals(global_vars, problems)
    places = _zones(gv.get("voiceops_zones", {}), problems)
    estate.zones = places.zones
    mgmt = gv.get("voiceops_management_networks", [])
    estate.management_networks = () if mgmt is INVALID else _networks(mgmt, "voiceops_management_networks", problems)

    participants: set[str] = set()
    for host in sorted(host_vars, key=str):
        raw = host_vars[host]
        if not isinstance(raw, Mapping) or (raw.get("voiceops_edge_zones") is None and raw.get("voiceops_components") is None):
            continue  # not part of the estate: its name and variables are none of the plan's business
        participants.add(str(host))
        cleaned = _clean_host(host, raw, problems)
        if cleaned is None:
            continue
        host, hv = cleaned
        base = "hostvars[%r]" % host
        if "voiceops_addresses" in hv:
            apath = base + ".voiceops_addresses"
            addresses = _networks(hv["voiceops_addresses"], apath, problems, host=True)
        else:
            apath = base + ".ansible_host"
            addr_raw = hv.get("ansible_host", host)
            try:
                ipaddress.ip_address(addr_raw if addr_raw.isascii() else "-")
            except ValueError:
                problems.add(apath, addr_raw, "not an IP address; set voiceops_addresses for %s" % host)
                continue
            addresses = _networks([addr_raw], apath, problems, host=True)
        edge_raw = hv.get("voiceops_edge_zones")
        if edge_raw is not None:
            _edge(host, edge_raw, base + ".voiceops_edge_zones", addresses, estate, problems)
            if host in estate.edges:
                estate.edges[host].passthrough = tuple(sorted(set(hv.get("voiceops_edge_passthrough", []))))
                estate.edges[host].log_drops = log_drops_setting(hv.get("voiceops_edge_log_drops", False))
                estate.edges[host].fqdn_ends = hv.get("voiceops_edge_fqdn_ends", "name")
        elif hv.get("voiceops_edge_fqdn_ends", "name") != "name":
            problems.add(base + ".voiceops_edge_fqdn_ends", hv["voiceops_edge_fqdn_ends"],
                         "only an edge firewall (a host with voiceops_edge_zones) matches ends known only by name")
        elif hv.get("voiceops_edge_log_drops"):
            problems.add(base + ".voiceops_edge_log_drops", hv["voiceops_edge_log_drops"],
                         "only an edge firewall (a host with voiceops_edge_zones) drops forwarded traffic")
        elif hv.get("voiceops_edge_passthrough"):
            problems.add(base + ".voiceops_edge_passthrough", hv["voiceops_edge_passthrough"],
                         "only an edge firewall (a host with voiceops_edge_zones) forwards traffic")
        configs = _component_configs(hv.get("voiceops_components") or {}, base + ".voiceops_components", catalog, problems, roles)
        zone = _place(host, apath, base + ".voiceops_zone", hv.get("voiceops_zone"), addresses, places, problems, None)
        if zone is None:
            continue
        platform = _host_platform(hv, base, configs, catalog, problems)
        if platform is None:
            continue
        _add_management_target(configs, platform, hv, base, catalog, problems)
        estate.instances[host] = Instance(host, "host", zone, addresses, None, platform, configs)

    endpoints = _endpoint_items(gv.get("voiceops_endpoints", {}), problems)
    for name, eraw in endpoints.items():
        _endpoint(name, eraw, estate, places, catalog, roles, problems)

    estate.routes = _routes(gv.get("voiceops_routes", []), places, problems)
    local_rules = gv.get("voiceops_local_rules", [])
    estate.local_rules = [] if local_rules is INVALID else local_rules
    _management_endpoint(estate, places, catalog, problems)
    # a peer that names a refused host or endpoint is not reported: the refusal has its own message
    declared = set(estate.instances) | participants | set(endpoints) | {MANAGEMENT}
    for inst in estate.instances.values():
        for comp in inst.components.values():
            for role, names in comp.peers.items():
                for peer in sorted(names - declared):
                    problems.add("%s.peers.%s" % (comp.path, role), peer,
                                 "no host or endpoint of that name" + _suggest(peer, sorted(estate.instances)))
    problems.raise_if_any()
    return estate


LOG_DROPS_DEFAULT = {"rate": "10/minute", "burst": 5}


def log_drops_setting(value: Any) -> dict[str, Any] | None:
    """``voiceops_edge_log_drops`` (schema-checked) as the plan keeps it: {rate, burst}, or None when off."""
    if value is True:
        return dict(LOG_DROPS_DEFAULT)
    if isinstance(value, Mapping):
        return dict(LOG_DROPS_DEFAULT, **value)
    return None


def _routes(raw: Any, places: _Places, problems: Problems) -> list[dict[str, Any]]:
    zones = places.zones
    if raw is INVALID or places.unusable:
        return []
    out = []
    for idx, route in enumerate(raw):
        path = "voiceops_routes[%d]" % idx
        named = [("from", route["from"])] + [("via[%d]" % i, z) for i, z in enumerate(route.get("via", []))] + [("to", route["to"])]
        unknown = [(key, zone) for key, zone in named if zone not in zones]
        for key, zone in unknown:
            problems.add("%s.%s" % (path, key), zone, unknown_zone(zone, zones))
        if not unknown:
            out.append(dict(route, via=route.get("via", [])))  # the plan always says which zones are between
    return out


def _edge(host: str, edge_raw: list[str] | dict[str, list[str]], epath: str, addresses: tuple[Network, ...],
          estate: Estate, problems: Problems) -> None:
    if isinstance(edge_raw, list):
        edge_raw = {z: [] for z in edge_raw}
    if not edge_raw:
        problems.add(epath, edge_raw, "a list of zone names or a mapping of zone name to interface(s)")
        return
    ezones: dict[str, tuple[str, ...]] = {}
    for zname, ifaces in sorted(edge_raw.items()):
        if zname not in estate.zones:
            if estate.zones:  # with no zones at all, voiceops_zones has the message
                problems.add("%s.%s" % (epath, zname), zname, unknown_zone(zname, estate.zones))
            continue
        ezones[zname] = tuple(ifaces)
    estate.edges[host] = Edge(host, ezones, addresses)


def _endpoint_items(endpoints: Any, problems: Problems) -> dict[str, dict[str, Any]]:
    """``voiceops_endpoints`` as name -> settings, from either of its two forms."""
    if endpoints is INVALID:
        return {}
    if isinstance(endpoints, dict):
        return endpoints
    listed: dict[str, dict[str, Any]] = {}
    for idx, item in enumerate(endpoints):
        name = item.pop("name")
        if name in listed:
            problems.add("voiceops_endpoints[%d].name" % idx, name, "listed twice")
            continue
        listed[name] = item
    return dict(sorted(listed.items()))


def _endpoint(name: str, eraw: dict[str, Any], estate: Estate, places: _Places, catalog: Catalog, roles: set[str],
              problems: Problems) -> None:
    epath = "voiceops_endpoints.%s" % name
    if name in estate.instances:
        problems.add(epath, name, "an inventory host has the same name")
        return
    configs = _component_configs(eraw.get("components", {}), epath + ".components", catalog, problems, roles)
    zone_name = eraw.get("zone")
    if places.unusable or (zone_name is not None and zone_name not in places.zones):
        _place(name, epath + ".addresses", epath + ".zone", zone_name, (), places, problems, None)  # its one message
        return
    fqdn = eraw.get("fqdn")
    if fqdn is None:
        fqdns = sorted({known for c in configs if (known := catalog.components[c].fqdn)})
        fqdn = fqdns[0] if len(fqdns) == 1 else None
    addresses = _networks(eraw.get("addresses", []), epath + ".addresses", problems)
    if zone_name is not None and estate.zones[zone_name].external and not addresses and not fqdn:
        addresses = estate.zones[zone_name].networks
    if not addresses and not fqdn:
        if not eraw.get("addresses"):  # a refused address has its own message
            external = sorted(z.name for z in places.zones.values() if z.external)
            problems.add(epath + ".addresses", eraw.get("addresses"),
                         "give the addresses of %s, or its name (%s.fqdn); only an endpoint in an external zone "
                         "(%s.zone: %s) defaults to any address" % (name, epath, epath, external[0] if external else "none is defined"))
        return
    zone = _place(name, epath + ".addresses", epath + ".zone", zone_name, addresses, places, problems, fqdn)
    if zone is None:
        return
    estate.instances[name] = Instance(name, "endpoint", zone, addresses, fqdn,
                                      _platform(configs, catalog, eraw.get("platform")), configs)
