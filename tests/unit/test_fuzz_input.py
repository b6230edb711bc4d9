# -*- coding: utf-8 -*-
"""Bad inventory or catalog input gives a plan or a VoiceopsError naming a variable path; never another exception.

A bounded, reproducible run of the mutation engine (tests/fuzz_inputs.py), plus one regression case
per class of crash the long run (scripts/fuzz.py, docs/fuzzing.md) found.
"""

from __future__ import annotations

import copy
import datetime
import functools
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import fuzz_inputs as fz


@functools.lru_cache(maxsize=1)
def _base() -> dict[str, Any]:
    """The unmutated input, read once (not a fixture: hypothesis would print it with every failure)."""
    return fz.base_inputs()


@pytest.fixture(name="base")
def fixture_base() -> dict[str, Any]:
    return _base()


def test_base_input_plans(base: dict[str, Any]) -> None:
    outcome, detail = fz.run_one(base)
    assert outcome == "plan", detail
    assert detail["summary"]["flows_by_product"].get("fuzz_recorder") == 3


def test_inputs_are_reproducible(base: dict[str, Any]) -> None:
    for index in (0, 1, 977):
        first = [fz.describe(m) for m in fz.input_for(base, "ci", index)[1]]
        again = [fz.describe(m) for m in fz.input_for(base, "ci", index)[1]]
        assert first == again and first


@settings(max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2 ** 32 - 1), n_mutations=st.integers(min_value=1, max_value=3))
def test_mutated_input_plans_or_names_a_variable_path(seed: int, n_mutations: int) -> None:
    data, log = fz.mutate_with_log(_base(), random.Random(seed), n_mutations)
    for mutation in log:
        note(fz.describe(mutation))
    outcome, detail = fz.run_one(data)  # any other exception fails the test here
    assert outcome in ("plan", "error")
    if outcome == "error":
        assert not fz.unpathed(detail), "problems that name no variable path: %r" % fz.unpathed(detail)


# One case per class of crash: (mutations of the base input, the variable path the problem starts
# with, a fragment of the value it shows). Mutations are fuzz_inputs mutations: (op, path, arg).
E = ("global_vars", "voiceops_endpoints")
H = "host_vars"
C = ("catalog_extra", 0)
DATE = datetime.date(2024, 1, 1)
STAMP = datetime.datetime(2024, 1, 1, 12, 30)

