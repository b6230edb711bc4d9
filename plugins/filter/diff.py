# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that compare two plans for a review (a policy diff).

Documentation of each filter is in the YAML file of the same name beside this one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _plan_diff
from ansible_collections.voiceops.firewall.plugins.plugin_utils._filter_errors import as_filter


class FilterModule:
    """voiceops.firewall policy diff filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "plan_diff": as_filter(_plan_diff.plan_diff, "plan_diff"),
            "plan_diff_markdown": as_filter(_plan_diff.diff_markdown, "plan_diff_markdown"),
        }
