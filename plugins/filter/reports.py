# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Report filters: port matrix, communication diagrams, lint output and explain.

Documentation of each filter is in the YAML file of the same name beside this one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _audit, _explain, _lint, _reports
from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import VoiceopsError
from ansible_collections.voiceops.firewall.plugins.plugin_utils._views import ViewError


def _wrap(func: Callable[..., Any], name: str) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ViewError as exc:
            raise AnsibleFilterError("voiceops.firewall.%s: %s" % (name, exc)) from exc
        except VoiceopsError as exc:
            raise AnsibleFilterError("voiceops.firewall.%s: %s" % (name, exc.message)) from exc
    wrapper.__name__ = name
    wrapper.__doc__ = func.__doc__
    return wrapper


def lint_junit(findings: Any, fail_on: str | None = "high") -> str:
    if not isinstance(findings, list):
        raise ViewError("the input must be the findings list that voiceops.firewall.plan returns, got %s" % type(findings).__name__)
    return _lint.junit(findings, fail_on)


class FilterModule:
    """voiceops.firewall report filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "port_matrix_markdown": _wrap(_reports.matrix_markdown, "port_matrix_markdown"),
            "port_matrix_csv": _wrap(_reports.matrix_csv, "port_matrix_csv"),
            "port_matrix_html": _wrap(_reports.matrix_html, "port_matrix_html"),
            "communication_diagram": _wrap(_reports.diagram_dot, "communication_diagram"),
            "zone_diagram": _wrap(_reports.zone_diagram_dot, "zone_diagram"),
            "diagrams": _wrap(_reports.diagrams, "diagrams"),
            "lint_junit": _wrap(lint_junit, "lint_junit"),
            "explain": _wrap(_explain.explain, "explain"),
            "drift_text": _wrap(_audit.drift_text, "drift_text"),
            "audit_junit": _wrap(_audit.junit, "audit_junit"),
            "audit_drifted": _wrap(_audit.drifted, "audit_drifted"),
        }
