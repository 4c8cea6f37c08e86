"""Peak resident memory of the current process (Linux VmHWM), resettable."""

from __future__ import annotations

import resource
from pathlib import Path


def reset_peak() -> None:
    """Reset this process's peak (ru_maxrss survives fork + exec; VmHWM can be reset)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def peak_mb() -> float:
    """Peak resident set size since the last :func:`reset_peak`, MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
