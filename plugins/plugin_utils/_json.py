# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON exactly as ``ansible.builtin.to_nice_json(indent=2)`` writes it, faster, and ``plan.json``'s layout (internal API).

The findings and every target's JSON files go through ``nice_json``, so a file is byte-identical
whether a playbook's filter or the plan action wrote it; ``plan.json`` and the apply inputs,
the big ones, go through ``plan_json`` (one flow per line).
"""

from __future__ import annotations

import json
from typing import Any

_esc = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]  # C-accelerated, as json.dumps uses


def nice_json(data: Any) -> str:
    """What ``data | ansible.builtin.to_nice_json(indent=2)`` gives, plus the final newline.

    That is ``json.dumps(data, indent=2, sort_keys=True, separators=(",", ": "))``, whose
    indenting encoder is pure Python (4.5 s for the 10,000-host benchmark's plan); this one
    gives the same text in about half the time.  Anything it does not know (a key that is not
    a string, a type that is not JSON) goes to ``json.dumps`` as a whole.
    """
    out: list[str] = []
    try:
        _encode(data, "\n", out)
    except _NotPlain:
        return json.dumps(data, indent=2, sort_keys=True, separators=(",", ": ")) + "\n"
    out.append("\n")
    return "".join(out)


class _NotPlain(Exception):
    """A value the fast encoder leaves to ``json.dumps``."""


def _encode(value: Any, newline: str, out: list[str]) -> None:
    """Append ``value`` as indented JSON; ``newline`` is the line break plus the current indent."""
    if isinstance(value, str):
        out.append(_esc(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        sep = "{" + inner
        keys = list(value)
        for key in keys:
            if not isinstance(key, str):  # json.dumps converts other keys; leave that to it
                raise _NotPlain()
        for key in sorted(keys):
            out.append(sep)
            out.append(_esc(key))
            out.append(": ")
            item = value[key]
            if isinstance(item, str):
                out.append(_esc(item))
            else:
                _encode(item, inner, out)
            sep = "," + inner
        out.append(newline + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        sep = "[" + inner
        for item in value:
            out.append(sep)
            if isinstance(item, str):
                out.append(_esc(item))
            else:
                _encode(item, inner, out)
            sep = "," + inner
        out.append(newline + "]")
    elif value is None or isinstance(value, (bool, int, float)):
        out.append(json.dumps(value))
    else:
        raise _NotPlain()


def _line(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))


def plan_json(data: Any, cache: dict[int, str] | None = None) -> str:
    """``plan.json``'s layout: the top-level keys sorted, one per line; each item of a top-level
    list or mapping (a flow, an instance, a zone) on a line of its own, as key-sorted JSON.

    So a change to one flow is a change to one line of a diff, and the text is written by the
    C encoder (one ``json.dumps`` per item), several times faster than indenting every value.
    ``cache``: encoded items by ``id``, for a caller that writes the same items into several
    files while they are alive (the apply inputs repeat the plan's flows).
    """
    if not isinstance(data, dict) or not all(isinstance(key, str) for key in data):
        return nice_json(data)
    memo: dict[int, str] = {} if cache is None else cache

    def item(value: Any) -> str:
        if isinstance(value, (dict, list)):
            text = memo.get(id(value))
            if text is None:
                text = memo[id(value)] = _line(value)
            return text
        return _line(value)

    out = ["{"]
    keys = sorted(data)
    for index, key in enumerate(keys):
        value = data[key]
        comma = "," if index < len(keys) - 1 else ""
        if isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
            inner = ",\n".join("    %s: %s" % (_esc(k), item(value[k])) for k in sorted(value))
            out.append("  %s: {\n%s\n  }%s" % (_esc(key), inner, comma))
        elif isinstance(value, list) and value:
            inner = ",\n".join("    " + item(v) for v in value)
            out.append("  %s: [\n%s\n  ]%s" % (_esc(key), inner, comma))
        else:
            out.append("  %s: %s%s" % (_esc(key), _line(value), comma))
    out.append("}")
    return "\n".join(out) + "\n"
