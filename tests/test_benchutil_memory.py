"""The peak-memory helpers of the benchmarks (`benchmarks/benchutil.py`):
after a reset the peak is the resident memory, and a 64 MiB buffer touched
after it raises the peak by at least that much (Linux only)."""

import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="Linux /proc only")
def test_peak_resident_memory_resets_and_sees_a_new_buffer():
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    try:
        from benchutil import reset_peak_resident
        from benchutil import resident_mib
    finally:
        sys.path.remove(os.path.join(ROOT, "benchmarks"))
    assert reset_peak_resident()
    before = resident_mib("VmRSS")
    assert resident_mib("VmHWM") - before < 32
    buffer = np.ones(64 * 2**20 // 8)  # 64 MiB, every page written
    assert resident_mib("VmHWM") - before >= 60
    del buffer
    assert resident_mib("VmRSS") - before < 32  # a buffer this large goes back to the system
    assert resident_mib("VmStatus-that-does-not-exist") is None
    assert resident_mib("VmRSS", pid=2**22 + 1) is None
