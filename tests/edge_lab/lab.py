# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network namespaces of the edge_firewall Molecule lab (no containers).

    python lab.py up   --topology lab.yml --state state.json --sshd-config sshd_config
    python lab.py down --topology lab.yml --state state.json

``up`` builds an edge router namespace, one namespace per zone joined to it by a veth pair,
a management veth between the root namespace and the edge, policy routes in the root
namespace for traffic from its lab address only, and starts sshd inside the edge namespace.
Everything it makes is written to the state file before the next step, so ``down`` can undo
an interrupted ``up``.

``down`` kills the processes it started (by PID) and every process still inside the lab's
namespaces (``ip netns pids``: an sshd session or a pending rollback keeps a deleted namespace
alive otherwise), deletes the namespaces (those in the state file and any whose name starts
with the lab's prefix), the root-side veth and the policy rule. Safe when nothing exists.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import subprocess
import sys
import time

import yaml


_T0 = time.monotonic()


def _log(msg):
    print("[%6.2f s] %s" % (time.monotonic() - _T0, msg), flush=True)


def _run(args, check=True, timeout=120):
    proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError("%s: rc=%d: %s" % (" ".join(args), proc.returncode, proc.stderr.strip()))
    return proc


def _ip(ns, *args, check=True):
    return _run(["ip"] + (["-n", ns] if ns else []) + list(args), check=check)


def _in_ns(ns, *args):
    return _run((["ip", "netns", "exec", ns] if ns else []) + list(args))


class State:
    """What the lab made, saved after every step."""

    def __init__(self, path):
        self.path = path
        self.data = {"namespaces": [], "root_links": [], "rules": [], "pids": []}
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                self.data.update(json.load(handle))

    def add(self, key, value):
        if value not in self.data[key]:
            self.data[key].append(value)
        self.save()

    def save(self):
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self.data, handle, indent=2, sort_keys=True)
        os.replace(tmp, self.path)


def _addr_args(addr):
    iface = ipaddress.ip_interface(addr)
    return [str(iface)] + (["nodad"] if iface.version == 6 else [])


def _first(addrs, version):
    for addr in addrs:
        iface = ipaddress.ip_interface(addr)
        if iface.version == version:
            return str(iface.ip)
    return None


def _netns_list():
    out = _run(["ip", "netns", "list"]).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _new_ns(state, name):
    state.add("namespaces", name)
    _run(["ip", "netns", "add", name])
    _ip(name, "link", "set", "lo", "up")
    # Static addresses only: no router advertisements, and no duplicate address detection (which
    # holds back new IPv6 addresses, link-local ones included, for a second or two).
    _in_ns(name, "sysctl", "-qw", "net.ipv6.conf.all.accept_ra=0", "net.ipv6.conf.default.accept_ra=0",
           "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")


