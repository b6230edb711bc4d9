# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Windows Defender Firewall rule is to the collection: its fields, group, profiles and addresses (internal API).

Shared by rendering (``_windows.py``: the rules a host should have) and the host side
(``_windows_host.py``: what the host reports, the diff, the apply arguments), so that both speak
of one rule shape (:data:`RULE_FIELDS`) and collapse addresses the same way.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

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


class WindowsFirewallError(VoiceopsError):
    """Bad settings or a report from the host that cannot be understood."""


def _collapse(networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> list[str]:
    """Networks as the fewest addresses and prefixes, IPv4 first (a host as its address); ``Any`` for all of both versions."""
    nets = list(networks)
    v4 = list(ipaddress.collapse_addresses(n for n in nets if n.version == 4))
    v6 = list(ipaddress.collapse_addresses(n for n in nets if n.version == 6))
    if any(n.prefixlen == 0 for n in v4) and any(n.prefixlen == 0 for n in v6):
        return [ANY]
    return [str(n.network_address) if n.num_addresses == 1 else str(n) for n in v4 + v6]
