# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare two nftables tables as nft lists them in JSON (internal API; runs on the managed host).

Both sides come from ``nft -j -s list table``: the live table, and the planned one loaded
into a throw-away network namespace, so nft itself canonicalises both and formatting can
never show up as drift. Handles and counters are ignored, and so are the elements of the sets
that hold a DNS name's addresses (``_nft_table.NAME_SET``): the edge fills those from DNS, so
only their declaration can drift.
"""

from __future__ import annotations

import json

from ansible_collections.voiceops.firewall.plugins.module_utils._nft_table import NAME_SET


def _canon(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _strip(obj):
    if isinstance(obj, dict):
        return dict((k, _strip(v)) for k, v in obj.items() if k not in ("handle", "counter", "packets", "bytes"))
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def normalise(document):
    """``nft -j list table`` output -> {"chains": {...}, "sets": {...}}."""
    chains = {}
    sets = {}
    for item in (document or {}).get("nftables", []):
        if "chain" in item:
            chain = item["chain"]
            head = dict((k, chain[k]) for k in ("type", "hook", "prio", "policy") if k in chain)
            chains.setdefault(chain["name"], {"head": head, "rules": []})["head"] = head
        elif "rule" in item:
            rule = item["rule"]
            text = _canon({"expr": _strip(rule.get("expr", [])), "comment": rule.get("comment")})
            chains.setdefault(rule["chain"], {"head": {}, "rules": []})["rules"].append(text)
        elif "set" in item or "map" in item:
            kind = "set" if "set" in item else "map"
            data = item[kind]
            elements = {}
            for elem in data.get("elem", []):
                comment = None
                value = elem
                if isinstance(elem, dict) and "elem" in elem:
                    comment = elem["elem"].get("comment")
                    value = elem["elem"].get("val")
                elif isinstance(elem, list) and len(elem) == 2:  # map: [key, verdict]
                    key = elem[0]
                    if isinstance(key, dict) and "elem" in key:  # a key with a comment (and a counter)
                        comment = key["elem"].get("comment")
                        key = key["elem"].get("val")
                    value = [key, elem[1]]
                elements[_canon(_strip(value))] = comment
            if kind == "set" and NAME_SET.fullmatch(data["name"]):
                elements = {}  # filled from DNS on the edge
            head = dict((k, data[k]) for k in ("type", "flags", "map") if k in data)
            sets[data["name"]] = {"kind": kind, "head": _canon(head), "elements": elements}
    return {"chains": chains, "sets": sets}


def compare(desired, live):
    """Differences, each {kind, name, status (missing|extra|modified), item, detail}, sorted."""
    out = []
    for name in sorted(set(desired["sets"]) | set(live["sets"])):
        want = desired["sets"].get(name)
        have = live["sets"].get(name)
        if have is None:
            out.append({"kind": want["kind"], "name": name, "status": "missing", "item": None, "detail": "%d elements" % len(want["elements"])})
            continue
        if want is None:
            out.append({"kind": have["kind"], "name": name, "status": "extra", "item": None, "detail": "%d elements" % len(have["elements"])})
            continue
        if want["head"] != have["head"]:
            out.append({"kind": want["kind"], "name": name, "status": "modified", "item": None,
                        "detail": "declaration %s, live %s" % (want["head"], have["head"])})
        for value in sorted(set(want["elements"]) | set(have["elements"])):
            if value not in have["elements"]:
                out.append({"kind": "element", "name": name, "status": "missing", "item": value, "detail": want["elements"][value]})
            elif value not in want["elements"]:
                out.append({"kind": "element", "name": name, "status": "extra", "item": value, "detail": have["elements"][value]})
            elif want["elements"][value] != have["elements"][value]:
                out.append({"kind": "element", "name": name, "status": "modified", "item": value,
                            "detail": "comment %r, live %r" % (want["elements"][value], have["elements"][value])})
    for name in sorted(set(desired["chains"]) | set(live["chains"])):
        want = desired["chains"].get(name)
        have = live["chains"].get(name)
        if have is None:
            out.append({"kind": "chain", "name": name, "status": "missing", "item": None, "detail": "%d rules" % len(want["rules"])})
            continue
        if want is None:
            out.append({"kind": "chain", "name": name, "status": "extra", "item": None, "detail": "%d rules" % len(have["rules"])})
            continue
        if want["head"] != have["head"]:
            out.append({"kind": "chain", "name": name, "status": "modified", "item": None,
                        "detail": "hook %s, live %s" % (_canon(want["head"]), _canon(have["head"]))})
        if want["rules"] == have["rules"]:
            continue
        remaining = list(have["rules"])
        for rule in want["rules"]:
            if rule in remaining:
                remaining.remove(rule)
            else:
                out.append({"kind": "rule", "name": name, "status": "missing", "item": rule, "detail": None})
        for rule in remaining:
            out.append({"kind": "rule", "name": name, "status": "extra", "item": rule, "detail": None})
        if not [d for d in out if d["name"] == name and d["kind"] == "rule"]:
            out.append({"kind": "chain", "name": name, "status": "modified", "item": None, "detail": "rule order differs"})
    return out
