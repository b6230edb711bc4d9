# -*- coding: utf-8 -*-
"""The validation layer (plugin_utils/_schema.py): names, types and the values that used to
reshape a plan in silence.  Each case names the variable path and the value in its error."""

from __future__ import annotations

import copy
import datetime
import ipaddress
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.voiceops.firewall.plugins.plugin_utils._catalog import load_catalog
from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import Problems, VoiceopsError
from ansible_collections.voiceops.firewall.plugins.plugin_utils._estate import _check_overlaps, Zone, build_estate
from ansible_collections.voiceops.firewall.plugins.plugin_utils._nft import render_edge
from ansible_collections.voiceops.firewall.plugins.plugin_utils._windows import render_host
from ansible_collections.voiceops.firewall.plugins.plugin_utils._windows_host import _ps_quote

from example_inventory import example_vars, plan_of, role_program_paths


@pytest.fixture(scope="module")
def example_plan():
    return plan_of(*example_vars())


def _estate_problems(catalog, global_vars, host_vars):
    with pytest.raises(VoiceopsError) as info:
        build_estate(global_vars, host_vars, catalog)
    return info.value.problems


def _one(problems, prefix):
    hits = [p for p in problems if p.startswith(prefix)]
    assert hits, "no problem starts with %r in %r" % (prefix, problems)
    return hits[0]


ZONES = {"a": {"networks": ["10.0.0.0/24"]}, "b": {"networks": ["10.0.1.0/24"]}, "internet": {"external": True}}


def _host(**extra):
    return dict({"ansible_host": "10.0.0.5", "voiceops_components": ["managed_linux"]}, **extra)


@pytest.mark.parametrize("zone", ["dmz\n", "DMZ", "dmz;", "d" * 32, "dmz zone", "1dmz"])
def test_zone_names_match_entirely(catalog, zone):
    """'$' in a Python regex matches before a final newline: 'dmz\\n' used to pass."""
    zones = dict(ZONES, **{zone: {"networks": ["10.9.0.0/24"]}})
    found = _one(_estate_problems(catalog, {"voiceops_zones": zones}, {}), "voiceops_zones[%r]" % zone)
    assert "a zone name is lower case letters" in found and repr(zone) in found


@pytest.mark.parametrize("host", [
    "edge01\n;flush ruleset\n#", "edge01\ndelete table ip foreign\n#", "edge\"01", "../../../../tmp/x",
    "e" * 91, "edge\x0001", "edge01\n", ".hidden", "-edge", "edge\u201901", "edge 01", "edge$(id)", "edge`id`",
])
def test_hostile_host_names_are_refused(catalog, host):
    problems = _estate_problems(catalog, {"voiceops_zones": ZONES},
                                {host: _host(voiceops_edge_zones={"a": "eth0", "b": "eth1"})})
    found = _one(problems, "hostvars[%r]" % host)
    assert "a host or endpoint name is letters" in found


def test_names_that_inventories_use_are_accepted(catalog):
    hosts = {name: _host() for name in ("edge01", "speech01.corp.example.com", "SQL_01", "fw-2")}
    estate = build_estate({"voiceops_zones": ZONES}, hosts, catalog)
    assert sorted(estate.instances) == sorted(hosts)


def test_hosts_outside_the_estate_are_not_judged(catalog):
    """Only hosts with voiceops variables take part; another host's odd name is not the plan's business."""
    hosts = {"ok": _host(), "weird name\n": {"ansible_host": "x"}}
    assert sorted(build_estate({"voiceops_zones": ZONES}, hosts, catalog).instances) == ["ok"]


@pytest.mark.parametrize("iface", ["eth0\x00", "eth0\"", "eth 0", "a" * 16, "eth0;", "../x", ""])
def test_hostile_interface_names_are_refused(catalog, iface):
    problems = _estate_problems(catalog, {"voiceops_zones": ZONES},
                                {"edge01": _host(voiceops_edge_zones={"a": [iface], "b": "eth1"})})
    assert "an interface name is" in _one(problems, "hostvars['edge01'].voiceops_edge_zones.a[0]")


