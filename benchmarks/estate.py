# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A seeded generator of synthetic voice and speech estates, for the benchmark.

``generate(hosts, seed)`` returns the inventory variables of an estate of ``hosts`` hosts
(inventory hosts plus endpoints; an endpoint is a phone or workstation subnet, an appliance or a
cloud service), and ``write_inventory`` writes them as an ordinary inventory directory, so the
playbook and the in-process planner see the same data.

The shape is a multi-site group, the way a real estate is built:

* a head office: management network, edge firewall, two hub domain controllers (and a legacy
  one), SQL Server, a file server, the SpeechExec Enterprise servers (License Server, Workflow
  Manager, SpeechLive Service, WebAccess; the Mobile Service in the DMZ), NTP and SMTP, and the
  cloud services on the internet (HostedPBX, InstantPBX, provisioning, phone vendors,
  SpeechLive, remote users, the internet);
* regions of up to 25 sites, each region with three zones (servers, phones, clients), a
  regional domain controller (replicating only with the hubs) and a regional file server;
* sites of three kinds (seeded mix): on-premises Swyx PBX (70 %: system phone, Yealink and DECT
  subnets, workstation subnets with the Swyx LAN client, softphone and browser, often a Speech
  Server with TIMC beside it or on its own computer and a SIP gateway, sometimes a VPN router
  to HostedPBX), HostedPBX VPNless (20 %) and InstantPBX (10 %).

With ``regional_edges=True`` the same estate (the same sites, hosts and endpoints, drawn from the
same seed) is joined the way a large multi-site group is: an edge firewall per region
(``r<N>_edge``) joining the region's three zones, the transit zone ``wan`` (the SD-WAN or MPLS
underlay between the sites) and, by default, the ``internet`` (local breakout); the head-office
edge ``edge01`` joins the head-office zones, ``wan`` and ``internet``. ``breakout="head_office"``
backhauls the regions' internet traffic through head office instead (the regional edges join
their zones and ``wan`` only). Either way every zone pair has exactly one shortest path (the
internet is never a transit zone), so no ``voiceops_routes`` are needed. The default output is
byte for byte what it was before the flag existed.

