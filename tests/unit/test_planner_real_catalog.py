# -*- coding: utf-8 -*-
"""The planner with the built-in catalog: lockout protection, vendor conditions, least privilege."""

from __future__ import annotations

import pytest

from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import VoiceopsError
from ansible_collections.voiceops.firewall.plugins.plugin_utils._estate import build_estate
from ansible_collections.voiceops.firewall.plugins.plugin_utils._planner import plan

ZONES = {
    "mgmt": {"networks": ["10.99.0.0/24"]},
    "speech": {"networks": ["10.30.0.0/24"]},
    "pbx": {"networks": ["10.10.0.0/24"]},
    "clients": {"networks": ["10.60.0.0/24"]},
    "internet": {"external": True},
}


def run(catalog, hosts, endpoints=None):
    global_vars = {"voiceops_zones": ZONES, "voiceops_management_networks": ["10.99.0.0/24"],
                   "voiceops_endpoints": endpoints or {}}
    return {f["id"]: f for f in plan(catalog, build_estate(global_vars, hosts, catalog))["flows"]}


def test_every_managed_host_keeps_its_management_port(catalog):
    flows = run(catalog, {
        "win": {"ansible_host": "10.30.0.10", "ansible_connection": "winrm", "voiceops_components": ["speech_server"]},
        "win2": {"ansible_host": "10.30.0.11", "ansible_connection": "winrm", "ansible_port": 5999,
                 "voiceops_components": ["speech_server"]},
        "edge": {"ansible_host": "10.99.0.1", "voiceops_edge_zones": {"speech": "eth1", "mgmt": "eth0"}},
    })
    assert flows["management.winrm:management>win"]["ports"] == ["5986"]
    assert flows["management.winrm:management>win2"]["ports"] == ["5999"]
    assert flows["management.ssh:management>edge"]["ports"] == ["22"]
    assert flows["management.winrm:management>win"]["src"]["addresses"] == ["10.99.0.0/24"]


@pytest.mark.parametrize("host_vars,port", [
    ({"ansible_connection": "winrm", "ansible_port": 5986, "ansible_winrm_port": 5990}, "5990"),  # the winrm plugin's last variable wins
    ({"ansible_connection": "psrp"}, "5986"),
    ({"ansible_connection": "psrp", "ansible_psrp_protocol": "http"}, "5985"),  # psrp over HTTP defaults to 5985
    ({"ansible_connection": "psrp", "ansible_psrp_protocol": "http", "ansible_port": 5999}, "5999"),
    ({"ansible_connection": "psrp", "ansible_port": 5999, "ansible_psrp_port": 6001}, "6001"),
    ({"ansible_connection": "winrm", "ansible_psrp_port": 6001}, "5986"),  # another plugin's variable is not read
])
def test_the_management_rule_uses_the_port_the_connection_plugin_uses(catalog, host_vars, port):
    flows = run(catalog, {"win": dict({"ansible_host": "10.30.0.10", "voiceops_components": ["speech_server"]}, **host_vars)})
    assert flows["management.winrm:management>win"]["ports"] == [port]


def test_the_ssh_port_variable_counts_for_the_edge(catalog):
    flows = run(catalog, {"edge": {"ansible_host": "10.99.0.1", "ansible_ssh_port": 2222,
                                   "voiceops_edge_zones": {"speech": "eth1", "mgmt": "eth0"}}})
    assert flows["management.ssh:management>edge"]["ports"] == ["2222"]


def test_a_bad_winrm_port_is_named_by_its_variable(catalog):
    with pytest.raises(VoiceopsError) as info:
        run(catalog, {"win": {"ansible_host": "10.30.0.10", "ansible_connection": "winrm", "ansible_winrm_port": "5985-5986",
                              "voiceops_components": ["speech_server"]}})
    assert info.value.problems == ["hostvars['win'].ansible_winrm_port: a single port (got '5985-5986')"]


