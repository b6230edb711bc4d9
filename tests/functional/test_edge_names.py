# -*- coding: utf-8 -*-
"""An end known only by name, enforced by name on a real edge, with a real DNS server.

The test builds its own network namespaces: a client on the internet side with two addresses,
the edge (forwarding, the rendered table of a small estate loaded), the PBX side with the VPN
router, and a DNS namespace where dnsmasq answers the provider's name. The edge's resolver points
at that dnsmasq (``/etc/netns/<edge>/resolv.conf``, which ``ip netns exec`` mounts over
/etc/resolv.conf). Traffic is real UDP between those namespaces only (tests/edge_lab/probes.py).

Asserts: after the DNS refresh, UDP 9944 from the name's address reaches the router and the same
port from the client's other address is dropped; when the name moves, the refresh moves the
rule; when DNS is gone, the refresh fails naming the name and the set keeps its last good
elements; a re-apply with nft_apply keeps them; the audit normalisation ignores them.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conftest import REPO, need_root_and_nft

sys.path.insert(0, str(REPO / "tests" / "edge_lab"))
import probes  # noqa: E402  # pylint: disable=wrong-import-position

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _pipeline  # noqa: E402
from ansible_collections.voiceops.firewall.plugins.plugin_utils._explain import explain  # noqa: E402
from ansible_collections.voiceops.firewall.plugins.plugin_utils._nft import render_edge  # noqa: E402

SCRIPT = REPO / "roles" / "edge_firewall" / "files" / "voiceops-dns-sets"
NAME = "pbx.voiceops.test"
SET = "name_pbx_voiceops_test_4"
DNS_ADDR = "10.53.0.53"
FIRST, SECOND, OTHER = "198.51.100.10", "198.51.100.20", "198.51.100.30"
ROUTER = "10.10.0.5"

GLOBAL_VARS = {
    "voiceops_zones": {"mgmt": {"networks": ["10.99.0.0/24"]}, "pbx": {"networks": ["10.10.0.0/24"]},
                       "internet": {"networks": ["198.51.100.0/24"], "external": True}},
    "voiceops_management_networks": ["10.99.0.0/24"],
    "voiceops_endpoints": {
        "provider": {"zone": "internet", "fqdn": NAME, "components": ["swyx_vpn_endpoint"]},
        "vpn_router": {"zone": "pbx", "addresses": [ROUTER], "components": ["swyx_vpn_router"]},
    },
    "voiceops_lint_fail_on": "never",
}
HOST_VARS = {"edge": {"ansible_host": "10.99.0.1", "voiceops_edge_zones": {"mgmt": "m0", "pbx": "p0", "internet": "i0"}}}


def need_dnsmasq() -> str:
    path = shutil.which("dnsmasq")
    if path is None:
        import os

        if os.environ.get("CI"):
            pytest.fail("dnsmasq is not installed (scripts/setup.sh installs dnsmasq-base)")
        pytest.skip("needs dnsmasq")
    return path


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=60)


def in_ns(ns: str, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", ns, *args], capture_output=True, text=True, check=check,
                          input=stdin, timeout=60)


class Lab:
    def __init__(self, tmp: Path) -> None:
        tag = uuid.uuid4().hex[:6]
        self.ns = {k: "vo-n%s-%s" % (tag, k) for k in ("cli", "edge", "pbx", "dns")}
        self.tmp = tmp
        self.dnsmasq: subprocess.Popen[str] | None = None
        self.netns_etc = Path("/etc/netns") / self.ns["edge"]
        self.config = tmp / "dns-sets.json"

    def up(self) -> None:
        for ns in self.ns.values():
            sh("ip", "netns", "add", ns)
        edge = self.ns["edge"]
        for edge_if, peer_ns, peer_if, edge_addr, peer_addrs, gw in (
                ("i0", self.ns["cli"], "c0", "198.51.100.1/24", [FIRST, SECOND, OTHER], "198.51.100.1"),
                ("p0", self.ns["pbx"], "r0", "10.10.0.1/24", [ROUTER], "10.10.0.1"),
                ("d0", self.ns["dns"], "n0", "10.53.0.1/24", [DNS_ADDR], None)):
            in_ns(edge, "ip", "link", "add", edge_if, "type", "veth", "peer", "name", peer_if, "netns", peer_ns)
            in_ns(edge, "ip", "addr", "add", edge_addr, "dev", edge_if)
            in_ns(edge, "ip", "link", "set", edge_if, "up")
            for addr in peer_addrs:
                in_ns(peer_ns, "ip", "addr", "add", addr + "/24", "dev", peer_if)
            in_ns(peer_ns, "ip", "link", "set", peer_if, "up")
            in_ns(peer_ns, "ip", "link", "set", "lo", "up")
            if gw:
                in_ns(peer_ns, "ip", "route", "add", "default", "via", gw)
        in_ns(edge, "ip", "link", "set", "lo", "up")
        in_ns(edge, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.netns_etc.mkdir(parents=True, exist_ok=False)
        (self.netns_etc / "resolv.conf").write_text("nameserver %s\noptions timeout:1 attempts:1\n" % DNS_ADDR)

    def dns(self, address: str | None) -> None:
        """(Re)start dnsmasq answering NAME with ``address``; None stops it."""
        if self.dnsmasq is not None:
            self.dnsmasq.terminate()
            self.dnsmasq.wait(10)
            self.dnsmasq = None
        if address is None:
            return
        self.dnsmasq = subprocess.Popen(
            ["ip", "netns", "exec", self.ns["dns"], need_dnsmasq(), "--keep-in-foreground", "--conf-file=/dev/null",
             "--no-resolv", "--no-hosts", "--bind-interfaces", "--listen-address=%s" % DNS_ADDR, "--user=root",
             "--pid-file=", "--address=/%s/%s" % (NAME, address)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # until it answers (from the DNS namespace itself)
            if address in in_ns(self.ns["dns"], sys.executable, "-c", _ASK, check=False).stdout:
                return
            time.sleep(0.1)
        raise AssertionError("dnsmasq did not answer in time")

    def refresh(self) -> subprocess.CompletedProcess[str]:
        return in_ns(self.ns["edge"], sys.executable, str(SCRIPT), str(self.config), check=False)

    def elements(self) -> list[str]:
        data = json.loads(in_ns(self.ns["edge"], "nft", "-j", "list", "set", "inet", "voiceops", SET).stdout)
        return sorted(e for item in data["nftables"] for e in (item.get("set") or {}).get("elem", []))

    def udp(self, src: str, port: int = 9944) -> str:
        listeners = probes.Listeners()
        listeners.add(self.ns["pbx"], "udp", ipaddress.ip_address(ROUTER), port)
        listeners.start()
        try:
            return probes.send(self.ns["cli"], "udp", ipaddress.ip_address(src), ipaddress.ip_address(ROUTER), port)
        finally:
            listeners.close()

    def down(self) -> None:
        self.dns(None)
        shutil.rmtree(self.netns_etc, ignore_errors=True)
        for ns in self.ns.values():
            for pid in sh("ip", "netns", "pids", ns, check=False).stdout.split():
                sh("kill", "-9", pid, check=False)
            sh("ip", "netns", "del", ns, check=False)


# Ask the lab's dnsmasq directly (a raw A query), without the resolver of the namespace it runs in.
_ASK = r"""
import socket, struct
q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + b"".join(bytes([len(p)]) + p.encode() for p in "%s".split(".")) + b"\x00\x00\x01\x00\x01"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.5)
try:
    s.sendto(q, ("%s", 53)); r = s.recv(512); print(socket.inet_ntoa(r[-4:]))
