# -*- coding: utf-8 -*-
"""The Windows rules' address collapse on integers gives what ``ipaddress.collapse_addresses`` gives."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.voiceops.firewall.plugins.plugin_utils._windows_model import ANY, _collapse


def _reference(networks):
    """The implementation this replaced, word for word in effect."""
    v4 = list(ipaddress.collapse_addresses(n for n in networks if n.version == 4))
    v6 = list(ipaddress.collapse_addresses(n for n in networks if n.version == 6))
    if any(n.prefixlen == 0 for n in v4) and any(n.prefixlen == 0 for n in v6):
        return [ANY]
    return [str(n.network_address) if n.num_addresses == 1 else str(n) for n in v4 + v6]


v4_nets = st.builds(lambda a, p: ipaddress.IPv4Network((a, p), strict=False),
                    st.integers(0, 2**32 - 1) | st.integers(0x0A000000, 0x0A0000FF), st.integers(0, 32) | st.integers(22, 32))
v6_nets = st.builds(lambda a, p: ipaddress.IPv6Network((a, p), strict=False),
                    st.integers(0, 2**128 - 1) | st.integers(0xFD00 << 112, (0xFD00 << 112) + 255), st.integers(0, 128) | st.integers(118, 128))


@settings(max_examples=400, deadline=None)
@given(st.lists(v4_nets | v6_nets, max_size=30))
def test_collapse_is_ipaddress_collapse(networks):
    assert _collapse(networks) == _reference(networks)


def test_examples():
    nets = [ipaddress.ip_network(n) for n in ("10.0.0.0/25", "10.0.0.128/25", "10.0.1.1/32", "fd00::1/128", "fd00::/127")]
    assert _collapse(nets) == ["10.0.0.0/24", "10.0.1.1", "fd00::/127"]
    assert _collapse([ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")]) == [ANY]
    assert _collapse([ipaddress.ip_network("0.0.0.0/0")]) == ["0.0.0.0/0"]
