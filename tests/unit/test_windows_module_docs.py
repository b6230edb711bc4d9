# -*- coding: utf-8 -*-
"""The Windows modules' documentation says what their code accepts.

- windows_firewall: the action plugin validates against the module DOCUMENTATION itself (the spec
  is derived from it), so a bad argument fails with Ansible's own message before the host is read;
- win_firewall_rules: every option of the PowerShell spec is documented with the same type,
  default and choices (read from the .ps1 text: there is no PowerShell here to run it);
- every cmdlet parameter the review preview prints is one the .ps1 passes.
"""

from __future__ import annotations

import re
from typing import Any
from unittest import mock

import pytest
import yaml

from conftest import REPO

from ansible_collections.voiceops.firewall.plugins.action import windows_firewall as action
from ansible_collections.voiceops.firewall.plugins.modules import win_firewall_rules as host_doc
from ansible_collections.voiceops.firewall.plugins.modules import windows_firewall as action_doc
from ansible_collections.voiceops.firewall.plugins.plugin_utils import _windows as w
from ansible_collections.voiceops.firewall.plugins.plugin_utils._argspec import module_argument_spec
from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import VoiceopsError
from ansible_collections.voiceops.firewall.plugins.plugin_utils._windows_host import SETTING_OPTIONS

PS1 = (REPO / "plugins" / "modules" / "win_firewall_rules.ps1").read_text()


def test_action_keeps_no_argument_spec_of_its_own():
    assert not hasattr(action, "ARGUMENT_SPEC")


def test_every_documented_option_is_in_the_derived_spec():
    options = yaml.safe_load(action_doc.DOCUMENTATION)["options"]
    spec = module_argument_spec("windows_firewall")
    assert sorted(options) == sorted(spec)
    for name, doc in options.items():
        assert spec[name]["type"] == doc["type"], name
        assert spec[name].get("elements") == doc.get("elements"), name
        assert spec[name].get("default") == doc.get("default"), name
        assert spec[name].get("choices") == doc.get("choices"), name
        assert bool(spec[name].get("required")) == bool(doc.get("required")), name


def test_documented_defaults_are_the_renderers():
    spec = module_argument_spec("windows_firewall")
    assert spec["group"]["default"] == w.GROUP
    assert spec["profiles"]["default"] == list(w.PROFILES)


