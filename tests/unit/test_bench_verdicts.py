# -*- coding: utf-8 -*-
"""The benchmark's verdict check (benchmarks/verdicts.py) catches a single dropped element.

On a small generated estate (benchmarks/estate.py: head office and one site, with Speech
Server program rules and an ESP flow), rendered by the product: every planned flow is accepted
by the rendered edge table and Windows rules; then each set or map element of the table, each
port of a service chain, each Windows rule and each program path is taken away or changed, one
at a time, and the check must fail, naming the flow.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import re
import sys
from pathlib import Path

import pytest

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _windows
from ansible_collections.voiceops.firewall.plugins.plugin_utils._estate import build_estate
from ansible_collections.voiceops.firewall.plugins.plugin_utils._nft import render_edge
from ansible_collections.voiceops.firewall.plugins.plugin_utils._planner import plan

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
EDGE = "edge01"
HOSTS, SEED = 40, 4  # the smallest estate with one site of every kind of flow: programs, ESP, IPv6


def _load(name):
    path = BENCH / ("%s.py" % name)
    if not path.is_file():  # benchmarks/ is not part of the Galaxy artefact
        pytest.skip("benchmarks/%s.py is not here (installed artefact)" % name)
    key = "voiceops_bench_" + name  # not a bare ``estate`` or ``verdicts`` in sys.modules
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module  # dataclasses look their module up while the class is made
        spec.loader.exec_module(module)
    return sys.modules[key]


@pytest.fixture(scope="module")
def verdicts():
    return _load("verdicts")


@pytest.fixture(scope="module")
def estate(catalog):
    generator = _load("estate")
    est = generator.generate(HOSTS, SEED)
    the_plan = plan(catalog, build_estate(est.global_vars(), est.all_host_vars(), catalog))
    text, _report = render_edge(the_plan, EDGE)
    rules = {host: _windows.render_host(the_plan, host, program_paths=generator.PROGRAM_PATHS)[0]
             for host in _windows.windows_hosts(the_plan)}
    return the_plan, text, rules, generator.PROGRAM_PATHS


def _check(verdicts, estate, text=None, rules=None):
    the_plan, ours, win, paths = estate
    return verdicts.check_planned(the_plan, EDGE, ours if text is None else text, win if rules is None else rules, paths)


def _element_lines(text):
    """Line numbers of the elements of multi-line sets and maps, and of one-line ones (managed_ifs)."""
    lines = text.split("\n")
    multi, single = [], []
    inside = False
    for idx, line in enumerate(lines):
        stripped = line.strip()
        if stripped == "elements = {":
            inside = True
        elif inside and stripped == "}":
            inside = False
        elif inside:
            multi.append(idx)
        elif stripped.startswith("elements = {") and stripped.endswith("}"):
            single.append(idx)
    return lines, multi, single


def _drop_line(lines, idx):
    """The table without element line ``idx`` (the comma moved so that nft would still read it)."""
    out = list(lines)
    del out[idx]
    if not lines[idx].rstrip().endswith(","):  # the last element: the one before it ends the list now
        prev = idx - 1
        if out[prev].rstrip().endswith(","):
            out[prev] = out[prev].rstrip()[:-1]
    return "\n".join(out)


def test_every_planned_flow_is_accepted(verdicts, estate):
    the_plan = estate[0]
    result = _check(verdicts, estate)
    assert result.ok, result.failure()
    assert result.planned_rejected == 0
    # every flow the plan enforces on the edge or a Windows host was checked
    enforced = [f for f in the_plan["flows"] if f["enforced_by"]]
    assert result.flows == len(enforced) and result.elsewhere == 0
    assert result.edge_flows == sum(EDGE in f["enforced_by"] for f in enforced)
    assert result.program_flows == sum(bool(f["program"]) for f in enforced) > 0
    assert any(f["protocol"] == "esp" for f in enforced)
    assert result.boxes >= result.flows and result.probes > 0
    assert result.failure() is None


def test_each_dropped_edge_element_fails(verdicts, estate):
    text = estate[1]
    lines, multi, single = _element_lines(text)
    assert len(multi) > 100 and single
    missed = []
    for idx in multi:
        result = _check(verdicts, estate, text=_drop_line(lines, idx))
        if result.ok:
            missed.append(lines[idx].strip())
        else:
            assert result.failure().startswith("verdict check failed: planned_rejected = ")
    # an interface taken out of managed_ifs is no longer filtered at all: the default-deny probes fail
    for idx in single:
        names = re.findall(r'"[^"]+"', lines[idx])
        for name in names:
            changed = list(lines)
            changed[idx] = lines[idx].replace(name + ", ", "") if name != names[-1] else lines[idx].replace(", " + name, "")
            result = _check(verdicts, estate, text="\n".join(changed))
            if result.ok:
                missed.append("%s from %s" % (name, lines[idx].strip()))
            else:
                assert result.open_probes
    print("%d edge elements dropped one at a time, %d interfaces taken out of managed_ifs: all caught"
          % (len(multi), sum(len(re.findall(r'"[^"]+"', lines[i])) for i in single)))
    assert not missed, "dropped and not noticed: %s" % missed


def test_each_dropped_service_port_fails(verdicts, estate):
    lines = estate[1].split("\n")
    changed = 0
    for idx, line in enumerate(lines):
        m = re.match(r"^(\t\t(?:tcp|udp) dport \{ )(.+)( \} accept)$", line)
        if not m:
            continue
        ports = m.group(2).split(", ")
        for drop in range(len(ports)):
            kept = ports[:drop] + ports[drop + 1:]
            mutated = list(lines)
            mutated[idx] = m.group(1) + ", ".join(kept) + m.group(3)
            result = _check(verdicts, estate, text="\n".join(mutated))
            assert not result.ok, "port %s of %s dropped and not noticed" % (ports[drop], line.strip())
            changed += 1
    assert changed > 10


def _redundant(rule, others, host_versions):
    """No planned connection needs ``rule`` alone: it allows only remote addresses of an IP version
    the host has no planned address of, or another rule of the same kind allows all it allows."""
    def nets(rule_):
        return [ipaddress.ip_network(a) for a in rule_["remote_addresses"]] if rule_["remote_addresses"] != ["Any"] else None

    def ports(rule_):
        if rule_["local_ports"] == ["Any"]:
            return None
        out = []
        for spec in rule_["local_ports"]:
            lo, _sep, hi = spec.partition("-")
            out.append((int(lo), int(hi or lo)))
        return out
    mine = nets(rule)
    if mine is not None and not {n.version for n in mine} & host_versions:
        return True
    for other in others:
        if any(other[k] != rule[k] for k in ("direction", "protocol", "program", "enabled", "action")):
            continue
        theirs, their_ports, my_ports = nets(other), ports(other), ports(rule)
        nets_ok = theirs is None or (
            mine is not None and all(any(n.version == t.version and n.subnet_of(t) for t in theirs) for n in mine))
        ports_ok = their_ports is None or (
            my_ports is not None and all(any(lo <= a and b <= hi for lo, hi in their_ports) for a, b in my_ports))
        if nets_ok and ports_ok:
            return True
    return False


def test_each_dropped_windows_rule_fails(verdicts, estate):
    """Each rule's loss fails the check, unless another rule allows all it allows (then no verdict changes)."""
    the_plan, rules = estate[0], estate[2]
    failed, redundant = 0, []
    for host, host_rules in sorted(rules.items()):
        versions = {ipaddress.ip_address(a).version for a in the_plan["instances"][host]["addresses"]}
        for idx, rule in enumerate(host_rules):
            mutated = dict(rules)
            mutated[host] = host_rules[:idx] + host_rules[idx + 1:]
            result = _check(verdicts, estate, rules=mutated)
            if _redundant(rule, mutated[host], versions):
                assert result.ok, result.failure()
                redundant.append("%s %s" % (host, rule["name"]))
                continue
            assert not result.ok, "%s's rule %s dropped and not noticed" % (host, rule["name"])
            assert all(r.where.startswith(host + " ") for r in result.rejected), result.failure()
            failed += 1
    # e.g. dc_legacy01's tcp 3268 beside its tcp 1024-65535 from the same peers; ICMPv6 to a host with IPv4 only
    print("%d rules: %d dropped and caught, redundant: %s" % (failed + len(redundant), failed, ", ".join(redundant)))
    assert failed > 50 and len(redundant) < failed / 10, redundant


