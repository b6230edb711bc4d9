# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check the simulated Windows hosts of the Molecule scenario against a plan run (verify.yml).

    python check_hosts.py --plan PLAN_DIR --state STATE_DIR --prepared PREPARED_DIR --stale RULE_NAME

PLAN_DIR is an output folder of the plan (its windows/<host>.json: the rules and profiles each
Windows host should have); STATE_DIR the simulated hosts (<host>.json, and calls.jsonl, one line
per call to a host, written by tests/functional/windows/fake_windows_host.py); PREPARED_DIR a copy
of STATE_DIR made by prepare.yml. It checks that

1. exactly the plan's Windows hosts were called, and each holds exactly the planned rules of the
   group, field by field, and the planned profile settings;
2. the rules outside the group are as prepare.yml left them, and the stale rule of the group is gone;
3. every ansible-playbook run read each host once and wrote it at most once, with nothing but
   voiceops.firewall.win_firewall_rules; the first run wrote every host, and every later run only read.

The host's side is read in the forms Windows reports (enums as numbers or names, a single value as
a scalar, IPv4 subnets as address/mask, Profile as bits or as 'Domain, Private'), independently of
the collection's own normalisation. Prints one line per host; exit status 1 on any difference.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any, Dict, List

PROFILES = ("Domain", "Private", "Public")
PROFILE_BITS = {"Domain": 1, "Private": 2, "Public": 4}
DIRECTION = {1: "Inbound", 2: "Outbound"}
ACTION = {0: "NotConfigured", 2: "Allow", 4: "Block"}
PROTOCOL = {"TCP": 6, "UDP": 17, "ICMPV4": 1, "ICMPV6": 58, "ESP": 50, "GRE": 47}
ANY = "Any"


def _as_list(value: Any) -> List[Any]:
    if value is None:
        return [ANY]
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _enum(value: Any, names: Dict[int, str]) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return names.get(int(value), str(value))
    return str(value)


