# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that derive per-zone views from a voiceops.firewall plan.

Documentation of each filter is in the YAML file of the same name beside this one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _views
from ansible_collections.voiceops.firewall.plugins.plugin_utils._filter_errors import FilterArgumentError, as_filter

try:
    import jmespath
except ImportError:  # pragma: no cover - reported when the filter is used
    jmespath = None


def select_flows(plan: Any, expression: str) -> Any:
    """Apply a JMESPath expression to the plan's flows (a list)."""
    if jmespath is None:
        raise AnsibleFilterError("voiceops.firewall.select_flows needs the Python library jmespath on the controller")
    if not isinstance(expression, str) or not expression:
        raise FilterArgumentError("expression must be a JMESPath string, got %r" % (expression,))
    flows = _views.flows_of(plan)
    try:
        return jmespath.search(expression, [dict(f) for f in flows])
    except jmespath.exceptions.JMESPathError as exc:
        raise FilterArgumentError("expression %r: %s" % (expression, exc)) from exc


class FilterModule:
    """voiceops.firewall flow filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "zone_flows": as_filter(_views.zone_flows, "zone_flows"),
            "zone_matrix": as_filter(_views.zone_matrix, "zone_matrix"),
            "merge_ports": as_filter(_views.merge_ports, "merge_ports"),
            "flow_table": as_filter(_views.flow_table, "flow_table"),
            "select_flows": as_filter(select_flows, "select_flows"),
        }
