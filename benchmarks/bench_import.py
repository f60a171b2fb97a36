"""Issue point 6: ``import connect_chat`` against ``import botocore.session``, same run.

Each import runs in a fresh interpreter (``sys.executable``), alternately, ``repeats`` times;
the figure is the median wall time of the import statement alone, measured inside the child.
"""

from __future__ import annotations

import subprocess
import sys

from benchmarks.support import Outcome, median, ratio

_PROBE = (
    "import time; t = time.perf_counter(); import {module}; "
    "print(time.perf_counter() - t)"
)


def import_seconds(module: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module=module)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def run(repeats: int = 7) -> Outcome:
    out = Outcome("import", params={"repeats": repeats})
    sdk: list[float] = []
    base: list[float] = []
    for _ in range(repeats):
        base.append(import_seconds("botocore.session"))
        sdk.append(import_seconds("connect_chat"))
    sdk_ms, base_ms = median(sdk) * 1e3, median(base) * 1e3
    out.add(
        "import time (ms)", sdk_ms, baseline=base_ms, ratio=ratio(sdk_ms, base_ms),
        target="reported (botocore and requests load on first use)", unit="ms",
    )
    out.details = {"connect_chat_seconds": sdk, "botocore_session_seconds": base}
    return out
