"""Shared by the framework programs (tests/frameworks/fw_*.py): each prints
deterministic lines (the GPU suite compares a remora run with the native one;
lines starting with '#' are timings, not compared) and ends with
"PASS <name>". They run on the GPU machine with the frameworks as pip
installed them, nothing rebuilt."""
import hashlib
import os
import sys
import time

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS
_START = time.time()


def checksum(array_bytes):
    """A short hash of a result's bytes: equal results, equal lines."""
    return hashlib.sha256(array_bytes).hexdigest()[:16]


def done(name):
    print("# %.2f s" % (time.time() - _START))
    print("PASS " + name)
    sys.stdout.flush()
