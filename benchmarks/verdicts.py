# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Static verdicts of generated rule sets, to check that two rule sets say the same thing.

Each evaluator parses the *generated text* (not the data it came from) just far enough to
decide whether a new connection is accepted:

* :class:`OurNft`: our ``table inet voiceops``: ``managed_ifs``, the ``zone_pairs`` verdict map,
  the zone pair chains, their verdict maps (address pairs to service chains) and sets, the input chain;
* :class:`AerleonNft`: Aerleon's ``table inet filtering_policies``: a base chain per filter
  (policy drop) jumping to one chain per term, rules with ``iifname``/``oifname``, anonymous
  address and port sets, ``ip protocol``/``meta l4proto``;
* :func:`our_windows_allows` and :class:`AerleonNetsh`: inbound allow rules on a Windows host.

Packets are new connections ``(iif, oif, src, dst, proto, dport)``; replies are allowed by
connection state in both and are not sampled.
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from typing import Any

Net = tuple[int, int, int]  # version, first address, last address


def _net(text: str) -> Net:
    net = ipaddress.ip_network(text.strip(), strict=False)
    return net.version, int(net.network_address), int(net.broadcast_address)


def _in(addr: tuple[int, int], net: Net) -> bool:
    return addr[0] == net[0] and net[1] <= addr[1] <= net[2]


def _ports(text: str) -> tuple[int, int]:
    lo, _sep, hi = text.strip().partition("-")
    return int(lo), int(hi or lo)


def addr(text: str) -> tuple[int, int]:
    ip = ipaddress.ip_address(text)
    return ip.version, int(ip)


class OurNft:
    """Our edge rule set (``voiceops.firewall.nft_ruleset``)."""

    _SET = re.compile(r"^\t(set|map) (\S+) \{$")
    _RULE = re.compile(r"^\t\tmeta l4proto (\S+) (ip6?) saddr(?: \. ip6? daddr)? (?:vmap @(\S+)|@(\S+) accept)$")
    _SERVICE = re.compile(r"^\t\t(tcp|udp) dport (?:\{ (.+) \}|(\S+)) accept$")

    def __init__(self, text: str) -> None:
        # set or map name -> elements: (source net, [destination net]), service chain or None
        self.sets: dict[str, list[tuple[tuple[Net, ...], str | None]]] = {}
        self.services: dict[str, tuple[str, list[tuple[int, int]]]] = {}
        self.vmap: dict[tuple[str, str], str] = {}
        self.chains: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
        self.managed: set[str] = set()
        lines = text.splitlines()
        i = 0
        chain = None
        while i < len(lines):
            line = lines[i]
            m = self._SET.match(line)
            if m and m.group(2) == "managed_ifs":
                self.managed = set(re.findall(r'"([^"]+)"', lines[i + 2]))
            elif m and m.group(2) == "zone_pairs":
                i += 3
                while lines[i].strip() != "}":
                    a, b, verdict = re.match(r'\s*"([^"]+)" \. "([^"]+)" : (.+?),?$', lines[i]).groups()
                    self.vmap[(a, b)] = verdict
                    i += 1
            elif m:
                name, elements = m.group(2), []
                i += 1
                while not lines[i].startswith("\t\telements = {"):
                    i += 1
                i += 1
                while lines[i].strip() != "}":
                    element = lines[i].strip().rstrip(",")
                    key, _sep, rest = element.partition(" comment ")
                    verdict = rest.rpartition(" : jump ")[2] if " : jump " in rest else None
                    elements.append((tuple(_net(p) for p in key.split(" . ")), verdict))
                    i += 1
                self.sets[name] = elements
            elif line.startswith("\tchain "):
                chain = line.split()[1]
            elif chain and (r := self._SERVICE.match(line)):
                spec = r.group(2) or r.group(3)
                self.services[chain] = (r.group(1), [_ports(p) for p in spec.split(",")])
            elif chain and (r := self._RULE.match(line)):
                l4, fam, mapname, setname = r.groups()
                proto = {"ipv6-icmp": "icmp"}.get(l4, l4)
                self.chains[chain].append((proto, 4 if fam == "ip" else 6, mapname or setname))
            i += 1

    def _match(self, chain: str, src: tuple[int, int], dst: tuple[int, int] | None, proto: str, port: int) -> bool:
        """The rules of ``chain`` in order: a map element jumps to its service chain, which
        accepts its ports or returns (then the next rule is tried); a set element accepts."""
        for rproto, version, name in self.chains.get(chain, []):
            if rproto != proto or version != src[0]:
                continue
            ends = (src,) if dst is None else (src, dst)
            for nets, service in self.sets[name]:
                if len(nets) != len(ends) or not all(_in(a, n) for a, n in zip(ends, nets)):
                    continue
                if service is None:
                    return True
                sproto, ranges = self.services[service]
                if sproto == proto and any(lo <= port <= hi for lo, hi in ranges):
                    return True
                break  # the elements of one map are disjoint: no other element of it matches
        return False

    def forward(self, iif: str, oif: str, src: tuple[int, int], dst: tuple[int, int], proto: str, port: int) -> bool:
        if iif not in self.managed or oif not in self.managed:
            return True  # not ours to judge (policy accept)
        verdict = self.vmap.get((iif, oif))
        if verdict is None:
            return False
        if verdict == "accept":
            return True
        return self._match(verdict.split()[1], src, dst, proto, port)

    def input(self, iif: str, src: tuple[int, int], proto: str, port: int) -> bool:
        if iif not in self.managed:
            return True
        return self._match("managed_in", src, None, proto, port)


