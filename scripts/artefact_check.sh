#!/usr/bin/env bash
# Build the Galaxy artefact of voiceops.firewall and use it the way a user would, offline:
#
#   1. `ansible-galaxy collection build` into a scratch folder (or take ARTEFACT=<tarball>);
#   2. inspect its file list: fail on junk (virtualenvs, caches, test and build output, VCS
#      folders, tarballs, tool folders) and on missing essentials (catalog, meta, EE files);
#   3. install it with `ansible-galaxy collection install <tarball> -p <empty dir>` (it has no
#      dependencies, so Galaxy is never contacted) and `ansible-galaxy collection verify --offline`;
#   4. with ONLY that collections path (no repo, no .collections link, no ~/.ansible), run
#      ansible-doc on every module, filter and role the artefact ships, and check that ansible-doc
#      lists exactly those;
#   5. run the collection playbook `voiceops.firewall.plan` from the installed copy against the
#      installed copy of inventories/example, and compare everything it writes with
#      tests/golden/example/ (plan.json, flows.md, edge/*).
#
# Usage: scripts/artefact_check.sh            (KEEP=1 keeps the scratch folder and prints it)
# Needs: .venv (scripts/setup.sh). Takes about 15 s.
set -euo pipefail

# shellcheck source=scripts/check_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/check_common.sh"
check_start artefact ansible-galaxy ansible-doc ansible-playbook

# Nothing from the developer's environment may leak in: no ansible.cfg, no collections path, no
# ~/.ansible, no collections on sys.path. The installed artefact is the only collection.
mkdir -p "$work/home" "$work/collections" "$work/out" "$work/cwd"
printf '[defaults]\nretry_files_enabled = False\nnocows = True\n' >"$work/ansible.cfg"
export ANSIBLE_CONFIG="$work/ansible.cfg"
export ANSIBLE_HOME="$work/home"
export ANSIBLE_COLLECTIONS_PATH="$work/collections"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export ANSIBLE_LOCAL_TEMP="$work/home/tmp"
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_DEPRECATION_WARNINGS=false
unset ANSIBLE_COLLECTIONS_PATHS ANSIBLE_INVENTORY ANSIBLE_ROLES_PATH || true
export PATH="$venv_bin:$PATH"
cd "$work/cwd"

# --- 1. build -------------------------------------------------------------------------------------
if [ -n "${ARTEFACT:-}" ]; then
    log "using artefact $tarball"
else
    log "ansible-galaxy collection build"
    ansible-galaxy collection build --output-path "$work/dist" "$repo_root" >/dev/null
    tarball="$(find "$work/dist" -maxdepth 1 -name 'voiceops-firewall-*.tar.gz' -print -quit)"
fi
[ -f "$tarball" ] || { echo "error: no artefact built" >&2; exit 1; }
log "artefact: $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB, $(tar -tzf "$tarball" | grep -vc '/$') files)"

# --- 2. file list -----------------------------------------------------------------------------------
tar -tzf "$tarball" | sed 's#^\./##' | sort >"$work/files.txt"
# Junk: any path component, or a path prefix, matching these extended regexps.
junk_re='(^|/)(\.venv|venv|\.tox|\.nox|\.git|\.svn|\.hg|\.collections|\.ansible|\.cache|\.pytest_cache|\.hypothesis|\.mypy_cache|\.ruff_cache|\.idea|\.vscode|__pycache__|node_modules|[^/]+\.egg-info)(/|$)'
junk_re+='|^(tests/output|output|build|dist|context|_build|runner/artifacts|scripts|\.ci)(/|$)'
junk_re+='|\.(pyc|pyo|retry|swp|orig|rej|tar\.gz|whl)$|~$|(^|/)\.DS_Store$|(^|/)(Makefile|ansible\.cfg|\.coverage)$'
if grep -E "$junk_re" "$work/files.txt" >"$work/junk.txt"; then
    bad "the artefact contains files that do not belong in it (add them to build_ignore in galaxy.yml):"
    sed 's/^/    /' "$work/junk.txt" >&2
fi
for must in MANIFEST.json FILES.json README.md meta/runtime.yml meta/execution-environment.yml \
    requirements-ee.txt bindep.txt playbooks/plan.yml plugins/modules/plan.py \
    changelogs/changelog.yaml inventories/example/hosts.yml; do
    grep -qx "$must" "$work/files.txt" || bad "the artefact lacks $must"
