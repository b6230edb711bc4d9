# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin behind voiceops.firewall.windows_firewall.

Renders the host's rules from the plan and diffs them on the controller; the host runs the thin
module voiceops.firewall.win_firewall_rules at most twice: one ``query`` and, only when something
differs and not in check mode, one ``apply`` with every add, update and removal.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _apply, _windows_guard, _windows_policy
from ansible_collections.voiceops.firewall.plugins.plugin_utils._argspec import error_messages, module_argument_spec
from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import VoiceopsError
from ansible_collections.voiceops.firewall.plugins.plugin_utils._estate import management_port
from ansible_collections.voiceops.firewall.plugins.plugin_utils._plan_types import Plan
from ansible_collections.voiceops.firewall.plugins.plugin_utils._windows import PROFILES, desired_profiles, render_host
from ansible_collections.voiceops.firewall.plugins.plugin_utils._windows_host import (
    ansible_diff,
    apply_args,
    diff_profiles,
    diff_rules,
    foreign_openings,
    module_rule,
    normalise_profiles,
    normalise_rule,
    powershell_preview,
    read_foreign,
)

HOST_MODULE = "voiceops.firewall.win_firewall_rules"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def _host_module(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        self._host_calls += 1
        return self._execute_module(module_name=HOST_MODULE, module_args=args, task_vars=task_vars)

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        self._host_calls = 0
        # The whole plan (option plan) is taken out before validation: the validator deep-copies
        # every argument, which for a plan of many thousands of flows costs seconds per host.
        task_args = dict(self._task.args)
        whole_plan = task_args.pop("plan", None)
        validation = ArgumentSpecValidator(module_argument_spec("windows_firewall")).validate(task_args)
        if validation.error_messages:
            result.update(failed=True, msg="voiceops.firewall.windows_firewall: " + "; ".join(error_messages(validation, "voiceops.firewall.windows_firewall")))
            return result
        args = validation.validated_parameters
        host = args["host"] or task_vars.get("inventory_hostname")
        group = args["group"]
        try:
            plan = _plan_of(whole_plan, args["plan_dir"], host)
            desired, warnings = render_host(
                plan, host, program_paths=args["program_paths"], profiles=args["profiles"],
                outbound_default=args["outbound_default"], fqdn_remote=args["fqdn_remote"], group=group,
                outbound_essentials=args["outbound_essentials"])
            want_profiles = desired_profiles(args["profiles"], args["outbound_default"]) if args["manage_profiles"] else {}
        except VoiceopsError as exc:
            result.update(failed=True, msg="voiceops.firewall.windows_firewall: " + exc.message, problems=exc.problems)
            return result

        # 1st (and in check mode, or when nothing differs, only) call: read the group's rules.
        port, port_source = self._connection_port(task_vars)
        query = self._host_module({"operation": "query", "group": group, "foreign": args["report_foreign"], "port": port}, task_vars)
        if query.get("failed"):
            query["msg"] = "voiceops.firewall.windows_firewall: reading the rules of group %s failed: %s" % (group, query.get("msg", ""))
            query["host_calls"] = self._host_calls
            return query
        try:
            current = [normalise_rule(r) for r in query.get("rules") or []]
            have_profiles = normalise_profiles(query.get("profiles") or [])
        except VoiceopsError as exc:
            result.update(failed=True, msg="voiceops.firewall.windows_firewall: " + exc.message, host_calls=self._host_calls)
            return result

        changes = diff_rules(desired, current, purge=args["purge"])
        profile_changes = diff_profiles(want_profiles, have_profiles)
        if not args["manage_profiles"] and args["outbound_default"] == "allow":
            blocking = [n for n, p in have_profiles.items() if n in args["profiles"] and p.get("default_outbound_action") == "Block"]
            if blocking:
                warnings.append("profile(s) %s block outbound by default but windows_firewall_outbound_default is allow, "
                                "so no outbound rules were rendered" % ", ".join(blocking))
        if changes["stale"]:
            warnings.append("rules of group %s that the plan no longer has were kept (purge is off): %s"
                            % (group, ", ".join(changes["stale"])))

        # The effective policy (Group Policy, block rules, the firewall service), read by the same query:
        # findings for the planned rules; an error (the service stopped) stops the task before any change.
        findings = _windows_policy.check_policy(
            _windows_policy.read_policy(query), desired, profiles=args["profiles"], want_profiles=want_profiles,
            outbound_default=args["outbound_default"], group=group,
            own_names=[r["name"] for r in desired] + list(changes["remove"]))
        policy_refused = _windows_policy.refusals(findings)
        warnings.extend(_windows_policy.warning_lines(findings))

        current_by_name = {r["name"]: r for r in current}
        changed = bool(changes["add"] or changes["update"] or changes["remove"] or profile_changes)
        if changed and args["lockout_guard"] and not policy_refused:
            # Before the first change (and in check mode too): would the next connection still get in?
            after = {name: dict(have_profiles.get(name, {})) for name in PROFILES}
            after.update(want_profiles)
            refused, cautions = _windows_guard.check(desired, port, port_source, after, query.get("connections"), query.get("network_profiles"))
            warnings.extend(cautions)
            if refused:
                result.update(failed=True, changed=False, host_calls=self._host_calls, lockout=refused,
                              msg="voiceops.firewall.windows_firewall: nothing was changed, the new rules would lock the controller "
                                  "out: %s (set windows_firewall_lockout_guard: false only if another way in is certain)" % "; ".join(refused))
                if warnings:
                    result["warnings"] = warnings
                return result
        apply = apply_args(group, changes, profile_changes)
        result.update(
            changed=changed,
            summary={
                "desired": len(desired),
                "added": [r["name"] for r in changes["add"]],
                "updated": [u["rule"]["name"] for u in changes["update"]],
                "removed": list(changes["remove"]),
                "kept_stale": list(changes["stale"]),
                "unchanged": len(changes["unchanged"]),
                "profiles": [p["name"] for p in profile_changes],
            },
        )
        result["policy_findings"] = findings
        if args["return_rules"]:
            result["rules"] = desired
        if changed:
            result["commands"] = powershell_preview(apply).splitlines()
        if self._task.diff and changed:
            result["diff"] = ansible_diff(changes, current_by_name, profile_changes)
        if args["report_foreign"]:
            directions = ["Inbound", "Outbound"] if args["outbound_default"] == "block" else ["Inbound"]
            foreign, unreadable = read_foreign(query.get("foreign_rules"))  # never fatal: other groups' rules are only reported
            result["foreign_rules"] = foreign_openings(desired, foreign, directions)
            result["foreign_unreadable"] = unreadable
            if unreadable:
                warnings.append("%d rule(s) outside group %s could not be read and were not checked (see foreign_unreadable): %s"
                                % (len(unreadable), group, "; ".join("%s: %s" % (u["name"], u["reason"]) for u in unreadable)))
            if result["foreign_rules"]:
                warnings.append("%d rule(s) outside group %s open what the plan does not (see foreign_rules); they were not changed"
                                % (len(result["foreign_rules"]), group))

        if policy_refused:
            result.update(failed=True, changed=False, policy_refused=True,
                          msg="voiceops.firewall.windows_firewall: nothing was changed: %s" % "; ".join(f["message"] for f in policy_refused))

        # 2nd call, only when there is something to do, not in check mode, and the policy allows it.
        if changed and not self._task.check_mode and not policy_refused:
            if args["confirm_timeout"]:
                # Commit-confirm: the host keeps what it has now (our group's rules, the profiles we
                # change) and a scheduled task restores it after the timeout unless confirmed.
                apply["confirm_timeout"] = args["confirm_timeout"]
                apply["restore"] = {"rules": [module_rule(r) for r in current],
                                    "profiles": [dict(name=p["name"], **p["before"]) for p in profile_changes if p.get("before")]}
            applied = self._host_module(apply, task_vars)
            result["done"] = applied.get("done", [])
            for key in ("token", "rollback_at"):
                if applied.get(key) is not None:
                    result[key] = applied[key]
            if applied.get("failed"):
                result.update(failed=True, failed_step=applied.get("failed_step"),
                              msg="voiceops.firewall.windows_firewall: applying failed after %d step(s) (%s); %s. The next run "
                                  "reads the host again and converges%s" % (
                                      len(result["done"]), ", ".join(result["done"]) or "none", applied.get("msg", ""),
                                      "; the previous rules are restored by the host at %s unless confirmed" % applied["rollback_at"]
                                      if applied.get("rollback_at") else ""))
        result["host_calls"] = self._host_calls
        if warnings:
            result["warnings"] = warnings
        return result

    def _connection_port(self, task_vars: dict[str, Any]) -> tuple[int, str]:
        """The TCP port of the connection in use, and where it comes from."""
        try:
            port = self._connection.get_option("port")
        except (AttributeError, KeyError, AnsibleError):
            port = None
        if port:
            names = "ansible_psrp_port or ansible_port" if self._connection.transport == "psrp" else "ansible_winrm_port or ansible_port"
            return int(port), "the connection's port (%s)" % names
        variable, value = management_port(task_vars, "windows")
        return int(value or 5986), variable or "the connection plugin's default"


def _plan_of(whole_plan: Any, plan_dir: str | None, host: str) -> Plan:
    """The plan to render ``host`` from: its part in ``plan_dir`` (what the role passes), or the whole plan."""
    if (whole_plan is None) == (plan_dir is None):
        raise VoiceopsError("give exactly one of plan_dir (a folder written by the plan step; the role passes it) and plan "
                            "(got %s)" % ("both" if plan_dir is not None else "neither"))
    if plan_dir is not None:
        return _apply.load(plan_dir, host, "windows")
    if not isinstance(whole_plan, dict):
        raise VoiceopsError("plan: give the plan that voiceops.firewall.plan returns (a dictionary), got %s"
                            % type(whole_plan).__name__)
    return whole_plan  # type: ignore[return-value]  # render_host checks what it reads
