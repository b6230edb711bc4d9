#!/usr/bin/env bash
# Run `ansible-test sanity` for voiceops.firewall without Galaxy, containers or ci-files access.
# See docs/development.md ("How sanity runs offline"). Extra arguments go to ansible-test,
# e.g. scripts/sanity.sh --test pylint -v
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
venv_bin="${VENV_BIN:-$repo_root/.venv/bin}"
python="$venv_bin/python"
ansible_test="$venv_bin/ansible-test"
if [ ! -x "$ansible_test" ]; then
    echo "error: $ansible_test not found; run scripts/setup.sh --test first" >&2
    exit 1
fi
export PATH="$venv_bin:$PATH"

# 1. ansible-test bootstraps pip into each per-test venv with get-pip.py, downloaded from
#    ci-files.testing.ansible.com unless ~/.ansible/test/cache/get_pip_<version>.py exists.
#    Put an equivalent there that uses the pip bundled with CPython (ensurepip) instead; the
#    pinned sanity requirements themselves then come from the package index (PyPI) as usual.
pip_version="$("$python" -c '
from ansible_test._internal.python_requirements import get_venv_packages
class Python:
    version = "3.11"
print(get_venv_packages(Python())["pip"])')"
get_pip="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
marker='voiceops.firewall offline get-pip'
if [ ! -f "$get_pip" ] || grep -q "$marker" "$get_pip"; then
    mkdir -p "$(dirname "$get_pip")"
    cat >"$get_pip.tmp" <<PY
"""${marker}: stand-in for get-pip.py, written by scripts/sanity.sh.

ansible-test runs it with get-pip.py arguments, e.g.
    --disable-pip-version-check pip==${pip_version} --no-setuptools --no-wheel
"""
import subprocess
import sys

args = sys.argv[1:]
no_setuptools = '--no-setuptools' in args
args = [a for a in args if a not in ('--no-setuptools', '--no-wheel')]
# In a subprocess: in-process, ensurepip sets PIP_CONFIG_FILE=/dev/null in os.environ, which
# would hide the pip configuration (index, certificates) from the install below.
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade'])
pip = [sys.executable, '-m', 'pip']
subprocess.check_call(pip + ['install'] + args)
if no_setuptools:
    subprocess.check_call(pip + ['uninstall', '--yes', '--quiet', 'setuptools'])
PY
    mv "$get_pip.tmp" "$get_pip"
fi

# 2. ansible-test needs the real working directory to be .../ansible_collections/voiceops/firewall
#    and resolves symlinks (os.getcwd()), so the .collections symlink is not enough: copy the
#    files git would consider (tracked + untracked, minus .gitignore'd) into a scratch tree.
work="$(mktemp -d "${TMPDIR:-/tmp}/voiceops-firewall-sanity.XXXXXX")"
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/voiceops/firewall"
mkdir -p "$dest"
cd "$repo_root"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do
            # skip files deleted from the work tree but still in the index
            if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
        done |
        tar --null --no-recursion -T - -cf - | tar -xf - -C "$dest"
else
    tar --exclude=./.git --exclude=./.venv --exclude=./.collections --exclude=./.ansible \
        --exclude=./.cache --exclude=./output --exclude=./tests/output --exclude=.pytest_cache \
        --exclude=.hypothesis --exclude=__pycache__ -cf - . | tar -xf - -C "$dest"
fi

# 3. PowerShell. Debian has no pwsh package, so on a machine without PowerShell:
#    - pslint is skipped by ansible-test itself (it prints 'Running sanity test "pslint"', then
#      warns 'Required program "pwsh" not found', and counts it among the tests it ran);
#    - validate-modules would crash on the .ps1 files (it runs pwsh to read their argument spec),
#      so it runs separately with the .ps1 files excluded; the .py documentation files of the
#      Windows modules are still validated. With pwsh on PATH both run in full.
#    The summary at the end says which of them ran and on what.
# 4. PowerShell syntax, on every machine: scripts/parse_powershell.py parses every .ps1/.psm1
#    under plugins/, tests/ and roles/ with the tree-sitter PowerShell grammar (PyPI,
#    requirements-test.txt) and fails with file:line:column on any syntax error. It goes with
#    pslint's selection (runs unless --test leaves pslint out or --skip-test pslint is given) and
#    runs where pwsh exists too: it is a grammar check, not PowerShell's parser nor PSScriptAnalyzer.
common=(sanity --local --python 3.11)
if [ -n "${CI:-}" ]; then
    common+=(--color no)
fi
have_pwsh=0
if command -v pwsh >/dev/null 2>&1; then
    have_pwsh=1
fi
ps1_files=() ps1_excludes=()
while IFS= read -r -d '' f; do
    ps1_files+=("${f#./}")
