# -*- coding: utf-8 -*-
"""The Windows modules' documentation says what their code accepts.

- windows_firewall: the action plugin's argument spec equals the module DOCUMENTATION;
- win_firewall_rules: every option of the PowerShell spec is documented with the same type,
  default and choices (read from the .ps1 text: there is no PowerShell here to run it);
- every cmdlet parameter the review preview prints is one the .ps1 passes.
"""

from __future__ import annotations

import re

import yaml

from conftest import REPO

from ansible_collections.voiceops.firewall.plugins.action.windows_firewall import ARGUMENT_SPEC
from ansible_collections.voiceops.firewall.plugins.modules import win_firewall_rules as host_doc
from ansible_collections.voiceops.firewall.plugins.modules import windows_firewall as action_doc
from ansible_collections.voiceops.firewall.plugins.plugin_utils import _windows as w

PS1 = (REPO / "plugins" / "modules" / "win_firewall_rules.ps1").read_text()


def test_action_argument_spec_matches_documentation():
    options = yaml.safe_load(action_doc.DOCUMENTATION)["options"]
    assert sorted(options) == sorted(ARGUMENT_SPEC)
    for name, spec in ARGUMENT_SPEC.items():
        assert options[name]["type"] == spec["type"], name
        assert options[name].get("elements") == spec.get("elements"), name
        assert options[name].get("default") == spec.get("default"), name
        assert options[name].get("choices") == spec.get("choices"), name
        assert bool(options[name].get("required")) == bool(spec.get("required")), name


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
    assert sorted(rule_ps) == sorted(doc["add"]["suboptions"]) == sorted(w.RULE_FIELDS)
    _compare(doc["add"]["suboptions"], rule_ps)
    _compare(doc["update"]["suboptions"], rule_ps)
    prof_ps = _ps_options(top_block.split("profiles = @{")[1])
    top = {k: v for k, v in _ps_options(top_block).items() if k not in rule_ps and k not in prof_ps}
    top_names = {"operation", "group", "foreign", "remove"} | {"add", "update", "profiles"}
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