@pytest.mark.parametrize("key", [5060, True, None, datetime.date(2024, 1, 1)])
def test_keys_that_are_not_strings(catalog, key):
    """YAML gives int, bool, date and null keys; sorted() used to fail on them."""
    cases = [
        ({"voiceops_zones": {**ZONES, key: {"networks": ["10.9.0.0/24"]}}}, {}, "voiceops_zones[%r]" % (key,)),
        ({"voiceops_zones": ZONES}, {"h": _host(voiceops_components={key: {}, "managed_linux": {}})},
         "hostvars['h'].voiceops_components[%r]" % (key,)),
        ({"voiceops_zones": ZONES, "voiceops_endpoints": {key: {"zone": "internet", "components": ["internet"]}}}, {},
         "voiceops_endpoints[%r]" % (key,)),
    ]
    for global_vars, host_vars, path in cases:
        found = _one(_estate_problems(catalog, global_vars, host_vars), path)
        assert "a name (a string key" in found


@pytest.mark.parametrize("value,path", [
    ({"voiceops_components": [{"speech_server": {}}]}, "hostvars['h'].voiceops_components[0]"),
    ({"voiceops_components": {"managed_linux": {"features": [{"srtp": True}]}}}, "hostvars['h'].voiceops_components.managed_linux.features[0]"),
    ({"voiceops_components": {"managed_linux": {"params": [5060]}}}, "hostvars['h'].voiceops_components.managed_linux.params"),
    ({"voiceops_edge_zones": [{"a": "eth0"}]}, "hostvars['h'].voiceops_edge_zones[0]"),
    ({"voiceops_edge_zones": {"a": 1, "b": "eth1"}}, "hostvars['h'].voiceops_edge_zones.a[0]"),
    ({"voiceops_zone": ["a"]}, "hostvars['h'].voiceops_zone"),
    ({"voiceops_addresses": [["10.0.0.5"]]}, "hostvars['h'].voiceops_addresses[0]"),
    ({"ansible_port": {"port": 22}}, "hostvars['h'].ansible_port"),
    ({"voiceops_platform": 5}, "hostvars['h'].voiceops_platform"),
])
def test_wrong_shapes_name_their_path(catalog, value, path):
    problems = _estate_problems(catalog, {"voiceops_zones": ZONES}, {"h": _host(**value)})
    _one(problems, path)


def test_fqdn_must_be_a_name(catalog):
    endpoints = {"cloud": {"zone": "internet", "fqdn": datetime.date(2024, 1, 1), "components": ["internet"]},
                 "cloud2": {"zone": "internet", "fqdn": "evil.example.com\n", "components": ["internet"]}}
    problems = _estate_problems(catalog, {"voiceops_zones": ZONES, "voiceops_endpoints": endpoints}, {})
    _one(problems, "voiceops_endpoints.cloud.fqdn")
    _one(problems, "voiceops_endpoints.cloud2.fqdn")


@pytest.mark.parametrize("word,external", [(True, True), ("yes", True), ("no", False), ("false", False), (0, False)])
def test_booleans_mean_what_they_say(catalog, word, external):
    """bool('no') is True: 'external: "no"' used to make a zone external (any address)."""
    zones = {"a": {"networks": ["10.0.0.0/24"], "external": word}, "b": {"networks": ["10.0.1.0/24"]}}
    estate = build_estate({"voiceops_zones": zones}, {"h": _host(ansible_host="10.0.1.5")}, catalog)
    assert estate.zones["a"].external is external


def test_a_boolean_that_is_not_one(catalog):
    zones = {"a": {"networks": ["10.0.0.0/24"], "external": "maybe"}}
    _one(_estate_problems(catalog, {"voiceops_zones": zones}, {}), "voiceops_zones.a.external: true or false")


@pytest.mark.parametrize("declared", ["Windows", "WINDOWS", "win"])
def test_platform_is_one_of_the_catalog_platforms(catalog, declared):
    """'Windows' made a WinRM host's management flow SSH/22 and dropped it from Windows rendering."""
    host = _host(voiceops_platform=declared, ansible_connection="winrm")
    found = _one(_estate_problems(catalog, {"voiceops_zones": ZONES}, {"h": host}), "hostvars['h'].voiceops_platform")
    assert "must be one of windows" in found


