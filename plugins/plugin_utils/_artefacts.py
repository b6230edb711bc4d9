# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan's files, rendered and written in Python (internal API).

``voiceops.firewall.plan`` with ``output_dir`` writes them without handing the plan to
Ansible's templating: on a large estate every task that reads a registered plan of tens of
thousands of flows costs seconds to tens of seconds, once per task (docs/performance.md). The
contents are exactly those of the filters (``flow_table``, ``nft_ruleset``, ``nft_report``,
``port_matrix_*``, ``lint_junit``, ``diagrams``) and of ``to_nice_json(indent=2)``, so a file
is byte-identical whichever way it was made.

Every file is rendered in memory before the first one is written, so a plan that cannot be
rendered (an edge with a bad interface list) writes nothing. A file is written only when its
content changed, through a temporary file and a rename, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from typing import Any

from ._estate import gc_paused
from ._lint import junit
from ._nft import render_edge
from ._reports import diagrams, matrix_csv, matrix_html, matrix_markdown
from ._views import flow_table

_esc = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]  # C-accelerated, as json.dumps uses
FILE_MODE = 0o644
DIR_MODE = 0o755


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


def render(plan: Mapping[str, Any], findings: list[dict[str, Any]], fail_on: str | None,
           with_diagrams: bool = True, views: list[str] | None = None) -> dict[str, str]:
    """Every file of the plan: relative path -> text, in the order they are listed."""
    with gc_paused():  # rendering allocates little but often; see gc_paused
        return _render(plan, findings, fail_on, with_diagrams, views)


def _render(plan: Mapping[str, Any], findings: list[dict[str, Any]], fail_on: str | None,
            with_diagrams: bool, views: list[str] | None) -> dict[str, str]:
    files = {"plan.json": nice_json(plan), "flows.md": flow_table(plan)}
    for edge in sorted(plan["edges"]):
        text, report = render_edge(plan, edge)
        files["edge/%s.nft" % edge] = text
        files["edge/%s.json" % edge] = nice_json(report.as_dict())
    files["matrix.md"] = matrix_markdown(plan)
    files["matrix.csv"] = matrix_csv(plan)
    files["matrix.html"] = matrix_html(plan)
    files["findings.json"] = nice_json(findings)
    files["findings.xml"] = junit(findings, fail_on)
    if with_diagrams:
        for diagram in diagrams(plan, views):
            files["diagrams/%s.dot" % diagram["name"]] = diagram["dot"]
    return files


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        return ""  # not ours as it is: differs from any text we write


def _write(path: str, text: str) -> None:
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".voiceops-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def sync(output_dir: str, files: Mapping[str, str], check_mode: bool) -> list[dict[str, Any]]:
    """Write the files that differ from what is on disk (none in check mode).

    Returns, per file in the order given: ``name`` (relative), ``path``, ``changed``, and
    ``before`` (the old text, None when there was no file) for a file that changed.
    """
    out = []
    for name, text in files.items():
        path = os.path.join(output_dir, *name.split("/"))
        before = _read(path)
        entry: dict[str, Any] = {"name": name, "path": path, "changed": before != text}
        if entry["changed"]:
            entry["before"] = before
            if not check_mode:
                os.makedirs(os.path.dirname(path), mode=DIR_MODE, exist_ok=True)
                _write(path, text)
        out.append(entry)
    return out


def diffs(entries: list[dict[str, Any]], files: Mapping[str, str], max_size: int) -> list[dict[str, str]]:
    """Diff mode: one before/after pair per changed file, as ``ansible.builtin.copy`` shows it.

    A file larger than ``max_size`` bytes (Ansible's ``MAX_FILE_SIZE_FOR_DIFF``) is named, not shown.
    """
    out = []
    for entry in entries:
        if not entry["changed"]:
            continue
        before, after = entry["before"] or "", files[entry["name"]]
        if max(len(before), len(after)) > max_size:
            before = "(%d bytes)\n" % len(before.encode("utf-8")) if entry["before"] is not None else ""
            after = "(%d bytes: larger than the %d bytes shown in a diff)\n" % (len(after.encode("utf-8")), max_size)
        out.append({"before_header": "%s (on disk)" % entry["path"] if entry["before"] is not None else "%s (absent)" % entry["path"],
                    "after_header": "%s (plan)" % entry["path"], "before": before, "after": after})
    return out
