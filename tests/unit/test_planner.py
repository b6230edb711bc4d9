# -*- coding: utf-8 -*-
"""Estate model and planner on a small catalog made here, so each rule is visible in the test."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.voiceops.firewall.plugins.plugin_utils._catalog import build_catalog
from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import VoiceopsError
from ansible_collections.voiceops.firewall.plugins.plugin_utils._estate import build_estate
from ansible_collections.voiceops.firewall.plugins.plugin_utils._planner import plan

CITE = {"doc": "guide.txt", "section": "1"}
MINI = {
    "product": {"id": "mini"},
    "documents": [{"file": "guide.txt", "title": "Guide"}],
    "components": {
        "server": {
            "platform": "windows",
            "parameters": {
                "listen": {"kind": "port", "default": 7000, "configurable": True},
                "fixed": {"kind": "port", "default": 7001, "configurable": False},
                "media": {"kind": "ports", "default": "10000-20000", "configurable": True},
                "unset": {"kind": "ports", "default": None, "configurable": True},
            },
            "features": {"extra": {"default": False}},
        },
        "client": {"platform": "any", "roles": ["caller"]},
        "other_client": {"platform": "any", "roles": ["caller"]},
        "cloud": {"platform": "external", "fqdn": "broker.example.com"},
    },
    "flows": [
        {"id": "mini.plain", "from": "caller", "to": "server", "protocol": "tcp", "ports": {"param": "listen"},
         "service": "x", "purpose": "p", "transport": "plaintext", "tls_alternative": "mini.tls", "cite": CITE},
        {"id": "mini.tls", "from": "caller", "to": "server", "protocol": "tcp", "ports": {"param": "fixed"},
         "service": "x", "purpose": "p", "transport": "tls", "cite": CITE},
        {"id": "mini.media", "from": "client", "to": "server", "protocol": "udp", "ports": {"param": "media"},
         "service": "rtp", "purpose": "p", "cite": CITE},
        {"id": "mini.unset", "from": "client", "to": "server", "protocol": "tcp", "ports": {"param": "unset"},
         "service": "x", "purpose": "p", "cite": CITE},
        {"id": "mini.extra", "from": "server", "to": "cloud", "protocol": "tcp", "ports": 443, "feature": "extra",
         "service": "https", "purpose": "p", "cite": CITE},
        {"id": "mini.ping", "from": "client", "to": "server", "protocol": "icmp", "service": "icmp", "purpose": "p", "cite": CITE},
    ],
}

ZONES = {
    "a": {"networks": ["10.0.0.0/24", "fd00:a::/64"]},
    "b": {"networks": ["10.0.1.0/24"]},
    "internet": {"external": True},
}


@pytest.fixture
def mini():
    return build_catalog([("mini", copy.deepcopy(MINI))])


def run(catalog, hosts, endpoints=None, zones=None):
    global_vars = {"voiceops_zones": zones or ZONES, "voiceops_endpoints": endpoints or {}}
    return plan(catalog, build_estate(global_vars, hosts, catalog))


def problems(catalog, hosts, endpoints=None, zones=None):
    with pytest.raises(VoiceopsError) as info:
        run(catalog, hosts, endpoints, zones)
    return info.value.problems


def test_flow_names_hosts_not_zones(mini):
    result = run(mini, {"srv": {"ansible_host": "10.0.1.5", "voiceops_components": ["server"]}},
                 {"pcs": {"zone": "a", "addresses": ["10.0.0.0/25"], "components": ["client"]}})
    ids = [f["id"] for f in result["flows"]]
    assert ids == ["mini.media:pcs>srv", "mini.ping:pcs>srv", "mini.plain:pcs>srv", "mini.tls:pcs>srv"]
    media = result["flows"][0]
    assert media["src"]["addresses"] == ["10.0.0.0/25"]
    assert media["dst"]["addresses"] == ["10.0.1.5"]
    assert (media["src_zone"], media["dst_zone"]) == ("a", "b")
    assert media["ports"] == ["10000-20000"]
    assert result["flows"][1]["ports"] == []
    assert media["citation"] == {"doc": "guide.txt", "section": "1", "title": "Guide"}
    assert any("mini.unset" in w for w in result["warnings"])


def test_overrides_feature_tls_only_and_peers(mini):
    hosts = {
        "srv": {"ansible_host": "10.0.1.5", "voiceops_components": {
            "server": {"params": {"media": "12000-12099", "listen": 7100, "unset": [8000]}, "features": ["extra"],
                       "tls_only": True, "peers": {"caller": ["pcs"]}}}},
        "srv2": {"ansible_host": "10.0.1.6", "voiceops_components": ["server"]},
    }
    endpoints = {
        "pcs": {"zone": "a", "addresses": ["10.0.0.0/25"], "components": ["client"]},
        "kiosk": {"zone": "a", "addresses": ["10.0.0.200"], "components": ["other_client"]},
        "broker": {"zone": "internet", "components": ["cloud"]},
    }
    flows = {f["id"]: f for f in run(mini, hosts, endpoints)["flows"]}
    assert flows["mini.media:pcs>srv"]["ports"] == ["12000-12099"]
    assert flows["mini.unset:pcs>srv"]["ports"] == ["8000"]
    assert "mini.plain:pcs>srv" not in flows  # tls_only drops the plaintext twin
    assert "mini.tls:pcs>srv" in flows
    assert "mini.tls:kiosk>srv" not in flows  # srv accepts callers only from pcs
    assert "mini.tls:kiosk>srv2" in flows and "mini.plain:kiosk>srv2" in flows
    assert flows["mini.extra:srv>broker"]["dst"]["fqdn"] == "broker.example.com"
    assert "mini.extra:srv2>broker" not in flows  # feature off by default


def test_no_flow_from_a_host_to_itself(mini):
    result = run(mini, {"box": {"ansible_host": "10.0.1.5", "voiceops_components": ["server", "client"]}})
    assert result["flows"] == []


def test_same_input_same_output(mini):
    hosts = {"srv": {"ansible_host": "10.0.1.5", "voiceops_components": ["server"]},
             "pc": {"ansible_host": "fd00:a::5", "voiceops_components": ["client"]}}
    assert run(mini, hosts) == run(mini, dict(reversed(list(hosts.items()))))


@pytest.mark.parametrize("hosts,expected", [
    ({"h": {"ansible_host": "10.0.1.5", "voiceops_components": ["servre"]}},
     "hostvars['h'].voiceops_components.servre: unknown component (did you mean 'server'?)"),
    ({"h": {"ansible_host": "10.9.9.9", "voiceops_components": ["server"]}},
     "hostvars['h'].ansible_host: h is in none of the networks of voiceops_zones"),
    ({"h": {"ansible_host": "10.0.1.5", "voiceops_zone": "intranet", "voiceops_components": ["server"]}},
     "hostvars['h'].voiceops_zone: unknown zone 'intranet' (did you mean 'internet'? known zones: a, b, internet) (got 'intranet')"),
    ({"h": {"ansible_host": "10.0.1.5", "voiceops_components": {"server": {"params": {"media": 0}}}}},
     "hostvars['h'].voiceops_components.server.params.media: port 0 is outside 1-65535 (got 0)"),
    ({"h": {"ansible_host": "10.0.1.5", "voiceops_components": {"server": {"params": {"media": 65536}}}}},
     "hostvars['h'].voiceops_components.server.params.media: port 65536 is outside 1-65535 (got 65536)"),
    ({"h": {"ansible_host": "10.0.1.5", "voiceops_components": {"server": {"params": {"media": "abc"}}}}},
     "hostvars['h'].voiceops_components.server.params.media: a port is a whole number from 1 to 65535 (got 'abc')"),
    ({"h": {"ansible_host": "10.0.1.5", "voiceops_components": {"server": {"params": {"media": "2000-1000"}}}}},
     "hostvars['h'].voiceops_components.server.params.media: range 2000-1000 is reversed (start above end) (got '2000-1000')"),
    ({"h": {"ansible_host": "10.0.1.5", "voiceops_components": {"server": {"params": {"fixed": 7002}}}}},
     "hostvars['h'].voiceops_components.server.params.fixed: the catalog says fixed of server is not configurable"),
    ({"h": {"ansible_host": "10.0.1.5", "voiceops_components": {"server": {"params": {"listen": "7000-7001"}}}}},
     "hostvars['h'].voiceops_components.server.params.listen: listen is a single port"),
    ({"h": {"ansible_host": "10.0.1.5", "voiceops_components": {"server": {"features": ["nope"]}}}},
     "hostvars['h'].voiceops_components.server.features.nope: component server has no feature nope"),
    ({"h": {"ansible_host": "srv.example.com", "voiceops_components": ["server"]}},
     "hostvars['h'].ansible_host: not an IP address; set voiceops_addresses for h"),
    ({"h": {"ansible_host": "10.0.1.5", "voiceops_components": {"server": {"peers": {"caller": ["ghost"]}}}}},
     "hostvars['h'].voiceops_components.server.peers.caller: no host or endpoint of that name (got 'ghost')"),
])
def test_bad_input_names_path_and_value(mini, hosts, expected):
    found = problems(mini, hosts)
    assert any(p.startswith(expected) for p in found), found


def test_overlapping_zones_are_refused(mini):
    zones = dict(ZONES, c={"networks": ["10.0.1.128/25"]})
    found = problems(mini, {}, zones=zones)
    assert found == ["voiceops_zones.c.networks: 10.0.1.128/25 overlaps 10.0.1.0/24 of zone b; internal zones must not overlap, as "
                     "every address belongs to one zone: make them disjoint (remove 10.0.1.128/25 from zone c, or 10.0.1.0/24 "
                     "from zone b, or split the wider network into the parts each zone owns) (got '10.0.1.128/25')"]


def test_all_problems_are_reported_together(mini):
    hosts = {"h1": {"ansible_host": "10.0.1.5", "voiceops_components": ["nope"]},
             "h2": {"ansible_host": "10.0.1.6", "voiceops_components": {"server": {"params": {"media": 0}}}}}
    assert len(problems(mini, hosts)) == 2


def test_catalog_checks_itself():
    bad = copy.deepcopy(MINI)
    bad["flows"].append({"id": "mini.cross", "from": "client", "to": "server", "protocol": "tcp/udp", "ports": 5060,
                         "service": "x", "purpose": "p", "cite": CITE})
    bad["flows"].append({"id": "mini.plain", "from": "client", "to": "nobody", "protocol": "tcp", "ports": 1,
                         "service": "x", "purpose": "p", "cite": {"doc": "other.txt", "section": "2"}})
    with pytest.raises(VoiceopsError) as info:
        build_catalog([("mini", bad)])
    text = "\n".join(info.value.problems)
    assert "mini.flows[6].protocol: must be one of tcp, udp, icmp, gre, esp (one protocol per entry) (got 'tcp/udp')" in text
    assert "mini.flows[7].cite.doc: not a document listed" in text
    assert "mini.flows[7].id: entry id used twice" in text
