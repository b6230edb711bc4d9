# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin behind voiceops.firewall.plan: computes the estate's flows on the controller,
and with ``output_dir`` writes the plan's files (plan.json, flow table, edge rule sets, matrices,
lint findings, diagram sources) in Python, see ``plugin_utils/_artefacts.py``."""

from __future__ import annotations

import os
from typing import Any

from ansible import constants as C
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _artefacts, _pipeline
from ansible_collections.voiceops.firewall.plugins.plugin_utils._argspec import error_messages, module_argument_spec
from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import VoiceopsError
from ansible_collections.voiceops.firewall.plugins.plugin_utils._pipeline import GLOBAL_VARS, HOST_VARS


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False
    _requires_connection = False

    def _var(self, task_vars: dict[str, Any], name: str) -> Any:
        if name not in task_vars:
            return None
        return self._templar.template(task_vars[name])

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        validation = ArgumentSpecValidator(module_argument_spec("plan")).validate(self._task.args)
        if validation.error_messages:
            result.update(failed=True, msg="voiceops.firewall.plan: " + "; ".join(error_messages(validation, "voiceops.firewall.plan")))
            return result
        args = validation.validated_parameters

        hostvars = task_vars.get("hostvars", {})
        hosts = args["hosts"] if args["hosts"] is not None else list(task_vars.get("groups", {}).get("all", []))
        unknown = sorted(h for h in hosts if h not in hostvars)
        if unknown:
            result.update(failed=True, msg="voiceops.firewall.plan: hosts: not in the inventory: %s" % ", ".join(unknown))
            return result
        host_vars = {}
        role_vars = {}
        names_by_host = {}
        for host in hosts:
            hv = hostvars[host]
            host_vars[host] = {key: hv[key] for key in HOST_VARS if key in hv}
            role_vars[host] = {key: hv[key] for key in _pipeline.ROLE_VARS if key in hv}
            names_by_host[host] = [key for key in hv if isinstance(key, str) and key.startswith("voiceops_")]
        unknown_vars = _pipeline.unknown_variables(names_by_host)

        global_vars = {name: self._var(task_vars, name) for name in GLOBAL_VARS}
        global_vars = {k: v for k, v in global_vars.items() if v is not None}
        catalog_paths = args["catalog_paths"]
        if catalog_paths is None:
            catalog_paths = self._var(task_vars, "voiceops_catalog_paths") or []
        catalog_extra = args["catalog_extra"]
        if catalog_extra is None:
            catalog_extra = self._var(task_vars, "voiceops_catalog_extra") or []

        try:
            outcome = _pipeline.run(global_vars, host_vars, catalog_paths, catalog_extra, render=args["output_dir"] is not None,
                                    diagrams=args["diagrams"], views=args["diagram_views"], role_vars=role_vars)
        except VoiceopsError as exc:
            result.update(failed=True, msg="voiceops.firewall.plan: " + exc.message, problems=exc.problems)
            return result
        the_plan, found, fail_on, blocking, files = outcome.plan, outcome.findings, outcome.fail_on, outcome.blocking, outcome.files

        result.update(changed=False, summary=the_plan["summary"], findings=found,
                      lint={"fail_on": fail_on, "blocking": [f["id"] + " " + f["message"] for f in blocking]})
        if args["return_plan"]:
            result["plan"] = the_plan
        if files is not None:
            output_dir = os.path.abspath(args["output_dir"])
            try:
                entries = _artefacts.sync(output_dir, files, bool(self._task.check_mode))
            except Exception as exc:  # noqa: BLE001 - any failure of the writer is a result, never a traceback
                result.update(_write_failed(output_dir, exc))
                return result
            result["changed"] = any(e["changed"] for e in entries)
            result["output_dir"] = output_dir
            result["files"] = [{k: e[k] for k in ("name", "path", "changed")} for e in entries]
            if self._task.diff:
                result["diff"] = _artefacts.diffs(entries, files, C.MAX_FILE_SIZE_FOR_DIFF)
        if the_plan["warnings"] or unknown_vars:
            result["warnings"] = unknown_vars + list(the_plan["warnings"])
        return result


def _write_failed(output_dir: str, exc: Exception) -> dict[str, Any]:
    """The failed result of a write that did not happen: ``sync`` changed nothing (or says what it left)."""
    if isinstance(exc, VoiceopsError):
        why, problems = exc.message, exc.problems
    else:  # sync turns what it expects into VoiceopsError; anything else is named by its type
        why = "%s: %s" % (type(exc).__name__, exc)
        problems = [why]
    return {"failed": True, "msg": "voiceops.firewall.plan: output_dir: %s: %s" % (output_dir, why),
            "problems": problems, "output_dir": output_dir, "changed": False}
