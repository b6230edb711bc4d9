# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real traffic through the edge of the edge_firewall Molecule lab.

    python probes.py --topology lab.yml --plan plan.json --report report.json [--sip]

* For every flow the edge's report lists (``forward_flows`` and ``input_flows``) one probe per
  IP version the lab has addresses for, from an address of the source end (inside the source
  zone's namespace) to an address of the destination end, on the first port of the flow's first
  port range and, for a range, on its last port as well. It must pass: the TCP handshake
  completes, or the UDP echo comes back.
* Every probe of the topology's ``must_drop`` list must be dropped: the connect times out (no
  RST, no ICMP error) and the UDP datagram gets no answer. A listener is bound to each
  destination, so a drop is the firewall's doing; a must-drop probe that a planned flow would
  allow is a mistake in the test and fails it.
* With ``--sip``: a real SIP call (SIPp, TCP) to the topology's ``sip.uas`` from each address of
  ``sip.allowed_from`` (must complete) and ``sip.blocked_from`` (must fail).

Sockets are created inside the namespaces with setns(2) on the creating thread, so one process
drives the whole lab. Only addresses inside the lab's namespaces are ever contacted. Every
timeout is bounded; listeners and SIPp are stopped before the script ends. Exits 1 on any
mismatch, after printing each probe and a summary line.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import ctypes
import errno
import ipaddress
import json
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time

import yaml

CLONE_NEWNET = 0x40000000
TIMEOUT = 1.0
_LIBC = ctypes.CDLL(None, use_errno=True)


def _setns(fd):
    if _LIBC.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextlib.contextmanager
