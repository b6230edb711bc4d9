# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the user waits for, at 100, 1,000 and 10,000 hosts (issue 13): ``benchmarks/run.sh --apply``.

Per size, on the generated estate of ``benchmarks/estate.py`` (its inventory written as YAML, and
with ``--json-vars`` as JSON too), it prints:

* floor: ``ansible-playbook`` with the same inventory and one no-op task on localhost (what
  Ansible itself costs to load the inventory and run a play), wall time and peak memory;
* plan: ``playbooks/plan.yml`` (every file but the diagrams), wall time, peak memory, and its
  ratio to the floor; once into an empty folder and once more (nothing changes);
* windows: the ``windows_firewall`` role through ``playbooks/apply.yml`` with ``voiceops_plan_dir``
  (the plan above) against the simulated Windows hosts of ``tests/functional/windows``: the wall
  time to apply every Windows host of the estate (a first apply: every rule added) with
  ``--forks``, and the controller CPU per host (user + system of every process of the run,
  less a run that applies one host, over the other hosts). The simulated host answers inside
  the controller's worker process, so its work is counted as controller CPU (an overstatement);
* edge (``--edge``, as root, with ``nft`` and ``unshare``): the ``edge_firewall`` role in check mode
  on this machine over a local connection (the table is validated in a scratch network
  namespace, nothing is applied), wall and CPU.

Peak memory is the largest resident set of any process of the run (``wait4``'s ``ru_maxrss``).
Figures, not assertions: compare runs on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "functional"))

import estate as generator  # noqa: E402

FAKE = REPO / "tests" / "functional" / "windows" / "fake_windows_host.py"
NOOP = "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - ansible.builtin.debug: {msg: floor}\n"


def env() -> dict[str, str]:
    from test_plan_playbook import ansible_env

    return ansible_env()


