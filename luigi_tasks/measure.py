"""What a task's own work cost: the peak resident memory since the task started (Linux ``/proc``)."""

from __future__ import annotations


def reset_peak_memory() -> None:
    """Reset this process's peak resident memory, so :func:`peak_memory_mb` measures from now on."""
    try:  # "5" resets the peak resident set size (VmHWM) of this process (Linux >= 4.0)
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def peak_memory_mb() -> float | None:
    """The process's peak resident memory since the last reset, in MiB (``None`` where /proc has no VmHWM)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None
