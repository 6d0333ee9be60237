"""The C++ kernel tests under AddressSanitizer and UndefinedBehaviorSanitizer, on every SIMD path."""
import subprocess
from pathlib import Path

import pytest


@pytest.mark.compiles
def test_kernels_are_sanitizer_clean(tmp_path):
    script = Path(__file__).with_name("sanitize.sh")
    result = subprocess.run(["bash", str(script), str(tmp_path / "build")], capture_output=True, text=True,
                            timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for path in ("baseline", "avx2", "avx512"):
        assert f"== LRN_OP_SIMD={path}" in result.stdout
    assert result.stdout.count("worst error") == 12
    assert "runtime error" not in result.stdout + result.stderr
