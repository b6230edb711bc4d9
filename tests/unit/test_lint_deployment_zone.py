# -*- coding: utf-8 -*-
"""VO109 on the example inventory: a HostedPBX classic Yealink phone put in the VPNless branch
(issue 15) is a high finding that names the component to use, and the gate holds until it is
fixed or accepted with a reason."""

from __future__ import annotations

import copy

from example_inventory import example_vars, plan_of

from ansible_collections.voiceops.firewall.plugins.plugin_utils._lint import apply_accepts, check_accepts, findings, gate

YEALINK_IN_BRANCH = (
    "branch_devices runs swyx_yealink_phone in zone branch, where branch_clients runs swyx_client: the catalog documents "
    "swyx_yealink_phone for another deployment of the product (security fact yealink-classic-only), so its flows go where "
    "this zone's devices do not talk: use swyx_hosted_device or swyx_instant_sip_phone there instead (or accept VO109 for "
    "subject branch_devices with the reason)")


def _example(change=None):
    global_vars, host_vars = copy.deepcopy(example_vars())
    if change:
        change(global_vars["voiceops_endpoints"])
    return plan_of(global_vars, host_vars)


def _yealink_in_branch(endpoints):
    endpoints["branch_devices"]["components"] = ["swyx_yealink_phone"]


def test_the_example_has_no_vo109():
    assert [f for f in findings(_example()) if f["id"] == "VO109"] == []  # its Yealink phones are in the classic site


def test_a_yealink_phone_in_the_vpnless_branch_is_one_high_finding():
    found = [f for f in findings(_example(_yealink_in_branch)) if f["id"] == "VO109"]
    assert [(f["severity"], f["subject"], f["flow"], f["message"]) for f in found] == [
        ("high", "branch_devices", None, YEALINK_IN_BRANCH)]
    assert found[0]["citation"]["section"].endswith("Yealink TxxS innerhalb Ihres Netzes")
    assert [f["subject"] for f in gate(apply_accepts(found, []), "high")] == ["branch_devices"]  # the gate holds


def test_the_finding_can_be_accepted_with_a_reason():
    found = findings(_example(_yealink_in_branch))
    accepts = check_accepts([{"id": "VO109", "subject": "branch_devices", "reason": "the branch has its own VPN to the PBX"}])
    assert [f for f in gate(apply_accepts(found, accepts), "high") if f["id"] == "VO109"] == []


def test_the_component_it_names_clears_it():
    def fixed(endpoints):
        endpoints["branch_devices"]["components"] = ["swyx_hosted_device"]
    assert [f for f in findings(_example(fixed)) if f["id"] == "VO109"] == []


def test_a_crowded_zone_names_three_members_and_counts_the_rest():
    """At 10,000 hosts a zone may hold hundreds of VPNless clients: the message stays one readable line."""
    def crowded(endpoints):
        _yealink_in_branch(endpoints)
        for idx in range(5):
            endpoints["branch_clients_%d" % idx] = dict(copy.deepcopy(endpoints["branch_clients"]),
                                                        addresses=["10.80.0.%d" % (100 + idx)])
    found = [f for f in findings(_example(crowded)) if f["id"] == "VO109"]
    assert len(found) == 1
    assert "where branch_clients runs swyx_client; branch_clients_0 runs swyx_client; branch_clients_1 runs swyx_client and 3 more:" \
        in found[0]["message"]
