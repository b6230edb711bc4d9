# -*- coding: utf-8 -*-
"""Logging what an edge's default deny drops (voiceops_edge_log_drops), with real nftables and real
packets, in network namespaces the test creates and removes.

Two zones (office, servers), each a namespace joined by a veth pair to an edge namespace that
forwards between them. A local rule lets office reach one server on tcp/8080. The plan's rule set
for the edge is loaded into the edge namespace; then

- a packet the policy does not allow (udp/9999) is dropped: the default deny's counter and the
  office>servers log chain's counter grow, and the kernel log shows the documented prefix;
- a packet the local rule allows (tcp/8080) passes: the server's refusal (RST) comes back, and
  nothing is counted as dropped;
- voiceops.firewall.nft_apply applies the table with its log chains idempotently, and a log rule
  deleted by hand is drift.

The kernel log of a namespace other than the first reaches ``dmesg`` only with
``net.netfilter.nf_log_all_netns=1``: the test sets it for the time of the probe and puts the old
value back.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conftest import need_root_and_nft

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _nft, _pipeline

NF_LOG_ALL_NETNS = Path("/proc/sys/net/netfilter/nf_log_all_netns")


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=60)


def _in(ns: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return _run("ip", "netns", "exec", ns, *args, check=check)


@pytest.fixture
def lab():
    """edge, office and servers namespaces; office 10.71.1.2 and server 10.71.2.2 route through the edge."""
    need_root_and_nft()
    tag = uuid.uuid4().hex[:6]
    ns = {k: "vo-dl-%s-%s" % (k, tag) for k in ("edge", "office", "servers")}
    ifs = {"office": "vda%s" % tag, "servers": "vdb%s" % tag}  # the edge's side; <= 15 characters
    try:
        for name in ns.values():
            _run("ip", "netns", "add", name)
        _in(ns["edge"], "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for i, zone in enumerate(("office", "servers"), start=1):
            peer = "p" + ifs[zone]
            _run("ip", "link", "add", ifs[zone], "netns", ns["edge"], "type", "veth", "peer", "name", peer, "netns", ns[zone])
            _run("ip", "-n", ns["edge"], "addr", "add", "10.71.%d.1/24" % i, "dev", ifs[zone])
            _run("ip", "-n", ns[zone], "addr", "add", "10.71.%d.2/24" % i, "dev", peer)
            for side, dev in ((ns["edge"], ifs[zone]), (ns[zone], peer), (ns[zone], "lo")):
                _run("ip", "-n", side, "link", "set", dev, "up")
            _run("ip", "-n", ns[zone], "route", "add", "default", "via", "10.71.%d.1" % i)
        yield ns, ifs
    finally:
        for name in ns.values():
            for pid in _run("ip", "netns", "pids", name, check=False).stdout.split():
                _run("kill", "-9", pid, check=False)
            _run("ip", "netns", "del", name, check=False)


def _rule_set(ifs: dict[str, str], log_drops) -> str:
    global_vars = {
        "voiceops_zones": {"office": {"networks": ["10.71.1.0/24"]}, "servers": {"networks": ["10.71.2.0/24"]}},
        "voiceops_endpoints": {"srv": {"zone": "servers", "addresses": ["10.71.2.2"]}},
        "voiceops_local_rules": [{"name": "probe_http", "from": "office", "to": "srv", "protocol": "tcp", "ports": 8080,
                                  "owner": "NOC", "ticket": "CHG-1"}],
    }
    edge = {"voiceops_edge_zones": {"office": [ifs["office"]], "servers": [ifs["servers"]]}, "ansible_host": "10.71.1.1"}
    if log_drops is not None:
        edge["voiceops_edge_log_drops"] = log_drops
    outcome = _pipeline.run(global_vars, {"edge": edge})
    return _nft.render_edge(outcome.plan, "edge", table="vo_dl", filter_input=False)[0]


def _counters(ns: str) -> dict[str, int]:
    """Packets per counter of the table: the default deny's (by its comment) and each log chain's."""
    listing = json.loads(_in(ns, "nft", "-j", "list", "table", "inet", "vo_dl").stdout)["nftables"]
    out = {}
    for item in listing:
        rule = item.get("rule")
        if not rule:
            continue
        counter = next((s["counter"]["packets"] for s in rule["expr"] if "counter" in s), None)
        if rule["chain"] == "managed_fwd" and "voiceops default deny" in rule.get("comment", ""):
            out["default deny"] = counter
        elif rule["chain"].startswith("dlog_"):
            out[rule["chain"]] = counter
    return out


def _probe(ns: str, proto: str, port: int) -> str:
    """From ``ns`` to the server: 'refused' (a RST came back: the edge let it through), 'timeout', or 'sent'."""
    code = (
        "import socket, sys\n"
        "if sys.argv[1] == 'udp':\n"
        "    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('10.71.2.2', int(sys.argv[2]))); print('sent')\n"
        "else:\n"
        "    s = socket.socket(); s.settimeout(1.5)\n"
        "    try:\n"
        "        s.connect(('10.71.2.2', int(sys.argv[2]))); print('open')\n"
        "    except ConnectionRefusedError:\n"
        "        print('refused')\n"
        "    except (socket.timeout, OSError):\n"
        "        print('timeout')\n"
    )
    return _in(ns, sys.executable, "-c", code, proto, str(port)).stdout.strip()


def test_log_chains_are_in_the_loaded_rule_set_with_their_limit_and_prefix(lab):
    ns, ifs = lab
    text = _rule_set(ifs, {"rate": "100/second", "burst": 10})
    proc = subprocess.run(["ip", "netns", "exec", ns["edge"], "nft", "-f", "-"], input=text, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    chain = json.loads(_in(ns["edge"], "nft", "-j", "list", "chain", "inet", "vo_dl", "dlog_office__servers").stdout)["nftables"]
    (rule,) = [i["rule"] for i in chain if "rule" in i]
    kinds = [next(iter(s)) for s in rule["expr"]]
    assert kinds == ["counter", "limit", "log"]
    limit = rule["expr"][1]["limit"]
    assert (limit["rate"], limit["per"], limit["burst"]) == (100, "second", 10)
    assert rule["expr"][2]["log"]["prefix"] == "voiceops drop office>servers "
    fwd = _in(ns["edge"], "nft", "list", "chain", "inet", "vo_dl", "managed_fwd").stdout
    assert fwd.index("vmap @drop_log") < fwd.index("voiceops default deny between managed zones")


def test_a_denied_probe_is_counted_and_logged_and_an_allowed_one_is_not(lab):
    ns, ifs = lab
    proc = subprocess.run(["ip", "netns", "exec", ns["edge"], "nft", "-f", "-"], input=_rule_set(ifs, {"rate": "100/second", "burst": 10}),
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    before = _counters(ns["edge"])
    assert before == {"default deny": 0, "dlog_office__servers": 0, "dlog_servers__office": 0}

    # the local rule's port passes the edge: the server (no listener) answers with a RST
    assert _probe(ns["office"], "tcp", 8080) == "refused"
    assert _counters(ns["edge"]) == before

    old = NF_LOG_ALL_NETNS.read_text().strip() if NF_LOG_ALL_NETNS.exists() else None
    marker = "voiceops drop office>servers "
    try:
        if old is not None:
            NF_LOG_ALL_NETNS.write_text("1")
        seen_before = _run("dmesg", check=False).stdout.count(marker)
        assert _probe(ns["office"], "udp", 9999) == "sent"
        assert _probe(ns["office"], "tcp", 9999) == "timeout"  # dropped, not refused
        after = _counters(ns["edge"])
        assert after["default deny"] >= 2 and after["dlog_office__servers"] == after["default deny"]
        assert after["dlog_servers__office"] == 0
        log = ""
        for _attempt in range(20):
            dmesg = _run("dmesg", check=False)
            log = dmesg.stdout
            if log.count(marker) > seen_before:
                break
            time.sleep(0.1)
    finally:
        if old is not None:
            NF_LOG_ALL_NETNS.write_text(old)
    if old is None or dmesg.returncode != 0:
        pytest.skip("the kernel log cannot be read here (no nf_log_all_netns or no dmesg); counters checked above")
    lines = [line for line in log.splitlines() if marker in line]
    assert len(lines) > seen_before, "no kernel log line with %r" % marker
    assert "SRC=10.71.1.2 DST=10.71.2.2" in lines[-1] and "DPT=9999" in lines[-1]


def test_without_the_setting_nothing_logs(lab):
    ns, ifs = lab
    text = _rule_set(ifs, None)
    assert "log prefix" not in text and "drop_log" not in text
    proc = subprocess.run(["ip", "netns", "exec", ns["edge"], "nft", "-c", "-f", "-"], input=text, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_nft_apply_is_idempotent_with_drop_logging_and_sees_it_removed_by_hand(netns, tmp_path):
    """The log chains survive nft_apply's comparison (the planned table loaded in a scratch namespace
    against the live one): a second apply changes nothing; a log rule deleted by hand is drift."""
    from test_nft_apply import Lab

    lab = Lab(netns, tmp_path)
    text = _rule_set({"office": "vda0", "servers": "vdb0"}, {"rate": "10/minute", "burst": 5})
    first = lab.apply(text, table="vo_dl")
    assert first["changed"] and not first.get("failed"), first
    second = lab.apply(text, table="vo_dl")
    assert not second["changed"] and not second.get("failed"), second
    chain = json.loads(lab.nft("-j", "-a", "list", "chain", "inet", "vo_dl", "dlog_office__servers").stdout)["nftables"]
    handle = next(i["rule"]["handle"] for i in chain if "rule" in i)
    lab.nft("delete", "rule", "inet", "vo_dl", "dlog_office__servers", "handle", str(handle))
    again = lab.apply(text, table="vo_dl")
    assert again["changed"] and again["drift"], again
    assert 'log prefix "voiceops drop office>servers "' in lab.listing("vo_dl")
