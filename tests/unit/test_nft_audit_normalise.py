# -*- coding: utf-8 -*-
"""Drift audit of verdict maps: an element's key and verdict identify it, its comment is compared, its counter ignored."""

from __future__ import annotations

import json

from ansible_collections.voiceops.firewall.plugins.module_utils._nft_audit import compare, normalise
from ansible_collections.voiceops.firewall.plugins.plugin_utils._drift import drift_text


def listing(elements):
    """``nft -j -s list table`` output for one verdict map (nft 1.0.6's shape)."""
    elem = [[{"elem": {"val": {"concat": [{"prefix": {"addr": "10.60.0.0", "len": 24}}, addr]}, "comment": comment,
                       "counter": {"packets": packets, "bytes": packets * 60}}}, {"jump": {"target": target}}]
            for addr, comment, target, packets in elements]
    return {"nftables": [{"metainfo": {"version": "1.0.6"}},
                         {"map": {"family": "inet", "name": "clients__pbx_tcp4", "table": "voiceops", "type": ["ipv4_addr", "ipv4_addr"],
                                  "map": "verdict", "flags": ["interval"], "elem": elem}}]}


def test_counters_are_ignored_and_a_changed_comment_is_modified_not_missing():
    want = normalise(listing([("10.10.0.20", "swyx.sip:ws>pbx", "svc_tcp_5060", 0)]))
    same = normalise(listing([("10.10.0.20", "swyx.sip:ws>pbx", "svc_tcp_5060", 42)]))
    assert compare(want, same) == []
    edited = normalise(listing([("10.10.0.20", "hand edit", "svc_tcp_5060", 0)]))
    [item] = compare(want, edited)
    assert item["status"] == "modified" and item["kind"] == "element"
    assert drift_text(item).startswith("element clients__pbx_tcp4: 10.60.0.0/24 . 10.10.0.20 : jump svc_tcp_5060  (comment")


def test_another_verdict_is_another_element():
    want = normalise(listing([("10.10.0.20", "swyx.sip:ws>pbx", "svc_tcp_5060", 0)]))
    live = normalise(listing([("10.10.0.20", "swyx.sip:ws>pbx", "svc_tcp_1-65535", 0)]))
    items = compare(want, live)
    assert sorted((i["status"], drift_text(i)) for i in items) == [
        ("extra", "element clients__pbx_tcp4: 10.60.0.0/24 . 10.10.0.20 : jump svc_tcp_1-65535  (swyx.sip:ws>pbx)"),
        ("missing", "element clients__pbx_tcp4: 10.60.0.0/24 . 10.10.0.20 : jump svc_tcp_5060  (swyx.sip:ws>pbx)"),
    ]
    missing = [i for i in items if i["status"] == "missing"][0]
    assert json.loads(missing["item"])[1] == {"jump": {"target": "svc_tcp_5060"}}
