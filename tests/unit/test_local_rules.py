# -*- coding: utf-8 -*-
"""Local rules (voiceops_local_rules), expiry of local rules and lint acceptances (VO201, VO202, the
gate, voiceops_today), and logging what an edge's default deny drops (voiceops_edge_log_drops)."""

from __future__ import annotations

import copy
import datetime
import json
import os
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _explain, _lint, _nft, _pipeline, _plan_diff, _windows
from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import VoiceopsError
from ansible_collections.voiceops.firewall.plugins.plugin_utils._views import flow_table

ZONES = {
    "mgmt": {"networks": ["10.99.0.0/24"]},
    "clients": {"networks": ["10.60.0.0/22"]},
    "servers": {"networks": ["10.30.0.0/24"]},
}
HOSTS = {
    "edge": {"ansible_host": "10.99.0.1", "voiceops_edge_zones": {"mgmt": ["eth0"], "clients": ["eth1"], "servers": ["eth2"]}},
    "app01": {"ansible_host": "10.30.0.10", "voiceops_components": []},
    "win01": {"ansible_host": "10.30.0.20", "voiceops_components": [], "voiceops_platform": "windows"},
}
RDP = {"name": "rdp_helpdesk", "from": "clients", "to": "win01", "protocol": "tcp", "ports": 3389,
       "owner": "Helpdesk team", "ticket": "INC-4711", "expires": "2027-03-31"}
PROBE = {"name": "probe", "from": "mgmt", "to": "app01", "protocol": "icmp", "owner": "noc@example.com", "reason": "monitoring probe"}


def run(rules=None, hosts=None, render=False, **extra):
    global_vars = {"voiceops_zones": ZONES, "voiceops_management_networks": ["10.99.0.0/24"],
                   "voiceops_local_rules": copy.deepcopy([RDP, PROBE] if rules is None else rules), **extra}
    return _pipeline.run(global_vars, copy.deepcopy(hosts or HOSTS), render=render)


def problems(**kwargs):
    with pytest.raises(VoiceopsError) as info:
        run(**kwargs)
    return "\n".join(info.value.problems)


def local_flows(plan):
    return {f["entry"]: f for f in plan["flows"] if f.get("local")}


# --- local rules in the plan ------------------------------------------------------------------

def test_a_local_rule_is_a_flow_marked_local_and_enforced_everywhere():
    plan = run(voiceops_today="2027-01-01").plan
    flows = local_flows(plan)
    rdp = flows["local.rdp_helpdesk"]
    assert rdp["id"] == "local.rdp_helpdesk:clients>win01" and rdp["product"] == "local"
    assert rdp["local"] == {"owner": "Helpdesk team", "reason": None, "ticket": "INC-4711", "expires": "2027-03-31"}
    assert rdp["citation"] == {"doc": "voiceops_local_rules", "title": "local rule (owner Helpdesk team, ticket INC-4711, expires 2027-03-31)",
                               "section": "rdp_helpdesk: ticket INC-4711"}
    assert rdp["src"]["kind"] == "zone" and rdp["src"]["addresses"] == ["10.60.0.0/22"]
    assert rdp["enforced_by"] == ["edge", "win01"]  # the edge on the way and the Windows host's own firewall
    assert plan["instances"]["clients"]["kind"] == "zone"  # every flow end is an instance of the plan
    assert flows["local.probe"]["protocol"] == "icmp" and flows["local.probe"]["ports"] == []
    assert plan["summary"]["flows_by_product"]["local"] == 2
    assert json.loads(json.dumps(plan)) == plan


