# -*- coding: utf-8 -*-
"""Explain on the example plan: verdict, flows, citations, and the edge rule that decides."""

from __future__ import annotations

import json

import pytest

from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import VoiceopsError
from ansible_collections.voiceops.firewall.plugins.plugin_utils._explain import explain, text

from example_inventory import example_outcome

PLAN = example_outcome().plan  # what the planner computes now, never tests/golden/example/plan.json


def test_permit_by_name_with_citation_and_edge_element():
    result = explain(PLAN, "sip_gw01", "speech01", "tcp", 5061)
    assert result["verdict"] == "permit"
    assert "ms_speech_server.sip_tls:sip_gw01>speech01" in [f["id"] for f in result["flows"]]
    tls = [f for f in result["flows"] if f["entry"] == "ms_speech_server.sip_tls"][0]
    assert tls["citation"]["doc"] == "000_f9f46eb8a8f9ca3b.txt"
    edge = result["targets"]["edge01"]
    assert edge["verdict"] == "permit" and edge["chain"] == "fwd_pbx__speech" and edge["set"] == "pbx__speech_tcp4"


def test_udp_5061_is_denied_by_the_default_deny():
    result = explain(PLAN, "sip_gw01", "speech01", "udp", 5061)
    assert result["verdict"] == "deny" and result["flows"] == []
    assert result["targets"]["edge01"] == {"kind": "nftables", "verdict": "deny", "chain": "managed_fwd",
                                           "rule": "voiceops default deny between managed zones"}


def test_narrowed_rtp_range_by_address():
    assert explain(PLAN, "10.10.0.5", "10.30.0.10", "udp", 40500)["verdict"] == "permit"
    assert explain(PLAN, "10.10.0.5", "10.30.0.10", "udp", 39999)["verdict"] == "deny"


def test_unsolicited_inbound_to_softphones_is_denied():
    result = explain(PLAN, "198.51.100.7", "10.60.0.50", "udp", 5060)
    assert result["src"]["zone"] == "internet" and result["dst"]["name"] == "workstations"
    assert result["verdict"] == "deny"


def test_management_ssh_to_the_edge():
    result = explain(PLAN, "10.99.0.7", "edge01", "tcp", 22)
    assert result["verdict"] == "permit"
    assert result["targets"]["edge01"]["chain"] == "managed_in"


@pytest.mark.parametrize("args,message", [
    (("nobody", "speech01", "tcp", 5061), "src: neither a host or endpoint of the plan nor an IP address (got 'nobody')"),
    (("sip_gw01", "speech01", "sctp", 5061), "protocol: one of tcp, udp, icmp, gre, esp (got 'sctp')"),
    (("sip_gw01", "speech01", "tcp", "5060-5061"), "port: one port from 1 to 65535 for tcp (got '5060-5061')"),
])
def test_bad_questions(args, message):
    with pytest.raises(VoiceopsError) as info:
        explain(PLAN, *args)
    assert message in info.value.problems


def _plan_with_provisioning_server():
    """The example plan plus a server inside the internet element (0.0.0.0/0) on a port it does not allow."""
    plan = json.loads(json.dumps(PLAN))
    plan["instances"]["prov"] = {"addresses": ["198.51.100.10"], "components": ["provisioning"], "fqdn": None,
                                 "kind": "endpoint", "platform": "external", "zone": "internet"}
    https = [f for f in plan["flows"] if f["id"] == "voip_softphone.https:workstations>internet"][0]
    flow = json.loads(json.dumps(https))
    flow.update(id="lab.provisioning:workstations>prov", entry="lab.provisioning", ports=["8443"])
    flow["dst"].update(addresses=["198.51.100.10"], component="provisioning", name="prov")
    plan["flows"] = sorted(plan["flows"] + [flow], key=lambda f: f["id"])
    return plan


def test_a_nested_element_in_the_second_layer_is_explained_by_its_own_map():
    plan = _plan_with_provisioning_server()
    inner = explain(plan, "10.60.0.10", "198.51.100.10", "tcp", 8443)["targets"]["edge01"]
    assert inner["verdict"] == "permit" and inner["set"] == "clients__internet_tcp4_2"
    assert inner["service"] == "svc_tcp_8443" and inner["flows"] == ["lab.provisioning:workstations>prov"]
    outer = explain(plan, "10.60.0.10", "198.51.100.10", "tcp", 443)["targets"]["edge01"]
    assert outer["verdict"] == "permit" and outer["set"] == "clients__internet_tcp4" and outer["service"] == "svc_tcp_80_443"
    elsewhere = explain(plan, "10.60.0.10", "198.51.100.11", "tcp", 8443)
    assert elsewhere["verdict"] == "deny" and elsewhere["targets"]["edge01"]["verdict"] == "deny"


def test_everyday_mistakes_get_a_precise_answer():
    """Issue 15: upper-case protocols are read, a misspelt name gets a "did you mean", a missing port is named."""
    plan = example_outcome().plan
    assert explain(plan, "sip_gw01", "speech01", "TCP", 5060)["protocol"] == "tcp"
    with pytest.raises(VoiceopsError) as info:
        explain(plan, "sip_gw1", "speech01", "tcp", 5060)
    assert "did you mean sip_gw01?" in info.value.message
    with pytest.raises(VoiceopsError) as info:
        explain(plan, "sip_gw01", "speech01", "udp")
    assert "port: udp needs the destination port, one from 1 to 65535 (got '(none)')" in info.value.message


# An end known only by name (swyx_hosted: acme.telovip.de, no addresses) is that name, not its zone