def test_platform_contradicting_the_connection_is_refused(catalog):
    host = _host(voiceops_platform="linux", ansible_connection="winrm")
    found = _one(_estate_problems(catalog, {"voiceops_zones": ZONES}, {"h": host}), "hostvars['h'].voiceops_platform")
    assert "managed as a Windows host" in found


def test_platform_is_derived_from_the_connection(catalog):
    host = _host(ansible_connection="psrp")
    inst = build_estate({"voiceops_zones": ZONES}, {"h": host}, catalog).instances["h"]
    assert inst.platform == "windows" and "managed_windows" in inst.components


@pytest.mark.parametrize("port", ["\u00b2", "\u0665\u0660\u0666\u0660", "50 60", "0x10", "5060;"])
def test_ports_are_ascii_digits(catalog, port):
    host = _host(voiceops_components={"managed_linux": {"params": {"ssh_port": port}}})
    found = _one(_estate_problems(catalog, {"voiceops_zones": ZONES}, {"h": host}),
                 "hostvars['h'].voiceops_components.managed_linux.params.ssh_port")
    assert "a port is a whole number" in found


def _catalog_extra(**changes):
    data = {
        "product": {"id": "lab"},
        "documents": [{"file": "lab-guide", "title": "Lab guide"}],
        "components": {"lab_server": {"platform": "linux"}, "lab_client": {"platform": "any"}},
        "flows": [{"id": "lab.http", "from": "lab_client", "to": "lab_server", "protocol": "tcp", "ports": 8080,
                   "service": "http", "purpose": "p", "cite": {"doc": "lab-guide", "section": "1"}}],
    }
    for path, value in changes.items():
        node = data
        keys = path.split("__")
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[keys[-1]] = value
    return data


@pytest.mark.parametrize("change,path", [
    ({"flows__0__program": 5}, "voiceops_catalog_extra[0].flows[0].program"),
    ({"flows__0__program": "C:\\evil\\x.exe"}, "voiceops_catalog_extra[0].flows[0].program"),
    ({"flows__0__condition": datetime.date(2024, 1, 1)}, "voiceops_catalog_extra[0].flows[0].condition"),
    ({"flows__0__cite": {"doc": ["lab-guide"], "section": "1"}}, "voiceops_catalog_extra[0].flows[0].cite.doc"),
    ({"flows__0__feature": ["x"]}, "voiceops_catalog_extra[0].flows[0].feature"),
    ({"flows__0__tls_alternative": ["x"]}, "voiceops_catalog_extra[0].flows[0].tls_alternative"),
    ({"flows__0__to": "nobody"}, "voiceops_catalog_extra[0].flows[0].to"),
    ({"components__lab_server__roles": 5}, "voiceops_catalog_extra[0].components.lab_server.roles"),
    ({"components__lab_server__notes": 5}, "voiceops_catalog_extra[0].components.lab_server.notes"),
    ({"components__lab_server__alternative_to": ["ghost"]}, "voiceops_catalog_extra[0].components.lab_server.alternative_to"),
    ({"components__lab_server__parameters": [1]}, "voiceops_catalog_extra[0].components.lab_server.parameters"),
    ({"components__lab_server__features": {"f": "on please"}}, "voiceops_catalog_extra[0].components.lab_server.features.f"),
    ({"product__id": "../../x"}, "voiceops_catalog_extra[0].product.id"),
    ({"product__id": "lab\u0000"}, "voiceops_catalog_extra[0].product.id"),
    ({"flows__0__service": "http\n"}, "voiceops_catalog_extra[0].flows[0].service"),
])
def test_catalog_extensions_name_the_variable(change, path):
    with pytest.raises(VoiceopsError) as info:
        load_catalog(extra_data=[_catalog_extra(**change)])
    _one(info.value.problems, path)


def test_catalog_extension_that_is_fine(catalog):
    assert "lab.http" in load_catalog(extra_data=[_catalog_extra()]).entries


def test_the_built_in_catalog_passes_the_schema():
    load_catalog()  # every name of the shipped catalog fits its pattern


# The zone overlap check is one sweep; it must find exactly what comparing every pair finds.
_NETS = [ipaddress.ip_network("10.0.0.0/22")] + list(ipaddress.ip_network("10.0.0.0/22").subnets(1)) + \
    list(ipaddress.ip_network("10.0.0.0/22").subnets(2)) + [ipaddress.ip_network("10.0.4.0/24"), ipaddress.ip_network("fd00::/64")]


