"""The C++ kernel tests under AddressSanitizer and UndefinedBehaviorSanitizer, on each SIMD path of this
architecture that this CPU runs, asserting the bounds of tests/bounds.py and that the path asked for is the one
that ran; and under ThreadSanitizer, which watches the pool's workers, nested calls and eight concurrent callers."""
import os
import subprocess
from pathlib import Path

import pytest

import bounds
from conftest import simd_paths

DTYPES = ("float16", "bfloat16", "float32", "float64")


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("sanitize")


def run_sanitized(build_dir, path, sanitizer):
    script = Path(__file__).with_name("sanitize.sh")
    forward = ",".join(str(bounds.FORWARD[d]) for d in DTYPES)
    gradient = ",".join(str(bounds.GRADIENT[d]) for d in DTYPES)
    result = subprocess.run(["bash", str(script), str(build_dir / sanitizer), forward, gradient, path],
                            capture_output=True, text=True, timeout=1200, env={**os.environ, "SANITIZER": sanitizer})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "runtime error" not in result.stdout + result.stderr
    assert "WARNING: ThreadSanitizer" not in result.stdout + result.stderr
    assert "read as std::from_chars reads them" in result.stdout
    assert "the caller's floating-point mode" in result.stdout
    return result


@pytest.mark.compiles
def test_the_pool_is_thread_sanitizer_clean(build_dir):
    run_sanitized(build_dir, simd_paths(runnable=True)[-1], "thread")


@pytest.mark.compiles
@pytest.mark.parametrize("path", simd_paths(runnable=True))
def test_kernels_are_sanitizer_clean(build_dir, path):
    result = run_sanitized(build_dir, path, "address")
    ran = [line for line in result.stdout.splitlines() if "worst error" in line]
    assert len(ran) == len(DTYPES) and all(line.endswith(f" on {path}") for line in ran), result.stdout
    assert "sharing: 1 to 8 threads" in result.stdout
    assert sum("normalisers near 2^-120 and 2^120 on the planes" in line for line in result.stdout.splitlines()) == 2
    assert "normalisers near the bias" in result.stdout
