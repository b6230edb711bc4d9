# -*- coding: utf-8 -*-
"""A new user's everyday mistakes in the example inventory: one mistake, one message.

Each case breaks the example inventory the way the docs let a new user break it and checks the
whole list of problems: the first cause, with its variable path, its value and what to write
instead, and no follow-on problem that the first one caused (issue 15).
"""

from __future__ import annotations

import copy

import pytest

from example_inventory import example_vars

from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import VoiceopsError
from ansible_collections.voiceops.firewall.plugins.plugin_utils._estate import build_estate

ZONES = "branch, clients, dmz, infra, internet, mgmt, pbx, phones, sales, speech, speechexec"


def problems_of(global_vars, host_vars, catalog) -> list[str]:
    with pytest.raises(VoiceopsError) as info:
        build_estate(global_vars, host_vars, catalog)
    return info.value.problems


@pytest.fixture
def example():
    global_vars, host_vars = example_vars()
    return copy.deepcopy(global_vars), copy.deepcopy(host_vars)


def test_the_example_itself_has_no_problem(example, catalog):
    build_estate(*example, catalog)


def test_a_zone_typo_on_an_endpoint_peers_name_is_one_message(example, catalog):
    # sip_gw01 is named as a peer by speech01 and speech02: they are not told it does not exist
    global_vars, host_vars = example
    global_vars["voiceops_endpoints"]["sip_gw01"]["zone"] = "pbxx"
    assert problems_of(global_vars, host_vars, catalog) == [
        "voiceops_endpoints.sip_gw01.zone: unknown zone 'pbxx' (did you mean 'pbx'? known zones: %s) (got 'pbxx')" % ZONES]


def test_a_zone_typo_on_an_endpoint_without_addresses_is_one_message(example, catalog):
    # an endpoint in an external zone needs no addresses: a typo there is not "give addresses"
    global_vars, host_vars = example
    global_vars["voiceops_endpoints"]["internet"]["zone"] = "intrenet"
    assert problems_of(global_vars, host_vars, catalog) == [
        "voiceops_endpoints.internet.zone: unknown zone 'intrenet' (did you mean 'internet'? known zones: %s) (got 'intrenet')"
        % ZONES]


def test_an_endpoint_in_an_internal_zone_without_addresses_says_what_to_give(example, catalog):
    global_vars, host_vars = example
    del global_vars["voiceops_endpoints"]["ntp01"]["addresses"]
    assert problems_of(global_vars, host_vars, catalog) == [
        "voiceops_endpoints.ntp01.addresses: give the addresses of ntp01, or its name (voiceops_endpoints.ntp01.fqdn); only an "
        "endpoint in an external zone (voiceops_endpoints.ntp01.zone: internet) defaults to any address (got None)"]


def test_a_host_in_no_zone_is_told_to_add_its_network_not_to_set_a_zone(example, catalog):
    global_vars, host_vars = example
    host_vars["fs01"]["ansible_host"] = "10.55.0.21"
    assert problems_of(global_vars, host_vars, catalog) == [
        "hostvars['fs01'].ansible_host: fs01 is in none of the networks of voiceops_zones: add a network that holds 10.55.0.21 "
        "to its zone (voiceops_zones.<zone>.networks); or, if it is outside every internal network, set "
        "hostvars['fs01'].voiceops_zone: internet (got ['10.55.0.21'])"]


def test_a_declared_zone_that_does_not_hold_the_address_names_its_networks(example, catalog):
    global_vars, host_vars = example
    host_vars["fs01"]["ansible_host"] = "10.55.0.21"
    host_vars["fs01"]["voiceops_zone"] = "infra"
    assert problems_of(global_vars, host_vars, catalog) == [
        "hostvars['fs01'].ansible_host: 10.55.0.21 is not inside the networks of zone infra (10.50.0.0/24, fd00:50::/64): add a "
        "network that holds it to voiceops_zones.infra.networks, or correct the address (got '10.55.0.21/32')"]


@pytest.mark.parametrize("fix", ["network", "external zone"])
def test_the_fix_either_message_names_plans(example, catalog, fix):
    global_vars, host_vars = example
    host_vars["fs01"]["ansible_host"] = "10.55.0.21"
    if fix == "network":
        global_vars["voiceops_zones"]["infra"]["networks"].append("10.55.0.0/24")
        host_vars["fs01"]["voiceops_zone"] = "infra"
    else:
        host_vars["fs01"]["voiceops_zone"] = "internet"
    assert build_estate(global_vars, host_vars, catalog).instances["fs01"].zone == host_vars["fs01"]["voiceops_zone"]


