# -*- coding: utf-8 -*-
"""Argument specs derived from the plugins' documentation (plugin_utils/_argspec.py), and the
filters that check their arguments against their own documentation."""

from __future__ import annotations

import json

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from conftest import REPO
from example_inventory import example_outcome, example_vars, plan_of

from ansible_collections.voiceops.firewall.plugins.filter import flows as flows_filters
from ansible_collections.voiceops.firewall.plugins.filter import nft as nft_filters
from ansible_collections.voiceops.firewall.plugins.filter import audit as audit_filters
from ansible_collections.voiceops.firewall.plugins.filter import lint as lint_filters
from ansible_collections.voiceops.firewall.plugins.filter import reports as report_filters
from ansible_collections.voiceops.firewall.plugins.module_utils import _nft_table
from ansible_collections.voiceops.firewall.plugins.plugin_utils import _argspec, _nft
from ansible_collections.voiceops.firewall.plugins.plugin_utils._argspec import (
    DocumentationError,
    filter_argument_spec,
    filter_arguments,
    module_argument_spec,
    module_documentation,
    spec_from_options,
)
from ansible_collections.voiceops.firewall.plugins.plugin_utils._filter_errors import FilterArgumentError

GOLDEN = REPO / "tests" / "golden" / "example"  # compared with, never read as input
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py"))
FILTER_DOCS = sorted(p.stem for p in (REPO / "plugins" / "filter").glob("*.yml"))

OPTIONS = yaml.safe_load("""
name:
  description: A name.
  type: str
  required: true
  aliases: [n]
  version_added: 0.2.0
mode:
  description: How.
  type: str
  default: fast
  choices: [fast, slow]
ports:
  type: list
  elements: int
  default: []
rules:
  description: Rules.
  type: list
  elements: dict
  suboptions:
    port:
      description: A port.
      type: int
      required: true
    proto:
      type: str
      choices: [tcp, udp]
      default: tcp
anything: {}
""")


def test_spec_keeps_what_the_validator_reads_and_nests_suboptions():
    assert spec_from_options(OPTIONS) == {
        "name": {"type": "str", "required": True, "aliases": ["n"]},
        "mode": {"type": "str", "default": "fast", "choices": ["fast", "slow"]},
        "ports": {"type": "list", "elements": "int", "default": []},
        "rules": {"type": "list", "elements": "dict", "options": {
            "port": {"type": "int", "required": True},
            "proto": {"type": "str", "choices": ["tcp", "udp"], "default": "tcp"}}},
        "anything": {},
    }


def test_the_derived_spec_validates_like_a_hand_written_one():
    validator = ArgumentSpecValidator(spec_from_options(OPTIONS))
    good = validator.validate({"n": "x", "ports": ["80"], "rules": [{"port": "5060"}]})
    assert not good.error_messages
    assert good.validated_parameters == {"n": "x", "name": "x", "mode": "fast", "ports": [80], "anything": None,
                                         "rules": [{"port": 5060, "proto": "tcp"}]}
    bad = validator.validate({"name": "x", "mode": "medium", "rules": [{"proto": "sctp"}], "other": 1})
    messages = "\n".join(bad.error_messages)
    assert "value of mode must be one of: fast, slow, got: medium" in messages
    assert "missing required arguments: port found in rules" in messages
    assert "value of proto must be one of: tcp, udp, got: sctp found in rules" in messages
    assert "other. Supported parameters include" in messages


def test_filter_style_nested_options_are_read_too():
    assert spec_from_options({"a": {"type": "dict", "options": {"b": {"type": "bool"}}}}) == {
        "a": {"type": "dict", "options": {"b": {"type": "bool"}}}}


@pytest.mark.parametrize("options,message", [
    ({"a": "str"}, "options.a: must be a mapping, got str"),
    (["a"], "options: must be a mapping of option names, got list"),
    ({"a": {"suboptions": {}, "options": {}}}, "options.a: has both suboptions and options"),
    ({"a": {"suboptions": {"b": None}}}, "options.a.suboptions.b: must be a mapping, got NoneType"),
])
def test_a_documentation_that_is_no_spec_is_named(options, message):
    with pytest.raises(DocumentationError, match="^%s$" % message.replace(".", r"\.")):
        spec_from_options(options)