REGRESSIONS = {
    # A mapping or a list where a name is expected.
    "zone name is a mapping": (
        [("replace", E + ("swyx_pbx", "zone"), {"x": "pbx"})], "voiceops_endpoints.swyx_pbx.zone", "'x': 'pbx'"),
    "component name is a mapping": (
        [("replace", (H, "wfm01", "voiceops_components", 0), {"x": "speechexec_workflow_manager"})],
        "hostvars['wfm01'].voiceops_components", "'x': 'speechexec_workflow_manager'"),
    "feature name is a list": (
        [("replace", (H, "lic01", "voiceops_components", "speechexec_license_server", "features", 0), ["email"])],
        "hostvars['lic01'].voiceops_components.speechexec_license_server.features", "['email']"),
    "lint accept id is a mapping": (
        [("replace", ("global_vars", "voiceops_lint_accept", 2, "id"), {"x": "VO106"})],
        "voiceops_lint_accept[2].id", "'x': 'VO106'"),
    "fqdn is a list": (
        [("replace", E + ("swyx_hosted", "fqdn"), ["acme.telovip.de"])], "voiceops_endpoints.swyx_hosted.fqdn", "['acme.telovip.de']"),
    "catalog cite doc is a list": (
        [("replace", C + ("flows", 0, "cite", "doc"), ["recorder-install-guide.pdf"])],
        "voiceops_catalog_extra[0].flows[0].cite.doc", "['recorder-install-guide.pdf']"),
    "catalog feature name is a mapping": (
        [("replace", C + ("flows", 2, "feature"), {"x": "archive"})], "voiceops_catalog_extra[0].flows[2].feature", "'x': 'archive'"),
    # Mapping keys that are not strings (YAML: 5060:, true:, ~:, 2024-01-01:) break sorted().
    "zone name is an int key": (
        [("nonstr_key", ("global_vars", "voiceops_zones"), ("speech", 5060))], "voiceops_zones", "5060"),
    "endpoint name is a float key": (
        [("nonstr_key", E, ("recorder01", 1.5))], "voiceops_endpoints", "1.5"),
    "edge zone is a None key": (
        [("nonstr_key", (H, "edge01", "voiceops_edge_zones"), ("mgmt", None))], "hostvars['edge01'].voiceops_edge_zones", "None"),
    "param name is a date key": (
        [("add_key", (H, "speech01", "voiceops_components", "speech_server", "params"), (DATE, 5000))],
        "hostvars['speech01'].voiceops_components.speech_server.params", "2024"),
    "peer role is an int key": (
        [("nonstr_key", (H, "speech01", "voiceops_components", "speech_server", "peers"), ("media_peer", 0))],
        "hostvars['speech01'].voiceops_components.speech_server.peers", "0"),
    "catalog component name is a bool key": (
        [("nonstr_key", C + ("components",), ("recorder_console", False))], "voiceops_catalog_extra[0].components", "False"),
    "catalog parameter name is a bool key": (
        [("add_key", C + ("components", "call_recorder", "parameters"), (True, {"kind": "port", "default": 1}))],
        "voiceops_catalog_extra[0].components.call_recorder.parameters", "True"),
    # A list where a mapping is expected.
    "component params are a list": (
        [("replace", E + ("recorder01", "components", "call_recorder", "params"), [8443])],
        "voiceops_endpoints.recorder01.components.call_recorder.params", "[8443]"),
    "catalog components are a list": (
        [("wrap", C + ("components",), "list")], "voiceops_catalog_extra[0].components", "call_recorder"),
    "catalog security fact is a list": (
        [("wrap", C + ("components", "call_recorder", "security", 0), "list")],
        "voiceops_catalog_extra[0].components.call_recorder.security[0]", "recorder-tls"),
    "catalog feature is a string": (
        [("replace", C + ("components", "call_recorder", "features", "archive"), "on")],
        "voiceops_catalog_extra[0].components.call_recorder.features.archive", "'on'"),
    # A scalar where a list is expected.
    "catalog roles are an int": (
        [("replace", C + ("components", "recorder_console", "roles"), 3)],
        "voiceops_catalog_extra[0].components.recorder_console.roles", "3"),
    "catalog notes are an int": (
        [("replace", C + ("components", "call_recorder", "notes"), 2)], "voiceops_catalog_extra[0].components.call_recorder.notes", "2"),
    "catalog flows are a datetime": (
        [("replace", C + ("flows",), STAMP)], "voiceops_catalog_extra[0].flows", "2024"),
    "catalog documents are an int": (
        [("replace", C + ("documents",), 1)], "voiceops_catalog_extra[0].documents", "1"),
    "edge interfaces are a datetime": (
        [("replace", (H, "edge01", "voiceops_edge_zones", "mgmt"), STAMP)], "hostvars['edge01'].voiceops_edge_zones.mgmt", "2024"),
    "catalog extension is an int": (
        [("replace", ("catalog_extra",), 5)], "voiceops_catalog_extra", "5"),
    # Ports in digits other than ASCII 0-9 ("²".isdigit() is true, int("²") fails; int("٥٠٦٠") is 5060).
    "catalog port is a superscript": (
        [("replace", C + ("flows", 2, "ports"), "\u00b2")], "voiceops_catalog_extra[0].flows[2].ports", "'\u00b2'"),
    "inventory port range ends in a superscript": (
        [("replace", E + ("office_phones", "components", "swyx_system_phone", "params", "rtp_ports"), "5000-\u00b2")],
        "voiceops_endpoints.office_phones.components.swyx_system_phone.params.rtp_ports", "'5000-\u00b2'"),
    "ansible_port in Arabic-Indic digits": (
        [("replace", (H, "speech01", "ansible_port"), "\u0665\u0660\u0666\u0660")],
        "hostvars['speech01'].ansible_port", "'\u0665\u0660\u0666\u0660'"),
    # Types YAML gives that are not strings, where the plan keeps the value.
    "fqdn is a date": (
        [("replace", E + ("swyx_hosted", "fqdn"), DATE)], "voiceops_endpoints.swyx_hosted.fqdn", "2024"),
    "catalog program is an int": (
        [("replace", C + ("flows", 1, "program"), 5)], "voiceops_catalog_extra[0].flows[1].program", "5"),
    # Catalog-extension problems name the variable path, not "component X" or "catalog entry X".
    "catalog entry from an unknown role": (
        [("replace", C + ("flows", 2, "from"), "no_such_role")], "voiceops_catalog_extra[0].flows[2].from", "'no_such_role'"),
    "catalog entry port from an unknown parameter": (
        [("replace", C + ("flows", 0, "ports"), {"param": "no_such_param"})],
        "voiceops_catalog_extra[0].flows[0].ports", "'no_such_param'"),
    "catalog entry with an unknown feature": (
        [("replace", C + ("flows", 2, "feature"), "no_such_feature")], "voiceops_catalog_extra[0].flows[2].feature", "'no_such_feature'"),
    "catalog entry with an unknown tls alternative": (
        [("add_key", C + ("flows", 2), ("tls_alternative", "no_such_entry"))],
        "voiceops_catalog_extra[0].flows[2].tls_alternative", "'no_such_entry'"),
    "catalog component alternative to an unknown one": (
        [("add_key", C + ("components", "recorder_console"), ("alternative_to", ["no_such_component"]))],
        "voiceops_catalog_extra[0].components.recorder_console.alternative_to", "'no_such_component'"),
    # Names that reach file names and rule sets.
    "edge host name leaves the output folder": (
        [("rename_key", (H,), ("edge01", "../../x"))], "hostvars['../../x']", "../../x"),
    "endpoint name with a line break": (
        [("rename_key", E, ("ntp01", fz.INJECTION))], "voiceops_endpoints", "flush ruleset"),
}


@pytest.mark.parametrize("case", sorted(REGRESSIONS))
def test_regression(base: dict[str, Any], case: str) -> None:
    """The input gives a VoiceopsError (run_one returns it as "error") with a problem at the path showing the value."""
    mutations, path, value = REGRESSIONS[case]
    data = copy.deepcopy(base)
    for mutation in mutations:
        assert fz.apply_mutation(data, mutation), "the mutation no longer fits the base input: %r" % (mutation,)
    outcome, problems = fz.run_one(data)  # another exception fails the test here
    assert outcome == "error", "planned without a VoiceopsError"
    assert not fz.unpathed(problems), problems
    assert any(p.startswith(path) and value in p for p in problems), \
        "no problem starts with %s and shows %s: %r" % (path, value, problems)
