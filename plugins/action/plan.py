# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin behind voiceops.firewall.plan: computes the estate's flows on the controller,
and with ``output_dir`` writes the plan's files (plan.json, flow table, edge rule sets, matrices,
lint findings, diagram sources) in Python, see ``plugin_utils/_artefacts.py``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ansible import constants as C
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _artefacts, _pipeline
from ansible_collections.voiceops.firewall.plugins.plugin_utils._argspec import error_messages, module_argument_spec
from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import VoiceopsError
from ansible_collections.voiceops.firewall.plugins.plugin_utils._gc import gc_paused
from ansible_collections.voiceops.firewall.plugins.plugin_utils._pipeline import GLOBAL_VARS, HOST_VARS
from ansible_collections.voiceops.firewall.plugins.plugin_utils._targets import TARGETS


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False
    _requires_connection = False

    def _var(self, task_vars: dict[str, Any], name: str) -> Any:
        """A play variable, templated only when it holds a template: the inventory's bulk data
        (thousands of endpoints) has none, and templating it walks and copies every value."""
        if name not in task_vars:
            return None
        value = task_vars[name]
        return self._templar.template(value) if _holds_template(value) else value

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        # The whole task builds an acyclic heap of millions of objects (variables, plan, files):
        # the cyclic collector would walk it again and again (docs/performance.md).
        with gc_paused():
            return self._run(tmp, task_vars)

    def _run(self, tmp: str | None, task_vars: dict[str, Any] | None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        task_args = dict(self._task.args)
        given_plan = task_args.pop("plan", None)  # not deep-copied by the validator: it may be large
        validation = ArgumentSpecValidator(module_argument_spec("plan")).validate(task_args)
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
            role_vars[host] = {key: hv[key] for key in _pipeline.ROLE_VARS if key in hv}
            if given_plan is None:
                host_vars[host] = {key: hv[key] for key in HOST_VARS if key in hv}
                names_by_host[host] = [key for key in hv if isinstance(key, str) and key.startswith("voiceops_")]
        unknown_vars = _pipeline.unknown_variables(names_by_host)

        global_vars = {name: self._var(task_vars, name)
                       for name in (GLOBAL_VARS if given_plan is None else ("voiceops_lint_accept", "voiceops_lint_fail_on", "voiceops_today"))}
        global_vars = {k: v for k, v in global_vars.items() if v is not None}
        render = dict(render=args["output_dir"] is not None, diagrams=args["diagrams"], views=args["diagram_views"],
                      role_vars=role_vars, artefacts=args["artefacts"])
        try:
            if given_plan is not None:
                outcome = _pipeline.from_plan(given_plan, global_vars, **render)
            else:
                catalog_paths = args["catalog_paths"]
                if catalog_paths is None:
                    catalog_paths = self._var(task_vars, "voiceops_catalog_paths") or []
                catalog_extra = args["catalog_extra"]
                if catalog_extra is None:
                    catalog_extra = self._var(task_vars, "voiceops_catalog_extra") or []
                outcome = _pipeline.run(global_vars, host_vars, catalog_paths, catalog_extra, catalog_dir=args["catalog_dir"], **render)
        except VoiceopsError as exc:
            result.update(failed=True, msg="voiceops.firewall.plan: " + exc.message, problems=exc.problems)
            return result
        the_plan, found, fail_on, blocking, files = outcome.plan, outcome.findings, outcome.fail_on, outcome.blocking, outcome.files

        targets = {host: kind for kind, target in TARGETS.items() for host in target.hosts(the_plan)}
        result.update(changed=False, summary=the_plan["summary"], targets=targets,
                      lint={"fail_on": fail_on, "blocking": [f["id"] + " " + f["message"] for f in blocking]})
        if args["return_findings"]:
            result["findings"] = found
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


_MARKERS = ("{{", "{%", "{#")


def _holds_template(value: Any) -> bool:
    """Whether any string in ``value`` (nested lists and mappings, keys too) holds a template marker."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "{" in item and any(marker in item for marker in _MARKERS):
                return True
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif item is not None and not isinstance(item, (bool, int, float)):
            return True  # anything else (a lazy or undefined value): leave it to the templar
    return False