def up(topo, state, sshd_config):
    edge = topo["edge"]["ns"]
    _new_ns(state, edge)
    _in_ns(edge, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
    for link in topo["links"]:
        peer_ns = link["ns"]
        if peer_ns:
            _new_ns(state, peer_ns)
            _ip(edge, "link", "add", link["edge_if"], "type", "veth", "peer", "name", link["if"], "netns", peer_ns)
        else:
            state.add("root_links", link["if"])
            _ip(None, "link", "add", link["if"], "type", "veth", "peer", "name", link["edge_if"], "netns", edge)
        for addr in link["edge_addrs"]:
            _ip(edge, "addr", "add", *_addr_args(addr), "dev", link["edge_if"])
        for addr in link["addrs"]:
            _ip(peer_ns, "addr", "add", *_addr_args(addr), "dev", link["if"])
        _ip(edge, "link", "set", link["edge_if"], "up")
        _ip(peer_ns, "link", "set", link["if"], "up")
        if peer_ns:
            for version in (4, 6):
                gateway = _first(link["edge_addrs"], version)
                if gateway and _first(link["addrs"], version):
                    _ip(peer_ns, "-%d" % version, "route", "add", "default", "via", gateway)
        for net in link.get("edge_routes", []):
            version = ipaddress.ip_network(net).version
            _ip(edge, "-%d" % version, "route", "add", net, "via", _first(link["addrs"], version))
    policy = topo.get("root_policy")
    if policy:
        rule = {"from": policy["source"], "table": int(policy["table"])}
        state.add("rules", rule)
        _ip(None, "rule", "add", "from", rule["from"], "lookup", str(rule["table"]), "pref", str(rule["table"]))
        for net in policy["routes"]:
            _ip(None, "route", "add", net, "via", policy["via"], "table", str(rule["table"]))
    if sshd_config:
        _start_sshd(state, edge, sshd_config)


def _start_sshd(state, ns, config):
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    pidfile = None
    with open(config, encoding="utf-8") as handle:
        for line in handle:
            words = line.split()
            if len(words) == 2 and words[0].lower() == "pidfile":
                pidfile = words[1]
    if not pidfile:
        raise RuntimeError("%s: needs a PidFile line" % config)
    if os.path.exists(pidfile):
        os.remove(pidfile)
    _in_ns(ns, "/usr/sbin/sshd", "-f", config)  # daemonises after it has bound its address
    deadline = time.monotonic() + 10
    while not os.path.exists(pidfile):
        if time.monotonic() > deadline:
            raise RuntimeError("sshd wrote no %s within 10 s" % pidfile)
        time.sleep(0.05)
    time.sleep(0.05)
    with open(pidfile, encoding="utf-8") as handle:
        state.add("pids", {"pid": int(handle.read().split()[0]), "what": "sshd", "ns": ns})


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _kill(pids, why):
    pids = [p for p in pids if p != os.getpid() and _alive(p)]
    for pid in pids:
        _log("killing %d (%s): %s" % (pid, why, _cmdline(pid)[:80]))
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 3
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in pids:
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def down(topo, state):
    # 1. Processes the lab started (by PID, and only if it is still the same program).
    for entry in state.data["pids"]:
        if entry["what"] in _cmdline(entry["pid"]):
            _kill([entry["pid"]], entry["what"])
    # 2. Every process left inside a lab namespace, then the namespace.
    names = list(state.data["namespaces"])
    names += [n for n in _netns_list() if n.startswith(topo["prefix"]) and n not in names]
    existing = set(_netns_list())
    for name in names:
        if name not in existing:
            continue
        for _attempt in range(3):
            out = _run(["ip", "netns", "pids", name], check=False).stdout
            pids = [int(p) for p in out.split()]
            if not pids:
                break
            _kill(pids, "in namespace %s" % name)
        _run(["ip", "netns", "del", name])
        _log("deleted namespace %s" % name)
    # 3. Root namespace: the management veth (gone with the edge namespace, normally) and policy routing.
    links = list(state.data["root_links"]) + [lnk["if"] for lnk in topo["links"] if not lnk["ns"]]
    for link in dict.fromkeys(links):
        if _ip(None, "link", "show", link, check=False).returncode == 0:
            _ip(None, "link", "del", link)
            _log("deleted link %s" % link)
    rules = list(state.data["rules"])
    if topo.get("root_policy"):
        rules.append({"from": topo["root_policy"]["source"], "table": int(topo["root_policy"]["table"])})
    for rule in rules:
        while _ip(None, "rule", "del", "from", rule["from"], "lookup", str(rule["table"]),
                  "pref", str(rule["table"]), check=False).returncode == 0:
            _log("deleted rule from %s lookup %s" % (rule["from"], rule["table"]))
        _ip(None, "route", "flush", "table", str(rule["table"]), check=False)
    if os.path.exists(state.path):
        os.remove(state.path)
    left = [n for n in _netns_list() if n.startswith(topo["prefix"])]
    if left:
        raise RuntimeError("namespaces left behind: %s" % ", ".join(left))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--topology", required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--sshd-config")
    args = parser.parse_args(argv)
    with open(args.topology, encoding="utf-8") as handle:
        topo = yaml.safe_load(handle)
    state = State(args.state)
    if args.action == "down":
        down(topo, state)
        return 0
    if state.data["namespaces"] or any(n.startswith(topo["prefix"]) for n in _netns_list()):
        _log("an earlier lab is still there: removing it first")
        down(topo, state)
        state = State(args.state)
    try:
        up(topo, state, args.sshd_config)
    except Exception:
        print("up failed; removing what was made", file=sys.stderr)
        down(topo, state)
        raise
    _log("lab up: namespaces %s" % ", ".join(state.data["namespaces"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