def test_a_host_with_addresses_in_two_zones_names_each(example, catalog):
    global_vars, host_vars = example
    host_vars["fs01"]["voiceops_addresses"] = ["10.50.0.21", "10.30.0.99"]
    assert problems_of(global_vars, host_vars, catalog) == [
        "hostvars['fs01'].voiceops_addresses: fs01 has addresses in different zones (10.30.0.99 in speech, 10.50.0.21 in infra); "
        "an instance is in one zone: give it the addresses of one zone, or make one instance per zone "
        "(got ['10.30.0.99', '10.50.0.21'])"]


def test_overlapping_zones_are_one_message_with_the_fix(example, catalog):
    # dc01, dc02, fs01, sql01 fall in both zones: they are not reported as being "in no zone"
    global_vars, host_vars = example
    global_vars["voiceops_zones"]["mgmt"]["networks"].append("10.50.0.0/25")
    assert problems_of(global_vars, host_vars, catalog) == [
        "voiceops_zones.mgmt.networks: 10.50.0.0/25 overlaps 10.50.0.0/24 of zone infra; internal zones must not overlap, as "
        "every address belongs to one zone: make them disjoint (remove 10.50.0.0/25 from zone mgmt, or 10.50.0.0/24 from zone "
        "infra, or split the wider network into the parts each zone owns) (got '10.50.0.0/25')"]


def test_a_network_with_host_bits_is_one_message_with_the_network_to_write(example, catalog):
    # speech01, speech02 and timc01 are in that network: they are not reported as being in no zone
    global_vars, host_vars = example
    global_vars["voiceops_zones"]["speech"]["networks"] = ["10.30.0.1/24"]
    assert problems_of(global_vars, host_vars, catalog) == [
        "voiceops_zones.speech.networks[0]: 10.30.0.1/24 has host bits set: write the network 10.30.0.0/24 (or 10.30.0.1/32 "
        "for the one address 10.30.0.1) (got '10.30.0.1/24')"]


def test_a_host_address_with_a_prefix_length_says_which_address_to_write(example, catalog):
    global_vars, host_vars = example
    host_vars["dc02"]["voiceops_addresses"] = ["10.50.0.11/24", "fd00:50::11"]
    assert problems_of(global_vars, host_vars, catalog) == [
        "hostvars['dc02'].voiceops_addresses[0]: a host address is one address without a prefix length: write 10.50.0.11 "
        "(got '10.50.0.11/24')"]


def test_an_unparsable_zone_network_silences_what_it_would_hold(example, catalog):
    global_vars, host_vars = example
    global_vars["voiceops_zones"]["speech"]["networks"] = ["10.30.0.300/24"]
    found = problems_of(global_vars, host_vars, catalog)
    assert len(found) == 1 and found[0].startswith("voiceops_zones.speech.networks[0]: not an IP address or network"), found


def test_a_zone_typo_on_an_edge_names_the_known_zones(example, catalog):
    global_vars, host_vars = example
    host_vars["edge01"]["voiceops_edge_zones"]["phonse"] = host_vars["edge01"]["voiceops_edge_zones"].pop("phones")
    assert problems_of(global_vars, host_vars, catalog) == [
        "hostvars['edge01'].voiceops_edge_zones.phonse: unknown zone 'phonse' (did you mean 'phones'? known zones: %s) "
        "(got 'phonse')" % ZONES]


def test_a_peer_that_names_nothing_is_still_reported(example, catalog):
    global_vars, host_vars = example
    host_vars["speech01"]["voiceops_components"]["speech_server"]["peers"]["sip_peer"] = ["sip_gw02"]
    assert problems_of(global_vars, host_vars, catalog) == [
        "hostvars['speech01'].voiceops_components.speech_server.peers.sip_peer: no host or endpoint of that name "
        "(did you mean 'sip_gw01'?) (got 'sip_gw02')"]


def test_a_declared_zone_that_is_the_wrong_one_names_the_right_one(example, catalog):
    global_vars, host_vars = example
    host_vars["fs01"]["voiceops_zone"] = "speech"
    assert problems_of(global_vars, host_vars, catalog) == [
        "hostvars['fs01'].ansible_host: 10.50.0.21 is not inside the networks of zone speech (10.30.0.0/24): it is in zone "
        "infra: set hostvars['fs01'].voiceops_zone to infra, or leave it unset (got '10.50.0.21/32')"]


def test_management_networks_in_no_zone_are_not_told_to_set_a_zone(example, catalog):
    # the management networks have no zone variable: the one fix is a zone network that holds them
    global_vars, host_vars = example
    global_vars["voiceops_management_networks"] = ["10.98.0.0/24"]
    assert problems_of(global_vars, host_vars, catalog) == [
        "voiceops_management_networks: a management network is in none of the networks of voiceops_zones: add a network "
        "that holds 10.98.0.0/24 to its zone (voiceops_zones.<zone>.networks) (got ['10.98.0.0/24'])"]