def run_action(args: dict[str, Any]) -> tuple[dict[str, Any], mock.Mock, mock.Mock]:
    """voiceops.firewall.windows_firewall's run() as Ansible calls it; rendering stops with an error
    after the arguments are validated, and the host module is a mock."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.playbook.play_context import PlayContext
    from ansible.playbook.task import Task
    from ansible.template import Templar

    task = Task.load({"action": "voiceops.firewall.windows_firewall", "args": args})
    loader = DataLoader()
    module = action.ActionModule(task, connection=mock.Mock(), play_context=PlayContext(), loader=loader,
                                 templar=Templar(loader), shared_loader_obj=None)
    with mock.patch.object(action, "render_host", side_effect=VoiceopsError("rendering stopped by the test")) as render, \
            mock.patch.object(action.ActionModule, "_execute_module") as host:
        return module.run(task_vars={"inventory_hostname": "win01"}), render, host


@pytest.mark.parametrize("args,message", [
    ({"purge": True}, "give exactly one of plan_dir (a folder written by the plan step; the role passes it) and plan (got neither)"),
    ({"plan": {}, "plan_dir": "/srv/plan"}, "give exactly one of plan_dir"),
    ({"plan_dir": "/srv/plan", "return_rules": "maybe"}, "argument 'return_rules' is of type str and we were unable to convert to bool"),
    ({"plan": "not a plan"}, "plan: give the plan that voiceops.firewall.plan returns (a dictionary), got str"),
    ({"plan_dir": "relative/plan"}, "plan_dir: give the absolute path of a folder written by the plan step"),
    ({"plan": {}, "outbound_default": "deny"}, "value of outbound_default must be one of: allow, block, got: deny"),
    ({"plan": {}, "purge": "sometimes"}, "argument 'purge' is of type str and we were unable to convert to bool"),
    ({"plan": {}, "purgee": True}, "Unsupported parameters for (voiceops.firewall.windows_firewall) module: purgee."),
])
def test_bad_arguments_fail_with_ansibles_message_before_the_host_is_read(args, message):
    result, render, host = run_action(args)
    assert result["failed"]
    assert result["msg"].startswith("voiceops.firewall.windows_firewall: ")
    assert message in result["msg"], result["msg"]
    render.assert_not_called()
    host.assert_not_called()


def test_the_documented_defaults_reach_the_renderer():
    result, render, host = run_action({"plan": {"flows": []}})
    assert result["msg"] == "voiceops.firewall.windows_firewall: rendering stopped by the test"
    host.assert_not_called()
    assert render.call_args.args == ({"flows": []}, "win01")
    assert render.call_args.kwargs == {"program_paths": {}, "profiles": ["Domain", "Private", "Public"],
                                       "outbound_default": "allow", "fqdn_remote": "any", "group": "voiceops.firewall",
                                       "outbound_essentials": ["dns", "kerberos", "netlogon", "time", "crl"]}


def _ps_options(block: str) -> dict[str, dict]:
    out = {}
    for match in re.finditer(r"^\s*(\w+) = @\{ type = '(\w+)'(.*?)\}\s*$", block, re.M):
        name, typ, rest = match.groups()
        spec = {"type": typ}
        if "elements = '" in rest:
            spec["elements"] = re.search(r"elements = '(\w+)'", rest).group(1)
        if "required = $true" in rest:
            spec["required"] = True
        choices = re.search(r"choices = (?:@\()?('[^)}]*?')\)?(?:;|\s*$)", rest)
        if choices:
            spec["choices"] = re.findall(r"'(\w+)'", choices.group(1))
        default = re.search(r"default = (@\((.*?)\)|'([^']*)'|\$(true|false))", rest)
        if default:
            if default.group(2) is not None:
                spec["default"] = re.findall(r"'(\w+)'", default.group(2))
            elif default.group(3) is not None:
                spec["default"] = default.group(3)
            else:
                spec["default"] = default.group(4) == "true"
        out[name] = spec
    return out


def _compare(doc_options: dict, ps_options: dict) -> None:
    for name, spec in ps_options.items():
        assert name in doc_options, "%s is in the .ps1 spec but not documented" % name
        doc = doc_options[name]
        assert doc["type"] == spec["type"], name
        assert doc.get("elements") == spec.get("elements"), name
        assert bool(doc.get("required")) == bool(spec.get("required")), name
        assert doc.get("choices") == spec.get("choices"), name
        if "default" in spec:
            assert doc.get("default") == spec["default"], name


def test_host_module_spec_matches_documentation():
    doc = yaml.safe_load(host_doc.DOCUMENTATION)["options"]
    rule_block = PS1.split("$ruleOptions = @{")[1].split("\n}\n")[0]
    top_block = PS1.split("$spec = @{")[1].split("supports_check_mode")[0]
    rule_ps = _ps_options(rule_block)
    # the rule's fields, the settings an update may set back to their defaults, and recreate
    assert sorted(rule_ps) == sorted(doc["add"]["suboptions"]) == sorted(w.RULE_FIELDS + tuple(SETTING_OPTIONS) + ("recreate",))
    _compare(doc["add"]["suboptions"], rule_ps)
    _compare(doc["update"]["suboptions"], rule_ps)
    prof_ps = _ps_options(top_block.split("profiles = @{")[1])
    top = {k: v for k, v in _ps_options(top_block).items() if k not in rule_ps and k not in prof_ps}
    top_names = {"operation", "group", "foreign", "remove", "port", "token", "confirm_timeout", "restore"} | {"add", "update", "profiles"}
    assert set(top) | {"add", "update", "profiles"} == top_names
    assert sorted(doc) == sorted(top_names)
    _compare(doc, top)
    assert sorted(prof_ps) == sorted(doc["profiles"]["suboptions"])
    _compare(doc["profiles"]["suboptions"], prof_ps)
    assert "supports_check_mode = $true" in PS1
    assert "#AnsibleRequires -CSharpUtil Ansible.Basic" in PS1


def test_preview_parameters_are_the_ones_the_module_passes():
    args = w.apply_args(w.GROUP, {"add": [], "update": [], "remove": []}, [])
    rule = {"name": "n", "display_name": "d", "description": "", "direction": "Inbound", "action": "Allow", "enabled": True,
            "profiles": ["Domain"], "protocol": "TCP", "local_ports": ["1"], "remote_ports": ["Any"],
            "local_addresses": ["Any"], "remote_addresses": ["Any"], "program": "C:\\p.exe"}
    args.update(add=[rule], update=[rule], remove=["n"],
                profiles=[{"name": "Domain", "enabled": True, "default_inbound_action": "Block", "default_outbound_action": "Allow"}])
    preview = w.powershell_preview(args)
    for cmdlet in ("New-NetFirewallRule", "Set-NetFirewallRule", "Remove-NetFirewallRule", "Set-NetFirewallProfile"):
        assert cmdlet in preview and cmdlet in PS1
    for param in sorted(set(re.findall(r" -(\w+) ", preview))):
        assert re.search(r"\b%s = " % param, PS1) or "-%s " % param in PS1, param
