# shellcheck shell=bash
# Shared start of scripts/artefact_check.sh, ee_check.sh and runner_check.sh (sourced, not run):
#   check_start NAME TOOL...   sets repo_root, venv_bin, tarball (from $ARTEFACT), work (a scratch
#                              folder removed on exit unless KEEP=1) and fail=0; needs every TOOL
#                              in the virtualenv.
#   log MESSAGE / bad MESSAGE  progress line / failure line (bad also sets fail=1).
# shellcheck disable=SC2034  # the variables are used by the scripts that source this file

log() { printf '==> %s\n' "$*"; }
bad() { printf 'FAIL: %s\n' "$*" >&2; fail=1; }

check_start() {
    local name=$1 tool
    shift
    repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
    venv_bin="${VENV_BIN:-$repo_root/.venv/bin}"
    for tool in "$@"; do
        if [ ! -x "$venv_bin/$tool" ]; then
            echo "error: $venv_bin/$tool not found; run scripts/setup.sh --test first" >&2
            exit 1
        fi
    done
    tarball=
    if [ -n "${ARTEFACT:-}" ]; then
        tarball="$(cd "$(dirname "$ARTEFACT")" && pwd -P)/$(basename "$ARTEFACT")"
    fi
    work="$(mktemp -d "${TMPDIR:-/tmp}/voiceops-$name.XXXXXX")"
    if [ "${KEEP:-0}" = 1 ]; then
        trap 'echo "scratch folder kept: $work"' EXIT
    else
        trap 'rm -rf "$work"' EXIT
    fi
    fail=0
}