class AerleonNft:
    """Aerleon's nftables output: base chains (policy drop) jumping to one chain per term."""

    _SET = re.compile(r"\{ ([^}]*) \}|(\S+)")

    def __init__(self, text: str) -> None:
        self.chains: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.base: dict[str, tuple[str, list[str]]] = {}  # chain -> (hook, jumps)
        chain = None
        for raw in text.splitlines():
            line = raw.strip()
            if line.startswith("chain ") and line.endswith("{"):
                chain = line.split()[1]
            elif line.startswith("type filter hook"):
                self.base[chain] = (line.split()[3], [])
            elif line.startswith("jump ") and chain in self.base:
                self.base[chain][1].append(line.split()[1])
            elif line.endswith(" accept") and not line.startswith("ct state established") and chain:
                self.chains[chain].append(self._rule(line))

    def _values(self, text: str, pos: int) -> tuple[list[str], int]:
        if text[pos] == "{":
            end = text.index("}", pos)
            return [v.strip() for v in text[pos + 1:end].split(",")], end + 1
        end = text.find(" ", pos)
        end = len(text) if end < 0 else end
        return [text[pos:end]], end

    def _rule(self, line: str) -> dict[str, Any]:
        rule: dict[str, Any] = {}
        tokens = [("iifname ", "iif"), ("oifname ", "oif"), ("ip saddr ", "src"), ("ip daddr ", "dst"),
                  ("ip6 saddr ", "src"), ("ip6 daddr ", "dst"), ("tcp dport ", "tcp"), ("udp dport ", "udp"),
                  ("ip protocol ", "proto"), ("meta l4proto ", "proto")]
        pos = 0
        while pos < len(line):
            for token, key in tokens:
                if line.startswith(token, pos):
                    values, pos = self._values(line, pos + len(token))
                    if key in ("iif", "oif"):
                        rule[key] = values[0].strip('"')
                    elif key in ("src", "dst"):
                        rule[key] = [_net(v) for v in values]
                    elif key in ("tcp", "udp"):
                        rule["proto"] = [key]
                        rule["ports"] = [_ports(v) for v in values]
                    else:
                        rule["proto"] = values
                    break
            else:
                pos += 1
        return rule

    def _index(self) -> dict[tuple[str, Any, Any], list[dict[str, Any]]]:
        if not hasattr(self, "_by_if"):
            self._by_if: dict[tuple[str, Any, Any], list[dict[str, Any]]] = defaultdict(list)
            for _base, (hook, jumps) in self.base.items():
                for chain in jumps:
                    for r in self.chains[chain]:
                        self._by_if[(hook, r.get("iif"), r.get("oif"))].append(r)
        return self._by_if

    def _accepts(self, hook: str, iif: str, oif: str | None, src: tuple[int, int], dst: tuple[int, int] | None,
                 proto: str, port: int) -> bool:
        names = {"icmp": {"icmp", "icmpv6"}}.get(proto, {proto})
        index = self._index()
        for key in dict.fromkeys([(hook, iif, oif), (hook, iif, None), (hook, None, oif), (hook, None, None)]):
            for r in index.get(key, ()):
                if "src" in r and not any(_in(src, n) for n in r["src"]):
                    continue
                if "dst" in r and (dst is None or not any(_in(dst, n) for n in r["dst"])):
                    continue
                if "proto" in r and not names & set(r["proto"]):
                    continue
                if "ports" in r and not any(lo <= port <= hi for lo, hi in r["ports"]):
                    continue
                return True
        return False

    def forward(self, iif: str, oif: str, src: tuple[int, int], dst: tuple[int, int], proto: str, port: int) -> bool:
        return self._accepts("forward", iif, oif, src, dst, proto, port)

    def input(self, iif: str, src: tuple[int, int], proto: str, port: int) -> bool:
        return self._accepts("input", iif, None, src, None, proto, port)


