# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compile an Aerleon policy with Aerleon, timed.  Runs inside Aerleon's own virtualenv.

    python aerleon_compile.py <policy.json> <output dir> [repeats]

``policy.json`` holds ``definitions`` (Aerleon's networks and services, as its YAML
definitions files hold them) and ``policies`` (policy dictionaries, as its YAML policy files
hold them); see ``aerleon_policy.py``.  The timed part is what ``aclgen`` does after reading
its files: the definitions parsed into a ``Naming`` and ``aerleon.api.Generate`` on the policies
(policy building, address resolution, every generator).  Prints one JSON line with the best
time of ``repeats`` runs and writes the generated files to the output directory.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

from absl import logging as absl_logging
from aerleon import api
from aerleon.lib import naming


def main() -> int:
    source, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    absl_logging.set_verbosity(absl_logging.ERROR)
    logging.getLogger().setLevel(logging.ERROR)
    data = json.loads(source.read_text(encoding="utf-8"))
    best = None
    configs = {}
    for _repeat in range(repeats):
        start = time.perf_counter()
        definitions = naming.Naming()
        definitions.ParseDefinitionsObject(data["definitions"], "benchmark")
        configs = api.Generate(data["policies"], definitions)
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in configs.items():
        (out_dir / name).write_text(text, encoding="utf-8")
    import aerleon
    version = getattr(aerleon, "__version__", None)
    if version is None:
        from importlib.metadata import version as _v
        version = _v("aerleon")
    print(json.dumps({"seconds": best, "files": sorted(configs), "version": version}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