def test_documentation_is_read_from_the_file_without_running_it():
    source = 'raise SystemExit("imported")\nDOCUMENTATION = r"""\noptions:\n  a:\n    type: int\n"""\n'
    assert yaml.safe_load(_argspec._documentation_string(source, "m.py")) == {"options": {"a": {"type": "int"}}}
    with pytest.raises(DocumentationError, match="m.py: has no DOCUMENTATION"):
        _argspec._documentation_string("EXAMPLES = ''\n", "m.py")
    with pytest.raises(DocumentationError, match="m.py: DOCUMENTATION is not a plain string"):
        _argspec._documentation_string("DOCUMENTATION = 'a' + 'b'\n", "m.py")


@pytest.mark.parametrize("name", MODULES)
def test_every_module_documentation_gives_a_spec_of_every_option(name):
    from importlib import import_module

    imported = yaml.safe_load(import_module("ansible_collections.voiceops.firewall.plugins.modules.%s" % name).DOCUMENTATION)
    assert module_documentation(name) == imported
    spec = module_argument_spec(name)
    assert sorted(spec) == sorted(imported["options"])
    for option, doc in imported["options"].items():
        for key in ("type", "elements", "default", "required", "choices", "aliases"):
            assert spec[option].get(key) == doc.get(key), (option, key)
        if "suboptions" in doc:
            assert sorted(spec[option]["options"]) == sorted(doc["suboptions"]), option


def test_nested_module_options_become_options():
    spec = module_argument_spec("win_firewall_rules")
    assert spec["add"]["options"]["name"]["required"] is True
    assert "suboptions" not in spec["add"]


def test_specs_are_read_once_and_handed_out_as_copies():
    assert module_documentation("plan") is module_documentation("plan")
    first = module_argument_spec("plan")
    first["diagram_views"]["default"].append("changed")
    assert module_argument_spec("plan")["diagram_views"]["default"] == ["speechexec_mobile_service"]
    assert _argspec.filter_documentation("nft_ruleset") is _argspec.filter_documentation("nft_ruleset")


@pytest.mark.parametrize("name", FILTER_DOCS)
def test_every_filter_documentation_gives_a_spec(name):
    options = _argspec.filter_documentation(name)["options"]
    spec = filter_argument_spec(name)
    assert sorted(spec) == sorted(o for o in options if o != "_input")


# ---- the filters -------------------------------------------------------------------------------

PLAN = plan_of(*example_vars())  # built from the inventory, not read back from a golden file
FILTERS = {**nft_filters.FilterModule().filters(), **report_filters.FilterModule().filters(),
           **flows_filters.FilterModule().filters(), **lint_filters.FilterModule().filters(),
           **audit_filters.FilterModule().filters()}


def test_one_default_table():
    assert nft_filters.DEFAULT_TABLE is _nft_table.DEFAULT_TABLE
    assert _nft_table.DEFAULT_TABLE == "voiceops"
    assert _nft.DEFAULT_TABLE == _nft_table.DEFAULT_TABLE
    for name in ("nft_ruleset", "nft_report"):
        assert filter_argument_spec(name)["table"]["default"] == _nft_table.DEFAULT_TABLE


def test_nft_filters_go_through_the_shared_wrapper():
    for name in ("nft_ruleset", "nft_report", "nft_unlisted_interfaces"):
        assert FILTERS[name].__name__ == name
        assert FILTERS[name] is not getattr(nft_filters, name)


def test_nft_outputs_are_the_golden_ones():
    assert FILTERS["nft_ruleset"](PLAN, "edge01") == (GOLDEN / "edge" / "edge01.nft").read_text()
    assert FILTERS["nft_ruleset"](PLAN, "edge01", "voiceops", True) == (GOLDEN / "edge" / "edge01.nft").read_text()
    assert FILTERS["nft_report"](PLAN, "edge01") == json.loads((GOLDEN / "edge" / "edge01.json").read_text())
    assert FILTERS["lint_junit"](example_outcome().findings) == (GOLDEN / "findings.xml").read_text()


def test_nft_filter_input_is_a_documented_bool():
    without_input = FILTERS["nft_ruleset"](PLAN, "edge01", "voiceops", False)
    assert without_input != FILTERS["nft_ruleset"](PLAN, "edge01")
    assert FILTERS["nft_ruleset"](PLAN, "edge01", "voiceops", "no") == without_input
    assert FILTERS["nft_ruleset"](PLAN, "edge01", "voiceops", None) == without_input  # None was falsy and is still
    assert "table inet other" in FILTERS["nft_ruleset"](PLAN, "edge01", table="other")