def test_flows_md_nft_windows_explain_and_diff_say_local():
    outcome = run(render=True, voiceops_today="2027-01-01")
    plan, files = outcome.plan, outcome.files
    rows = [line for line in flow_table(plan).splitlines() if "rdp_helpdesk" in line]
    assert rows and rows[0].endswith("| local rule (owner Helpdesk team, ticket INC-4711, expires 2027-03-31) § rdp_helpdesk: ticket INC-4711 |")
    assert files["flows.md"] == flow_table(plan)
    nft = files["edge/edge.nft"]
    assert 'comment "local.rdp_helpdesk:clients>win01" : jump svc_tcp_3389' in nft
    assert 'comment "local.probe:mgmt>app01"' in nft
    rules, _warnings = _windows.render_host(plan, "win01")
    (rule,) = [r for r in rules if "local.rdp_helpdesk:clients>win01" in _windows.rule_flows(r)]
    assert rule["description"].startswith("Managed by voiceops.firewall (do not edit). Local rules: local.rdp_helpdesk (owner Helpdesk team). ")
    assert _windows.rule_flows(rule) == ["local.rdp_helpdesk:clients>win01"]
    answer = _explain.explain(plan, "clients", "win01", "tcp", 3389)
    assert answer["verdict"] == "permit"
    assert answer["flows"][0]["local"]["owner"] == "Helpdesk team"
    assert answer["flows"][0]["citation"]["title"].startswith("local rule (owner Helpdesk team")
    base = run(rules=[PROBE], voiceops_today="2027-01-01").plan
    diff = _plan_diff.plan_diff(base, plan)
    (added,) = [e for p in diff["pairs"] for e in p["added"]]
    assert added["local"]["ticket"] == "INC-4711"
    assert "local rule (owner Helpdesk team" in _plan_diff.diff_markdown(diff)
    moved = run(rules=[dict(RDP, expires="2027-06-30"), PROBE], voiceops_today="2027-01-01").plan
    (changed,) = [e for p in _plan_diff.plan_diff(plan, moved)["pairs"] for e in p["changed"]]
    assert changed["changes"]["local"][1]["expires"] == "2027-06-30"