except OSError:
    pass
""" % (NAME, DNS_ADDR)


@pytest.fixture
def lab(tmp_path):
    need_root_and_nft()
    need_dnsmasq()
    the_lab = Lab(tmp_path)
    try:
        the_lab.up()
        yield the_lab
    finally:
        the_lab.down()


def _plan():
    return _pipeline.run(GLOBAL_VARS, HOST_VARS).plan


def test_the_name_decides_who_passes_and_the_rule_moves_with_dns(lab):
    text, report = render_edge(_plan(), "edge")
    report_dict = report.as_dict()
    assert report_dict["zone_wide"] == []
    assert [s["set"] for s in report_dict["name_sets"]] == [SET]
    assert {b["enforced_as"] for b in report_dict["by_name"]} == {"name %s (set %s)" % (NAME, SET)}
    in_ns(lab.ns["edge"], "nft", "-f", "-", stdin=text)
    lab.config.write_text(json.dumps({"table": "voiceops", "sets": report_dict["name_sets"]}))

    # declared empty: nothing from the internet zone reaches the router on 9944 yet
    assert lab.elements() == []
    assert lab.udp(FIRST) == "timeout"

    lab.dns(FIRST)
    done = lab.refresh()
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"changed": True, "failed": [], "sets": {SET: [FIRST]}}
    assert lab.elements() == [FIRST]
    assert lab.udp(FIRST) == "pass"
    assert lab.udp(OTHER) == "timeout"  # same zone, same port, not the name's address

    again = lab.refresh()
    assert again.returncode == 0 and json.loads(again.stdout)["changed"] is False

    lab.dns(SECOND)  # the provider moves
    moved = lab.refresh()
    assert moved.returncode == 0, moved.stderr
    assert lab.elements() == [SECOND]
    assert lab.udp(SECOND) == "pass"
    assert lab.udp(FIRST) == "timeout"

    lab.dns(None)  # DNS is gone: the last good answer stays in force
    failed = lab.refresh()
    assert failed.returncode == 1
    assert "%s did not resolve to any address; its sets keep their last good elements" % NAME in failed.stderr
    assert json.loads(failed.stdout)["failed"] == [NAME]
    assert lab.elements() == [SECOND]
    assert lab.udp(SECOND) == "pass"


def test_explain_asked_by_the_name_agrees_with_real_packets(lab):
    """explain's edge verdict for the name itself (its rule permits on 9944, the default deny on
    9945) against real packets from the address DNS gives the name on the edge."""
    plan = _plan()
    text, report = render_edge(plan, "edge")
    in_ns(lab.ns["edge"], "nft", "-f", "-", stdin=text)
    lab.config.write_text(json.dumps({"table": "voiceops", "sets": report.as_dict()["name_sets"]}))
    lab.dns(FIRST)
    assert lab.refresh().returncode == 0
    verdicts = {}
    for port in (9944, 9945):
        edge = explain(plan, NAME, "vpn_router", "udp", port)["targets"]["edge"]
        verdicts[port] = edge["verdict"]
        assert lab.udp(FIRST, port) == {"permit": "pass", "deny": "timeout"}[edge["verdict"]], (port, edge)
    assert verdicts == {9944: "permit", 9945: "deny"}
    assert lab.udp(OTHER, 9944) == "timeout", "the rule is the name's, not the zone's"


def test_the_refresh_touches_only_its_sets(lab):
    text, report = render_edge(_plan(), "edge")
    edge = lab.ns["edge"]
    in_ns(edge, "nft", "-f", "-", stdin=text)
    in_ns(edge, "nft", "add table inet other; add set inet other keep { type ipv4_addr; elements = { 192.0.2.1 } }")
    before_other = in_ns(edge, "nft", "-s", "list", "table", "inet", "other").stdout
    before = in_ns(edge, "nft", "-s", "list", "table", "inet", "voiceops").stdout
    lab.config.write_text(json.dumps({"table": "voiceops", "sets": report.as_dict()["name_sets"]}))
    lab.dns(FIRST)
    assert lab.refresh().returncode == 0
    after = in_ns(edge, "nft", "-s", "list", "table", "inet", "voiceops").stdout
    assert in_ns(edge, "nft", "-s", "list", "table", "inet", "other").stdout == before_other
    changed = [line for line in after.splitlines() if line not in before.splitlines()]
    assert changed == ["\t\telements = { %s }" % FIRST]


@pytest.mark.parametrize("config, says", [
    ({"table": "voiceops; flush ruleset", "sets": []}, "is not a table name"),
    ({"table": "voiceops", "sets": [{"set": "zone_pairs", "fqdn": NAME, "family": 4}]}, "is not a name set"),
    ({"table": "voiceops", "sets": [{"set": SET, "fqdn": "x.test }; flush ruleset; {", "family": 4}]}, "is not a DNS name"),
    ({"table": "voiceops", "sets": [{"set": SET, "fqdn": NAME, "family": 6}]}, "does not fit set"),
    ({"table": "voiceops", "sets": [{"set": "name_a_4 { 0.0.0.0/0 }", "fqdn": NAME, "family": 4}]}, "is not a name set"),
])
def test_a_hostile_config_is_refused_before_anything_is_resolved(lab, config, says):
    text, _report = render_edge(_plan(), "edge")
    in_ns(lab.ns["edge"], "nft", "-f", "-", stdin=text)
    before = in_ns(lab.ns["edge"], "nft", "-s", "list", "ruleset").stdout
    lab.config.write_text(json.dumps(config))
    proc = lab.refresh()
    assert proc.returncode == 2
    assert says in proc.stderr and "nothing was changed" in proc.stderr
    assert in_ns(lab.ns["edge"], "nft", "-s", "list", "ruleset").stdout == before


def test_the_role_fills_the_sets_after_an_apply_and_a_second_run_changes_nothing(lab):
    """The edge_firewall role inside the edge namespace (local connection; its resolver is the lab's
    dnsmasq): it installs the refresh and its configuration, runs it once after the apply, and
    a second run reports no change. No systemd here: edge_firewall_dns_refresh is empty."""
    import yaml

    from test_audit import audit, run

    tmp = lab.tmp
    inventory = {"all": {"hosts": {"edge": dict(HOST_VARS["edge"], ansible_connection="local")}, "vars": GLOBAL_VARS}}
    (tmp / "hosts.yml").write_text(yaml.safe_dump(inventory))
    role_vars = {"edge_firewall_confirm_timeout": 30, "edge_firewall_state_dir": "{{ state_dir }}",
                 "edge_firewall_check_interfaces": False, "edge_firewall_dns_refresh": "",
                 "edge_firewall_dns_script": str(tmp / "libexec" / "dns-sets"),
                 "edge_firewall_dns_config": str(tmp / "etc" / "dns-sets.json")}
    playbook = [{"name": "Apply", "hosts": "edge", "gather_facts": False,
                 "roles": [{"role": "voiceops.firewall.edge_firewall", "vars": role_vars}]}]
    (tmp / "apply.yml").write_text(yaml.safe_dump(playbook))
    lab.dns(FIRST)

    checked = run(lab.ns["edge"], tmp, tmp / "apply.yml", "--check", "--diff")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert not (tmp / "libexec").exists() and not (tmp / "etc").exists(), "check mode installs nothing"

    first = run(lab.ns["edge"], tmp, tmp / "apply.yml")
    assert first.returncode == 0, first.stdout + first.stderr
    assert json.loads((tmp / "etc" / "dns-sets.json").read_text()) == {
        "table": "voiceops", "sets": [{"family": 4, "fqdn": NAME, "set": SET}]}
    assert lab.elements() == [FIRST]
    assert lab.udp(FIRST) == "pass" and lab.udp(OTHER) == "timeout"

    again = run(lab.ns["edge"], tmp, tmp / "apply.yml")
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout

    lab.dns(SECOND)
    moved = run(lab.ns["edge"], tmp, tmp / "apply.yml")
    assert moved.returncode == 0 and "changed=1" in moved.stdout, moved.stdout  # the refresh, not the table
    assert lab.elements() == [SECOND]

    # the choice is the plan's: the role variable of a first draft stops the play, and nothing changes
    live = in_ns(lab.ns["edge"], "nft", "list", "table", "inet", "voiceops").stdout
    playbook[0]["roles"][0]["vars"] = dict(role_vars, edge_firewall_fqdn_ends="zone")
    (tmp / "apply.yml").write_text(yaml.safe_dump(playbook))
    refused = run(lab.ns["edge"], tmp, tmp / "apply.yml")
    assert refused.returncode != 0
    assert "edge_firewall_fqdn_ends is no longer read" in refused.stdout and "Set voiceops_edge_fqdn_ends" in refused.stdout, refused.stdout
    assert in_ns(lab.ns["edge"], "nft", "list", "table", "inet", "voiceops").stdout == live, "nothing was applied"

    # back to the old way on the edge host: the plan's edge/edge.nft shows the zone, and the role applies exactly that text
    edge_vars = dict(HOST_VARS["edge"], voiceops_edge_fqdn_ends="zone")
    inventory["all"]["hosts"]["edge"] = dict(edge_vars, ansible_connection="local")
    (tmp / "hosts.yml").write_text(yaml.safe_dump(inventory))
    playbook[0]["roles"][0]["vars"] = role_vars
    (tmp / "apply.yml").write_text(yaml.safe_dump(playbook))
    planned = _pipeline.run(GLOBAL_VARS, {"edge": edge_vars}, render=True, diagrams=False).files["edge/edge.nft"]
    assert "198.51.100.0/24 . 10.10.0.5" in planned and "set name_" not in planned
    back = run(lab.ns["edge"], tmp, tmp / "apply.yml")
    assert back.returncode == 0, back.stdout + back.stderr
    assert (tmp / "state" / "voiceops.nft").read_text() == planned, "the role applied the plan's own text"
    assert "set name_" not in in_ns(lab.ns["edge"], "nft", "list", "table", "inet", "voiceops").stdout
    assert json.loads((tmp / "etc" / "dns-sets.json").read_text()) == {"table": "voiceops", "sets": []}
    assert lab.udp(OTHER) == "pass", "zone admits every address of the internet zone"
    idle = in_ns(lab.ns["edge"], sys.executable, str(tmp / "libexec" / "dns-sets"), str(tmp / "etc" / "dns-sets.json"), check=False)
    assert idle.returncode == 0 and json.loads(idle.stdout) == {"changed": False, "failed": [], "sets": {}}

    # the audit renders the edge from the plan too: no drift; and it refuses the role variable as the apply does
    proc, records = audit(lab.ns["edge"], tmp)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert records == [{"host": "edge", "target": "nftables", "table_present": True, "missing": [], "extra": [], "modified": [], "foreign": []}]
    refused = run(lab.ns["edge"], tmp, REPO / "playbooks" / "audit.yml", "-e", "voiceops_audit_hosts=edge", "-e", "edge_firewall_fqdn_ends=name")
    assert refused.returncode != 0 and "Set voiceops_edge_fqdn_ends" in refused.stdout, refused.stdout