def test_windows_program_condition(verdicts, estate):
    rules = estate[2]
    with_program = [(h, i) for h, rs in rules.items() for i, r in enumerate(rs) if r["program"] != "Any"]
    without = [(h, i) for h, rs in rules.items() for i, r in enumerate(rs) if r["program"] == "Any"]
    assert with_program and without
    for host, idx in with_program:
        for program in ("Any", r"C:\Windows\System32\other.exe"):
            mutated = dict(rules)
            mutated[host] = [dict(r, program=program) if i == idx else r for i, r in enumerate(rules[host])]
            result = _check(verdicts, estate, rules=mutated)
            assert not result.ok and "(program " in result.failure(), (host, program)
        # the same path in another case is the same program on Windows
        mutated = dict(rules)
        mutated[host] = [dict(r, program=r["program"].upper()) if i == idx else r for i, r in enumerate(rules[host])]
        assert _check(verdicts, estate, rules=mutated).ok
    host, idx = without[0]
    mutated = dict(rules)
    mutated[host] = [dict(r, program=r"C:\Windows\System32\w3wp.exe") if i == idx else r for i, r in enumerate(rules[host])]
    assert not _check(verdicts, estate, rules=mutated).ok  # a rule limited to a program no longer allows the others


def test_windows_rule_narrowed_or_disabled_fails(verdicts, estate):
    rules = estate[2]
    host = next(h for h, rs in sorted(rules.items()) if any(len(r["remote_addresses"]) > 1 for r in rs))
    idx = next(i for i, r in enumerate(rules[host]) if len(r["remote_addresses"]) > 1)
    for change in ({"remote_addresses": rules[host][idx]["remote_addresses"][1:]}, {"enabled": False},
                   {"action": "Block"}, {"remote_ports": ["1024"]}, {"direction": "Outbound"}):
        mutated = dict(rules)
        mutated[host] = [dict(r, **change) if i == idx else r for i, r in enumerate(rules[host])]
        assert not _check(verdicts, estate, rules=mutated).ok, change
    assert not _check(verdicts, estate, rules={h: r for h, r in rules.items() if h != host}).ok  # a host without rules