def test_nft_accepts_a_rule_set_with_local_rules_and_drop_logging():
    if shutil.which("nft") is None:
        pytest.fail("needs nft") if os.environ.get("CI") else pytest.skip("needs nft")
    hosts = copy.deepcopy(HOSTS)
    hosts["edge"]["voiceops_edge_log_drops"] = True
    text = _nft.render_edge(run(hosts=hosts).plan, "edge")[0]
    proc = subprocess.run(["nft", "-c", "-f", "-"], input=text, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("rule, expected", [
    (dict(RDP, owner='Mallory" accept'), "voiceops_local_rules[0].owner: an owner is letters"),
    (dict(RDP, owner="a\nb"), "voiceops_local_rules[0].owner"),
    (dict(RDP, reason="{{ lookup('pipe', 'id') }}"), "voiceops_local_rules[0].reason: a reason is one line"),
    (dict(RDP, ticket="INC 1"), "voiceops_local_rules[0].ticket"),
    (dict(RDP, expires="2027-02-30"), "voiceops_local_rules[0].expires: a date YYYY-MM-DD"),
    (dict(RDP, expires="31.03.2027"), "voiceops_local_rules[0].expires: a date YYYY-MM-DD"),
    (dict(RDP, name="RDP Helpdesk"), "voiceops_local_rules[0].name"),
    ({k: v for k, v in RDP.items() if k != "owner"}, "voiceops_local_rules[0].owner: required"),
    ({k: v for k, v in RDP.items() if k != "ticket"}, "voiceops_local_rules[0]: a local rule needs a reason or a ticket"),
    (dict(RDP, to="win02"), "voiceops_local_rules[0].to: no host, endpoint or zone of that name (did you mean 'win01'?)"),
    ({k: v for k, v in RDP.items() if k != "ports"}, "voiceops_local_rules[0].ports: tcp needs ports"),
    (dict(PROBE, ports=22), "voiceops_local_rules[0].ports: only tcp and udp have ports"),
    (dict(RDP, ports=70000), "voiceops_local_rules[0].ports"),
    (dict(RDP, to="clients"), "voiceops_local_rules[0].to: from and to are the same"),
    (dict(RDP, protocol="sctp"), "voiceops_local_rules[0].protocol"),
    (dict(RDP, port=22), "unknown keys; allowed are"),
])
def test_bad_local_rules_are_refused_with_the_variable_and_value(rule, expected):
    assert expected in problems(rules=[rule])


def test_a_name_is_listed_once_and_must_not_be_both_a_host_and_a_zone():
    assert "voiceops_local_rules[1].name: listed twice (also voiceops_local_rules[0])" in problems(rules=[RDP, RDP])
    hosts = copy.deepcopy(HOSTS)
    hosts["servers"] = {"ansible_host": "10.30.0.30", "voiceops_components": []}
    assert "voiceops_local_rules[0].to: is both a host or endpoint and a zone" in problems(rules=[dict(RDP, to="servers")], hosts=hosts)


def test_an_unquoted_yaml_date_is_taken():
    plan = run(rules=[dict(RDP, expires=datetime.date(2027, 3, 31))], voiceops_today="2027-01-01").plan
    assert local_flows(plan)["local.rdp_helpdesk"]["local"]["expires"] == "2027-03-31"


# --- expiry and the gate ----------------------------------------------------------------------

def expiry(outcome):
    return [(f["id"], f["subject"], f["message"]) for f in outcome.findings if f["id"] in ("VO201", "VO202")]


def test_no_expiry_finding_long_before_the_date():
    assert expiry(run(voiceops_today="2027-03-16")) == []


def test_vo201_warns_fourteen_days_before_and_on_the_last_day():
    for today, left in (("2027-03-17", 14), ("2027-03-31", 0)):
        outcome = run(voiceops_today=today)
        assert expiry(outcome) == [("VO201", "local.rdp_helpdesk", "local rule local.rdp_helpdesk (owner Helpdesk team, ticket INC-4711) "
                                    "expires on 2027-03-31, in %d day(s)" % left)]
        assert not [f for f in outcome.blocking if f["id"] == "VO201"]  # low: below the default gate


def test_an_expired_local_rule_fails_the_gate_whatever_fail_on_says():
    for fail_on in ("high", "critical", "never"):
        outcome = run(voiceops_today="2027-04-01", voiceops_lint_fail_on=fail_on)
        (blocking,) = [f for f in outcome.blocking if f["id"] == "VO202"]
        assert blocking["message"] == ("local rule local.rdp_helpdesk (owner Helpdesk team, ticket INC-4711) has expired: its last day was "
                                       "2027-03-31 (today is 2027-04-01); remove it from voiceops_local_rules or move its expires date")
        assert blocking["flow"] == "local.rdp_helpdesk:clients>win01"


def test_the_date_changes_only_what_the_gate_reports():
    before = run(render=True, voiceops_today="2027-01-01").files
    after = run(render=True, voiceops_today="2027-04-01").files
    assert before.keys() == after.keys()
    # the lint's findings, and the explorer page that shows them
    assert sorted(k for k in before if before[k] != after[k]) == ["explorer.html", "findings.json", "findings.xml"]


def test_an_expired_acceptance_no_longer_accepts_and_fails_the_gate():
    accept = [{"id": "VO108", "subject": "*", "reason": "no edge yet", "owner": "Net team", "expires": "2027-02-01"}]
    hosts = {k: v for k, v in HOSTS.items() if k != "edge"}  # no edge: VO108 (medium) for the cross-zone flows
    kept = run(hosts=hosts, voiceops_lint_accept=accept, voiceops_lint_fail_on="medium", voiceops_today="2027-02-01")
    assert [f for f in kept.findings if f["id"] == "VO108"] and not kept.blocking
    assert all(f["accepted"] == "no edge yet" for f in kept.findings if f["id"] == "VO108")
    assert ("VO201", "voiceops_lint_accept[0]", "lint acceptance voiceops_lint_accept[0] (VO108 *, owner Net team) expires on 2027-02-01, "
            "in 0 day(s)") in expiry(kept)
    lapsed = run(hosts=hosts, voiceops_lint_accept=accept, voiceops_lint_fail_on="medium", voiceops_today="2027-02-02")
    assert {f["id"] for f in lapsed.blocking} == {"VO108", "VO202"}
    (vo202,) = [f for f in lapsed.blocking if f["id"] == "VO202"]
    assert "voiceops_lint_accept[0] (VO108 *, owner Net team) has expired: its last day was 2027-02-01" in vo202["message"]


def test_an_expiry_cannot_be_accepted_and_dates_are_checked():
    with pytest.raises(VoiceopsError) as info:
        _lint.check_accepts([{"id": "VO202", "subject": "*", "reason": "later"},
                             {"id": "VO105", "subject": "*", "reason": "r", "expires": "soon"}])
    assert info.value.problems == ["voiceops_lint_accept[1].expires: a date YYYY-MM-DD (for example 2027-03-31) (got 'soon')"]
    with pytest.raises(VoiceopsError) as info:
        _lint.check_accepts([{"id": "VO202", "subject": "*", "reason": "later"}])
    assert info.value.problems == ["voiceops_lint_accept[0].id: an expiry cannot be accepted: extend the expires date or remove the rule "
                                   "(got 'VO202')"]
    with pytest.raises(VoiceopsError) as info:
        _lint.today("tomorrow")
    assert info.value.problems == ["voiceops_today: a date YYYY-MM-DD (for example 2027-03-31) (got 'tomorrow')"]


def test_today_is_the_controllers_utc_date_unless_given():
    utc = datetime.datetime.now(datetime.timezone.utc).date()
    assert _lint.today() in (utc.isoformat(), (utc + datetime.timedelta(days=1)).isoformat())  # midnight may pass
    assert _lint.today(datetime.date(2027, 1, 2)) == "2027-01-02"


def test_a_handed_over_plan_is_gated_on_its_local_rules_too():
    plan = run(voiceops_today="2027-01-01").plan
    outcome = _pipeline.from_plan(json.loads(json.dumps(plan)), {"voiceops_today": "2027-04-01"})
    assert [f["id"] for f in outcome.blocking] == ["VO202"]


# --- logging what the default deny drops ------------------------------------------------------

def edge_with(log_drops):
    hosts = copy.deepcopy(HOSTS)
    hosts["edge"]["voiceops_edge_log_drops"] = log_drops
    return hosts


def test_drop_logging_is_off_by_default():
    plan = run().plan
    assert "log_drops" not in plan["edges"]["edge"]
    text = _nft.render_edge(plan, "edge")[0]
    assert "log prefix" not in text and "drop_log" not in text


def test_drop_logging_per_zone_pair_before_the_default_deny():
    plan = run(hosts=edge_with({"rate": "3/minute"})).plan
    assert plan["edges"]["edge"]["log_drops"] == {"rate": "3/minute", "burst": 5}
    text, report = _nft.render_edge(plan, "edge")
    chains = [line.strip() for line in text.splitlines() if "log prefix" in line]
    assert len(chains) == 3 * 2 + 3  # every ordered pair of the edge's zones, and each zone to the edge itself
    assert 'counter limit rate 3/minute burst 5 packets log prefix "voiceops drop clients>servers "' in chains
    assert 'counter limit rate 3/minute burst 5 packets log prefix "voiceops drop-in clients "' in chains
    assert '"eth1" . "eth2" : jump dlog_clients__servers' in text
    managed_fwd = text.split("chain managed_fwd {")[1].split("\n\t}")[0]
    assert managed_fwd.index("vmap @drop_log") < managed_fwd.index("voiceops default deny between managed zones")
    managed_in = text.split("chain managed_in {")[1].split("\n\t}")[0]
    assert managed_in.index("vmap @drop_log_in") < managed_in.index("voiceops default deny to the edge itself")
    assert report.as_dict()["counts"]["rules"] == _nft.render_edge(run().plan, "edge")[1].as_dict()["counts"]["rules"] + 2 + 9
    no_input = _nft.render_edge(plan, "edge", filter_input=False)[0]
    assert "drop_log_in" not in no_input and "voiceops drop-in" not in no_input


def test_the_longest_prefix_fits_nft():
    longest = _nft.DROP_LOG_PREFIX % ("z" * 31, "y" * 31)
    assert len(longest) <= 127


@pytest.mark.parametrize("value, expected", [
    ({"rate": "10/fortnight"}, "voiceops_edge_log_drops.rate: a rate is a count per second"),
    ({"rate": "0/second"}, "voiceops_edge_log_drops.rate"),
    ({"rate": '10/minute" accept'}, "voiceops_edge_log_drops.rate"),
    ({"burst": 0}, "voiceops_edge_log_drops.burst: a whole number from 1 to 10000"),
    ({"burst": True}, "voiceops_edge_log_drops.burst"),
    ({"prefix": "x"}, "voiceops_edge_log_drops: unknown keys"),
    ("often", "voiceops_edge_log_drops: true, false, or {rate: 10/minute, burst: 5}"),
])
def test_bad_drop_logging_settings_are_refused(value, expected):
    assert expected in problems(hosts=edge_with(value))


def test_only_an_edge_logs_drops():
    hosts = copy.deepcopy(HOSTS)
    hosts["app01"]["voiceops_edge_log_drops"] = True
    assert "hostvars['app01'].voiceops_edge_log_drops: only an edge firewall" in problems(hosts=hosts)


def test_a_plan_from_a_file_is_checked_again():
    plan = run(hosts=edge_with(True)).plan
    plan["edges"]["edge"]["log_drops"] = {"rate": '1/second" ; drop', "burst": 5}
    with pytest.raises(VoiceopsError) as info:
        _nft.render_edge(plan, "edge")
    assert "hostvars['edge'].voiceops_edge_log_drops.rate" in "\n".join(info.value.problems)


def test_a_plan_with_local_rules_and_drop_logging_has_the_declared_keys():
    from test_plan_types import _problems
    from ansible_collections.voiceops.firewall.plugins.plugin_utils import _plan_types as T

    outcome = run(hosts=edge_with(True), voiceops_today="2027-04-01")
    assert _problems(outcome.plan, T.Plan, "plan") == []
    assert _problems(outcome.findings, list[T.Finding], "findings") == []
    assert outcome.plan["edges"]["edge"]["log_drops"] == {"rate": "10/minute", "burst": 5}


# plain characters most of the time, so that both paths run; and every character a file, comment or command fears
_MIXED = st.text(alphabet=st.sampled_from(list("abcXYZ019 .-_@#:/,;()+") * 4 + list("\"'\\{}<>|$%`\n\u2028\x00é")), max_size=70)


_WORDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 .]{0,30}", fullmatch=True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(owner=st.one_of(_WORDS, _MIXED), reason=st.one_of(_WORDS, _MIXED), ticket=st.one_of(_WORDS.map(lambda t: t.replace(" ", "-")), _MIXED),
       name=st.sampled_from(["rdp", "x1", "x1", "Bad name", "a\"b"]))