def measure(cmd: list[str], extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """Wall time, CPU (user + system of the process and every descendant it waited for) and peak RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=dict(env(), **(extra_env or {})), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(cmd[:4]), rc, out[-4000:]))
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mib": usage.ru_maxrss / 1024}


def playbook_bin() -> str:
    return str(Path(sys.executable).parent / "ansible-playbook")


def json_inventory(src: Path, dst: Path) -> None:
    """The same inventory with every variables file written as JSON (``group_vars/all/endpoints.json``...)."""
    import yaml

    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    for path in list(dst.rglob("*.yml")):
        if path.name == "hosts.yml":
            continue
        data = yaml.safe_load(path.read_text())
        path.with_suffix(".json").write_text(json.dumps(data))
        path.unlink()


def bench_size(size: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    row: dict[str, Any] = {"size": size}
    est = generator.generate(size, args.seed)
    inventories = {"yaml": work / ("inventory-%d" % size)}
    shutil.rmtree(inventories["yaml"], ignore_errors=True)
    generator.write_inventory(est, inventories["yaml"])
    if args.json_vars:
        inventories["json"] = work / ("inventory-%d-json" % size)
        json_inventory(inventories["yaml"], inventories["json"])
    windows = est.windows_hosts()
    row.update(hosts=est.count, windows_hosts=len(windows))
    noop = work / "noop.yml"
    noop.write_text(NOOP)

    for kind, inv in inventories.items():
        floor = measure([playbook_bin(), "-i", str(inv), str(noop)])
        out = work / ("plan-%d-%s" % (size, kind))
        shutil.rmtree(out, ignore_errors=True)
        plan_cmd = [playbook_bin(), "-i", str(inv), str(REPO / "playbooks" / "plan.yml"), "-e", "voiceops_output_dir=%s" % out,
                    "-e", "voiceops_plan_diagrams=false"]
        fresh = measure(plan_cmd)
        again = measure(plan_cmd)
        row[kind] = {"floor": floor, "plan_fresh": fresh, "plan_again": again,
                     "ratio_fresh": fresh["wall_s"] / floor["wall_s"], "ratio_again": again["wall_s"] / floor["wall_s"]}
        print("  %d hosts, %s variables: floor %.1f s (%.0f MiB); plan.yml %.1f s (%.0f MiB) = %.2fx, again %.1f s = %.2fx"
              % (size, kind, floor["wall_s"], floor["peak_mib"], fresh["wall_s"], fresh["peak_mib"], row[kind]["ratio_fresh"],
                 again["wall_s"], row[kind]["ratio_again"]), file=sys.stderr, flush=True)

    plan_dir = work / ("plan-%d-yaml" % size)
    apply_cmd = [sys.executable, str(FAKE), "-i", str(inventories["yaml"]), str(REPO / "playbooks" / "apply.yml"),
                 "-e", "voiceops_plan_dir=%s" % plan_dir, "-e", "voiceops_apply_edges=no_edge_here", "-f", str(args.forks)]

    def windows_run(limit: str | None) -> dict[str, Any]:
        state = work / "winstate"
        shutil.rmtree(state, ignore_errors=True)
        state.mkdir()
        cmd = apply_cmd + (["--limit", "localhost,%s" % limit] if limit else [])
        return measure(cmd, {"VOICEOPS_FAKE_WINDOWS_STATE": str(state)})

    one = windows_run(windows[0])
    every = windows_run(None)
    row["windows"] = {"one": one, "every": every, "forks": args.forks,
                      "cpu_per_host_s": (every["cpu_s"] - one["cpu_s"]) / max(1, len(windows) - 1)}
    print("  %d hosts: windows role, %d Windows hosts, forks %d: %.1f s wall, %.3f s controller CPU per host (peak %.0f MiB)"
          % (size, len(windows), args.forks, every["wall_s"], row["windows"]["cpu_per_host_s"], every["peak_mib"]),
          file=sys.stderr, flush=True)

    if args.edge:
        edge = est.edges and sorted(est.edges)[0] or "edge01"
        edge_cmd = [playbook_bin(), "-i", str(inventories["yaml"]), str(REPO / "playbooks" / "apply.yml"), "--check",
                    "-e", "voiceops_plan_dir=%s" % plan_dir, "-e", "voiceops_apply_windows=no_windows_here",
                    "-e", "ansible_connection=local", "-e", "ansible_python_interpreter=%s" % sys.executable,
                    "-e", "ansible_become=false", "-e", "edge_firewall_check_interfaces=false", "--limit", "localhost,%s" % edge]
        row["edge"] = measure(edge_cmd)
        print("  %d hosts: edge role (check mode, %s): %.1f s wall, %.1f s CPU" % (size, edge, row["edge"]["wall_s"], row["edge"]["cpu_s"]),
              file=sys.stderr, flush=True)
    return row


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| hosts | Windows hosts | inventory | floor s | plan.yml s (again) | x floor (again) | plan peak MiB |",
             "|---:|---:|---|---:|---:|---:|---:|"]
    for row in rows:
        for kind in ("yaml", "json"):
            if kind in row:
                r = row[kind]
                lines.append("| %d | %d | %s | %.1f | %.1f (%.1f) | %.2f (%.2f) | %.0f |" % (
                    row["hosts"], row["windows_hosts"], kind, r["floor"]["wall_s"], r["plan_fresh"]["wall_s"], r["plan_again"]["wall_s"],
                    r["ratio_fresh"], r["ratio_again"], r["plan_fresh"]["peak_mib"]))
    lines += ["", "| hosts | Windows hosts | forks | apply all, wall s | controller CPU per host s | peak MiB | edge role (check) wall s |",
              "|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        w = row["windows"]
        lines.append("| %d | %d | %d | %.1f | %.3f | %.0f | %s |" % (
            row["hosts"], row["windows_hosts"], w["forks"], w["every"]["wall_s"], w["cpu_per_host_s"], w["every"]["peak_mib"],
            "%.1f" % row["edge"]["wall_s"] if "edge" in row else "-"))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--forks", type=int, default=5)
    parser.add_argument("--json-vars", action="store_true", help="also measure the inventory with its variables as JSON")
    parser.add_argument("--edge", action="store_true", help="also run the edge role in check mode on this machine (root)")
    parser.add_argument("--work", default=os.environ.get("BENCH_WORK", str(BENCH / ".work")))
    parser.add_argument("--json", help="also write the rows as JSON here")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    print("machine: %s, %d CPUs, Python %s" % (platform.platform(), os.cpu_count() or 0, platform.python_version()))
    rows = [bench_size(int(size), args, work) for size in args.sizes.split(",")]
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
