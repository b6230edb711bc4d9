# -*- coding: utf-8 -*-
"""_artefacts.sync writes all or nothing, and only inside the output folder.

Faults are injected: each of the file-system calls the writer makes is made to fail at its
k-th call, for every k; after a failure every byte in the folder (every file, its content,
mode, inode and mtime; no stray temporary file; no new folder) is as before, after a success
it is the new state. Names that would leave the folder, links in the way and a folder it
may not write are refused before anything is written.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import os
import pwd
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.voiceops.firewall.plugins.plugin_utils import _artefacts
from ansible_collections.voiceops.firewall.plugins.plugin_utils._errors import VoiceopsError

# The calls that change the disk or open what is written; os.unlink/os.rmdir only clean up.
FAULTY = ("open", "write", "mkdir", "link", "replace", "rename", "fchmod", "makedirs")

OLD = {"plan.json": "old plan\n", "flows.md": "same flows\n", "edge/edge01.nft": "old nft\n",
       "edge/edge01.json": "{}\n", "diagrams/estate.svg": "<svg>drawn by dot, not ours</svg>\n",
       "notes.txt": "the user's own file\n"}
NEW = {"plan.json": "new plan\n", "flows.md": "same flows\n", "edge/edge01.nft": "new nft\n",
       "edge/edge01.json": "{}\n", "edge/edge02.nft": "a new edge\n", "edge/edge02.json": "{\"new\": 1}\n",
       "diagrams/estate.dot": "digraph {}\n", "deep/er/file.md": "in new folders\n"}


def snapshot(root: Path) -> dict[str, Any]:
    """Everything under ``root`` (links not followed): files with bytes, mode, inode and mtime."""
    out: dict[str, Any] = {}
    if not os.path.lexists(root):
        return out
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            info = path.lstat()
            rel = path.relative_to(root).as_posix()
            if stat.S_ISLNK(info.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                out[rel] = ("dir", stat.S_IMODE(info.st_mode))
            else:
                out[rel] = ("file", path.read_bytes(), stat.S_IMODE(info.st_mode), info.st_ino, info.st_mtime_ns)
    return out


def contents(root: Path) -> dict[str, bytes]:
    """The files under ``root`` and their bytes."""
    return {rel: v[1] for rel, v in snapshot(root).items() if v[0] == "file"}


def make(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@contextlib.contextmanager
def fail_at(target: str, k: int, err: int = errno.EIO) -> Iterator[list[int]]:
    """Make ``os.<target>`` (and for ``open`` the builtin too) raise OSError(err) at the k-th call; yields the count."""
    calls = [0]
    patched = [(os, target)] + ([(builtins, "open")] if target == "open" else [])
    with pytest.MonkeyPatch.context() as mp:
        for module, name in patched:
            mp.setattr(module, name, _failing(getattr(module, name), calls, k, OSError(err, "injected: %s" % name)))
        yield calls


def _failing(real: Callable[..., Any], calls: list[int], k: int, exc: OSError) -> Callable[..., Any]:
    def fake(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == k:
            raise exc
        return real(*args, **kwargs)
    return fake


def count_calls(tmp: Path, target: str) -> int:
    out = tmp / "count"
    make(out, OLD)
    with fail_at(target, 0) as calls:
        _artefacts.sync(str(out), NEW, check_mode=False)
    shutil.rmtree(out)
    return calls[0]


def expected_after(old: dict[str, str], new: dict[str, str]) -> dict[str, bytes]:
    return {name: text.encode() for name, text in {**old, **new}.items()}


def run_with_fault(out: Path, files: dict[str, str], target: str, k: int, err: int = errno.EIO) -> Exception | None:
    """Sync with a fault; what it raised, or None. The caller checks the folder, then that this is a VoiceopsError."""
    with fail_at(target, k, err):
        try:
            _artefacts.sync(str(out), files, check_mode=False)
        except Exception as exc:  # noqa: BLE001 - the old writer raised anything; the state is checked first
            return exc
    return None


def assert_refused(exc: Exception | None) -> None:
    assert isinstance(exc, VoiceopsError) and "injected" in exc.message, repr(exc)


@pytest.mark.parametrize("target", FAULTY)
def test_a_fault_at_any_call_leaves_the_folder_exactly_as_it_was(tmp_path, target):
    total = count_calls(tmp_path, target)
    failures = 0
    for k in range(1, total + 2):
        out = tmp_path / ("out%d" % k)
        make(out, OLD)
        before = snapshot(out)
        failed = run_with_fault(out, NEW, target, k)
        if failed:
            failures += 1
            assert snapshot(out) == before, "%s failing at call %d of %d" % (target, k, total)
            assert_refused(failed)
        else:
            assert contents(out) == expected_after(OLD, NEW), "%s call %d" % (target, k)
        shutil.rmtree(out)
    assert failures >= min(total, 1)


@pytest.mark.parametrize("target", ("mkdir", "open", "replace", "write"))
def test_a_fault_when_the_output_folder_is_new_leaves_no_folder(tmp_path, target):
    for k in range(1, 40):
        out = tmp_path / ("run%d" % k) / "missing" / "out"
        (tmp_path / ("run%d" % k)).mkdir()
        failed = run_with_fault(out, NEW, target, k)
        if failed:
            assert os.listdir(tmp_path / ("run%d" % k)) == [], "%s call %d" % (target, k)
            assert_refused(failed)
        else:
            assert contents(out) == expected_after({}, NEW)
            break


@pytest.mark.parametrize("target", ("replace", "rename"))
def test_without_hard_links_the_old_file_is_renamed_aside_and_comes_back(tmp_path, target):
    """A file system without hard links (os.link fails with EPERM): rename aside instead, same guarantee."""
    failures = 0
    for k in range(1, 12):
        out = tmp_path / ("out%d" % k)
        make(out, OLD)
        before = snapshot(out)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(os, "link", lambda *a, **kw: _raise(OSError(errno.EPERM, "no hard links here")))
            failed = run_with_fault(out, NEW, target, k)
        if failed:
            failures += 1
            assert snapshot(out) == before, "%s call %d" % (target, k)
            assert_refused(failed)
        else:
            assert contents(out) == expected_after(OLD, NEW)
    assert failures >= 2


def _raise(exc: BaseException) -> None:
    raise exc


def test_edge_as_a_regular_file_fails_before_anything_is_written(tmp_path):
    out = tmp_path / "out"
    make(out, {"plan.json": "old plan\n", "flows.md": "old flows\n", "edge": "a file called edge\n"})
    before = snapshot(out)
    with pytest.raises(VoiceopsError, match=r"edge: exists and is not a folder"):
        _artefacts.sync(str(out), NEW, check_mode=False)
    assert snapshot(out) == before


def test_a_name_with_nul_fails_before_anything_is_written(tmp_path):
    out = tmp_path / "out"
    make(out, OLD)
    before = snapshot(out)
    files = dict(NEW, **{"diagrams/product-a\x00b.dot": "digraph {}\n"})
    with pytest.raises(VoiceopsError, match=r"diagrams/product-a\\x00b.dot.*NUL"):
        _artefacts.sync(str(out), files, check_mode=False)
    assert snapshot(out) == before


@pytest.mark.parametrize("name", [
    "edge/../../escaped.nft", "../escaped.json", "edge/..", "/tmp/escaped", "edge//x.nft", "edge/", "",
    "edge\\..\\..\\escaped", ".voiceops-1234", "diagrams/-Tsvg.dot", "edge/./x.nft", "a" * 256,
    "diagrams/product-caf\u00e9.dot", "edge/x y.nft",
])
def test_an_unsafe_name_is_refused_before_anything_is_written(tmp_path, name):
    out = tmp_path / "a" / "b" / "out"
    make(out, OLD)
    before = snapshot(tmp_path)
    with pytest.raises(VoiceopsError) as info:
        _artefacts.sync(str(out), {"plan.json": "new plan\n", name: "x\n"}, check_mode=False)
    assert repr(name) in info.value.message
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("name", ["plan.json", "edge/edge01.nft", "edge/fw-1.site.example:2.json",
                                  "diagrams/product-voip_softphone.dot", "_x/Y_9"])
def test_a_safe_name_is_accepted(name):
    _artefacts.check_names([name])


def test_a_name_that_is_also_a_folder_is_refused(tmp_path):
    with pytest.raises(VoiceopsError, match="also the folder of another file"):
        _artefacts.sync(str(tmp_path / "out"), {"edge": "x\n", "edge/a.nft": "y\n"}, check_mode=False)
    assert not (tmp_path / "out").exists()


def test_an_edge_host_with_dot_dots_writes_nothing_outside(tmp_path):
    """What render makes of an edge named ``../../../escaped``: refused, not written next to the folder."""
    out = tmp_path / "a" / "b" / "out"
    with pytest.raises(VoiceopsError, match=r"'edge/\.\./\.\./\.\./escaped\.nft'"):
        _artefacts.sync(str(out), {"plan.json": "{}\n", "edge/../../../escaped.nft": "table\n",
                                   "edge/../../../escaped.json": "{}\n"}, check_mode=False)
    assert not list(tmp_path.rglob("*"))  # not even the output folder


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_linked_subfolder_is_refused_and_not_followed(tmp_path, check_mode):
    outside = tmp_path / "outside"
    make(outside, {"edge01.nft": "not ours\n"})
    out = tmp_path / "out"
    make(out, {"plan.json": "old plan\n"})
    (out / "edge").symlink_to(outside, target_is_directory=True)
    before = snapshot(tmp_path)
    with pytest.raises(VoiceopsError, match=r"edge: is a symbolic link"):
        _artefacts.sync(str(out), NEW, check_mode=check_mode)
    assert snapshot(tmp_path) == before


def test_a_linked_file_is_refused_and_not_read_or_replaced(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("outside the output folder\n")
    out = tmp_path / "out"
    make(out, {"flows.md": "old\n"})
    (out / "plan.json").symlink_to(secret)
    before = snapshot(tmp_path)
    with pytest.raises(VoiceopsError, match=r"plan.json: is a symbolic link"):
        _artefacts.sync(str(out), {"flows.md": "new\n", "plan.json": "new plan\n"}, check_mode=False)
    assert snapshot(tmp_path) == before


def test_the_output_folder_itself_may_be_reached_through_a_link(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "via").symlink_to(real, target_is_directory=True)
    _artefacts.sync(str(tmp_path / "via"), NEW, check_mode=False)
    assert contents(real) == expected_after({}, NEW)


def test_a_folder_in_place_of_a_file_is_refused(tmp_path):
    out = tmp_path / "out"
    make(out, {"plan.json/inside": "x\n", "flows.md": "old\n"})
    before = snapshot(out)
    with pytest.raises(VoiceopsError, match=r"plan.json: exists and is not a regular file"):
        _artefacts.sync(str(out), {"flows.md": "new\n", "plan.json": "{}\n"}, check_mode=False)
    assert snapshot(out) == before


def _as_nobody(func: Callable[[], None]) -> str:
    """Run ``func`` in a child process as user nobody (root ignores file modes); its error or ''."""
    nobody = pwd.getpwnam("nobody")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        message = ""
        try:
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            func()
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            message = "%s: %s" % (type(exc).__name__, exc) or "error"
        os.write(write, message.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        message = pipe.read().decode()
    os.waitpid(pid, 0)
    return message


@pytest.mark.parametrize("read_only", ["edge", ""])
def test_a_folder_it_may_not_write_leaves_everything_as_it_was(read_only):
    """``edge/`` (or the whole output folder) read-only: plan.json is written first, so it must come back."""
    base = Path(tempfile.mkdtemp(prefix="voiceops-ro-", dir="/tmp"))
    try:
        os.chmod(base, 0o755)
        out = base / "out"
        make(out, OLD)
        if os.geteuid() == 0:  # root writes anyway: the writer runs as nobody, who owns all but the read-only folder
            nobody = pwd.getpwnam("nobody")
            for path in [out, *out.rglob("*")]:
                os.chown(path, nobody.pw_uid, nobody.pw_gid)
            os.chown(out / read_only, 0, 0)
        else:
            os.chmod(out / read_only, 0o555)
        before = snapshot(out)

        def write() -> None:
            _artefacts.sync(str(out), NEW, check_mode=False)

        message = _as_nobody(write) if os.geteuid() == 0 else _run_here(write)
        os.chmod(out / read_only, 0o755)
        assert snapshot(out) == before
        assert message.startswith("VoiceopsError: "), message
        assert "Permission denied" in message and "no file was changed" in message
    finally:
        shutil.rmtree(base)


def _run_here(func: Callable[[], None]) -> str:
    try:
        func()
    except Exception as exc:  # noqa: BLE001 - same report as _as_nobody
        return "%s: %s" % (type(exc).__name__, exc)
    return ""


def test_check_mode_creates_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    make(out, OLD)
    before = snapshot(out)
    entries = _artefacts.sync(str(out), NEW, check_mode=True)
    assert [e["name"] for e in entries if e["changed"]] == [
        "plan.json", "edge/edge01.nft", "edge/edge02.nft", "edge/edge02.json", "diagrams/estate.dot", "deep/er/file.md"]
    assert snapshot(out) == before


def test_unchanged_files_keep_their_inode_and_mtime(tmp_path):
    out = tmp_path / "out"
    make(out, OLD)
    before = snapshot(out)
    _artefacts.sync(str(out), NEW, check_mode=False)
    after = snapshot(out)
    for name in ("flows.md", "edge/edge01.json", "notes.txt", "diagrams/estate.svg"):
        assert after[name] == before[name]
    assert not [name for name in after if ".voiceops-" in name]


names = st.sampled_from(["plan.json", "flows.md", "edge/a.nft", "edge/b.nft", "diagrams/x.dot", "deep/er/f"])
texts = st.sampled_from(["", "one\n", "two\n", "\u00e9t\u00e9\n"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(old=st.dictionaries(names, texts, max_size=6), new=st.dictionaries(names, texts, min_size=1, max_size=6),
       target=st.sampled_from(FAULTY), k=st.integers(1, 30))
def test_property_all_or_nothing(old, new, target, k):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        if old:
            make(out, old)
        before = snapshot(out)
        failed = run_with_fault(out, new, target, k)
        if failed:
            assert snapshot(out) == before
            assert_refused(failed)
        else:
            assert contents(out) == expected_after(old, new)
            assert sorted(contents(out)) == sorted(set(old) | set(new))


def _run_action(output_dir: Path, files: dict[str, str], sync: Any = None) -> dict[str, Any]:
    """voiceops.firewall.plan's run() with the planning stubbed out: only its write step is real."""
    from unittest import mock

    from ansible.parsing.dataloader import DataLoader
    from ansible.playbook.play_context import PlayContext
    from ansible.playbook.task import Task
    from ansible.template import Templar

    from ansible_collections.voiceops.firewall.plugins.action import plan as action

    task = Task.load({"action": "voiceops.firewall.plan", "args": {"output_dir": str(output_dir), "return_plan": False}})
    loader = DataLoader()
    module = action.ActionModule(task, connection=mock.Mock(), play_context=PlayContext(), loader=loader,
                                 templar=Templar(loader), shared_loader_obj=None)
    outcome = action._pipeline.Outcome(plan={"summary": {}, "warnings": []}, findings=[], fail_on="high", blocking=[], files=files)
    with mock.patch.object(action._pipeline, "run", return_value=outcome), \
            mock.patch.object(action._artefacts, "sync", sync or _artefacts.sync):
        return module.run(task_vars={})