def netns(name):
    """Run the body (on this thread) in network namespace ``name``; None is the root namespace."""
    if name is None:
        yield
        return
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open("/run/netns/%s" % name, os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(target)
        os.close(own)


class Lab:
    """Addresses of the lab and the namespace each lives in."""

    def __init__(self, topo):
        self.topo = topo
        self.edge_host = topo["edge"]["host"]
        self.edge_ns = topo["edge"]["ns"]
        self.where = {}  # address -> (namespace, zone)
        self.by_zone = {}  # zone -> [addresses]
        for link in topo["links"]:
            for addr in link["addrs"]:
                ip = ipaddress.ip_interface(addr).ip
                self.where[ip] = (link["ns"], link["zone"])
                self.by_zone.setdefault(link["zone"], []).append(ip)
        self.edge_addrs = [ipaddress.ip_interface(a).ip for lnk in topo["links"] for a in lnk["edge_addrs"]]
        for ip in self.edge_addrs:
            self.where[ip] = (self.edge_ns, "edge")

    def ns_of(self, ip):
        if ip not in self.where:
            raise KeyError("%s is not an address of the lab" % ip)
        return self.where[ip][0]

    def pick(self, plan, flow, side, version):
        """An address of the lab at this end of the flow, of this IP version, or None."""
        end = flow[side]
        if side == "dst" and end["name"] == self.edge_host:
            candidates = self.edge_addrs
        else:
            candidates = self.by_zone.get(flow["%s_zone" % side], [])
        nets = [ipaddress.ip_network(a) for a in end["addresses"]] or \
            [ipaddress.ip_network(n) for n in plan["zones"][flow["%s_zone" % side]].get("networks") or []]
        if not nets and plan["zones"][flow["%s_zone" % side]].get("external"):
            nets = [ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")]
        for ip in candidates:
            if ip.version == version and any(ip in net for net in nets if net.version == version):
                return ip
        return None


def parse_ports(ports):
    ranges = []
    for item in ports:
        for part in str(item).split(","):
            lo, _sep, hi = part.strip().partition("-")
            ranges.append((int(lo), int(hi or lo)))
    return ranges


def probe_ports(ports):
    """First port of the first range; plus its last port, and the last port of the last range."""
    ranges = parse_ports(ports)
    if not ranges:
        return [None]
    picked = [ranges[0][0], ranges[0][1], ranges[-1][1]]
    return list(dict.fromkeys(picked))


def allowed_by(plan, flow_ids, src, dst, proto, port):
    """Flow ids among ``flow_ids`` that would let this packet through (for must-drop sanity)."""
    hits = []
    for flow in plan["flows"]:
        if flow["id"] not in flow_ids or flow["protocol"] != proto:
            continue
        ok = True
        for side, ip in (("src", src), ("dst", dst)):
            zone = plan["zones"][flow["%s_zone" % side]]
            nets = flow[side]["addresses"] or zone.get("networks") or (["0.0.0.0/0", "::/0"] if zone.get("external") else [])
            if not any(ip in ipaddress.ip_network(n) for n in nets if ipaddress.ip_network(n).version == ip.version):
                ok = False
        if ok and port is not None and flow["ports"]:
            ok = any(lo <= port <= hi for lo, hi in parse_ports(flow["ports"]))
        if ok:
            hits.append(flow["id"])
    return hits


class Listeners:
    """TCP accept and UDP echo listeners in the lab's namespaces, served by one thread."""

    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.sockets = {}
        self.received = set()  # (proto, address, port, peer address)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def add(self, ns, proto, ip, port):
        key = (proto, ip, port)
        if key in self.sockets:
            return
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        with netns(ns):
            sock = socket.socket(family, kind)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((str(ip), port))
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE:  # a real service (sshd) listens there already
                self.sockets[key] = None
                return
            raise
        if proto == "tcp":
            sock.listen(64)
        sock.setblocking(False)
        self.sockets[key] = sock
        self.sel.register(sock, selectors.EVENT_READ, key)

    def _serve(self):
        while not self.stop.is_set():
            for sel_key, _mask in self.sel.select(timeout=0.1):
                sock, key = sel_key.fileobj, sel_key.data
                try:
                    if key[0] == "tcp":
                        conn, peer = sock.accept()
                        conn.close()
                    else:
                        data, peer = sock.recvfrom(2048)
                        sock.sendto(data, peer)
                    self.received.add(key + (ipaddress.ip_address(peer[0]),))
                except (BlockingIOError, InterruptedError):
                    continue

    def start(self):
        self.thread.start()

    def close(self):
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(2)
        for sock in self.sockets.values():
            if sock is not None:
                self.sel.unregister(sock)
                sock.close()
        self.sel.close()


def send(ns, proto, src, dst, port):
    """'pass', 'timeout', or what else happened (refused, unreachable, ...)."""
    family = socket.AF_INET6 if src.version == 6 else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with netns(ns):
        sock = socket.socket(family, kind)
    with sock:
        sock.settimeout(TIMEOUT)
        sock.bind((str(src), 0))
        try:
            sock.connect((str(dst), port))
            if proto == "udp":
                payload = b"voiceops-probe %s" % os.urandom(4).hex().encode()
                sock.send(payload)
                return "pass" if sock.recv(2048) == payload else "wrong reply"
            return "pass"
        except socket.timeout:
            return "timeout"
        except OSError as exc:
            return errno.errorcode.get(exc.errno, str(exc))


def run_probes(lab, plan, report):
    flow_ids = set(report["forward_flows"]) | set(report["input_flows"])
    flows = {f["id"]: f for f in plan["flows"]}
    probes, problems = [], []
    for flow_id in sorted(flow_ids):
        flow = flows[flow_id]
        if flow["protocol"] not in ("tcp", "udp"):
            problems.append("%s: protocol %s is not probed by this lab" % (flow_id, flow["protocol"]))
            continue
        found = False
        for version in (4, 6):
            src, dst = lab.pick(plan, flow, "src", version), lab.pick(plan, flow, "dst", version)
            if src is None or dst is None:
                continue
            found = True
            for port in probe_ports(flow["ports"]):
                probes.append({"expect": "pass", "why": flow_id, "src": src, "dst": dst,
                               "proto": flow["protocol"], "port": port})
        if not found:
            problems.append("%s: the lab has no address for one of its ends" % flow_id)
    for item in lab.topo.get("must_drop", []):
        src, dst = ipaddress.ip_address(item["src"]), ipaddress.ip_address(item["dst"])
        hits = allowed_by(plan, flow_ids, src, dst, item["proto"], item["port"])
        if hits:
            problems.append("must-drop probe %r is allowed by planned flows %s: fix the test" % (item["why"], hits))
            continue
        probes.append({"expect": "drop", "why": item["why"], "src": src, "dst": dst,
                       "proto": item["proto"], "port": item["port"]})

    def _send(probe):
        ns = lab.ns_of(probe["src"])
        outcome = send(ns, probe["proto"], probe["src"], probe["dst"], probe["port"])
        if outcome == "timeout" and probe["expect"] == "pass":
            # One retry: the very first packet to a neighbour may wait for ARP/ND.
            outcome = send(ns, probe["proto"], probe["src"], probe["dst"], probe["port"])
            outcome = "pass (second try)" if outcome == "pass" else outcome
        probe["outcome"] = outcome
        probe["ok"] = outcome.startswith("pass") if probe["expect"] == "pass" else outcome == "timeout"

    listeners = with_listeners(lab, probes, _send)
    for probe in probes:
        if probe["expect"] == "drop" and (probe["proto"], probe["dst"], probe["port"], probe["src"]) in listeners.received:
            probe["ok"] = False
            probe["outcome"] += " (but it reached the listener)"
    return probes, problems


def with_listeners(lab, items, send_one):
    """Bind a listener behind every item's destination, then run ``send_one`` on each item.

    In parallel (setns is per thread): probes that must be dropped each wait out their timeout.
    Returns the (closed) listeners, whose ``received`` says what reached them.
    """
    listeners = Listeners()
    try:
        for item in items:
            listeners.add(lab.ns_of(item["dst"]), item["proto"], item["dst"], item["port"])
        listeners.start()
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(send_one, items))
    finally:
        listeners.close()
    return listeners


def _fmt(addr, port):
    return "[%s]:%s" % (addr, port) if addr.version == 6 else "%s:%s" % (addr, port)


def sip_call(lab, sip, src, timeout):
    """One SIPp call over TCP from ``src`` to the running UAS; returns (exit code or 'timeout', log)."""
    cmd = ["ip", "netns", "exec", lab.ns_of(src), "sipp", "-sn", "uac", "-t", "t1", "-i", str(src), "-p", "0",
           "-m", "1", "-nostdin", "-timeout", "%ds" % timeout, "-timeout_error", "-recv_timeout", "3000",
           "%s:%d" % (sip["uas"]["addr"], sip["uas"]["port"])]
    with tempfile.TemporaryFile() as log:
        with subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT) as proc:
            try:
                code = proc.wait(timeout + 3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                code = "timeout"
        log.seek(0)
        return code, log.read().decode(errors="replace")[-2000:]


def run_sip(lab, sip):
    """A call from each allowed address must complete, from each blocked address must fail."""
    results = []
    uas_ip = ipaddress.ip_address(sip["uas"]["addr"])
    calls = len(sip["allowed_from"])
    cmd = ["ip", "netns", "exec", lab.ns_of(uas_ip), "sipp", "-sn", "uas", "-t", "t1", "-i", str(uas_ip),
           "-p", str(sip["uas"]["port"]), "-m", str(calls), "-nostdin", "-timeout", "60s"]
    with tempfile.TemporaryFile() as log:
        with subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT) as uas:
            try:
                time.sleep(0.5)  # SIPp binds at start-up
                if uas.poll() is not None:
                    log.seek(0)
                    return [{"ok": False, "what": "SIPp UAS did not start: %s" % log.read().decode(errors="replace")[-500:]}]
                # Blocked callers first, while the UAS is certainly listening.
                for src in sip["blocked_from"]:
                    code, out = sip_call(lab, sip, ipaddress.ip_address(src), 4)
                    results.append({"ok": code != 0, "what": "SIP call %s -> %s must fail: %s" % (
                        src, _fmt(uas_ip, sip["uas"]["port"]), "failed (%s)" % code if code != 0 else "COMPLETED"),
                        "log": "" if code != 0 else out})
                for src in sip["allowed_from"]:
                    code, out = sip_call(lab, sip, ipaddress.ip_address(src), 10)
                    results.append({"ok": code == 0, "what": "SIP call %s -> %s must complete: %s" % (
                        src, _fmt(uas_ip, sip["uas"]["port"]), "completed" if code == 0 else "FAILED (%s)" % code),
                        "log": "" if code == 0 else out})
                # The UAS's own exit code is not checked: over TCP, SIPp counts a call as failed on
                # the answering side when the caller closes the connection after the final 200.
            finally:
                if uas.poll() is None:
                    uas.kill()
                    uas.wait()
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--topology", required=True)
    parser.add_argument("--plan", required=True, help="the plan (JSON), as voiceops.firewall.plan returns it")
    parser.add_argument("--report", required=True, help="the edge's nft_report (JSON)")
    parser.add_argument("--sip", action="store_true", help="also place real SIP calls with SIPp")
    args = parser.parse_args(argv)
    with open(args.topology, encoding="utf-8") as handle:
        lab = Lab(yaml.safe_load(handle))
    with open(args.plan, encoding="utf-8") as handle:
        plan = json.load(handle)
    with open(args.report, encoding="utf-8") as handle:
        report = json.load(handle)

    started = time.monotonic()
    probes, problems = run_probes(lab, plan, report)
    for probe in probes:
        print("%-4s %-4s %s %s -> %s  %s: %s" % (
            "ok" if probe["ok"] else "FAIL", probe["expect"], probe["proto"], probe["src"],
            _fmt(probe["dst"], probe["port"]), probe["why"], probe["outcome"]))
    for problem in problems:
        print("FAIL %s" % problem)
    passed = [p for p in probes if p["ok"]]
    failed = len(probes) - len(passed) + len(problems)
    print("probes: %d passed (must pass: %d, must drop: %d), %d failed [%.1f s]" % (
        len(passed), sum(1 for p in passed if p["expect"] == "pass"),
        sum(1 for p in passed if p["expect"] == "drop"), failed, time.monotonic() - started))
    if args.sip:
        started = time.monotonic()
        sip = run_sip(lab, lab.topo["sip"])
        for item in sip:
            print("%-4s %s" % ("ok" if item["ok"] else "FAIL", item["what"]))
            if item.get("log"):
                print(item["log"])
        sip_failed = sum(1 for item in sip if not item["ok"])
        print("sip: %d passed, %d failed [%.1f s]" % (len(sip) - sip_failed, sip_failed, time.monotonic() - started))
        failed += sip_failed
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
