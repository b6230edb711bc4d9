# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Windows Defender Firewall rule is to the collection: its fields, group, profiles and addresses (internal API).

Shared by rendering (``_windows.py``: the rules a host should have) and the host side
(``_windows_host.py``: what the host reports, the diff, the apply arguments), so that both speak
of one rule shape (:data:`RULE_FIELDS`) and collapse addresses the same way, and both know the
settings a rule of the collection leaves at Windows' defaults (:data:`SETTING_DEFAULTS`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from ._errors import VoiceopsError
from ._plan_types import WindowsRule

GROUP = "voiceops.firewall"
PROFILES = ("Domain", "Private", "Public")
ANY = "Any"
_PORT_PROTOCOLS = ("TCP", "UDP")  # the protocols whose rules have ports

# The fields of a rule that the collection owns and compares, in display order.
RULE_FIELDS = ("name", "display_name", "description", "direction", "action", "enabled", "profiles",
               "protocol", "local_ports", "remote_ports", "local_addresses", "remote_addresses", "program")

Rule = WindowsRule  # the keys of RULE_FIELDS

# The settings of a rule that the collection never sets, so every rule of its group must have
# Windows' default, the value New-NetFirewallRule gives when the parameter is left out
# (New-/Set-NetFirewallRule help: "The default value is Any" for InterfaceType, DynamicTarget;
# Block for EdgeTraversalPolicy; NotRequired for Encryption; False for LooseSourceMapping;
# MSFT_NetFirewallRule.Platforms: "If null, the rule applies to all platforms (the default)").
# Each changes which traffic the rule admits (InterfaceType Wireless switches a rule off on a wired
# server, Authentication Required admits only IPsec-authenticated traffic), so a host reporting
# another value has drifted: the diff shows it and the apply sets the default back. "Any" stands
# for "not set" where Windows has no name for it (Owner, Package, Platform).
SETTING_DEFAULTS: dict[str, Any] = {
    "interface_type": ANY, "interface_alias": [ANY], "service": ANY, "icmp_type": [ANY], "dynamic_target": ANY,
    "edge_traversal_policy": "Block", "loose_source_mapping": False, "local_only_mapping": False,
    "local_user": ANY, "remote_user": ANY, "remote_machine": ANY, "authentication": "NotRequired",
    "encryption": "NotRequired", "override_block_rules": False, "owner": ANY, "platform": [ANY], "package": ANY,
}
SETTING_FIELDS = tuple(SETTING_DEFAULTS)

# Settings that no documented Set-NetFirewallRule value clears in place: the SDDL and SID strings
# (-Package 'Any', '' and $null are reported to leave 'AppPkgId=' in the rule, which Windows then
# ignores: SteveUnderScoreN/WindowsFirewall#4), -Platform and -InterfaceAlias (no "all" value), and
# the security filter (-OverrideBlockRules cannot be given with -Authentication NotRequired). A rule
# with one of them changed is recreated: renamed, created afresh with every default, then the
# renamed one removed, so that its traffic is never without a rule. The others are set back in place.
RECREATE_SETTINGS = ("interface_alias", "local_user", "remote_user", "remote_machine", "authentication", "encryption",
                     "override_block_rules", "owner", "platform", "package")


def allows_port(ports: Iterable[str], port: int) -> bool:
    """Whether a rule's port list (``Any``, ports, ranges ``40000-40999``; keywords such as ``RPC`` hold
    no number) lets ``port`` through: the one port check of the renderer's readers and the lockout guard."""
    for item in ports:
        if item == ANY:
            return True
        lo, _sep, hi = item.partition("-")
        if lo.isdigit() and (hi or lo).isdigit() and int(lo) <= port <= int(hi or lo):
            return True
    return False


class WindowsFirewallError(VoiceopsError):
    """Bad settings or a report from the host that cannot be understood."""


def _collapse(networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> list[str]:
    """Networks as the fewest addresses and prefixes, IPv4 first (a host as its address); ``Any`` for all of both versions.

    The same list as ``ipaddress.collapse_addresses`` gives (the unique decomposition of the
    union into aligned blocks; a property test compares the two), computed on integers: the
    module's objects compute each network's broadcast address, which made this most of a
    Windows host's render time."""
    ranges: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    for net in networks:
        bits = net.max_prefixlen
        start = int(net.network_address)
        ranges[net.version].append((start, start + (1 << (bits - net.prefixlen)) - 1))
    v4 = _blocks(ranges[4], 32)
    v6 = _blocks(ranges[6], 128)
    if v4 == [(0, 0)] and v6 == [(0, 0)]:
        return [ANY]
    out = [str(ipaddress.IPv4Address(start)) if prefix == 32 else "%s/%d" % (ipaddress.IPv4Address(start), prefix)
           for start, prefix in v4]
    out += [str(ipaddress.IPv6Address(start)) if prefix == 128 else "%s/%d" % (ipaddress.IPv6Address(start), prefix)
            for start, prefix in v6]
    return out


def _blocks(ranges: list[tuple[int, int]], bits: int) -> list[tuple[int, int]]:
    """The union of inclusive integer ranges as aligned blocks ``(start, prefix length)``, in order."""
    merged: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    out = []
    for lo, hi in merged:
        while lo <= hi:
            size = lo & -lo if lo else 1 << bits  # the largest block aligned at lo ...
            while size > hi - lo + 1:  # ... that fits in what is left
                size >>= 1
            out.append((lo, bits - size.bit_length() + 1))
            lo += size
    return out