def test_bad_ansible_port_is_refused(catalog):
    with pytest.raises(VoiceopsError) as info:
        run(catalog, {"win": {"ansible_host": "10.30.0.10", "ansible_port": "http", "voiceops_components": ["speech_server"]}})
    assert info.value.problems == ["hostvars['win'].ansible_port: a port is a whole number from 1 to 65535 (got 'http')"]


def test_timc_beside_speech_server_needs_no_network_flow(catalog):
    flows = run(catalog, {"box": {"ansible_host": "10.30.0.10", "voiceops_components": ["speech_server", "timc"]}})
    assert not [f for f in flows if f.startswith("ms_speech_server.timc")]


def test_timc_on_another_computer_gets_both_sip_ports_and_tls_only_drops_tcp(catalog):
    hosts = {"ss": {"ansible_host": "10.30.0.10", "voiceops_components": ["speech_server"]},
             "timc": {"ansible_host": "10.30.0.20", "voiceops_components": ["timc"]}}
    flows = run(catalog, hosts)
    assert flows["ms_speech_server.timc_sip_tcp:ss>timc"]["ports"] == ["7423"]
    assert flows["ms_speech_server.timc_sip_tls:ss>timc"]["ports"] == ["7424"]
    hosts["timc"]["voiceops_components"] = {"timc": {"tls_only": True}}
    flows = run(catalog, hosts)
    assert "ms_speech_server.timc_sip_tcp:ss>timc" not in flows
    assert "ms_speech_server.timc_sip_tls:ss>timc" in flows


def test_narrowed_rtp_range_and_program(catalog):
    flows = run(catalog, {"ss": {"ansible_host": "10.30.0.10",
                                 "voiceops_components": {"speech_server": {"params": {"rtp_ports": "40000-40999"}}}}},
                {"gw": {"zone": "pbx", "addresses": ["10.10.0.5"], "components": ["sip_gateway"]}})
    rtp = flows["ms_speech_server.rtp:gw>ss"]
    assert (rtp["protocol"], rtp["ports"], rtp["program"]) == ("udp", ["40000-40999"], "SESWorker.exe")
    assert flows["ms_speech_server.sip_redirected:gw>ss"]["program"] == "W3WP.exe"


def test_softphone_udp_is_outbound_only_and_never_crossed_with_tcp(catalog):
    flows = run(catalog, {}, {"pcs": {"zone": "clients", "addresses": ["10.60.0.0/24"], "components": ["voip_softphone"]},
                              "net": {"zone": "internet", "components": ["internet"]}})
    assert sorted((f["protocol"], tuple(f["ports"])) for f in flows.values() if f["src"]["name"] == "pcs") == [
        ("tcp", ("443",)), ("tcp", ("80",)), ("udp", ("1-65535",))]
    assert flows["voip_softphone.udp:pcs>net"]["replies_only"] is True
    assert not [f for f in flows.values() if f["dst"]["name"] == "pcs"]  # nothing inbound


def test_speechlive_cloud_is_named_by_the_catalog(catalog):
    flows = run(catalog, {"sl": {"ansible_host": "10.30.0.30", "voiceops_components": ["speechexec_speechlive_service"]}},
                {"cloud": {"zone": "internet", "components": ["speechlive_cloud"]}})
    flow = [f for f in flows.values() if f["dst"]["name"] == "cloud"][0]
    assert flow["dst"]["fqdn"] == "livebroker.speechexec.com" and flow["ports"] == ["443"]


def test_management_name_is_reserved(catalog):
    with pytest.raises(VoiceopsError, match="reserved"):
        run(catalog, {}, {"management": {"zone": "internet", "components": ["internet"]}})


@pytest.mark.parametrize("connection", ["ansible.builtin.winrm", "ansible.legacy.psrp"])
def test_a_fully_qualified_windows_connection_is_a_windows_host(catalog, connection):
    flows = run(catalog, {"win": {"ansible_host": "10.30.0.10", "ansible_connection": connection, "ansible_psrp_protocol": "http",
                                  "voiceops_components": ["speech_server"]}})
    port = "5985" if connection.endswith("psrp") else "5986"
    assert flows["management.winrm:management>win"]["ports"] == [port]
