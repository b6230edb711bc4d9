#!/usr/bin/env bash
# Check the execution environment support of voiceops.firewall without a container engine:
#
#   1. build the artefact (or take ARTEFACT=<tarball>) and write the EE definition documented in
#      docs/execution-environment.md (the yaml block after the "ee-definition" marker);
#   2. `ansible-builder create` (writes the build context only: no podman/docker needed) and
#      inspect the context: Containerfile stages, the galaxy requirements naming the artefact, the
#      artefact itself, ansible-core and ansible-runner, introspection and bindep install steps;
#   3. do what the image build does next, on this machine: install the collection from the
#      context's _build/requirements.yml (the galaxy stage) and run the context's own
#      _build/scripts/introspect.py over it (the builder stage). The merged Python requirements
#      must name jmespath and pywinrm (and not ansible-core or PyYAML, which the image has), the
#      system requirements openssh-client(s) and nftables; bindep must parse them, and the lower
#      bounds must admit the versions the tests run with (requirements.txt).
#
# Usage: scripts/ee_check.sh            (KEEP=1 keeps the scratch folder and prints it)
# Needs: .venv with ansible-builder (requirements-test.txt). Takes about 3 s.
set -euo pipefail

# shellcheck source=scripts/check_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/check_common.sh"
check_start ee ansible-galaxy ansible-builder bindep python

mkdir -p "$work/home" "$work/ee" "$work/collections"
printf '[defaults]\nretry_files_enabled = False\n' >"$work/ansible.cfg"
export ANSIBLE_CONFIG="$work/ansible.cfg" ANSIBLE_HOME="$work/home" ANSIBLE_NOCOLOR=1
export ANSIBLE_COLLECTIONS_PATH="$work/collections" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export PATH="$venv_bin:$PATH"

# --- 1. artefact and definition -------------------------------------------------------------------------
if [ -z "$tarball" ]; then
    ansible-galaxy collection build --output-path "$work/dist" "$repo_root" >/dev/null
    tarball="$(find "$work/dist" -maxdepth 1 -name 'voiceops-firewall-*.tar.gz' -print -quit)"
fi
[ -f "$tarball" ] || { echo "error: no artefact" >&2; exit 1; }
cp "$tarball" "$work/ee/voiceops-firewall.tar.gz"
awk '/<!-- ee-definition/ {armed = 1; next}
     armed && /^```yaml/ {inside = 1; next}
     inside && /^```/ {exit}
     inside {print}' "$repo_root/docs/execution-environment.md" >"$work/ee/execution-environment.yml"
if ! grep -q '^version: 3' "$work/ee/execution-environment.yml"; then
    echo "error: no version 3 EE definition after the ee-definition marker in docs/execution-environment.md" >&2
    exit 1
fi
log "EE definition from docs/execution-environment.md, artefact $(basename "$tarball")"

# --- 2. ansible-builder create -------------------------------------------------------------------------------
ctx="$work/context"
( cd "$work/ee" && ansible-builder create -f execution-environment.yml -c "$ctx" \
    --output-filename Containerfile -v 1 ) >"$work/create.log" 2>&1 ||
    { cat "$work/create.log" >&2; echo "error: ansible-builder create failed" >&2; exit 1; }
log "ansible-builder create: $(find "$ctx" -type f | wc -l) files in the context"
cf="$ctx/Containerfile"
[ -f "$cf" ] || { echo "error: $cf not written" >&2; exit 1; }
expect_line() {  # expect_line <file> <fixed string> <what>
    grep -qF -- "$2" "$1" || bad "$3: '$2' not in ${1#"$work"/}"
}
# shellcheck disable=SC2016 # literal $VARS of the Containerfile
expect_line "$cf" 'FROM $EE_BASE_IMAGE AS base' "base stage"
# shellcheck disable=SC2016
expect_line "$cf" 'ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml' "galaxy stage"
expect_line "$cf" 'introspect.py introspect' "builder stage: collection requirements"
expect_line "$cf" '/output/scripts/install-from-bindep' "final stage: system and Python requirements"
expect_line "$cf" 'ansible-core>=2.19,<2.20' "ansible-core"
expect_line "$cf" 'ansible-runner>=2.4,<2.5' "ansible-runner"
expect_line "$ctx/_build/requirements.yml" 'collections/voiceops-firewall.tar.gz' "galaxy requirements"
if ! cmp -s "$tarball" "$ctx/_build/collections/voiceops-firewall.tar.gz"; then
    bad "the context does not carry the artefact as _build/collections/voiceops-firewall.tar.gz"
