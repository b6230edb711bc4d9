# -*- coding: utf-8 -*-
"""Security lint: each rule fires on the estate that breaks it, accepts need reasons, the gate, JUnit."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest

from ansible_collections.voiceops.firewall.plugins.plugin_utils._catalog import load_catalog
from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import VoiceopsError
from ansible_collections.voiceops.firewall.plugins.plugin_utils._estate import build_estate
from ansible_collections.voiceops.firewall.plugins.plugin_utils._lint import RULES, apply_accepts, check_accepts, findings, gate, junit
from ansible_collections.voiceops.firewall.plugins.plugin_utils._planner import plan

ZONES = {
    "mgmt": {"networks": ["10.99.0.0/24"]},
    "speech": {"networks": ["10.30.0.0/24"]},
    "pbx": {"networks": ["10.10.0.0/24"]},
    "clients": {"networks": ["10.60.0.0/22"]},
    "internet": {"external": True},
}


def lint(hosts, endpoints=None, catalog_extra=None):
    catalog = load_catalog(extra_data=catalog_extra)
    estate = build_estate({"voiceops_zones": ZONES, "voiceops_endpoints": endpoints or {}}, hosts, catalog)
    the_plan = plan(catalog, estate)
    found = findings(the_plan)
    assert findings(json.loads(json.dumps(the_plan))) == found  # the plan alone (plan.json) is enough
    return found


def ids(found, rule):
    return sorted((f["subject"], f["flow"]) for f in found if f["id"] == rule)


SS = {"ansible_host": "10.30.0.10", "voiceops_components": ["speech_server"]}


def test_clean_estate_has_no_timc_findings():
    found = lint({"ss": SS, "timc": {"ansible_host": "10.30.0.20", "voiceops_components": {
        "timc": {"tls_only": True, "features": ["ipsec"], "params": {"audio_ports": 6000}}}}})
    assert not [f for f in found if f["id"] in ("VO102", "VO103", "VO104", "VO105")]


def test_vo101_broad_range_from_a_zone():
    found = lint({"ss": SS}, {"pbxes": {"zone": "pbx", "addresses": ["10.10.0.0/24"], "components": ["sip_gateway"]}})
    assert ("ss", "ms_speech_server.rtp:pbxes>ss") in ids(found, "VO101")
    assert ("ss", "ms_speech_server.sip_redirected:pbxes>ss") in ids(found, "VO101")
    narrow = lint({"ss": {"ansible_host": "10.30.0.10", "voiceops_components": {"speech_server": {"params": {"rtp_ports": "40000-40099"}}}}},
                  {"gw": {"zone": "pbx", "addresses": ["10.10.0.0/24"], "components": ["sip_gateway"]}})
    assert ("ss", "ms_speech_server.rtp:gw>ss") not in ids(narrow, "VO101")


def test_vo102_timc_reached_by_something_else():
    extra = [{"product": {"id": "ours"}, "documents": [{"file": "ours.txt"}],
              "components": {"monitor": {"platform": "linux"}},
              "flows": [{"id": "ours.probe", "from": "monitor", "to": "timc", "protocol": "tcp", "ports": 7423,
                         "service": "probe", "purpose": "health probe", "cite": {"doc": "ours.txt", "section": "1"}}]}]
    found = lint({"ss": SS, "timc": {"ansible_host": "10.30.0.20", "voiceops_components": ["timc"]},
                  "mon": {"ansible_host": "10.10.0.9", "voiceops_components": ["monitor"]}}, catalog_extra=extra)
    assert ids(found, "VO102") == [("timc", "ours.probe:mon>timc")]
    assert [f for f in found if f["id"] == "VO102"][0]["citation"]["doc"] == "002_98c5df336de898eb.txt"


def test_vo103_srtp_with_timc():
    found = lint({"ss": {"ansible_host": "10.30.0.10", "voiceops_components": {"speech_server": {"features": ["srtp"]}}},
                  "timc": {"ansible_host": "10.30.0.20", "voiceops_components": ["timc"]}})
    assert ids(found, "VO103") == [("ss", None)]
    alone = lint({"ss": {"ansible_host": "10.30.0.10", "voiceops_components": {"speech_server": {"features": ["srtp"]}}}})
    assert not ids(alone, "VO103")


def test_vo104_timc_audio_across_zones_without_ipsec():
    timc = {"ansible_host": "10.10.0.20", "voiceops_components": {"timc": {"params": {"audio_ports": 6000}}}}
    assert ids(lint({"ss": SS, "timc": timc}), "VO104") == [("timc", "ms_speech_server.timc_audio:timc>ss")]
    timc["voiceops_components"]["timc"]["features"] = ["ipsec"]
    assert not ids(lint({"ss": SS, "timc": timc}), "VO104")


def test_vo105_plaintext_with_tls_twin_and_tls_only_clears_it():
    gw = {"gw": {"zone": "pbx", "addresses": ["10.10.0.5"], "components": ["sip_gateway"]}}
    assert ("ss", "ms_speech_server.sip_tcp:gw>ss") in ids(lint({"ss": SS}, gw), "VO105")
    tls = {"ansible_host": "10.30.0.10", "voiceops_components": {"speech_server": {"tls_only": True}}}
    assert not ids(lint({"ss": tls}, gw), "VO105")


def test_vo106_voice_from_the_internet_and_vo107_names():
    found = lint({}, {"phones": {"zone": "pbx", "addresses": ["10.10.0.64/26"], "components": ["swyx_instant_sip_phone"]},
                      "pbx": {"zone": "internet", "fqdn": "acme.telovip.de", "components": ["swyx_instantpbx"]}})
    assert ("phones", "swyx.instant_phone_rtp_in:pbx>phones") in ids(found, "VO106")
    vo107 = [f for f in found if f["id"] == "VO107"]
    assert [(f["subject"], f["flow"]) for f in vo107] == [("pbx", None)]
    assert "acme.telovip.de" in vo107[0]["message"]


def test_accepts_need_a_reason_and_a_target():
    with pytest.raises(VoiceopsError) as info:
        check_accepts([{"id": "VO105", "flow": "x"}, {"id": "VO999", "subject": "x", "reason": "r"}, {"id": "VO101", "reason": "r"}])
    assert info.value.problems == [
        "voiceops_lint_accept[0].reason: an accepted finding needs a reason (got None)",
        "voiceops_lint_accept[1].id: not a lint rule (%s) (got 'VO999')" % ", ".join(sorted(RULES)),
        "voiceops_lint_accept[2]: say which finding: flow (a flow id or glob) or subject (a host or glob) (got {'id': 'VO101', 'reason': 'r'})",
    ]


def test_gate_respects_severity_and_accepts():
    found = lint({"ss": SS}, {"pbxes": {"zone": "pbx", "addresses": ["10.10.0.0/24"], "components": ["sip_gateway"]}})
    marked = apply_accepts(found, check_accepts([{"id": "VO101", "flow": "ms_speech_server.rtp:*", "reason": "narrowed next week"}]))
    blocking = gate(marked, "high")
    assert {f["flow"] for f in blocking} == {"ms_speech_server.sip_redirected:pbxes>ss"}
    assert gate(marked, "critical") == [] and gate(marked, "never") == []
    assert {f["id"] for f in gate(marked, "medium")} == {"VO101", "VO105"}
    with pytest.raises(VoiceopsError, match="voiceops_lint_fail_on: one of never"):
        gate(marked, "severe")
    xml = ElementTree.fromstring(junit(marked, "high"))
    assert xml.get("failures") == "1"
    assert len(xml.findall(".//testcase")) == len(marked)
    assert len(xml.findall(".//skipped")) == len(marked) - 1


RECORDER = {
    "product": {"id": "rec"},
    "documents": [{"file": "rec-guide", "title": "Recorder guide"}],
    "components": {
        "recorder": {"platform": "linux", "security": [
            {"id": "rec-trusted", "text": "Only the archive may fetch recordings.", "cite": {"doc": "rec-guide", "section": "4"},
             "check": {"rule": "VO102", "only_from": ["archive"]}}]},
        "archive": {"platform": "linux"},
        "player": {"platform": "any"},
    },
    "flows": [{"id": "rec.fetch", "from": "archive", "to": "recorder", "protocol": "tcp", "ports": 8443, "service": "https",
               "purpose": "p", "cite": {"doc": "rec-guide", "section": "4"}},
              {"id": "rec.play", "from": "player", "to": "recorder", "protocol": "tcp", "ports": 8443, "service": "https",
               "purpose": "p", "cite": {"doc": "rec-guide", "section": "4"}}],
}


def test_a_catalog_extension_brings_its_own_checks():
    """The checks are catalog data (security facts with a check), not product names in the lint's code."""
    hosts = {"rec01": {"ansible_host": "10.30.0.50", "voiceops_components": ["recorder"]},
             "arc01": {"ansible_host": "10.30.0.51", "voiceops_components": ["archive"]}}
    found = lint(hosts, {"players": {"zone": "clients", "addresses": ["10.60.0.0/24"], "components": ["player"]}}, [RECORDER])
    assert ids(found, "VO102") == [("rec01", "rec.play:players>rec01")]
    assert next(f for f in found if f["id"] == "VO102")["citation"] == {"doc": "rec-guide", "section": "4"}


@pytest.mark.parametrize("check,message", [
    ({"rule": "VO102"}, "check.only_from: required for rule VO102"),
    ({"rule": "VO102", "only_from": ["ghost"]}, "check.only_from: no such component (got 'ghost')"),
    ({"rule": "VO104", "entry": "rec.nope", "needs_feature": "x", "end": "src"}, "check.entry: no such entry"),
    ({"rule": "VO999"}, "check.rule: must be one of VO102, VO103, VO104"),
])
def test_a_check_that_names_nothing_real_is_refused(check, message):
    bad = json.loads(json.dumps(RECORDER))
    bad["components"]["recorder"]["security"][0]["check"] = check
    with pytest.raises(VoiceopsError) as info:
        load_catalog(extra_data=[bad])
    assert any(p.startswith("voiceops_catalog_extra[0].components.recorder.security[0].") and message in p
               for p in info.value.problems), info.value.problems
