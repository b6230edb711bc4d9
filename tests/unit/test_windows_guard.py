# -*- coding: utf-8 -*-
"""The Windows lockout guard (issue 14): an apply that would refuse the connection in use is refused first."""

from __future__ import annotations

import pytest

from example_inventory import example_outcome, example_vars, role_program_paths

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _windows as w
from ansible_collections.voiceops.firewall.plugins.plugin_utils._windows_guard import check

PLAN = example_outcome().plan
HOST = "dc01"
RULES, _WARNINGS = w.render_host(PLAN, HOST, program_paths=role_program_paths(example_vars()[1][HOST]))
BLOCK_ALL = w.desired_profiles(w.PROFILES, "allow")
DOMAIN = ({"name": "corp.example", "category": "DomainAuthenticated"},)


def guard(rules=None, port=5986, profiles=None, connections=("10.99.0.254",), networks=DOMAIN):
    rules = RULES if rules is None else rules
    profiles = BLOCK_ALL if profiles is None else profiles
    return check(rules, port, "ansible_port", profiles, list(connections) if connections is not None else None,
                 list(networks) if networks is not None else None)


def test_the_example_management_rule_admits_the_controller():
    assert guard() == ([], [])


def test_a_controller_outside_the_management_networks_is_refused():
    problems, _warnings = guard(connections=["192.0.2.7"])
    assert len(problems) == 1 and "this connection comes from 192.0.2.7 as the host sees it" in problems[0]
    assert "10.99.0.0/24" in problems[0] and "voiceops_management_networks" in problems[0]


def test_an_ipv4_mapped_peer_is_the_ipv4_address():
    assert guard(connections=["::ffff:10.99.0.254"]) == ([], [])


def test_another_session_from_elsewhere_is_a_warning():
    problems, warnings = guard(connections=["10.99.0.254", "10.60.0.77"])
    assert problems == [] and "10.60.0.77" in warnings[0]


def test_another_port_than_the_rules_allow_is_refused():
    problems, _warnings = guard(port=5985)
    assert len(problems) == 1 and "no rule of the new set allows TCP 5985" in problems[0]


def test_a_plan_without_the_management_rule_is_refused_when_inbound_is_blocked():
    rules = [r for r in RULES if "5986" not in r["local_ports"]]
    problems, _warnings = guard(rules=rules)
    assert "no rule of the new set allows TCP 5986" in problems[0]
    # nothing to refuse where inbound is let in by default (profiles not managed, Windows default off)
    assert guard(rules=rules, profiles={p: {"enabled": True, "default_inbound_action": "Allow"} for p in w.PROFILES}) == ([], [])


def test_a_network_in_a_profile_the_rules_leave_out_is_refused():
    rules, _warnings = w.render_host(PLAN, HOST, program_paths=role_program_paths(example_vars()[1][HOST]), profiles=["Domain"])
    problems, _warnings = guard(rules=rules, networks=[{"name": "Unidentified network", "category": "Public"}])
    assert len(problems) == 1 and "in the Public profile" in problems[0] and "windows_firewall_profiles" in problems[0]
    assert guard(rules=rules) == ([], [])  # on the domain network it is fine


@pytest.mark.parametrize("category", ["DomainAuthenticated", 2, "2"])
def test_categories_as_names_or_numbers(category):
    assert guard(networks=[{"name": "corp", "category": category}]) == ([], [])


def test_without_reports_every_profile_the_rules_name_is_checked():
    assert guard(connections=None, networks=None) == ([], [])
    problems, _warnings = guard(port=5985, connections=None, networks=None)
    assert len(problems) == 3  # Domain, Private, Public all block inbound and none admits 5985


def test_not_configured_profiles_are_windows_defaults_firewall_on_inbound_blocked():
    """A fresh host's local store reports NotConfigured: the firewall is on and inbound blocked."""
    fresh = {p: {"enabled": None, "default_inbound_action": "NotConfigured"} for p in w.PROFILES}
    rules, _warnings = w.render_host(PLAN, HOST, program_paths=role_program_paths(example_vars()[1][HOST]), profiles=["Domain"])
    problems, _warnings = guard(rules=rules, profiles=fresh, networks=[{"name": "Unidentified network", "category": "Public"}])
    assert len(problems) == 1 and "in the Public profile" in problems[0]
    problems, _warnings = guard(profiles=fresh, connections=["192.0.2.7"])
    assert "192.0.2.7" in problems[0]