_WIN_PROTO = {"TCP": "tcp", "UDP": "udp", "ICMPv4": "icmp", "ICMPv6": "icmp", "47": "gre", "50": "esp"}


def our_windows_allows(rules: list[dict[str, Any]], src: tuple[int, int], proto: str, port: int) -> bool:
    for rule in rules:
        if rule["direction"] != "Inbound" or _WIN_PROTO.get(rule["protocol"], rule["protocol"]) != proto:
            continue
        if rule["protocol"] in ("ICMPv4", "ICMPv6") and (rule["protocol"] == "ICMPv4") != (src[0] == 4):
            continue
        if rule["local_ports"] != ["Any"] and not any(_ports(p)[0] <= port <= _ports(p)[1] for p in rule["local_ports"]):
            continue
        if rule["remote_addresses"] != ["Any"] and not any(_in(src, _net(a)) for a in rule["remote_addresses"]):
            continue
        return True
    return False


class AerleonNetsh:
    """``netsh advfirewall firewall add rule ... dir=in ... action=allow`` lines."""

    def __init__(self, text: str) -> None:
        self.rules = []
        for line in text.splitlines():
            if not line.startswith("netsh advfirewall firewall add rule"):
                continue
            atoms = dict(a.split("=", 1) for a in line.split() if "=" in a)
            if atoms.get("dir") != "in" or atoms.get("action") != "allow":
                continue
            self.rules.append({
                "remote": None if atoms.get("remoteip", "any") == "any" else [_net(a) for a in atoms["remoteip"].split(",")],
                "ports": None if "localport" not in atoms else [_ports(p) for p in atoms["localport"].split(",")],
                "proto": {"icmpv4": "icmp", "icmpv6": "icmp"}.get(atoms.get("protocol", ""), atoms.get("protocol", "")),
            })

    def allows(self, src: tuple[int, int], proto: str, port: int) -> bool:
        for rule in self.rules:
            if rule["proto"] != proto:
                continue
            if rule["ports"] is not None and not any(lo <= port <= hi for lo, hi in rule["ports"]):
                continue
            if rule["remote"] is not None and not any(_in(src, n) for n in rule["remote"]):
                continue
            return True
        return False