@given(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from(_NETS)), max_size=8))
def test_overlap_sweep_agrees_with_every_pair(assignment):
    zones = {z: Zone(z, tuple(sorted({n for zz, n in assignment if zz == z}, key=lambda n: (n.version, int(n.network_address), n.prefixlen))),
                     False, "") for z in "abc"}
    problems = Problems()
    _check_overlaps(zones, problems)
    expected = {(z1, z2) for (z1, n1), (z2, n2) in itertools.product(assignment, repeat=2)
                if z1 < z2 and n1.version == n2.version and n1.overlaps(n2)}
    reported = set()
    for item in problems.items:
        zone = item.split(".")[1]
        other = item.split("of zone ")[1].split(";")[0]
        reported.add(tuple(sorted((zone, other))))
    assert reported == expected


def test_nft_table_name_is_ascii(example_plan):
    the_plan = example_plan
    for table in ("t\u0101ble", "voiceops\n", "a" * 33, "1abc"):
        with pytest.raises(VoiceopsError, match="table: an nftables table name"):
            render_edge(the_plan, "edge01", table=table)


def test_nft_comments_from_a_plan_file_cannot_end_their_string(example_plan):
    the_plan = copy.deepcopy(example_plan)
    for flow in the_plan["flows"]:
        flow["id"] = flow["id"] + '"\n; flush ruleset'
    text = render_edge(the_plan, "edge01")[0]
    assert "flush ruleset" not in text.replace("; flush ruleset", "")
    assert all(line.count('"') % 2 == 0 for line in text.splitlines())


@pytest.mark.parametrize("quote", ["'", "\u2018", "\u2019", "\u201a", "\u201b"])
def test_powershell_quotes_every_single_quote_character(quote):
    assert _ps_quote("a%sb" % quote) == "'a%s%sb'" % (quote, quote)


@pytest.mark.parametrize("group", ["*", "voiceops*", "a[bc]", "x?", "", "g\n"])
def test_windows_rule_group_has_no_wildcards(example_plan, group):
    paths = role_program_paths(example_vars()[1]["speech01"])
    render_host(example_plan, "speech01", program_paths=paths)  # the default group is fine
    with pytest.raises(VoiceopsError, match="windows_firewall_group"):
        render_host(example_plan, "speech01", program_paths=paths, group=group)


def test_unknown_voiceops_variables_are_named():
    from ansible_collections.voiceops.firewall.plugins.plugin_utils._pipeline import unknown_variables

    found = unknown_variables({"h1": ["voiceops_edge_zone", "voiceops_zones", "ansible_host"],
                               "h2": ["voiceops_edge_zone", "voiceops_qqqqqqqqqqqqqqqqqqq"]})
    assert found == ["'voiceops_edge_zone' (on 'h1', 'h2'): not a variable of voiceops.firewall, ignored; "
                     "did you mean voiceops_edge_zones?",
                     "'voiceops_qqqqqqqqqqqqqqqqqqq' (on 'h2'): not a variable of voiceops.firewall, ignored"]


@pytest.mark.parametrize("iface", ["docker0\n", "veth*x", "a\"b", "../x", "*", "x" * 16, "eth 0"])
def test_hostile_passthrough_interfaces_are_refused(catalog, iface):
    host = _host(voiceops_edge_zones={"a": "eth0", "b": "eth1"}, voiceops_edge_passthrough=[iface])
    found = _one(_estate_problems(catalog, {"voiceops_zones": ZONES}, {"edge01": host}),
                 "hostvars['edge01'].voiceops_edge_passthrough[0]")
    assert "an interface name, or a prefix" in found


@pytest.mark.parametrize("edge", ["edge01\n", "../x", "e;f"])
def test_hostile_route_edges_are_refused(catalog, edge):
    routes = [{"from": "a", "to": "b", "through": [edge]}]
    found = _one(_estate_problems(catalog, {"voiceops_zones": ZONES, "voiceops_routes": routes}, {}),
                 "voiceops_routes[0].through[0]")
    assert "a host or endpoint name is" in found
