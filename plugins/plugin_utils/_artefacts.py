# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan's files, rendered and written in Python (internal API).

``voiceops.firewall.plan`` with ``output_dir`` writes them without handing the plan to
Ansible's templating: on a large estate every task that reads a registered plan of tens of
thousands of flows costs seconds to tens of seconds, once per task (docs/performance.md). The
contents are exactly those of the filters (``flow_table``, ``nft_ruleset``, ``nft_report``,
``port_matrix_*``, ``lint_junit``, ``diagrams``) and of ``to_nice_json(indent=2)``, so a file
is byte-identical whichever way it was made. Two exceptions, for size: ``plan.json`` and the
apply inputs have one flow (instance, zone) per line (``_json.plan_json``): the same data as
``to_nice_json`` gives, in a third of the time and four fifths of the bytes.

Writing (``sync``) is all or nothing, and only inside the output folder:

- Every file is rendered and encoded in memory, and every file name is checked
  (``check_names``: relative, components of letters, digits and ``._:-``, not starting with a
  dot or dash, so no ``..``), before anything on disk is touched. Only changed files are written.
- Folders below the output folder are opened one component at a time with ``O_NOFOLLOW``
  relative to their parent's descriptor, and files are read, created and renamed relative to
  their folder's descriptor: a symbolic link inside the output folder (in place of a folder or
  of a file) is refused with an error, never followed, even if it appears while we write. The
  output folder's own path may go through links: the user chose it.
- Every changed file is first staged as a temporary ``.voiceops-*`` file next to its target
  (creating the folders it needs); a failure there removes those temporaries and the folders
  it created. Then the temporaries are renamed into place one by one, keeping a journal: the
  old file is first hard-linked aside as a backup (renamed aside where the file system has no
  hard links). If a rename fails, those already done are undone from their backups (a rename
  again: the old file comes back with its bytes, inode and mtime) and the rest is removed.
  So either every changed file is new or the folder is as it was, and a reader never sees
  half a file.

