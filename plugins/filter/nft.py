# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that render nftables rule sets for edge firewalls from a plan.

Documentation of each filter is in the YAML file of the same name beside this one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import VoiceopsError
from ansible_collections.voiceops.firewall.plugins.plugin_utils._nft import DEFAULT_TABLE, check_edge, render_edge, unlisted_interfaces


def _render(plan: Any, edge: Any, table: Any, filter_input: Any, name: str):
    if not isinstance(plan, Mapping) or "flows" not in plan or "edges" not in plan:
        raise AnsibleFilterError("voiceops.firewall.%s: the input must be a plan (as voiceops.firewall.plan returns it), got %s"
                                 % (name, type(plan).__name__))
    if not isinstance(edge, str):
        raise AnsibleFilterError("voiceops.firewall.%s: edge must be an inventory host name, got %r" % (name, edge))
    try:
        return render_edge(plan, edge, table=table, filter_input=bool(filter_input))
    except VoiceopsError as exc:
        raise AnsibleFilterError("voiceops.firewall.%s: %s" % (name, exc.message)) from exc


def nft_ruleset(plan: Any, edge: str, table: str = DEFAULT_TABLE, filter_input: bool = True) -> str:
    return _render(plan, edge, table, filter_input, "nft_ruleset")[0]


def nft_report(plan: Any, edge: str, table: str = DEFAULT_TABLE, filter_input: bool = True) -> dict[str, Any]:
    return _render(plan, edge, table, filter_input, "nft_report")[1].as_dict()


def nft_unlisted_interfaces(plan: Any, edge: str, links: Any) -> list[str]:
    """Interfaces of ``ip -j link show`` (``links``) that the edge neither filters nor passes on purpose."""
    if not isinstance(plan, Mapping) or "edges" not in plan:
        raise AnsibleFilterError("voiceops.firewall.nft_unlisted_interfaces: the input must be a plan")
    if not isinstance(links, list) or not all(isinstance(link, Mapping) and isinstance(link.get("ifname"), str) for link in links):
        raise AnsibleFilterError("voiceops.firewall.nft_unlisted_interfaces: links must be the list that 'ip -j link show' prints")
    try:
        check_edge(plan, edge)
    except VoiceopsError as exc:
        raise AnsibleFilterError("voiceops.firewall.nft_unlisted_interfaces: %s" % exc.message) from exc
    return unlisted_interfaces(plan, edge, [link["ifname"] for link in links])


class FilterModule:
    """voiceops.firewall nftables filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"nft_ruleset": nft_ruleset, "nft_report": nft_report, "nft_unlisted_interfaces": nft_unlisted_interfaces}