def test_nft_unlisted_interfaces():
    edge = PLAN["edges"]["edge01"]
    managed = sorted({i for ifaces in edge["zones"].values() for i in ifaces})
    links = [{"ifname": name} for name in managed + ["lo", "eth99"]]
    assert FILTERS["nft_unlisted_interfaces"](PLAN, "edge01", links) == ["eth99"]
    assert FILTERS["nft_unlisted_interfaces"](PLAN, "edge01", links[:-1]) == []


@pytest.mark.parametrize("name,args,message", [
    ("nft_ruleset", ("nope", "edge01"), "voiceops.firewall.nft_ruleset: the input must be a plan (as voiceops.firewall.plan returns it), got str"),
    ("nft_ruleset", (PLAN, 5), "voiceops.firewall.nft_ruleset: argument 'edge' is of type int and we were unable to convert to str: got 5"),
    ("nft_ruleset", (PLAN, None), "voiceops.firewall.nft_ruleset: argument 'edge' is of type NoneType"),
    ("nft_report", (PLAN, "edge01", ["voiceops"]), "voiceops.firewall.nft_report: argument 'table' is of type list"),
    ("nft_report", (PLAN, "edge01", "voiceops", "maybe"), "voiceops.firewall.nft_report: argument 'filter_input' is of type str and we were "
                                                          "unable to convert to bool"),
    ("nft_report", (PLAN, "edge01", "bad-name"), "voiceops.firewall.nft_report: table: an nftables table name"),
    ("nft_ruleset", (PLAN, "web01"), "voiceops.firewall.nft_ruleset: edge: not an edge firewall of this plan"),
    ("nft_unlisted_interfaces", ({"flows": []}, "edge01", []), "voiceops.firewall.nft_unlisted_interfaces: the input must be a plan"),
    ("nft_unlisted_interfaces", (PLAN, "edge01", "eth0"), "voiceops.firewall.nft_unlisted_interfaces: argument 'links' is of type str "
                                                          "and we were unable to convert to list: got 'eth0'"),
    ("nft_unlisted_interfaces", (PLAN, "edge01", ["eth0"]), "voiceops.firewall.nft_unlisted_interfaces: Elements value for option 'links' "
                                                            "is of type str and we were unable to convert to dict"),
    ("nft_unlisted_interfaces", (PLAN, "edge01", [{"name": "eth0"}]),
     "voiceops.firewall.nft_unlisted_interfaces: links must be the list that 'ip -j link show' prints"),
    ("nft_unlisted_interfaces", (PLAN, "nope", []), "voiceops.firewall.nft_unlisted_interfaces: edge: not an edge firewall of this plan"),
    ("lint_junit", ({"findings": []},), "voiceops.firewall.lint_junit: the input must be the findings list that voiceops.firewall.plan "
                                        "returns, got dict"),
    ("lint_junit", ([], 3), "voiceops.firewall.lint_junit: argument 'fail_on' is of type int"),
    ("lint_junit", ([], "severe"), "voiceops.firewall.lint_junit: voiceops_lint_fail_on: one of never"),
    ("select_flows", (PLAN, ""), "voiceops.firewall.select_flows: expression must be a JMESPath string, got ''"),
    ("select_flows", (PLAN, "[?"), "voiceops.firewall.select_flows: expression '[?': "),
])
def test_filter_errors_name_the_filter_and_the_argument(name, args, message):
    with pytest.raises(AnsibleFilterError) as caught:
        FILTERS[name](*args)
    assert str(caught.value).startswith(message), str(caught.value)


def test_lint_junit_gate_may_be_off():
    found = example_outcome().findings
    assert FILTERS["lint_junit"](found, None) == FILTERS["lint_junit"](found, "never")


def test_filter_arguments_keep_an_optional_none_and_apply_documented_defaults():
    assert filter_arguments("nft_ruleset", edge="e") == {"edge": "e", "table": "voiceops", "filter_input": True}
    assert filter_arguments("nft_ruleset", edge="e", table=None) == {"edge": "e", "table": None, "filter_input": True}
    with pytest.raises(FilterArgumentError, match="argument 'edge' is of type NoneType"):
        filter_arguments("nft_ruleset", edge=None)
