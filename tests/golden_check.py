# -*- coding: utf-8 -*-
"""Comparing output with golden files, the honest way (issue 17).

A test never rewrites a golden file. On a difference it writes the new output beside the golden
file as ``<golden>.actual`` and fails with a unified diff (bounded) and the command that accepts
the new output once a human has reviewed it::

    cp tests/golden/example/plan.json.actual tests/golden/example/plan.json

When the output matches again, a stale ``<golden>.actual`` is removed. ``*.actual`` files are
ignored by git (``.gitignore``). docs/development.md ("Golden files") describes the review.

- :func:`assert_matches_golden` compares one output with one golden file;
- :func:`assert_files_match_golden` compares a set of outputs (relative path -> text or bytes)
  with a golden folder: every output against its golden file, and no golden file without output.
"""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from conftest import REPO

ACTUAL_SUFFIX = ".actual"
DIFF_LINES = 80  # diff lines shown per file
TOTAL_DIFF_LINES = 240  # diff lines shown per failure, over all files; the rest are named only


def actual_path(golden: Path) -> Path:
    """Where the output that differs from ``golden`` is written: ``<golden>.actual``."""
    return golden.with_name(golden.name + ACTUAL_SUFFIX)


def _shown(path: Path) -> str:
    """``path`` relative to the repository when it is inside it (commands run from there)."""
    try:
        return path.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return str(path)


def _as_bytes(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def accept_command(golden: Path) -> str:
    """The command, run from the repository, that accepts the reviewed output for ``golden``."""
    return "cp %s %s" % (shlex.quote(_shown(actual_path(golden))), shlex.quote(_shown(golden)))


def _diff(want: bytes, got: bytes, golden: Path, limit: int) -> list[str]:
    lines = list(difflib.unified_diff(want.decode("utf-8", "replace").splitlines(),
                                      got.decode("utf-8", "replace").splitlines(),
                                      _shown(golden), _shown(actual_path(golden)), lineterm="", n=2))
    if not lines:  # same text, other bytes (line endings, a final newline, encoding)
        return ["(the texts differ only in line endings or bytes a line diff does not show: %d bytes expected, %d got)"
                % (len(want), len(got))]
    if len(lines) > limit:
        lines = lines[:limit] + ["... %d more diff lines: diff -u %s %s" % (
            len(lines) - limit, shlex.quote(_shown(golden)), shlex.quote(_shown(actual_path(golden))))]
    return lines


def _mismatch(actual: str | bytes, golden: Path, diff_lines: int) -> list[str] | None:
    """``None`` when ``actual`` is byte for byte the golden file (a stale ``.actual`` is removed);
    otherwise ``actual`` is written to ``<golden>.actual`` and the report's lines are returned."""
    got = _as_bytes(actual)
    beside = actual_path(golden)
    if golden.is_file() and golden.read_bytes() == got:
        if beside.exists():
            beside.unlink()
        return None
    golden.parent.mkdir(parents=True, exist_ok=True)
    beside.write_bytes(got)
    if not golden.is_file():
        return ["%s: no golden file; the output is written to %s" % (_shown(golden), _shown(beside))] + [
            "+" + line for line in got.decode("utf-8", "replace").splitlines()[:diff_lines]]
    return (["%s differs from the output (written to %s)" % (_shown(golden), _shown(beside))]
            + _diff(golden.read_bytes(), got, golden, diff_lines))


def golden_mismatch(actual: str | bytes, golden: Path, diff_lines: int = DIFF_LINES) -> str | None:
    """``None`` when ``actual`` is byte for byte the golden file (a stale ``.actual`` is removed);
    otherwise ``actual`` is written to ``<golden>.actual`` and the report (diff and the command
    to accept it) is returned."""
    lines = _mismatch(actual, golden, diff_lines)
    if lines is None:
        return None
    return "\n".join(lines + ["if the change is intended, review it, then accept it with:", "    " + accept_command(golden)])


def assert_matches_golden(actual: str | bytes, golden: Path | str, diff_lines: int = DIFF_LINES) -> None:
    """Fail unless ``actual`` (text is compared as UTF-8) is byte for byte the file ``golden``.

    On a difference, ``<golden>.actual`` holds the output; the golden file is never written.
    """
    __tracebackhide__ = True  # pylint: disable=unused-variable
    problem = golden_mismatch(actual, Path(golden), diff_lines)
    if problem:
        raise AssertionError("output differs from its golden file; the golden file is unchanged\n" + problem)


def golden_files(golden_dir: Path, keep: Callable[[str], bool] = lambda name: True) -> list[str]:
    """The golden files under ``golden_dir`` (relative, "/"-separated), without ``*.actual``."""
    return sorted(rel for rel in (p.relative_to(golden_dir).as_posix() for p in golden_dir.rglob("*") if p.is_file())
                  if not rel.endswith(ACTUAL_SUFFIX) and keep(rel))


def assert_files_match_golden(files: Mapping[str, str | bytes], golden_dir: Path | str,
                              keep: Callable[[str], bool] = lambda name: True,
                              diff_lines: int = DIFF_LINES, total_diff_lines: int = TOTAL_DIFF_LINES) -> None:
    """Fail unless every output in ``files`` (relative path -> text or bytes) is its golden file
    under ``golden_dir`` and every golden file there (those ``keep`` accepts) has an output.

    Every difference is reported in one failure (diffs bounded per file and in total), each
    output that differs is written beside its golden file as ``.actual``.
    """
    __tracebackhide__ = True  # pylint: disable=unused-variable
    golden_dir = Path(golden_dir)
    reports, accept = [], []
    shown = 0
    for name in sorted(files):
        golden = golden_dir / name
        lines = _mismatch(files[name], golden, diff_lines)
        if lines is None:
            continue
        accept.append(accept_command(golden))
        if shown >= total_diff_lines:
            lines = lines[:1]
        shown += len(lines)
        reports.extend(lines)
    missing = [name for name in golden_files(golden_dir, keep) if name not in files]
    for name in missing:
        reports.append("%s: golden file, but no such output (if that is intended, git rm it)" % _shown(golden_dir / name))
    if reports:
        raise AssertionError("\n".join(
            ["output differs from the golden files in %s; the golden files are unchanged" % _shown(golden_dir)]
            + reports + (["if the changes are intended, review them, then accept them with:"]
                         + ["    " + command for command in accept] if accept else [])
            + (["or all of them at once:", "    " + accept_all(golden_dir)] if len(accept) > 1 else [])))


def accept_all(golden_dir: Path) -> str:
    """The command that accepts every reviewed ``.actual`` under ``golden_dir``."""
    return ("find %s -name '*%s' -exec sh -c 'for f; do cp \"$f\" \"${f%%%s}\"; done' sh {} +"
            % (shlex.quote(_shown(golden_dir)), ACTUAL_SUFFIX, ACTUAL_SUFFIX))


def read_outputs(root: Path, names: Iterable[str]) -> dict[str, bytes]:
    """``{name: bytes}`` of the files ``names`` under ``root`` (a playbook's output folder)."""
    return {name: (root / name).read_bytes() for name in names}
