"""Every SIMD path the build has, forced in its own process, against the float64 reference."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import bounds
from conftest import simd_paths


def accuracy_on(path):
    env = {**os.environ, "LRN_OP_SIMD": path}
    script = Path(__file__).with_name("accuracy.py")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, env=env,
                            cwd=script.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("path", simd_paths(runnable=True))
def test_simd_path_meets_the_accuracy_bounds(path):
    report = accuracy_on(path)
    assert report["simd_path"] == path
    for dtype, by_beta in report["errors"].items():
        for beta, (forward, backward) in by_beta.items():
            assert forward <= bounds.FORWARD[dtype], (dtype, beta, forward)
            assert backward <= bounds.GRADIENT[dtype], (dtype, beta, backward)
    # The special betas (0.5, 0.75, 1) against the general path one float32 ulp of beta away.
    assert report["special_vs_general"] <= bounds.SPECIAL_VS_GENERAL
    assert report["extreme_normalisers"].keys() == {"float32", "float64"}
    for dtype, error in report["extreme_normalisers"].items():
        assert error <= bounds.FORWARD[dtype], (dtype, error)
    # Normalisers near the bias, on both sides of the edge of the avx2 path's binomial forward.
    near = report["near_the_bias"]
    assert near["inside"] > 0 and near["outside"] > 0, near
    for beta, error in near["errors"].items():
        assert error <= bounds.FORWARD["float32"], (beta, error)
    assert near["same_bits"]
