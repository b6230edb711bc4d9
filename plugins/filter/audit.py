# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Audit and explain filters: drift as readable lines and JUnit XML, and the verdict for a packet.

Documentation of each filter is in the YAML file of the same name beside this one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _drift, _explain
from ansible_collections.voiceops.firewall.plugins.plugin_utils._filter_errors import as_filter


class FilterModule:
    """voiceops.firewall audit and explain filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "explain": as_filter(_explain.explain, "explain"),
            "explain_check": as_filter(_explain.check, "explain_check"),
            "explain_text": as_filter(_explain.text, "explain_text"),
            "drift_text": as_filter(_drift.drift_text, "drift_text"),
            "audit_junit": as_filter(_drift.junit, "audit_junit"),
            "audit_drifted": as_filter(_drift.drifted, "audit_drifted"),
        }