done < <(cd "$dest" && find ./plugins -name '*.ps1' -print0 2>/dev/null | sort -z)
if [ "$have_pwsh" = 0 ]; then
    for f in "${ps1_files[@]}"; do
        ps1_excludes+=(--exclude "$f")
    done
fi

# The caller's selection (--test/--skip-test), to know which PowerShell checks are asked for.
selected_tests=() skipped_tests=() prev=
for a in "$@"; do
    case "$prev:$a" in
        --test:*) selected_tests+=("$a") ;;
        --skip-test:*) skipped_tests+=("$a") ;;
        *:--test=*) selected_tests+=("${a#--test=}") ;;
        *:--skip-test=*) skipped_tests+=("${a#--skip-test=}") ;;
    esac
    prev="$a"
done
selected() {  # selected NAME: does the caller's selection include the sanity test NAME?
    if [ "${#skipped_tests[@]}" -gt 0 ] && printf '%s\n' "${skipped_tests[@]}" | grep -qx "$1"; then
        return 1
    fi
    [ "${#selected_tests[@]}" -eq 0 ] || printf '%s\n' "${selected_tests[@]}" | grep -qx "$1"
}

rc=0
parse_result="not run (it goes with pslint, which the selection leaves out)"
if selected pslint; then
    echo 'Running PowerShell syntax check (tree-sitter-powershell: scripts/parse_powershell.py)'
    start=$(date +%s)
    if "$python" "$repo_root/scripts/parse_powershell.py"; then
        parse_result="passed"
    else
        parse_result="FAILED"
        rc=1
    fi
    parse_result="$parse_result in $(( $(date +%s) - start ))s"
fi

cd "$dest"
if [ "${#ps1_excludes[@]}" -eq 0 ]; then
    "$ansible_test" "${common[@]}" "$@" || rc=$?
else
    # Split the caller's --test selection: validate-modules vs. everything else.
    other=() tests=() want_vm=1 want_other=1 prev=
    for a in "$@"; do
        case "$prev:$a" in
            --test:*) tests+=("$a") ;;
            --skip-test:validate-modules) want_vm=0; other+=(--skip-test "$a") ;;
            --skip-test:*) other+=(--skip-test "$a") ;;
            *:--test | *:--skip-test) ;;
            *:--test=*) tests+=("${a#--test=}") ;;
            *:--skip-test=validate-modules) want_vm=0 ;;
            *) other+=("$a") ;;
        esac
        prev="$a"
    done
    if [ "${#tests[@]}" -gt 0 ]; then
        printf '%s\n' "${tests[@]}" | grep -qx validate-modules || want_vm=0
        printf '%s\n' "${tests[@]}" | grep -qvx validate-modules || want_other=0
    fi
    echo "pwsh not found: validate-modules runs without the .ps1 files; ansible-test skips pslint"
    if [ "$want_other" = 1 ]; then
        sel=()
        for t in "${tests[@]}"; do
            if [ "$t" != validate-modules ]; then sel+=(--test "$t"); fi
        done
        "$ansible_test" "${common[@]}" "${other[@]}" "${sel[@]}" --skip-test validate-modules || rc=$?
    fi
    if [ "$want_vm" = 1 ]; then
        "$ansible_test" "${common[@]}" "${other[@]}" --test validate-modules "${ps1_excludes[@]}" || rc=$?
    fi
fi

# Say plainly what ran of the PowerShell checks (ansible-test lists pslint as run even when it skipped it).
echo "PowerShell checks:"
echo "  syntax, every .ps1/.psm1 parsed with tree-sitter-powershell: $parse_result"
if [ "$have_pwsh" = 1 ]; then
    if selected pslint; then pslint_result="ran with $(command -v pwsh) (its result is above)"; else pslint_result="not selected"; fi
    if selected validate-modules; then vm_result="ran on every module, the .ps1 files included (result above)"; else vm_result="not selected"; fi
else
    if selected pslint; then pslint_result="NOT RUN: pwsh is not on PATH (ansible-test skipped it with a warning)"; else pslint_result="not selected"; fi
    if ! selected validate-modules; then
        vm_result="not selected"
    elif [ "${#ps1_files[@]}" -gt 0 ]; then
        vm_result="ran WITHOUT ${ps1_files[*]} (pwsh is not on PATH: the argument specs of the .ps1 files were not validated)"
    else
        vm_result="ran on every module (there is no .ps1 module)"
    fi
fi
echo "  pslint (PSScriptAnalyzer): $pslint_result"
echo "  validate-modules: $vm_result"

# Keep ansible-test's reports (tests/output) next to the sources for inspection.
if [ -d "$dest/tests/output" ]; then
    rm -rf "$repo_root/tests/output"
    mkdir -p "$repo_root/tests"
    cp -a "$dest/tests/output" "$repo_root/tests/output"
fi
exit "$rc"
