"""The sdist builds a wheel with the compiled libraries and without the tests; `auditwheel repair` gives it a
manylinux tag that `auditwheel show` agrees with; it installs into a brand-new venv beside tensorflow-cpu and runs
the demo from outside the checkout."""
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import lrn_op

ROOT = Path(__file__).resolve().parents[1]
# The oldest tag the libraries allow when built with this machine's glibc 2.36 and gcc 12 (README: the wheel).
PLATFORM = "manylinux_2_34_x86_64"


def run(*command, cwd=None):
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=1800, cwd=cwd)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.mark.slow
def test_wheel_installs_and_runs_in_a_fresh_venv(tmp_path):
    # The test environment already has the build requirements (the test extra), so no isolated build env is needed.
    run(sys.executable, "-m", "build", "--sdist", "--no-isolation", "-o", tmp_path / "sdist", ROOT)
    (sdist,) = (tmp_path / "sdist").glob("lrn_op-*.tar.gz")
    run(sys.executable, "-m", "pip", "wheel", sdist, "--no-deps", "--no-build-isolation", "-w", tmp_path / "raw")
    (raw,) = (tmp_path / "raw").glob("lrn_op-*.whl")
    # TF's own libraries are never grafted in: lrn_op runs against the TensorFlow the user installs.
    run(sys.executable, "-m", "auditwheel", "repair", "--exclude", "libtensorflow_framework.so.2", "--plat", PLATFORM,
        "-w", tmp_path / "dist", raw)
    (wheel,) = (tmp_path / "dist").glob("lrn_op-*.whl")
    assert wheel.name == f"lrn_op-{lrn_op.__version__}-cp311-cp311-{PLATFORM}.whl"
    shown = run(sys.executable, "-m", "auditwheel", "show", wheel)
    assert re.search(rf'consistent\s+with\s+the\s+following\s+platform\s+tag:\s+"{PLATFORM}"', shown), shown
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert {"lrn_op/_lrn_ops.so", "lrn_op/_lrn_builtin_kernels.so", "lrn_op/_build_info.py"} <= set(names)
    assert any(n.startswith("lrn_op/_lrn_numpy") and n.endswith(".so") for n in names)
    assert not any(n.startswith("tests/") or "/tests/" in n for n in names)
    assert "Requires-Dist: numpy" in metadata and "Provides-Extra: tensorflow-cpu" in metadata
    tensorflow_requirements = [line for line in metadata.splitlines() if line.startswith("Requires-Dist: tensorflow")]
    assert tensorflow_requirements and all("extra ==" in line for line in tensorflow_requirements)

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", f"{wheel}[tensorflow-cpu]")
    output = run(python, "-m", "lrn_op", cwd=tmp_path)
    assert "they match" in output and "fwd vs TF" in output
