#!/usr/bin/env bash
# Set up a development environment for the voiceops.firewall collection. Idempotent.
#
#   scripts/setup.sh          runtime requirements (ansible-core, ...) into .venv
#   scripts/setup.sh --test   plus test/lint requirements (pytest, hypothesis, ansible-lint, shellcheck)
#
# It also installs the Debian packages used by the functional tests and `make plan` when run as
# root (only those that are missing; as non-root it prints what is missing), and links the repo
# into .collections/ansible_collections/voiceops/firewall so that Ansible (see ansible.cfg) and
# Python can import it as the collection voiceops.firewall.
set -euo pipefail

usage() {
    echo "usage: $0 [--test]" >&2
}

want_test=0
for arg in "$@"; do
    case "$arg" in
        --test) want_test=1 ;;
        -h | --help) usage; exit 0 ;;
        *) usage; exit 2 ;;
    esac
done

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$repo_root"

PYTHON="${PYTHON:-python3.11}"
venv="$repo_root/.venv"

log() {
    printf '==> %s\n' "$*"
}

# --- Debian packages ---------------------------------------------------------
# nftables: nft -c on rendered rulesets; sip-tester (sipp): SIP traffic in the functional tests;
# iproute2: network namespaces; openssh-server: test targets; graphviz: `dot` draws the diagrams;
# with --test also the linter that ansible-test sanity runs on shell scripts, and chromium: the
# explorer page is tested in a real browser (Playwright drives it and never downloads one);
# dnsmasq-base: a real DNS server (the binary alone, no system service) for the edge's name sets;
# systemd: systemd-analyze verifies the DNS refresh units the edge role writes.
apt_packages=(nftables sip-tester iproute2 openssh-server graphviz)
if [ "$want_test" = 1 ]; then
    apt_packages+=(shellcheck chromium dnsmasq-base systemd)
fi

install_debian_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        log "not a Debian system: please install the equivalents of: ${apt_packages[*]}"
        return 0
    fi
    local missing=() pkg
    for pkg in "${apt_packages[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        log "Debian packages present: ${apt_packages[*]}"
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        log "missing Debian packages (not root, not installing): ${missing[*]}"
        log "install them with: sudo apt-get install -y ${missing[*]}"
        return 0
    fi
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Only refresh the package lists when they have never been downloaded.
    if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -print -quit 2>/dev/null)" ]; then
        apt-get update -qq
    fi
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null; then
        # Stale lists (404 on a superseded package version): refresh once and retry.
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
    fi
}

# --- Python virtual environment ------------------------------------------------
setup_venv() {
    if [ -x "$venv/bin/python" ] && ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
        log "$venv is not a working Python 3.11 venv: recreating it"
        rm -rf "$venv"
    fi
    if [ ! -x "$venv/bin/python" ]; then
        if ! command -v "$PYTHON" >/dev/null 2>&1; then
            echo "error: $PYTHON not found (set PYTHON=/path/to/python3.11)" >&2
            exit 1
        fi
        log "creating $venv with $PYTHON"
        "$PYTHON" -m venv "$venv"
    fi

    local reqs=(-r requirements.txt) stamp_file="$venv/.requirements.sha256" stamp
    if [ "$want_test" = 1 ]; then
        reqs+=(-r requirements-test.txt)
    fi
    # Skip pip entirely when the same requirement files were already installed (fast re-runs).
    stamp="$(cat requirements.txt requirements-test.txt 2>/dev/null | sha256sum | cut -d' ' -f1)-test$want_test"
    if [ -f "$stamp_file" ] && { [ "$(cat "$stamp_file")" = "$stamp" ] || [ "$(cat "$stamp_file")" = "${stamp%-test0}-test1" ]; }; then
        log "Python requirements already installed in $venv"
        return 0
    fi
    log "installing Python requirements into $venv: ${reqs[*]}"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${reqs[@]}"
    echo "$stamp" >"$stamp_file"
}

# --- collection path ---------------------------------------------------------
# .collections/ansible_collections/voiceops/firewall -> ../../.. (the repo root). Relative, so it
# survives moving the repo; recreated on every run anyway.
link_collection() {
    local parent="$repo_root/.collections/ansible_collections/voiceops"
    mkdir -p "$parent"
    rm -rf "$parent/firewall"
    ln -s ../../.. "$parent/firewall"
    if [ ! -f "$parent/firewall/galaxy.yml" ] && [ ! -d "$parent/firewall/plugins" ]; then
        echo "error: $parent/firewall does not resolve to the repo root" >&2
        exit 1
    fi
    log "collection link: .collections/ansible_collections/voiceops/firewall -> $(readlink "$parent/firewall")"
}

install_debian_packages
setup_venv
link_collection
log "done. Activate with: . .venv/bin/activate   (or use the Makefile targets)"