Why not write a sibling temporary folder and swap it with the output folder: the output folder
also holds files that are not ours (``dot`` draws ``diagrams/*.svg`` next to the sources after
this step, users keep other files there), which a swap would have to copy and would lose if
written meanwhile; its parent may not be writable or may be shared; it may be a mount point or
a link the user made; and exchanging two folders in one step needs Linux's
``renameat2(RENAME_EXCHANGE)``, which Python does not offer. The journal touches only our files.

Not covered: a crash of the machine part way (the journal is in memory, nothing is fsynced)
and a failure while undoing, which is reported with any backup that is left named.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
from collections.abc import Iterable, Mapping
from typing import Any

from . import _apply
from ._errors import VoiceopsError
from ._explorer import explorer_html
from ._gc import gc_paused
from ._json import nice_json, plan_json
from ._lint import junit
from ._plan_types import Finding, Plan
from ._reports import diagrams, matrix_csv, matrix_html, matrix_markdown
from ._targets import target_files, target_inputs
from ._views import flow_table, zone_matrix

FILE_MODE = 0o644
DIR_MODE = 0o755


ARTEFACTS = ("all", "apply")  # every file, or only the apply inputs (what the roles read)

# Every file the writer makes, relative to the output folder: the one list. The module's
# documentation (output_dir), playbooks/plan.yml's header and docs/reports.md name each of these,
# and the writer makes no other (tests/unit/test_outputs.py checks all four). "<edge>", "<host>",
# "<product>", "<component>" stand for one name; the SVG drawings are dot's, beside the sources.
OUTPUTS = (
    ("plan.json", "the plan: every flow with its ends, ports, reason and citation (docs/plan-schema.md)"),
    ("flows.md", "the same flows as a table per zone pair"),
    ("edge/<edge>.nft", "an edge firewall's nftables table, as nft -f loads it"),
    ("edge/<edge>.json", "what that table enforces: rules, set elements, per flow"),
    ("windows/<host>.json", "a Windows host's firewall rules and profiles, with the host's role settings"),
    ("windows/<host>.md", "the same rules as a table"),
    ("apply/<host>.json", "the part of the plan a host is applied from (the roles read it)"),
    ("apply/_plan.json", "the plan run's id (the SHA-256 of plan.json) and each host's kind of target"),
    ("matrix.md", "the zone-to-zone port matrix"),
    ("matrix.csv", "the matrix, one row per zone pair and protocol"),
    ("matrix.html", "the matrix as a self-contained page"),
    ("findings.json", "the security lint's findings"),
    ("findings.xml", "the findings as JUnit XML"),
    ("diagrams/estate.dot", "the estate by zone (Graphviz source)"),
    ("diagrams/product-<product>.dot", "one diagram per catalog product"),
    ("diagrams/view-<component>.dot", "one diagram per component view (diagram_views)"),
    ("explorer.html", "an interactive page to explore the plan: matrix, flows, hosts, edges, search"),
)


def output_pattern(pattern: str) -> re.Pattern[str]:
    """The file names an entry of :data:`OUTPUTS` stands for."""
    return re.compile(re.sub(r"<[a-z]+>", "[^/]+", re.escape(pattern).replace("\\<", "<").replace("\\>", ">")) + r"\Z")


def render(plan: Plan, findings: list[Finding], fail_on: str | None,
           with_diagrams: bool = True, views: list[str] | None = None,
           settings: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
           artefacts: str = "all") -> dict[str, str]:
    """Every file of the plan: relative path -> text, in the order they are listed.

    ``settings``: per target kind and host, the target's settings (the Windows hosts' role
    variables); each target's files come from the target registry (``_targets.py``).
    ``artefacts="apply"``: only the apply inputs (``apply/``, see ``_apply.py``).
    """
    with gc_paused():  # rendering allocates little but often; see gc_paused
        inputs = target_inputs(plan)
        if artefacts == "apply":
            return _apply.files(plan, inputs)
        return _render(plan, findings, fail_on, with_diagrams, views, settings or {}, inputs)


def _render(plan: Plan, findings: list[Finding], fail_on: str | None,
            with_diagrams: bool, views: list[str] | None,
            settings: Mapping[str, Mapping[str, Mapping[str, Any]]],
            inputs: Mapping[str, Mapping[str, Plan]]) -> dict[str, str]:
    cache: dict[int, str] = {}  # each flow encoded once, for plan.json and the apply inputs
    files = {"plan.json": plan_json(plan, cache), "flows.md": flow_table(plan)}
    files.update(target_files(plan, settings, inputs))
    files.update(_apply.files(plan, inputs, files["plan.json"], cache))
    matrix = zone_matrix(plan)  # one matrix for the three views of it
    files["matrix.md"] = matrix_markdown(plan, matrix)
    files["matrix.csv"] = matrix_csv(plan, matrix)
    files["matrix.html"] = matrix_html(plan, matrix=matrix)
    files["findings.json"] = nice_json(findings)
    files["findings.xml"] = junit(findings, fail_on)
    if with_diagrams:
        for diagram in diagrams(plan, views):
            files["diagrams/%s.dot" % diagram["name"]] = diagram["dot"]
    files["explorer.html"] = explorer_html(plan, findings, files, matrix)  # last: it links to the other files
    return files


# The names ``sync`` writes: relative, "/"-separated, each component like a host or product name.
_SAFE_COMPONENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._:-]*\Z")
_MAX_COMPONENT = 255  # bytes: NAME_MAX of common file systems
_TEMP_PREFIX = ".voiceops-"  # a safe name never starts with a dot, so never clashes with ours
_NO_HARD_LINKS = frozenset({errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOSYS, errno.EOPNOTSUPP,
                            getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)})
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # NONBLOCK: a FIFO must not hang us
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def check_names(names: Iterable[str]) -> None:
    """Raise ``VoiceopsError`` naming every file name that is not a safe relative path.

    Safe: components joined by ``/``, each of letters, digits and ``._:-``, not starting with
    a dot or a dash, at most 255 bytes; so no ``..``, no empty component, no absolute path, no
    backslash, no NUL. A name that is also the folder of another name is refused too.
    """
    problems = []
    names = list(names)
    for name in names:
        why = _unsafe(name)
        if why:
            problems.append("unsafe output file name %r: %s" % (name, why))
    folders = {name.rsplit("/", 1)[0] for name in names if isinstance(name, str) and "/" in name}
    folders |= {folder.rsplit("/", i)[0] for folder in folders for i in range(1, folder.count("/") + 1)}
    for name in names:
        if name in folders:
            problems.append("unsafe output file name %r: it is also the folder of another file" % (name,))
    if problems:
        raise VoiceopsError(problems)


def _unsafe(name: Any) -> str | None:
    """Why ``name`` is not a safe relative file name, or None."""
    if not isinstance(name, str):
        return "not a string"
    if not name:
        return "empty"
    for char, why in (("\x00", "contains NUL"), ("\\", "contains a backslash")):
        if char in name:
            return why
    if name.startswith("/"):
        return "absolute path"
    for part in name.split("/"):
        if part in ("", ".", ".."):
            return "empty, '.' or '..' component"
        if not _SAFE_COMPONENT.match(part):
            return "component %r: only letters, digits and ._:- allowed, not first a dot or dash" % part
        if len(part.encode("utf-8")) > _MAX_COMPONENT:
            return "component longer than %d bytes" % _MAX_COMPONENT
    return None


def sync(output_dir: str, files: Mapping[str, str], check_mode: bool) -> list[dict[str, Any]]:
    """Write the files that differ from what is on disk, all or none (none in check mode).

    Returns, per file in the order given: ``name`` (relative), ``path``, ``changed``, and
    ``before`` (the old text, None when there was no file) for a file that changed.
    Raises ``VoiceopsError`` naming the file on a bad name, a link or non-folder in the way, or
    a failed write; the folder is then as it was (see the module's docstring).
    """
    check_names(files)
    root = os.path.abspath(output_dir)
    data = _encoded(files)
    out: list[dict[str, Any]] = []
    steps: list[_Step] = []
    with _Folders(root) as folders:
        for name, text in files.items():
            old = _read(folders, name)
            entry: dict[str, Any] = {"name": name, "path": os.path.join(root, *name.split("/")),
                                     "changed": old != data[name]}
            if entry["changed"]:
                entry["before"] = None if old is None else _decoded(old)
                steps.append(_Step(name, data[name], old is not None))
            out.append(entry)
        if steps and not check_mode:
            _commit(folders, steps)
    return out


def _encoded(files: Mapping[str, str]) -> dict[str, bytes]:
    """Every file's UTF-8 bytes, before anything is written."""
    out = {}
    for name, text in files.items():
        try:
            out[name] = text.encode("utf-8")
        except (AttributeError, UnicodeError) as exc:
            raise VoiceopsError("%s: cannot be written as UTF-8 text: %s" % (name, exc)) from exc
    return out


def _decoded(old: bytes) -> str:
    """The old text for a diff; a file that is not UTF-8 is not ours as it is, and shows as empty."""
    try:
        return old.decode("utf-8")
    except UnicodeDecodeError:
        return ""


def _split(name: str) -> tuple[str, str]:
    """``("edge", "edge01.nft")`` for ``edge/edge01.nft``; ``("", name)`` at the top."""
    folder, _sep, base = name.rpartition("/")
    return folder, base


class _Step:
    """One changed file in the journal: staged as ``temp``, old file kept as ``backup``."""

    def __init__(self, name: str, data: bytes, existed: bool) -> None:
        self.name = name
        self.folder, self.base = _split(name)
        self.data = data
        self.existed = existed
        self.fd = -1  # its folder's descriptor, from _Folders
        self.temp: str | None = None  # staged, not yet renamed into place
        self.backup: str | None = None  # the old file, under a temporary name
        self.moved = False  # the backup was renamed aside, not hard-linked: the target is absent
        self.done = False  # renamed into place


class _Folders:
    """Descriptors of the output folder and of the folders below it, opened without following links.

    Remembers the folders it created, so that ``remove_created`` can take them away again.
    """

    def __init__(self, root: str) -> None:
        self.root = root
        self.fds: dict[str, int | None] = {}
        self.created: list[tuple[int | None, str, str]] = []  # (parent fd or None, name, relative)

    def __enter__(self) -> _Folders:
        return self

    def __exit__(self, *exc: object) -> None:
        for fd in self.fds.values():
            if fd is not None:
                os.close(fd)
        self.fds.clear()

    def get(self, folder: str, create: bool) -> int | None:
        """The descriptor of ``folder`` (relative, "" for the output folder); None if it is absent and not created."""
        if self.fds.get(folder) is None:
            fd = self._open_root(create) if folder == "" else self._open_below(folder, create)
            self.fds[folder] = fd
        return self.fds[folder]

    def _open_root(self, create: bool) -> int | None:
        try:
            return os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            if not create:
                return None
        except NotADirectoryError as exc:
            raise VoiceopsError("%s: not a folder" % self.root) from exc
        missing = []
        path = self.root
        while not os.path.lexists(path):
            missing.append(path)
            path = os.path.dirname(path)
        for path in reversed(missing):
            os.mkdir(path, DIR_MODE)
            self.created.append((None, path, path))
        return os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def _open_below(self, folder: str, create: bool) -> int | None:
        parent_name, base = _split(folder)
        parent = self.get(parent_name, create)
        if parent is None:
            return None
        try:
            return os.open(base, _DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            if not create:
                return None
        except OSError as exc:
            _refuse_non_folder(parent, base, folder, exc)
        os.mkdir(base, DIR_MODE, dir_fd=parent)
        self.created.append((parent, base, folder))
        return os.open(base, _DIR_FLAGS, dir_fd=parent)

    def remove_created(self) -> list[str]:
        """Remove the folders this run created (now empty again), newest first; what could not be removed."""
        left = []
        for parent, name, relative in reversed(self.created):
            fd = self.fds.pop(relative, None)
            if fd is not None:
                os.close(fd)
            try:
                os.rmdir(name, dir_fd=parent)
            except OSError as exc:
                left.append("folder %s: %s" % (relative, exc.strerror or exc))
        self.created.clear()
        return left


def _refuse_non_folder(parent: int, base: str, relative: str, exc: OSError) -> None:
    """Raise ``VoiceopsError`` if ``base`` is a link or not a folder; else re-raise ``exc``."""
    _refuse(parent, base, relative, exc, folder=True)


def _refuse_non_file(parent: int, base: str, name: str, exc: OSError) -> None:
    """Raise ``VoiceopsError`` if ``base`` is a link; else re-raise ``exc``."""
    _refuse(parent, base, name, exc, folder=False)


def _refuse(parent: int, base: str, relative: str, exc: OSError, folder: bool) -> None:
    try:
        mode = os.stat(base, dir_fd=parent, follow_symlinks=False).st_mode
    except OSError:
        raise exc from None
    if stat.S_ISLNK(mode):
        raise VoiceopsError("%s: is a symbolic link; the plan writes only into real folders and files inside the "
                            "output folder and does not follow links, move it away" % relative) from exc
    if folder and not stat.S_ISDIR(mode):
        raise VoiceopsError("%s: exists and is not a folder; move it away" % relative) from exc
    raise exc


def _read(folders: _Folders, name: str) -> bytes | None:
    """The bytes of ``name`` on disk, None when absent; refuses a link or anything not a regular file."""
    folder, base = _split(name)
    try:
        parent = folders.get(folder, create=False)
        if parent is None:
            return None
        try:
            fd = os.open(base, _READ_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            return None
        except OSError as exc:
            _refuse_non_file(parent, base, name, exc)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise VoiceopsError("%s: exists and is not a regular file; move it away" % name)
            return _read_all(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise VoiceopsError("%s: cannot be read: %s" % (name, exc.strerror or exc)) from exc


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _commit(folders: _Folders, steps: list[_Step]) -> None:
    """Stage every step, then rename them into place; on any failure undo all and raise."""
    current = steps[0]
    try:
        for current in steps:
            _stage(folders, current)
        for current in steps:
            _swap(current)
    except BaseException as exc:
        left = _undo(folders, steps)
        if left:
            raise VoiceopsError(["%s: %s; undoing the other files failed, check the output folder:"
                                 % (current.name, _why(exc))] + left) from exc
        if isinstance(exc, OSError):
            raise VoiceopsError("%s: %s; no file was changed" % (current.name, _why(exc))) from exc
        raise
    _drop_backups(steps)


def _why(exc: BaseException) -> str:
    if isinstance(exc, VoiceopsError):
        return exc.message
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _temp_name() -> str:
    return _TEMP_PREFIX + secrets.token_hex(8)


def _stage(folders: _Folders, step: _Step) -> None:
    """Write ``step``'s bytes to a new temporary file in its folder (created if needed)."""
    step.fd = folders.get(step.folder, create=True)  # type: ignore[assignment]  # never None with create
    name = _temp_name()
    fd = os.open(name, _CREATE_FLAGS, FILE_MODE, dir_fd=step.fd)
    step.temp = name
    try:
        view = memoryview(step.data)
        while view:
            view = view[os.write(fd, view):]
        os.fchmod(fd, FILE_MODE)  # not the umask's idea
    finally:
        os.close(fd)


def _swap(step: _Step) -> None:
    """Keep the old file as a backup, then rename the staged file over it."""
    if step.existed:
        backup = _temp_name()
        try:
            os.link(step.base, backup, src_dir_fd=step.fd, dst_dir_fd=step.fd, follow_symlinks=False)
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
            os.rename(step.base, backup, src_dir_fd=step.fd, dst_dir_fd=step.fd)
            step.moved = True
        step.backup = backup
    os.replace(step.temp, step.base, src_dir_fd=step.fd, dst_dir_fd=step.fd)  # type: ignore[arg-type]
    step.temp = None
    step.done = True


def _undo(folders: _Folders, steps: list[_Step]) -> list[str]:
    """Put every old file back, remove the staged files and created folders; what could not be undone."""
    left = []
    for step in reversed(steps):
        try:
            _undo_step(step)
        except OSError as exc:
            kept = " (the old file is kept as %s)" % _join(step.folder, step.backup) if step.backup else ""
            left.append("%s: %s%s" % (step.name, exc.strerror or exc, kept))
    return left + folders.remove_created()


def _undo_step(step: _Step) -> None:
    if step.done or step.moved:
        if step.backup is not None:
            os.replace(step.backup, step.base, src_dir_fd=step.fd, dst_dir_fd=step.fd)
            step.backup = None
        elif step.done:
            os.unlink(step.base, dir_fd=step.fd)
        step.done = step.moved = False
    if step.backup is not None:
        os.unlink(step.backup, dir_fd=step.fd)
        step.backup = None
    if step.temp is not None:
        os.unlink(step.temp, dir_fd=step.fd)
        step.temp = None


def _drop_backups(steps: list[_Step]) -> None:
    """After a full commit: the backups go (one that cannot be removed stays as a hidden .voiceops-* file)."""
    for step in steps:
        if step.backup is not None:
            try:
                os.unlink(step.backup, dir_fd=step.fd)
            except OSError:
                pass
            step.backup = None


def _join(folder: str, base: str) -> str:
    return folder + "/" + base if folder else base


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