VPN = ("swyx_vpn01", "udp", 9944)  # swyx.vpn_in: the provider's endpoint to the VPN router


def test_an_address_matches_a_name_only_end_only_if_the_name_resolves_to_it():
    result = explain(PLAN, "203.0.113.77", *VPN)
    assert result["verdict"] == "permit_if"
    assert result["only_if"] == ["203.0.113.77 is an address of acme.telovip.de"]
    (flow,) = result["flows"]
    assert flow["id"] == "swyx.vpn_in:swyx_hosted>swyx_vpn01" and flow["only_if"] == result["only_if"][0]
    # the plan-level answer and the edge's agree: neither can know what the name resolves to
    assert result["targets"]["edge01"]["verdict"] == "unknown" and result["enforcement"] == "unknown"
    lines = text(result).splitlines()
    assert lines[0] == "PERMIT only if 203.0.113.77 is an address of acme.telovip.de: internet -> swyx_vpn01, udp/9944"
    assert "    only if: 203.0.113.77 is an address of acme.telovip.de (the plan knows that end only by name)" in lines
    # the other direction, by address too; and another port is still denied outright
    back = explain(PLAN, "10.10.0.1", "203.0.113.77", "udp", 9944)
    assert back["verdict"] == "permit_if" and [f["id"] for f in back["flows"]] == ["swyx.vpn_out:swyx_vpn01>swyx_hosted"]
    assert explain(PLAN, "203.0.113.77", "swyx_vpn01", "udp", 9945)["verdict"] == "deny"


@pytest.mark.parametrize("src", ["swyx_hosted", "acme.telovip.de", "ACME.telovip.de."])
@pytest.mark.parametrize("dst", ["swyx_vpn01", "10.10.0.1"])
def test_asked_by_its_name_a_name_only_end_is_permitted_by_its_flow(src, dst):
    result = explain(PLAN, src, dst, "udp", 9944)
    assert result["verdict"] == "permit" and "only_if" not in result
    assert [f["id"] for f in result["flows"]] == ["swyx.vpn_in:swyx_hosted>swyx_vpn01"]
    assert result["src"] == {"name": "swyx_hosted", "address": None, "zone": "internet", "fqdn": "acme.telovip.de"}
    assert text(result).splitlines()[:2] == [
        "PERMIT: swyx_hosted -> swyx_vpn01, udp/9944",
        "from swyx_hosted (acme.telovip.de, zone internet) to swyx_vpn01 (10.10.0.1, zone pbx)"]
    assert explain(PLAN, src, dst, "udp", 9945)["verdict"] == "deny"
    assert explain(PLAN, src, "sip_gw01", "udp", 9944)["verdict"] == "deny", "the name's flows go to the VPN router only"


@pytest.mark.parametrize("src, dst, chain, flow", [
    ("acme.telovip.de", "swyx_vpn01", "fwd_internet__pbx", "swyx.vpn_in:swyx_hosted>swyx_vpn01"),
    ("swyx_vpn01", "swyx_hosted", "fwd_pbx__internet", "swyx.vpn_out:swyx_vpn01>swyx_hosted"),
])
def test_asked_by_its_name_the_edge_answers_from_the_names_rule(src, dst, chain, flow):
    """The edge agrees with the plan: its rule of the name's set accepts whatever the name resolves to there."""
    result = explain(PLAN, src, dst, "udp", 9944)
    edge = result["targets"]["edge01"]
    assert edge["verdict"] == "permit" and result["enforcement"] == "permit"
    assert edge["chain"] == chain and edge["set"] == "name_acme_telovip_de_4" and edge["flows"] == [flow]
    assert "@name_acme_telovip_de_4" in edge["rule"] and "udp dport 9944" in edge["rule"]
    lines = text(result).splitlines()
    assert "  edge01 (nftables): permit" in lines
    assert ("    why: the rule accepts whatever addresses acme.telovip.de resolves to on the edge "
            "(set name_acme_telovip_de_4, filled from DNS there)") in lines
    denied = explain(PLAN, src, dst, "udp", 9945)
    assert denied["verdict"] == "deny" and denied["targets"]["edge01"]["verdict"] == "deny"


def test_an_unconditional_flow_makes_a_plain_permit():
    """A flow that holds the address outright wins over one that holds it only through a name."""
    plan = json.loads(json.dumps(PLAN))
    vpn_in = next(f for f in plan["flows"] if f["id"] == "swyx.vpn_in:swyx_hosted>swyx_vpn01")
    flow = json.loads(json.dumps(vpn_in))
    flow.update(id="lab.vpn_backup:backup>swyx_vpn01", entry="lab.vpn_backup")
    flow["src"].update(addresses=["203.0.113.0/24"], fqdn=None, name="backup")
    plan["flows"] = sorted(plan["flows"] + [flow], key=lambda f: f["id"])
    result = explain(plan, "203.0.113.77", *VPN)
    assert result["verdict"] == "permit" and "only_if" not in result
    assert {f["id"]: f.get("only_if") for f in result["flows"]} == {
        "lab.vpn_backup:backup>swyx_vpn01": None,
        "swyx.vpn_in:swyx_hosted>swyx_vpn01": "203.0.113.77 is an address of acme.telovip.de"}


def test_a_name_no_endpoint_has_is_refused_as_before():
    with pytest.raises(VoiceopsError) as info:
        explain(PLAN, "other.telovip.de", *VPN)
    assert "src: neither a host or endpoint of the plan nor an IP address (got 'other.telovip.de')" in info.value.problems
