#!/usr/bin/env bash
# Scale benchmark, one command from a fresh clone:
#   benchmarks/run.sh                      # 100, 1,000 and 10,000 hosts (about 10 minutes on 2 cores)
#   benchmarks/run.sh --sizes 100,1000     # any option of benchmarks/bench.py (--help)
#   benchmarks/run.sh --regional           # one edge vs an edge per region, 1,000 and 10,000 hosts
#                                          # (benchmarks/regional.py and its options; no Aerleon)
#   benchmarks/run.sh --apply [--json-vars] [--edge]
#                                          # what the user waits for: plan.yml beside Ansible's floor,
#                                          # the roles per host (benchmarks/apply.py; about 10 minutes)
#
# 1. scripts/setup.sh: .venv with ansible-core, nftables (nft -c), the collection link;
# 2. a throwaway virtualenv for Aerleon from PyPI (benchmarks/.venv-aerleon, git-ignored;
#    AERLEON_VENV=... to put it elsewhere, AERLEON_VERSION=... to pin another release);
# 3. benchmarks/bench.py: generated inventories and outputs under benchmarks/.work (git-ignored).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
repo="$(cd "$here/.." && pwd -P)"
cd "$repo"

scripts/setup.sh

if [[ "${1:-}" == "--regional" ]]; then
    shift
    exec "$repo/.venv/bin/python" "$here/regional.py" "$@"
fi
if [[ "${1:-}" == "--apply" ]]; then
    shift
    exec "$repo/.venv/bin/python" "$here/apply.py" "$@"
fi

PYTHON="${PYTHON:-python3.11}"
aerleon_venv="${AERLEON_VENV:-$here/.venv-aerleon}"
aerleon_version="${AERLEON_VERSION:-1.18.0}"
if ! "$aerleon_venv/bin/python" -c "import aerleon, sys; from importlib.metadata import version; sys.exit(version('aerleon') != '$aerleon_version')" 2>/dev/null; then
    echo "==> installing aerleon==$aerleon_version into $aerleon_venv"
    rm -rf "$aerleon_venv"
    "$PYTHON" -m venv "$aerleon_venv"
    "$aerleon_venv/bin/python" -m pip install --quiet --disable-pip-version-check "aerleon==$aerleon_version"
fi

exec "$repo/.venv/bin/python" "$here/bench.py" --aerleon-python "$aerleon_venv/bin/python" "$@"
