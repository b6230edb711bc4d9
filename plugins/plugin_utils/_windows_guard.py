# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Windows lockout guard: never apply a rule set that would refuse the connection in use (internal API).

Before anything changes on a Windows host, the action asks: after this apply, will a new
connection like the one Ansible uses now still be let in? It is, when the profile its network
is in lets inbound traffic through by default, or when a rule of the new set allows it: an
enabled inbound allow rule for TCP on the connection's port, in that profile, whose remote
addresses hold the controller's address as the host sees it. When not, the apply is refused
before the first change, with what to set.

What the host reports for this (``win_firewall_rules`` with ``operation: query`` and ``port``):

- ``connections``: the remote addresses of the established TCP connections to that local port
  (``Get-NetTCPConnection``); the controller's connection is one of them. When none of them is
  allowed, the controller is not; when some are not, those are other sessions (another
  administrator), which get a warning.
- ``network_profiles``: the profile of each connected network (``Get-NetConnectionProfile``:
  ``DomainAuthenticated``, ``Private``, ``Public``). A profile that the rules leave out
  (``windows_firewall_profiles: [Domain]`` while the network is Public) and whose default inbound
  action is or becomes Block refuses the connection.

A host that does not report them (a module of an older release) is checked on what is known:
the port, and every profile the rules name.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from ._windows_model import ANY, PROFILES, allows_port

# Get-NetConnectionProfile's NetworkCategory, by name or number (NetworkCategory enum: Public 0,
# Private 1, DomainAuthenticated 2), to the firewall profile it selects.
_CATEGORY = {"public": "Public", "private": "Private", "domainauthenticated": "Domain", "0": "Public", "1": "Private", "2": "Domain"}


def category_profile(value: Any) -> str | None:
    return _CATEGORY.get(str(value).strip().casefold())


def _covers(remote_addresses: Iterable[str], address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:  # ::ffff:10.0.0.5, as dual-stack listeners report IPv4 peers
        ip = ip.ipv4_mapped
    for item in remote_addresses:
        if item == ANY:
            return True
        try:
            if "-" in item:  # an address range, as Windows may report one
                lo, hi = (ipaddress.ip_address(part) for part in item.split("-", 1))
                if lo.version == ip.version and lo <= ip <= hi:  # type: ignore[operator]  # same version checked
                    return True
            elif ip in ipaddress.ip_network(item, strict=False):
                return True
        except ValueError:
            continue  # a keyword (LocalSubnet, ...): not proof of anything
    return False


def check(rules: Iterable[Mapping[str, Any]], port: int, port_source: str, profiles_after: Mapping[str, Mapping[str, Any]],
          connections: list[str] | None, network_profiles: list[Mapping[str, Any]] | None) -> tuple[list[str], list[str]]:
    """``(problems, warnings)`` for the connection on TCP ``port`` after an apply that leaves the host with
    ``rules`` (our group's, all of them) and ``profiles_after`` (each profile's settings, as they
    will be: ``default_inbound_action`` and ``enabled``). Any problem refuses the apply."""
    allowing = [r for r in rules if r.get("direction") == "Inbound" and r.get("action") == "Allow" and r.get("enabled", True)
                and r.get("protocol") in ("TCP", ANY) and allows_port(r.get("local_ports") or [ANY], port)]

    def blocks(profile: str) -> bool:
        # NotConfigured (a fresh host's local store) means Windows' defaults: the firewall on and
        # inbound blocked; a profile the host did not report is taken to block as well.
        settings = profiles_after.get(profile, {})
        return settings.get("enabled") is not False and settings.get("default_inbound_action") in ("Block", "NotConfigured", None)

    reported = [category_profile(item.get("category")) for item in network_profiles or []]
    active = sorted({p for p in reported if p}, key=PROFILES.index) or [p for p in PROFILES if p in profiles_after] or list(PROFILES)
    problems: list[str] = []
    warnings: list[str] = []
    where = "TCP %d (the port this connection uses, from %s)" % (port, port_source)
    for profile in active:
        if not blocks(profile):
            continue  # inbound is let in by default there: no rule needed
        here = [r for r in allowing if profile in (r.get("profiles") or PROFILES)]
        names = ", ".join("%s (%s)" % (item.get("name", "?"), item.get("category")) for item in network_profiles or []
                          if category_profile(item.get("category")) == profile)
        if not here:
            if allowing:
                problems.append("the host's network%s is in the %s profile, which no rule allowing %s covers (they apply to %s), "
                                "and that profile blocks inbound traffic by default: the next connection would be refused. Add %s to "
                                "windows_firewall_profiles, or change the network's category"
                                % (" " + names if names else "", profile, where,
                                   ", ".join(sorted({p for r in allowing for p in r.get("profiles") or PROFILES})), profile))
            else:
                problems.append("no rule of the new set allows %s inbound, and the %s profile blocks inbound traffic by default: "
                                "the next connection would be refused. The plan's management rule comes from "
                                "voiceops_management_networks and the port the inventory connects on (ansible_port, ansible_winrm_port, "
                                "ansible_psrp_port): plan again with those set" % (where, profile))
            continue
        if connections:
            remotes = [a for r in here for a in r.get("remote_addresses") or [ANY]]
            allowed = [c for c in connections if _covers(remotes, c)]
            if not allowed:
                problems.append("this connection comes from %s as the host sees it, which no rule allowing %s in the %s profile "
                                "admits (they admit %s): the next connection would be refused. Add the controller's network to "
                                "voiceops_management_networks and plan again"
                                % (", ".join(sorted(set(connections))), where, profile, ", ".join(sorted(set(remotes)))))
            elif len(allowed) < len(connections):
                warnings.append("other connections to %s come from %s, which the new rules do not admit in the %s profile "
                                "(another administrator's session?); they will not be able to connect again"
                                % (where, ", ".join(sorted(set(connections) - set(allowed))), profile))
    return problems, warnings