fi

# --- 3. galaxy stage and builder stage, here -------------------------------------------------------------------
( cd "$ctx/_build" && ansible-galaxy collection install --offline -r requirements.yml \
    --collections-path "$work/collections" ) >"$work/galaxy.log" 2>&1 ||
    { cat "$work/galaxy.log" >&2; echo "error: galaxy stage (collection install from the context) failed" >&2; exit 1; }
installed="$work/collections/ansible_collections/voiceops/firewall"
for f in meta/execution-environment.yml requirements-ee.txt bindep.txt; do
    [ -f "$installed/$f" ] || bad "the installed collection lacks $f"
done
python "$ctx/_build/scripts/introspect.py" introspect "$work/collections" \
    --write-pip "$work/requirements.txt" --write-bindep "$work/bindep.txt" >"$work/introspect.log" 2>&1 ||
    { cat "$work/introspect.log" >&2; echo "error: introspect.py failed" >&2; exit 1; }
touch "$work/requirements.txt" "$work/bindep.txt"
for want in jmespath pywinrm; do
    grep -qiE "^$want([<>=!~ ;\[]|$).*# from collection voiceops\.firewall" "$work/requirements.txt" ||
        bad "Python requirement $want not in the image's requirements"
done
for unwanted in ansible-core pyyaml; do
    if grep -qiE "^$unwanted([<>=!~ ;\[]|$)" "$work/requirements.txt"; then
        bad "Python requirement $unwanted would be installed again"
    fi
done
for want in 'openssh-client \[platform:dpkg\]' 'openssh-clients \[platform:rpm\]' 'nftables \[platform:dpkg platform:rpm\]'; do
    grep -qE "^$want.*# from collection voiceops\.firewall" "$work/bindep.txt" ||
        bad "system requirement '${want//\\/}' not in the image's bindep.txt"
done
log "image Python requirements: $(sed 's/ *#.*//' "$work/requirements.txt" | tr '\n' ' ')"
log "image system requirements: $(sed 's/ *#.*//' "$work/bindep.txt" | tr '\n' ';')"
# bindep must parse the merged file (this lists its packages for this platform).
sed 's/ *#.*//' "$work/bindep.txt" >"$work/bindep.clean"
if ! bindep -f "$work/bindep.clean" -l newline >"$work/bindep.out" 2>&1; then
    cat "$work/bindep.out" >&2
    bad "bindep cannot read the merged bindep.txt"
else
    log "bindep on this platform: $(tr '\n' ' ' <"$work/bindep.out")"
fi
# The lower bounds admit the versions the tests run with.
python - "$work/requirements.txt" "$repo_root/requirements.txt" <<'PY' || bad "requirements-ee.txt does not admit the tested versions in requirements.txt"
import re
import sys
from packaging.requirements import Requirement
pins = {}
for line in open(sys.argv[2]):
    m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s#;]+)", line.strip())
    if m:
        pins[m.group(1).lower().replace("_", "-")] = m.group(2)
ok = True
for line in open(sys.argv[1]):
    text = line.split("#", 1)[0].strip()
    if not text:
        continue
    req = Requirement(text)
    name = req.name.lower().replace("_", "-")
    if name not in pins:
        print("no tested pin for %s in requirements.txt" % name, file=sys.stderr)
        ok = False
    elif not req.specifier.contains(pins[name], prereleases=True):
        print("%s: tested version %s not within %s" % (name, pins[name], req.specifier), file=sys.stderr)
        ok = False
sys.exit(0 if ok else 1)
PY

if [ "$fail" -ne 0 ]; then
    echo "ee check: FAILED" >&2
    exit 1
fi
log "ee check: passed"
