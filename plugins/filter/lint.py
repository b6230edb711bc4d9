# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lint filter: the findings as JUnit XML for CI test reports.

Documentation of each filter is in the YAML file of the same name beside this one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.module_utils.datatag import native_type_name

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _lint
from ansible_collections.voiceops.firewall.plugins.plugin_utils._argspec import filter_arguments
from ansible_collections.voiceops.firewall.plugins.plugin_utils._filter_errors import FilterArgumentError, as_filter


def lint_junit(findings: Any, fail_on: str | None = "high") -> str:
    if not isinstance(findings, list):
        raise FilterArgumentError("the input must be the findings list that voiceops.firewall.plan returns, got %s"
                                  % native_type_name(findings))
    return _lint.junit(findings, filter_arguments("lint_junit", fail_on=fail_on)["fail_on"])


class FilterModule:
    """voiceops.firewall lint filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"lint_junit": as_filter(lint_junit, "lint_junit")}
