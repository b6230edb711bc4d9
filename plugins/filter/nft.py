# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that render nftables rule sets for edge firewalls from a plan.

Documentation of each filter is in the YAML file of the same name beside this one; the
arguments are checked against it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ansible.module_utils.datatag import native_type_name

from ansible_collections.voiceops.firewall.plugins.module_utils._nft_table import DEFAULT_TABLE
from ansible_collections.voiceops.firewall.plugins.plugin_utils._argspec import filter_arguments
from ansible_collections.voiceops.firewall.plugins.plugin_utils._filter_errors import FilterArgumentError, as_filter
from ansible_collections.voiceops.firewall.plugins.plugin_utils._nft import check_edge, render_edge, unlisted_interfaces


def _render(plan: Any, edge: Any, table: Any, filter_input: Any, name: str):
    if not isinstance(plan, Mapping) or "flows" not in plan or "edges" not in plan:
        raise FilterArgumentError("the input must be a plan (as voiceops.firewall.plan returns it), got %s" % native_type_name(plan))
    args = filter_arguments(name, edge=edge, table=table, filter_input=filter_input)
    # how an end known only by name is matched is the plan's (edges.<edge>.fqdn_ends), not an option here
    return render_edge(plan, args["edge"], table=args["table"], filter_input=bool(args["filter_input"]))


def nft_ruleset(plan: Any, edge: str, table: str = DEFAULT_TABLE, filter_input: bool = True) -> str:
    return _render(plan, edge, table, filter_input, "nft_ruleset")[0]


def nft_report(plan: Any, edge: str, table: str = DEFAULT_TABLE, filter_input: bool = True) -> dict[str, Any]:
    return _render(plan, edge, table, filter_input, "nft_report")[1].as_dict()


def nft_unlisted_interfaces(plan: Any, edge: str, links: Any) -> list[str]:
    """Interfaces of ``ip -j link show`` (``links``) that the edge neither filters nor passes on purpose."""
    if not isinstance(plan, Mapping) or "edges" not in plan:
        raise FilterArgumentError("the input must be a plan")
    args = filter_arguments("nft_unlisted_interfaces", edge=edge, links=links)
    links = args["links"]
    if not all(isinstance(link.get("ifname"), str) for link in links):
        raise FilterArgumentError("links must be the list that 'ip -j link show' prints")
    check_edge(plan, args["edge"])
    return unlisted_interfaces(plan, args["edge"], [link["ifname"] for link in links])


class FilterModule:
    """voiceops.firewall nftables filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "nft_ruleset": as_filter(nft_ruleset, "nft_ruleset"),
            "nft_report": as_filter(nft_report, "nft_report"),
            "nft_unlisted_interfaces": as_filter(nft_unlisted_interfaces, "nft_unlisted_interfaces"),
        }