def test_any_text_is_refused_with_the_collections_error_or_is_safe_everywhere(owner, reason, ticket, name):
    """Whatever the texts are, the pipeline raises VoiceopsError or what reaches the files is plain, safe ASCII."""
    rule = dict(RDP, owner=owner, reason=reason, ticket=ticket, name=name)
    try:
        outcome = run(rules=[rule], render=True, voiceops_today="2027-01-01")
    except VoiceopsError:
        event("refused")
        return
    event("planned")
    for text in (owner, reason, ticket, name):
        assert text.isascii() and text.isprintable() and not set(text) & set('"\'\\{}<>|$%`\n')
    nft = outcome.files["edge/edge.nft"]
    assert 'comment "local.%s:clients>win01"' % name in nft
    assert "local rule (owner %s, ticket %s, expires 2027-03-31)" % (owner, ticket) in outcome.files["flows.md"]


def test_the_edges_apply_input_renders_the_same_logging_table():
    from ansible_collections.voiceops.firewall.plugins.plugin_utils._targets import target_inputs

    plan = run(hosts=edge_with({"rate": "2/second", "burst": 3})).plan
    part = target_inputs(plan)["nftables"]["edge"]
    assert _nft.render_edge(part, "edge")[0] == _nft.render_edge(plan, "edge")[0]
    assert 'limit rate 2/second burst 3 packets log prefix "voiceops drop mgmt>servers "' in _nft.render_edge(part, "edge")[0]