def test_failure_message_names_the_first_flows(verdicts, estate):
    text = estate[1]
    # the whole tcp4 map of one zone pair gone: several flows rejected, the message lists a few
    cut = re.sub(r"\t\tmeta l4proto tcp ip saddr \. ip daddr vmap @mgmt__infra_tcp4\n", "", text)
    assert cut != text
    result = _check(verdicts, estate, text=cut)
    message = result.failure(limit=3)
    assert message.splitlines()[0] == "verdict check failed: planned_rejected = %d (of %d planned flows checked)" % (
        result.planned_rejected, result.flows)
    assert result.planned_rejected > 3
    shown = [line for line in message.splitlines() if line.startswith("  rejected: ")]
    assert len(shown) == 3 and all("management.winrm:management>" in line for line in shown)
    assert "at edge01 forward " in shown[0] and ": nothing accepts tcp 10.99.0." in shown[0] and " port 5986" in shown[0]
    assert message.splitlines()[-1] == "  ... and %d more" % (len(result.rejected) - 3)


TABLE = """table inet t {
\tset managed_ifs {
\t\ttype ifname
\t\telements = { "a", "b" }
\t}
\tmap zone_pairs {
\t\ttype ifname . ifname : verdict
\t\telements = { "a" . "b" : jump fwd_ab }
\t}
\tmap ab_tcp4 {
\t\ttype ipv4_addr . ipv4_addr : verdict
\t\tflags interval
\t\telements = {
%s
\t\t}
\t}
\tchain svc_tcp_443 {
\t\ttcp dport 443 accept
\t}
\tchain svc_tcp_22_443 {
\t\ttcp dport { 22, 443 } accept
\t}
\tchain fwd_ab {
\t\tmeta l4proto tcp ip saddr . ip daddr vmap @ab_tcp4
\t}
\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t\tiifname @managed_ifs oifname @managed_ifs jump managed_fwd
\t}
\tchain managed_fwd {
\t\tct state established,related accept
\t\tiifname . oifname vmap @zone_pairs
\t\tcounter drop
\t}
}
"""


@pytest.mark.parametrize("elements, accepted, witness", [
    (["10.0.0.0/25 . 10.9.0.0/31 : jump svc_tcp_443", "10.0.0.128/25 . 10.9.0.0/31 : jump svc_tcp_443"], True, None),
    (["10.0.0.0/25 . 10.9.0.0/31 : jump svc_tcp_443", "10.0.0.192/26 . 10.9.0.0/31 : jump svc_tcp_443"], False, "10.0.0.128"),
    (["10.0.0.0/24 . 10.9.0.0/31 : jump svc_tcp_443"], True, None),
    (["10.0.0.0/24 . 10.9.0.0/32 : jump svc_tcp_22_443"], False, "10.9.0.1"),
    (["10.0.0.0/24 . 10.9.0.0/31 : jump svc_tcp_22_443", "10.0.0.0/16 . 10.9.0.1 : accept"], True, None),
])
def test_a_box_accepted_in_full_or_a_point_named(verdicts, elements, accepted, witness):
    """Exact coverage: a flow 10.0.0.0/24 > 10.9.0.0/31 tcp 443 is accepted only if every address pair is."""
    table = verdicts.NftRuleset(TABLE % ",\n".join("\t\t\t" + e for e in elements))
    region = table.region("forward", "a", "b", "tcp", 4)
    box = (verdicts.cidrs("10.0.0.0/24")[0], verdicts.cidrs("10.9.0.0/31")[0])
    found = region.uncovered(box, verdicts.port_ranges(["443"]))
    assert (found is None) == accepted
    if witness:
        assert witness in verdicts._witness(found)
    assert table.region("forward", "b", "a", "tcp", 4).uncovered(box, verdicts.port_ranges(["443"])) is not None
    assert table.region("forward", "a", "c", "tcp", 4).everything  # not a managed interface: not filtered here


def test_rules_it_does_not_understand_are_errors(verdicts):
    base = TABLE % "\t\t\t10.0.0.0/24 . 10.9.0.1 : jump svc_tcp_443"
    for rule in ("ip saddr != 10.0.0.1 accept", "meta mark 1 accept", "ip saddr 10.0.0.1 drop"):
        table = verdicts.NftRuleset(base.replace("\t\ttcp dport 443 accept", "\t\t" + rule))
        with pytest.raises(verdicts.NftError):
            table.region("forward", "a", "b", "tcp", 4).uncovered(
                (verdicts.cidrs("10.0.0.1")[0], verdicts.cidrs("10.9.0.1")[0]), verdicts.port_ranges(["443"]))