def _truth(value: Any, numbers: Dict[int, Any]) -> Any:
    """True/False from a bool, 'True'/'False', or the enum's number (anything else as written)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        return numbers.get(int(value), str(value))
    return value


def _rule_enabled(value: Any) -> Any:
    return _truth(value, {1: True, 2: False})  # enum Enabled of a rule: True = 1, False = 2


def _profile_enabled(value: Any) -> Any:
    return _truth(value, {0: False, 1: True, 2: "NotConfigured"})  # enum GpoBoolean of a profile


def _profiles(value: Any) -> frozenset:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        bits = int(value)
        return frozenset(PROFILES) if bits == 0 else frozenset(p for p in PROFILES if bits & PROFILE_BITS[p])
    names = set()
    for item in _as_list(value):
        names.update(part.strip() for part in str(item).split(",") if part.strip())
    return frozenset(PROFILES) if names & {"Any", "NotApplicable"} else frozenset(names)


def _address(text: str) -> str:
    try:
        return str(ipaddress.ip_network(text, strict=False))  # 10.0.0.0/255.255.255.0 and 10.0.0.5 too
    except ValueError:
        return text  # Any, LocalSubnet, DNS4, a range a-b: compared as written


def _protocol(value: Any) -> str:
    text = str(value)
    return str(PROTOCOL.get(text.upper(), text))


# plan key -> (Windows property, normalisation applied to both sides)
FIELDS = OrderedDict([
    ("display_name", ("DisplayName", str)),
    ("description", ("Description", str)),
    ("enabled", ("Enabled", _rule_enabled)),
    ("direction", ("Direction", lambda v: _enum(v, DIRECTION))),
    ("action", ("Action", lambda v: _enum(v, ACTION))),
    ("profiles", ("Profile", _profiles)),
    ("protocol", ("Protocol", _protocol)),
    ("local_ports", ("LocalPort", lambda v: frozenset(str(p) for p in _as_list(v)))),
    ("remote_ports", ("RemotePort", lambda v: frozenset(str(p) for p in _as_list(v)))),
    ("local_addresses", ("LocalAddress", lambda v: frozenset(_address(str(a)) for a in _as_list(v)))),
    ("remote_addresses", ("RemoteAddress", lambda v: frozenset(_address(str(a)) for a in _as_list(v)))),
    ("program", ("Program", lambda v: ANY if v in (None, "", ANY) else str(v))),
    ("icmp_type", ("IcmpType", lambda v: frozenset(str(t) for t in _as_list(v or [ANY])))),  # ICMP rules narrowed to some types
])


def _shown(value: Any) -> Any:
    return sorted(value) if isinstance(value, frozenset) else value


def check_rules(host: str, planned: Dict[str, Any], state: Dict[str, Any], problems: List[str]) -> int:
    group = planned["group"]
    want = {r["name"]: r for r in planned["rules"]}
    have = {r["Name"]: r for r in state["rules"] if r.get("Group") == group}
    for name in sorted(set(want) - set(have)):
        problems.append("%s: planned rule %s is missing" % (host, name))
    for name in sorted(set(have) - set(want)):
        problems.append("%s: rule %s of group %s is not in the plan" % (host, name, group))
    for name in sorted(set(want) & set(have)):
        unchecked = set(want[name]) - set(FIELDS) - {"name"}
        if unchecked:
            problems.append("%s: rule %s: this check does not know the planned field(s) %s" % (host, name, sorted(unchecked)))
        for key, (prop, norm) in FIELDS.items():
            expected, actual = norm(want[name].get(key)), norm(have[name].get(prop))
            if expected != actual:
                problems.append("%s: rule %s: %s is %r on the host, %r in the plan" % (host, name, prop, _shown(actual), _shown(expected)))
    return len(have)


def check_profiles(host: str, planned: Dict[str, Any], state: Dict[str, Any], problems: List[str]) -> int:
    for name, want in sorted((planned.get("profiles") or {}).items()):
        have = (state.get("profiles") or {}).get(name)
        if have is None:
            problems.append("%s: profile %s is not on the host" % (host, name))
            continue
        pairs = [("Enabled", _profile_enabled(want["enabled"]), _profile_enabled(have.get("Enabled"))),
                 ("DefaultInboundAction", want["default_inbound_action"], _enum(have.get("DefaultInboundAction"), ACTION)),
                 ("DefaultOutboundAction", want["default_outbound_action"], _enum(have.get("DefaultOutboundAction"), ACTION))]
        for prop, expected, actual in pairs:
            if expected != actual:
                problems.append("%s: profile %s: %s is %r on the host, %r in the plan" % (host, name, prop, actual, expected))
    return len(planned.get("profiles") or {})


def check_foreign(host: str, group: str, state: Dict[str, Any], prepared: Dict[str, Any], stale: str,
                  problems: List[str]) -> int:
    def foreign(data: Dict[str, Any]) -> Dict[str, Any]:
        return {r["Name"]: r for r in data.get("rules", []) if r.get("Group") != group}

    before, after = foreign(prepared), foreign(state)
    if not before:
        problems.append("%s: prepare.yml left no rule outside group %s to check" % (host, group))
    if after != before:
        problems.append("%s: the rules outside group %s changed: %s before, %s after" % (
            host, group, json.dumps(before, sort_keys=True), json.dumps(after, sort_keys=True)))
    if not any(r["Name"] == stale for r in prepared.get("rules", [])):
        problems.append("%s: prepare.yml did not add the stale rule %s" % (host, stale))
    if any(r["Name"] == stale for r in state["rules"]):
        problems.append("%s: the stale rule %s of group %s was not removed" % (host, stale, group))
    return len(after)


def check_calls(hosts: List[str], log: Path, problems: List[str]) -> Dict[str, List[str]]:
    """Each run's operations per host ({host: ['query+apply+confirm', 'query', ...]})."""
    entries = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    runs: Dict[str, Dict[str, List[str]]] = OrderedDict()
    for entry in entries:
        if entry.get("module") != "voiceops.firewall.win_firewall_rules":
            problems.append("call log: a call other than voiceops.firewall.win_firewall_rules: %s" % json.dumps(entry, sort_keys=True))
            continue
        if entry.get("check_mode"):
            problems.append("call log: a call in check mode: %s" % json.dumps(entry, sort_keys=True))
        runs.setdefault(entry.get("run", "?"), OrderedDict()).setdefault(entry["host"], []).append(entry["operation"])
    if not runs:
        problems.append("call log %s: no call to any host (did converge run?)" % log)
    seen: Dict[str, List[str]] = {h: [] for h in hosts}
    for number, calls in enumerate(runs.values(), 1):
        for host in sorted(set(calls) - set(hosts)):
            problems.append("run %d: called %s, which is not a Windows host of the plan" % (number, host))
        for host in hosts:
            ops = calls.get(host, [])
            seen[host].append("+".join(ops) or "-")
            allowed = [["query", "apply", "confirm"]] if number == 1 else [["query"]]
            if ops not in allowed:
                why = ("the first run must read once, write once and confirm once over a fresh connection" if number == 1
                       else "a run after the first must only read, once")
                problems.append("run %d: %s: calls %s (%s)" % (number, host, ops, why))
    return seen


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--plan", type=Path, required=True, help="a plan output folder (its windows/<host>.json)")
    parser.add_argument("--state", type=Path, required=True, help="the simulated hosts' state folder")
    parser.add_argument("--prepared", type=Path, required=True, help="the state folder as prepare.yml left it")
    parser.add_argument("--stale", required=True, help="the rule of the group that prepare.yml added and the plan lacks")
    args = parser.parse_args(argv)

    problems: List[str] = []
    planned = {p.stem: json.loads(p.read_text()) for p in sorted((args.plan / "windows").glob("*.json"))}
    simulated = sorted(p.stem for p in args.state.glob("*.json"))
    hosts = sorted(planned)
    if not hosts:
        problems.append("%s: the plan has no Windows host" % (args.plan / "windows"))
    if simulated != hosts:
        problems.append("simulated hosts %s are not the plan's Windows hosts %s" % (simulated, hosts))
    runs = check_calls(hosts, args.state / "calls.jsonl", problems)
    for host in hosts:
        state_file = args.state / ("%s.json" % host)
        if not state_file.exists():
            continue
        state = json.loads(state_file.read_text())
        prepared_file = args.prepared / ("%s.json" % host)
        prepared = json.loads(prepared_file.read_text()) if prepared_file.exists() else {"rules": []}
        rules = check_rules(host, planned[host], state, problems)
        profiles = check_profiles(host, planned[host], state, problems)
        foreign = check_foreign(host, planned[host]["group"], state, prepared, args.stale, problems)
        print("%s: %d rule(s) of %s as planned, %d profile(s) as planned, %d foreign rule(s) kept; calls per run: %s"
              % (host, rules, planned[host]["group"], profiles, foreign, ", ".join(runs.get(host, []))))
    for problem in problems:
        print("FAIL %s" % problem)
    count = len(next(iter(runs.values()))) if runs else 0
    print("hosts: %d Windows host(s), %d ansible-playbook run(s) that called them, %d problem(s)" % (len(hosts), count, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