Like a real estate, each site restricts its peers to its own site (Speech Server SIP peers are
the site's gateway and TIMC; phones and clients register with the site's PBX; softphone RTP
stays between the site's workstations), so the flow count grows linearly with the hosts.
Every product and every component of the built-in catalog appears at every size.
"""

from __future__ import annotations

import ipaddress
import random
from pathlib import Path
from typing import Any

import yaml

SITES_PER_REGION = 25
WAN = "wan"
WAN_NETWORK = "172.31.255.0/24"  # the edges' underlay addresses; outside every other zone's networks
BREAKOUTS = ("local", "head_office")
# Full paths of the programs the catalog's program rules name (windows_firewall_program_paths).
PROGRAM_PATHS = {
    "SESWorker.exe": "C:\\Program Files\\Microsoft Office Communications Server 2007\\Speech Server\\Bin\\SESWorker.exe",
    "W3WP.exe": "C:\\Windows\\System32\\inetsrv\\w3wp.exe",
}
WINRM = {"ansible_connection": "winrm", "ansible_port": 5986}


class _Dumper(yaml.SafeDumper):
    """Block style, no aliases: what a person would write."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


try:  # the C emitter is much faster for the 10,000-host inventory
    class _CDumper(yaml.CSafeDumper):  # type: ignore[name-defined,misc]
        def ignore_aliases(self, data: Any) -> bool:
            return True
    _DUMPER: Any = _CDumper
except AttributeError:  # pragma: no cover
    _DUMPER = _Dumper


class Estate:
    """The generated inventory: groups of hosts, host variables and group variables of ``all``."""

    def __init__(self) -> None:
        self.groups: dict[str, dict[str, dict[str, Any]]] = {}  # group -> host -> inline vars
        self.host_vars: dict[str, dict[str, Any]] = {}          # host -> host_vars file
        self.zones: dict[str, Any] = {}
        self.management_networks: list[str] = []
        self.endpoints: dict[str, Any] = {}
        self.edge_zones: dict[str, str] = {}
        self.sites = 0
        self.regions = 0
        self.edges: dict[str, dict[str, str]] = {}  # edge firewall -> zone -> interface (filled by generate)

    # ------------------------------------------------------------------ building
    def host(self, group: str, name: str, address: str, windows: bool = True, **host_vars: Any) -> None:
        self.groups.setdefault(group, {})[name] = {"ansible_host": address}
        self.host_vars[name] = host_vars
        if windows:
            self.groups.setdefault("_windows", {})[name] = {}

    def endpoint(self, name: str, zone: str, components: Any, addresses: list[str] | None = None,
                 fqdn: str | None = None) -> None:
        ep: dict[str, Any] = {"zone": zone}
        if addresses:
            ep["addresses"] = addresses
        if fqdn:
            ep["fqdn"] = fqdn
        ep["components"] = components
        self.endpoints[name] = ep

    @property
    def count(self) -> int:
        return len(self.host_vars) + len(self.endpoints)

    # ------------------------------------------------------------------ views
    def all_host_vars(self) -> dict[str, dict[str, Any]]:
        """Every inventory host's variables, as the plan module reads them from hostvars."""
        out: dict[str, dict[str, Any]] = {}
        for group, hosts in self.groups.items():
            for name, inline in hosts.items():
                hv = out.setdefault(name, {})
                hv.update(inline)
                if group == "_windows":
                    hv.update(WINRM)
        for name, hv in self.host_vars.items():
            out[name].update(hv)
        return out

    def global_vars(self) -> dict[str, Any]:
        return {"voiceops_zones": self.zones, "voiceops_management_networks": self.management_networks,
                "voiceops_endpoints": self.endpoints}

    def windows_hosts(self) -> list[str]:
        return sorted(self.groups.get("_windows", {}))


def _speech_site(est: Estate, rng: random.Random, site: str, zsrv: str, net: ipaddress.IPv4Network,
                 slot: int) -> None:
    """A Speech Server with its SIP gateway and TIMC (its own computer or beside it)."""
    gw = "%s_sipgw" % site
    speech = "%s_speech" % site
    est.endpoint(gw, zsrv, ["sip_gateway"], [str(net[slot + 1])])
    comps: dict[str, Any] = {"speech_server": {
        "params": {"rtp_ports": "%d-%d" % (40000, 40000 + rng.choice((499, 999, 1999)))},
        "peers": {"sip_peer": [gw], "media_peer": [gw]}}}
    if rng.random() < 0.3:
        comps["speech_server"]["tls_only"] = True
    if rng.random() < 0.5:  # TIMC on the same computer: no network flow between them
        comps["timc"] = {"params": {"audio_ports": "6000-6009"}, "peers": {"speech_server": [speech]}}
        est.host("speech_servers", speech, str(net[slot + 2]), **{"voiceops_components": comps})
    else:
        timc = "%s_timc" % site
        comps["speech_server"]["peers"]["sip_peer"].append(timc)
        est.host("speech_servers", speech, str(net[slot + 2]), **{"voiceops_components": comps})
        timc_cfg: dict[str, Any] = {"params": {"audio_ports": "6000-6009", "control_ports": 7425},
                                    "peers": {"speech_server": [speech]}}
        if rng.random() < 0.5:
            timc_cfg["features"] = ["ipsec"]
        if comps["speech_server"].get("tls_only"):
            timc_cfg["tls_only"] = True
        est.host("speech_servers", timc, str(net[slot + 3]), **{"voiceops_components": {"timc": timc_cfg}})


def _region(est: Estate, r: int) -> tuple[str, str, str]:
    zsrv, zph, zcl = "r%d_servers" % r, "r%d_phones" % r, "r%d_clients" % r
    est.zones[zsrv] = {"description": "Region %d: servers, PBX, gateways" % r, "networks": ["10.1.%d.0/24" % r]}
    est.zones[zph] = {"description": "Region %d: phones" % r, "networks": ["10.%d.0.0/16" % (128 + r)]}
    est.zones[zcl] = {"description": "Region %d: workstations" % r,
                      "networks": ["10.%d.0.0/16" % (192 + r), "fd00:c:%x::/48" % r]}
    for zone in (zsrv, zph, zcl):
        est.edge_zones[zone] = "eth%d" % len(est.edge_zones)
    net = ipaddress.ip_network("10.1.%d.0/24" % r)
    # Regional domain controller: replicates with the hubs only (hub and spoke).
    est.host("infrastructure", "r%d_dc" % r, str(net[250]),
             voiceops_components={"ad_domain_controller": {"peers": {"ad_dc": ["dc01", "dc02"]}}})
    est.host("infrastructure", "r%d_fs" % r, str(net[251]), voiceops_components=["file_server"])
    return zsrv, zph, zcl


def _site(est: Estate, rng: random.Random, r: int, s: int, zones: tuple[str, str, str]) -> None:
    zsrv, zph, zcl = zones
    site = "r%ds%d" % (r, s)
    srv = ipaddress.ip_network("10.1.%d.0/24" % r)
    slot = s * 8  # eight server addresses per site

    def phone_net(j: int) -> str:
        return "10.%d.%d.0/24" % (128 + r, s * 10 + j)

    def client_net(j: int) -> str:
        return "10.%d.%d.0/24" % (192 + r, s * 10 + j)

    kind = rng.choices(("local", "hosted", "instant"), weights=(70, 20, 10))[0]
    ws_names = ["%s_ws%d" % (site, j) for j in range(rng.randint(2, 5))]
    if kind == "local":
        pbx = "%s_pbx" % site
        est.endpoint(pbx, zsrv, ["swyx_pbx_local"], [str(srv[slot])])
        at_pbx = {"swyx_pbx_local": [pbx]}
        if rng.random() < 0.5:
            est.endpoint("%s_vpn" % site, zsrv, ["swyx_vpn_router"], [str(srv[slot + 5])])
        j = 0
        for _phone in range(rng.randint(2, 6)):
            est.endpoint("%s_sysph%d" % (site, j), zph, {"swyx_system_phone": {
                "params": {"rtp_ports": "5000-5%03d" % rng.choice((10, 20, 50))}, "peers": at_pbx}}, [phone_net(j)])
            j += 1
        for _client in range(rng.randint(1, 3)):
            est.endpoint("%s_yealink%d" % (site, j), zph, {"swyx_yealink_phone": {"peers": at_pbx}}, [phone_net(j)])
            j += 1
        other: dict[str, Any] = {"peers": at_pbx}
        if rng.random() < 0.2:
            other["features"] = ["direct_trunk"]
        est.endpoint("%s_dect%d" % (site, j), zph, {"swyx_other_device": other}, [phone_net(j)])
        for j, ws in enumerate(ws_names):
            addresses = [client_net(j)]
            if rng.random() < 0.3:
                addresses.append("fd00:c:%x:%x::/64" % (r, s * 16 + j))
            est.endpoint(ws, zcl, {
                "swyx_client_lan": {"peers": {"swyx_pbx_local": [pbx], "swyx_client_lan": ws_names}},
                "speechexec_browser": {},
                "voip_softphone": {}}, addresses)
        if rng.random() < 0.6:
            _speech_site(est, rng, site, zsrv, srv, slot)
    elif kind == "hosted":  # HostedPBX VPNless
        for j in range(rng.randint(2, 5)):
            est.endpoint("%s_hosted%d" % (site, j), zph, {"swyx_hosted_device": {"params": {"rtp_ports": "5000-5100"}}},
                         [phone_net(j)])
        for j, ws in enumerate(ws_names):
            client: dict[str, Any] = {"peers": {"swyx_cloud_pbx": ["swyx_hosted"]}}
            if j == 0:
                client["features"] = ["first_start"]
            est.endpoint(ws, zcl, {"swyx_client": client,
                                   "swyx_web_user": {"peers": {"swyx_cloud_pbx": ["swyx_hosted"]}},
                                   "speechexec_browser": {}}, [client_net(j)])
        if rng.random() < 0.3:
            _speech_site(est, rng, site, zsrv, srv, slot)
    else:  # InstantPBX
        for j in range(rng.randint(2, 4)):
            est.endpoint("%s_instant%d" % (site, j), zph, {"swyx_instant_sip_phone": {"params": {"rtp_ports": "5000-5100"}}},
                         [phone_net(j)])
        for j, ws in enumerate(ws_names):
            est.endpoint(ws, zcl, {"swyx_client": {"peers": {"swyx_cloud_pbx": ["swyx_instant"]}},
                                   "swyx_web_user": {"peers": {"swyx_cloud_pbx": ["swyx_instant"]}},
                                   "voip_softphone": {}}, [client_net(j)])
    est.sites += 1


def _head_office(est: Estate) -> None:
    core = {
        "mgmt": ("Management network", ["10.99.0.0/24"]),
        "infra": ("Active Directory, SQL Server, file shares, mail and time", ["10.50.0.0/24", "fd00:50::/64"]),
        "speechexec": ("SpeechExec Enterprise servers", ["10.40.0.0/24"]),
        "dmz": ("Services reached from the internet", ["10.70.0.0/24"]),
    }
    for name, (desc, nets) in core.items():
        est.zones[name] = {"description": desc, "networks": nets}
        est.edge_zones[name] = "eth%d" % len(est.edge_zones)
    est.zones["internet"] = {"description": "Everything outside", "external": True}
    est.edge_zones["internet"] = "eth%d" % len(est.edge_zones)
    est.management_networks = ["10.99.0.0/24"]

    est.host("edge_firewalls", "edge01", "10.99.0.1", windows=False, ansible_user="ansible",
             voiceops_edge_zones=est.edge_zones)
    est.host("infrastructure", "dc01", "10.50.0.10", voiceops_components=["ad_domain_controller"])
    est.host("infrastructure", "dc02", "10.50.0.11", voiceops_components=["ad_domain_controller"],
             voiceops_addresses=["10.50.0.11", "fd00:50::11"])
    est.host("infrastructure", "dc_legacy01", "10.50.0.12", voiceops_components={
        "ad_domain_controller_legacy": {"features": ["netbios_name_resolution"], "peers": {"ad_dc": ["dc01", "dc02"]}}})
    est.host("infrastructure", "sql01", "10.50.0.20", voiceops_components={"sql_server": {"features": ["named_instance"]}})
    est.host("infrastructure", "fs01", "10.50.0.21", voiceops_components={"file_server": {"features": ["netbios"]}})
    est.host("speechexec_servers", "lic01", "10.40.0.10", voiceops_components={
        "speechexec_license_server": {"features": ["email", "health_scan_workflow", "health_scan_mobile"]}})
    est.host("speechexec_servers", "wfm01", "10.40.0.13", voiceops_components=["speechexec_workflow_manager"])
    est.host("speechexec_servers", "slive01", "10.40.0.11", voiceops_components=["speechexec_speechlive_service"])
    est.host("speechexec_servers", "web01", "10.40.0.12", voiceops_components={
        "speechexec_webaccess": {"tls_only": True, "features": ["speechlive_forwarding"]}})
    est.host("speechexec_servers", "mob01", "10.70.0.10", voiceops_components={
        "speechexec_mobile_service": {"tls_only": True, "features": ["speechlive_forwarding"]}})

    est.endpoint("ntp01", "infra", ["ntp_server"], ["10.50.0.30"])
    est.endpoint("ntp02", "infra", ["ntp_server"], ["10.50.0.31", "fd00:50::31"])
    est.endpoint("smtp01", "infra", ["smtp_server"], ["10.50.0.25"])
    est.endpoint("swyx_hosted", "internet", ["swyx_hostedpbx", "swyx_vpn_endpoint"], fqdn="acme.telovip.de")
    est.endpoint("swyx_instant", "internet", ["swyx_instantpbx"], ["203.0.113.10"])
    est.endpoint("swyx_provisioning", "internet", ["swyx_provisioning"], ["203.0.113.20"])
    est.endpoint("phone_vendors", "internet", ["phone_vendor_cloud"])
    est.endpoint("speechlive", "internet", ["speechlive_cloud"])
    est.endpoint("remote_users", "internet", ["swyx_remote_client", "speechexec_mobile_app"])
    est.endpoint("internet", "internet", ["internet"])


def _regional_edges(est: Estate, breakout: str) -> None:
    """Rejoin the zones: an edge per region and the head-office edge, over the transit zone ``wan``.

    The regional edges are added after every site, so the sites, hosts and endpoints are those of
    the single-edge estate of the same size and seed (plus one inventory host per regional edge).
    """
    if breakout not in BREAKOUTS:
        raise ValueError("breakout: one of %s" % ", ".join(BREAKOUTS))
    est.zones[WAN] = {"description": "WAN transit between the head office and the regions (SD-WAN underlay)",
                      "networks": [WAN_NETWORK]}
    head = {zone: "eth%d" % i for i, zone in enumerate(("mgmt", "infra", "speechexec", "dmz"))}
    head[WAN] = "eth4"
    head["internet"] = "eth5"
    est.host_vars["edge01"]["voiceops_edge_zones"] = head
    est.edges = {"edge01": head}
    for r in range(est.regions):
        zones = {"r%d_%s" % (r, kind): "eth%d" % i for i, kind in enumerate(("servers", "phones", "clients"))}
        zones[WAN] = "eth3"
        if breakout == "local":
            zones["internet"] = "eth4"
        name = "r%d_edge" % r
        # Its own address is in the region's server network (as edge01's is in mgmt), where the
        # management flows reach it through head office and the WAN.
        est.host("edge_firewalls", name, "10.1.%d.254" % r, windows=False, ansible_user="ansible",
                 voiceops_edge_zones=zones)
        est.edges[name] = zones


def generate(hosts: int, seed: int = 7, regional_edges: bool = False, breakout: str = "local") -> Estate:
    """An estate of about ``hosts`` hosts (inventory hosts plus endpoints; within one site of it).

    ``regional_edges``: an edge firewall per region and a ``wan`` transit zone instead of one
    edge joining every zone; ``breakout`` (``local`` or ``head_office``): where the regions reach
    the internet. Without ``regional_edges`` the output is what it always was.
    """
    rng = random.Random("%d/%d" % (seed, hosts))
    est = Estate()
    _head_office(est)
    r = s = 0
    zones = _region(est, 0)
    while est.count < hosts:
        if s == SITES_PER_REGION:
            r, s = r + 1, 0
            if r >= 64:
                raise ValueError("more than 64 regions: extend the address plan")
            zones = _region(est, r)
        _site(est, rng, r, s, zones)
        s += 1
    est.regions = r + 1
    if regional_edges:
        _regional_edges(est, breakout)
    else:
        est.edges = {"edge01": est.edge_zones}
    return est


def _dump(data: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("---\n")
        yaml.dump(data, handle, Dumper=_DUMPER, default_flow_style=False, sort_keys=False, width=120)


def write_inventory(est: Estate, directory: Path) -> None:
    """``hosts.yml``, ``group_vars/all/*.yml``, ``group_vars/windows/winrm.yml``, ``host_vars/*.yml``."""
    children: dict[str, Any] = {"windows": {"children": {}}}
    for group, hosts in sorted(est.groups.items()):
        if group == "_windows":
            continue
        block = {"hosts": dict(hosts.items())}
        if group == "edge_firewalls":
            children[group] = block
        else:
            children["windows"]["children"][group] = block
    _dump({"all": {"children": children}}, directory / "hosts.yml")
    _dump({"voiceops_zones": est.zones, "voiceops_management_networks": est.management_networks},
          directory / "group_vars" / "all" / "zones.yml")
    _dump({"voiceops_endpoints": est.endpoints}, directory / "group_vars" / "all" / "endpoints.yml")
    _dump(dict(WINRM), directory / "group_vars" / "windows" / "winrm.yml")
    _dump({"windows_firewall_program_paths": PROGRAM_PATHS}, directory / "group_vars" / "windows" / "windows_firewall.yml")
    # The synthetic estate plans what its products need, including what the security lint rates
    # high (RTP from the hosted PBX on the internet to the phones): report it, do not stop.
    _dump({"voiceops_lint_fail_on": "never"}, directory / "group_vars" / "all" / "lint.yml")
    for name, hv in sorted(est.host_vars.items()):
        if hv:
            _dump(hv, directory / "host_vars" / ("%s.yml" % name))
