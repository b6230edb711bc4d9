# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Report filters: the port matrix and the communication diagrams (lint, explain and audit have files of their own).

Documentation of each filter is in the YAML file of the same name beside this one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _reports
from ansible_collections.voiceops.firewall.plugins.plugin_utils._filter_errors import as_filter


class FilterModule:
    """voiceops.firewall report filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "port_matrix_markdown": as_filter(_reports.matrix_markdown, "port_matrix_markdown"),
            "port_matrix_csv": as_filter(_reports.matrix_csv, "port_matrix_csv"),
            "port_matrix_html": as_filter(_reports.matrix_html, "port_matrix_html"),
            "communication_diagram": as_filter(_reports.diagram_dot, "communication_diagram"),
            "zone_diagram": as_filter(_reports.zone_diagram_dot, "zone_diagram"),
            "diagrams": as_filter(_reports.diagrams, "diagrams"),
            "zone_colours": as_filter(_reports.zone_colours, "zone_colours"),
        }
