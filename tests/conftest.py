import os
import subprocess
import sys
import tempfile
import zlib

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The tests exercise the installed package (`pip install .`): the source tree's lrn_op/ has no compiled libraries,
# and `python -m pytest` would put it first on sys.path.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != ROOT]


@pytest.fixture
def rng(request):
    # A fixed seed per test (crc32: str hashes change from process to process), so a failure reproduces alone.
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


def f32(value):
    """The value as a float32 attribute holds it: what TF's own LRN computes with (lrn_op's ops use the value
    itself, through exact_bias_alpha_beta)."""
    return float(np.float32(value))


def run_python(code, *args, cwd=None, env=None, timeout=600):
    """Runs code in a fresh interpreter, by default outside the source tree so that the installed package is the
    one imported."""
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd or tempfile.gettempdir(), env={**os.environ, **(env or {})})


def tf_lrn_test_case(rng):
    """(shape, depth_radius, bias, alpha, beta) drawn the way TF's own LRN test draws its cases."""
    shape = rng.integers(1, 17, size=4)
    shape[3] = max(shape[3], 2)
    radius = int(rng.integers(1, min(8, shape[3])))
    return shape, radius, 1.0 + rng.random(), 2.0 * rng.random(), 0.01 + 2.0 * rng.random()


# The CPU features each x86-64 SIMD path needs, as /proc/cpuinfo names them; baseline and neon need only the base
# architecture.
X86_FEATURES = {"avx2": {"avx2", "fma"}, "avx512": {"avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl"}}


def cpu_lacks(path):
    """The CPU features that the SIMD path needs and this CPU lacks."""
    if path not in X86_FEATURES:
        return set()
    with open("/proc/cpuinfo") as f:
        flags = set(next(line for line in f if line.startswith("flags")).split(":", 1)[1].split())
    return X86_FEATURES[path] - flags


def simd_paths(runnable):
    """This architecture's SIMD paths (lrn_api.cc chooses among them) that this CPU runs, or that it lacks. The tests
    that run every path take the ones this CPU runs; one that it lacks is asked for by test_packaging, which checks
    the path the kernels take instead and the warning that names both. (lrn_op is imported here, not at the top:
    scripts that the tests run import test modules, and some must not import lrn_op.)"""
    from lrn_op import _simd

    return tuple(path for path in _simd.SIMD_PATHS if bool(cpu_lacks(path)) != runnable)