done
# The catalog is read from <collection root>/catalog at run time (plugin_utils/_catalog.py).
for cat_file in "$repo_root"/catalog/*.yml; do
    grep -qx "catalog/$(basename "$cat_file")" "$work/files.txt" || bad "the artefact lacks catalog/$(basename "$cat_file")"
done

# --- 3. install ------------------------------------------------------------------------------------
log "ansible-galaxy collection install <artefact> -p <empty dir>"
ansible-galaxy collection install --offline "$tarball" -p "$work/collections" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; echo "error: install failed" >&2; exit 1; }
installed="$work/collections/ansible_collections/voiceops/firewall"
[ -f "$installed/MANIFEST.json" ] || { echo "error: $installed/MANIFEST.json missing after install" >&2; exit 1; }
ansible-galaxy collection verify --offline -p "$work/collections" voiceops.firewall >"$work/verify.log" 2>&1 ||
    { cat "$work/verify.log" >&2; bad "ansible-galaxy collection verify --offline"; }
# Only the artefact may be visible.
ansible-galaxy collection list --format json >"$work/list.json" 2>/dev/null
"$venv_bin/python" - "$work/list.json" "$work/collections/ansible_collections" <<'PY' || bad "collections visible besides the installed artefact"
import json, sys
seen = json.load(open(sys.argv[1]))
# ansible-core 2.19 ships its own internal collection (ansible._protomatter) inside its package.
others = {path: cols for path, cols in seen.items()
          if path != sys.argv[2] and cols and not path.endswith("/ansible/_internal/ansible_collections")}
if others or "voiceops.firewall" not in seen.get(sys.argv[2], {}):
    print("collection list:", json.dumps(seen, indent=1), file=sys.stderr)
    sys.exit(1)
PY

# --- 4. ansible-doc on every module, filter, role and lookup --------------------------------------------------
# What the artefact ships (expected) ...
expected() {
    case "$1" in
        module) sed -n 's#^plugins/modules/\([^_/][^/]*\)\.py$#\1#p' "$work/files.txt" ;;
        filter) sed -n 's#^plugins/filter/\([^_/][^/]*\)\.yml$#\1#p' "$work/files.txt" ;;
        role) sed -n 's#^roles/\([^/]*\)/meta/argument_specs\.yml$#\1#p' "$work/files.txt" ;;
        lookup) sed -n 's#^plugins/lookup/\([^_/][^/]*\)\.py$#\1#p' "$work/files.txt" ;;
    esac | sort -u
}
# ... equals what ansible-doc lists from the installed copy, none is UNDOCUMENTED, and each one
# documents. (A filter documented only in its .py file would show up as listed, not shipped.)
for kind in module filter role lookup; do
    expected "$kind" >"$work/expected.$kind"
    if ! ansible-doc -t "$kind" -l voiceops.firewall >"$work/listed.$kind.raw" 2>"$work/listed.$kind.err"; then
        cat "$work/listed.$kind.err" >&2
        bad "ansible-doc -t $kind -l voiceops.firewall"
    fi
    # modules and filters: "voiceops.firewall.NAME  description"; roles: "voiceops.firewall.NAME:"
    sed -n 's#^voiceops\.firewall\.\([A-Za-z0-9_]*\)\([[:space:]:].*\)\{0,1\}$#\1#p' \
        "$work/listed.$kind.raw" | sort -u >"$work/listed.$kind"
    if grep -E '^voiceops\.firewall\.[A-Za-z0-9_]+[[:space:]]+UNDOCUMENTED' "$work/listed.$kind.raw" >"$work/undoc.$kind"; then
        bad "ansible-doc -t $kind -l: UNDOCUMENTED in the artefact:"
        sed 's/^/    /' "$work/undoc.$kind" >&2
    fi
    if ! diff -u "$work/expected.$kind" "$work/listed.$kind" >"$work/diff.$kind"; then
        bad "ansible-doc -t $kind -l voiceops.firewall does not list what the artefact ships (- shipped, + listed):"
        sed 's/^/    /' "$work/diff.$kind" >&2
    fi
    if grep -qi 'warning' "$work/listed.$kind.err"; then
        sed 's/^/    /' "$work/listed.$kind.err" >&2
        bad "ansible-doc -t $kind -l voiceops.firewall warned"
    fi
    count=0
    while IFS= read -r name; do
        [ -n "$name" ] || continue
        count=$((count + 1))
        if ! ansible-doc -t "$kind" "voiceops.firewall.$name" >"$work/doc.$kind.$name" 2>"$work/doc.$kind.$name.err"; then
            sed 's/^/    /' "$work/doc.$kind.$name.err" >&2
            bad "ansible-doc -t $kind voiceops.firewall.$name"
        elif grep -qiE '\[(warning|error)\]|^error' "$work/doc.$kind.$name.err"; then
            sed 's/^/    /' "$work/doc.$kind.$name.err" >&2
            bad "ansible-doc -t $kind voiceops.firewall.$name warned"
        elif ! grep -q "$installed" "$work/doc.$kind.$name" && [ "$kind" != role ]; then
            bad "ansible-doc -t $kind voiceops.firewall.$name did not document the installed copy"
        fi
    done < <(sort -u "$work/expected.$kind" "$work/listed.$kind")
    log "ansible-doc -t $kind: $count from the installed copy: $(sort -u "$work/expected.$kind" "$work/listed.$kind" | tr '\n' ' ')"
    [ "$count" -gt 0 ] || bad "no $kind found in the artefact"
done

# --- 5. the plan playbook from the installed copy --------------------------------------------------------
log "ansible-playbook voiceops.firewall.plan -i <installed>/inventories/example"
if ansible-playbook voiceops.firewall.plan -i "$installed/inventories/example" \
    -e "voiceops_output_dir=$work/out/example" >"$work/plan.log" 2>&1; then
    if [ -n "$(find "$installed" -newer "$work/install.log" -type f -print -quit)" ]; then
        bad "the plan playbook wrote into the installed collection: $(find "$installed" -newer "$work/install.log" -type f | head -3)"
    fi
    golden="${GOLDEN:-$repo_root/tests/golden/example}"
    # Every golden file must be written identically (the playbook may write more files).
    golden_fail=0
    while IFS= read -r rel; do
        if ! diff -u "$golden/$rel" "$work/out/example/$rel" >"$work/golden.diff" 2>&1; then
            head -30 "$work/golden.diff" >&2
            bad "plan output $rel from the installed artefact differs from tests/golden/example/$rel"
            golden_fail=1
        fi
    done < <(cd "$golden" && find . -type f ! -name "*.actual" | sed 's#^\./##' | sort)
    [ "$golden_fail" = 1 ] || log "plan output equals tests/golden/example: $(cd "$golden" && find . -type f ! -name "*.actual" | sed 's#^\./##' | sort | tr '\n' ' ')"
else
    tail -40 "$work/plan.log" >&2
    bad "ansible-playbook voiceops.firewall.plan failed"
fi

if [ "$fail" -ne 0 ]; then
    echo "artefact check: FAILED" >&2
    exit 1
fi
log "artefact check: passed"
