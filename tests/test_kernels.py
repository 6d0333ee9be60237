"""Every SIMD path the build has, forced in its own process, against the float64 reference."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import lrn_op.numpy

# Issue bounds: forward as max relative error per element, gradient relative to the largest gradient.
FORWARD_BOUND = {"float16": 1.5e-3, "bfloat16": 1.2e-2, "float32": 3e-7, "float64": 1e-13}
GRADIENT_BOUND = {"float16": 2e-3, "bfloat16": 1.6e-2, "float32": 2e-6, "float64": 1e-12}
PATHS = ["baseline", "avx2", "avx512"]


def accuracy_on(path):
    env = {**os.environ, "LRN_OP_SIMD": path}
    script = Path(__file__).with_name("accuracy.py")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, env=env,
                            cwd=script.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("path", PATHS)
def test_simd_path_meets_the_accuracy_bounds(path):
    # The default path is the best the CPU has; PATHS runs from the least to the most demanding.
    if PATHS.index(path) > PATHS.index(lrn_op.numpy.simd_path()):
        pytest.fail(f"this machine cannot run the {path} path, so it cannot be tested here")
    report = accuracy_on(path)
    assert report["simd_path"] == path
    for dtype, by_beta in report["errors"].items():
        for beta, (forward, backward) in by_beta.items():
            assert forward <= FORWARD_BOUND[dtype], (dtype, beta, forward)
            assert backward <= GRADIENT_BOUND[dtype], (dtype, beta, backward)
    # The special betas (0.5, 0.75, 1) against the general path one float32 ulp of beta away.
    assert report["special_vs_general"] < 1e-6
