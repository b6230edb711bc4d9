#!/usr/bin/env bash
# Run the plan through ansible-runner (the engine under AWX) from the private data directory in
# runner/, against the installed Galaxy artefact, and check its artifacts:
#
#   - `ansible-runner run <copy of runner/> -p plan.yml --ident plan` exits 0;
#   - artifacts/plan/rc is 0 and artifacts/plan/status is "successful";
#   - artifacts/plan/stdout holds the play output, with the PLAY RECAP;
#   - artifacts/plan/job_events/ holds the runner_on_ok event of the task "Compute the plan and write its files"
#     (action voiceops.firewall.plan, on localhost, with the plan's summary) and a
#     playbook_on_stats event without failures;
#   - artifacts/plan/plan/ (the plan output, see runner/project/plan.yml) equals
#     tests/golden/example/ file for file (plan.json, flows.md, edge/*).
#
# runner/ is copied to a scratch folder with its inventory links resolved, so the repository never
# gets an artifacts/ folder. Usage: scripts/runner_check.sh (KEEP=1 keeps the scratch folder).
# Needs: .venv with ansible-runner (requirements-test.txt). Takes about 10 s.
set -euo pipefail

# shellcheck source=scripts/check_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/check_common.sh"
check_start runner ansible-galaxy ansible-runner ansible-playbook python

mkdir -p "$work/home" "$work/collections"
printf '[defaults]\nretry_files_enabled = False\nnocows = True\n' >"$work/ansible.cfg"
export ANSIBLE_CONFIG="$work/ansible.cfg" ANSIBLE_HOME="$work/home"
export ANSIBLE_COLLECTIONS_PATH="$work/collections" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
unset ANSIBLE_INVENTORY ANSIBLE_STDOUT_CALLBACK || true
export PATH="$venv_bin:$PATH"

# The collection comes from the artefact, as in an execution environment.
if [ -z "$tarball" ]; then
    ansible-galaxy collection build --output-path "$work/dist" "$repo_root" >/dev/null
    tarball="$(find "$work/dist" -maxdepth 1 -name 'voiceops-firewall-*.tar.gz' -print -quit)"
fi
[ -f "$tarball" ] || { echo "error: no artefact" >&2; exit 1; }
ansible-galaxy collection install --offline "$tarball" -p "$work/collections" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; echo "error: install failed" >&2; exit 1; }

pdd="$work/runner"
cp -rL "$repo_root/runner" "$pdd"
rm -rf "$pdd/artifacts"
log "ansible-runner run <copy of runner/> -p plan.yml --ident plan (collection: $(basename "$tarball"))"
rc=0
( cd "$work" && ansible-runner run "$pdd" -p plan.yml --ident plan ) >"$work/runner.out" 2>&1 || rc=$?
art="$pdd/artifacts/plan"
if [ "$rc" -ne 0 ]; then
    tail -40 "$work/runner.out" >&2
    bad "ansible-runner run exited $rc"
fi
[ -d "$art" ] || { echo "error: no artifacts folder $art" >&2; exit 1; }

[ "$(cat "$art/rc" 2>/dev/null)" = 0 ] || bad "artifacts/plan/rc is '$(cat "$art/rc" 2>/dev/null)', not 0"
[ "$(cat "$art/status" 2>/dev/null)" = successful ] || bad "artifacts/plan/status is '$(cat "$art/status" 2>/dev/null)', not successful"
if [ ! -s "$art/stdout" ]; then
    bad "artifacts/plan/stdout is missing or empty"
elif ! grep -q 'PLAY RECAP' "$art/stdout" || ! grep -q 'TASK \[Compute the plan and write its files\]' "$art/stdout"; then
    bad "artifacts/plan/stdout lacks the plan task or the PLAY RECAP"
fi
python - "$art/job_events" <<'PY' || bad "job_events do not show the plan task and a clean run"
import json
import pathlib
import sys

events = []
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    events.append(json.loads(path.read_text()))
if not events:
    sys.exit("no job events")
ok = [e for e in events if e.get("event") == "runner_on_ok"
      and e.get("event_data", {}).get("task") == "Compute the plan and write its files"]
if len(ok) != 1:
    sys.exit("expected one runner_on_ok event of 'Compute the plan and write its files', found %d" % len(ok))
data = ok[0]["event_data"]
if data.get("resolved_action") != "voiceops.firewall.plan" or data.get("host") != "localhost":
    sys.exit("plan event: action %r on %r" % (data.get("resolved_action"), data.get("host")))
summary = (data.get("res") or {}).get("summary") or {}
if not summary.get("flows"):
    sys.exit("plan event has no flow count in res.summary: %r" % summary)
stats = [e for e in events if e.get("event") == "playbook_on_stats"]
if len(stats) != 1 or any(stats[0]["event_data"].get(k) for k in ("failures", "dark")):
    sys.exit("playbook_on_stats missing or with failures/unreachable hosts")
names = sorted({e.get("event") for e in events})
print("==> job_events: %d events (%s); plan task: %s flows" % (len(events), ", ".join(names), summary["flows"]))
PY

golden="${GOLDEN:-$repo_root/tests/golden/example}"
[ -s "$art/plan/plan.json" ] || bad "artifacts/plan/plan/plan.json was not written"
while IFS= read -r rel; do
    if ! diff -u "$golden/$rel" "$art/plan/$rel" >"$work/golden.diff" 2>&1; then
        head -30 "$work/golden.diff" >&2
        bad "artifacts/plan/plan/$rel differs from tests/golden/example/$rel"
    fi
done < <(cd "$golden" && find . -type f ! -name "*.actual" | sed 's#^\./##' | sort)
if [ -e "$repo_root/runner/artifacts" ]; then
    bad "runner/artifacts exists in the repository (delete it; it is not source)"
fi

if [ "$fail" -ne 0 ]; then
    echo "runner check: FAILED" >&2
    exit 1
fi
log "plan output in the job artifacts equals tests/golden/example"
log "runner check: passed"