def test_the_action_reports_a_bad_name_as_failed_and_writes_nothing(tmp_path):
    """The review's case: a NUL in a product id raised ValueError after two files were written."""
    out = tmp_path / "out"
    make(out, OLD)
    before = snapshot(out)
    result = _run_action(out, {"plan.json": "new\n", "flows.md": "new\n", "diagrams/product-a\x00b.dot": "digraph {}\n"})
    assert snapshot(out) == before
    assert result["failed"] and not result["changed"]
    assert result["msg"].startswith("voiceops.firewall.plan: output_dir: %s: unsafe output file name " % out)
    assert "'diagrams/product-a\\x00b.dot'" in result["msg"]


@pytest.mark.parametrize("exc", [ValueError("embedded null byte"), OSError(errno.ENOSPC, "No space left on device"),
                                 VoiceopsError("edge: exists and is not a folder; move it away"), KeyError("x")])
def test_the_action_turns_any_failure_of_the_writer_into_a_failed_result(tmp_path, exc):
    def sync(*args: Any, **kwargs: Any) -> Any:
        raise exc

    result = _run_action(tmp_path / "out", {"plan.json": "{}\n"}, sync)
    assert result["failed"] and not result["changed"]
    assert result["msg"].startswith("voiceops.firewall.plan: output_dir: %s: " % (tmp_path / "out"))
    assert (exc.message if isinstance(exc, VoiceopsError) else type(exc).__name__) in result["msg"]
