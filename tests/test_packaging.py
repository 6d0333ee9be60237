"""The installed package: its files, lazy imports, the TF version check and the demo, each in a fresh process."""
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import lrn_op
from conftest import run_python


def with_first_on_path(folder):
    """PYTHONPATH with `folder` first, keeping what the environment already puts there (where lrn_op may be)."""
    return os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))


def test_op_library_sits_inside_the_package():
    package = Path(lrn_op.__file__).parent
    assert (package / "_lrn_ops.so").is_file()
    assert "site-packages" in str(package) or "dist-packages" in str(package)


def test_build_records_the_tf_and_jaxlib_versions():
    import jaxlib

    from lrn_op import _build_info

    assert _build_info.TF_VERSION == tf.__version__
    assert _build_info.JAXLIB_VERSION == jaxlib.__version__


def test_import_is_lazy():
    result = run_python("import sys, lrn_op, lrn_op.numpy; print('tensorflow' in sys.modules)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def with_tf_version(version, code):
    """Runs code in a fresh interpreter whose TensorFlow says it is `version`."""
    return run_python(f"import warnings, numpy as np, tensorflow as tf\ntf.__version__ = '{version}'\n{code}")


@pytest.mark.parametrize("version", ["2.15.1", "2.9.0", "1.15.5"])
def test_tensorflow_older_than_2_16_raises_an_import_error_naming_the_supported_range(version):
    result = with_tf_version(version, "try:\n    import lrn_op.ops\nexcept ImportError as error:\n    print(error)\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"lrn_op needs TensorFlow 2.16 or newer (tested: 2.16 to 2.21), but TensorFlow "
                                    f"{version} is installed"), result.stdout


@pytest.mark.parametrize("version", ["2.22.0", "2.23.0-dev20270101", "3.0.0"])
def test_newer_tensorflow_loads_without_complaint(version):
    # One build serves every TF since 2.16 (TF's C API): a newer version string changes nothing.
    result = with_tf_version(version, "warnings.simplefilter('error')\nimport lrn_op\n"
                                      "print(lrn_op.lrn(np.ones([1, 1, 1, 3], np.float32), 1).numpy().ravel())\n")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["[0.57735026", "0.5", "0.57735026]"]


def test_a_library_tensorflow_cannot_load_gets_a_message_that_says_what_failed(tmp_path):
    import shutil

    package = Path(lrn_op.__file__).parent
    broken = tmp_path / "lrn_op"
    shutil.copytree(package, broken)
    (broken / "_lrn_ops.so").write_bytes(b"not a shared library")
    result = run_python("import lrn_op.ops\n", cwd=tmp_path, env={"PYTHONPATH": with_first_on_path(tmp_path)})
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"ImportError: lrn_op could not load _lrn_ops.so into TensorFlow {tf.__version__}"), last


def test_demo_runs_from_outside_the_checkout(tmp_path):
    result = subprocess.run([sys.executable, "-m", "lrn_op"], capture_output=True, text=True, timeout=600,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0.07142857" in result.stdout and "0.04444445" in result.stdout
    assert result.stdout.count("(matches)") == 2 and "DIFFERS" not in result.stdout
    # It fits a terminal of 100 columns, and TF's start-up lines (CPU features, oneDNN) stay quiet.
    assert max(map(len, result.stdout.splitlines())) <= 100, result.stdout
    assert "oneDNN" not in result.stderr and "cpu_feature_guard" not in result.stderr, result.stderr
    assert "they match" in result.stdout
    assert "fwd vs TF" in result.stdout


def test_demo_without_tensorflow_uses_the_numpy_front_end(tmp_path):
    # A stub package that fails to import stands in for a machine without TensorFlow.
    (tmp_path / "tensorflow").mkdir()
    (tmp_path / "tensorflow" / "__init__.py").write_text("raise ImportError('no tensorflow here')\n")
    result = run_python("import runpy; runpy.run_module('lrn_op', run_name='__main__')", cwd=tmp_path,
                        env={"PYTHONPATH": with_first_on_path(tmp_path)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "0.07142857" in result.stdout and "0.04444445" in result.stdout
    assert "TensorFlow is not installed" in result.stdout and "lrn_op[tensorflow-cpu]" in result.stdout


def test_bench_help_answers_without_importing_tensorflow():
    result = run_python("import runpy, sys\n"
                        "sys.argv = ['bench', '--help']\n"
                        "try:\n"
                        "    runpy.run_module('lrn_op.bench', run_name='__main__')\n"
                        "except SystemExit:\n"
                        "    pass\n"
                        "print('tensorflow imported:', 'tensorflow' in sys.modules)\n")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "--replaced" in result.stdout and "tensorflow imported: False" in result.stdout


def test_bench_plot_draws_a_png(tmp_path):
    """The command docs/performance.md gives for its picture, at one run per column."""
    path = tmp_path / "speedup.png"
    result = run_python("from lrn_op.bench.__main__ import main\n"
                        f"main(['--runs', '1', '--warmup', '0', '--plot', {str(path)!r}])\n")
    assert result.returncode == 0, result.stderr[-3000:]
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_plot_without_matplotlib_fails_before_measuring():
    # A None entry in sys.modules makes the import fail, as it does where matplotlib is not installed.
    result = run_python("import sys\n"
                        "sys.modules['matplotlib'] = None\n"
                        "from lrn_op.bench.__main__ import main\n"
                        "main(['--plot', 'out.png'])\n")
    assert result.returncode != 0
    assert "--plot needs matplotlib" in result.stderr and "[1/" not in result.stderr


def test_bench_model_table_runs():
    # A smoke test of `python -m lrn_op.bench --model` on a tiny batch: it times nothing that is asserted.
    from lrn_op.bench import tf_tables

    rows = tf_tables.model_rows(runs=1, warmup=0, batches=(2,))
    assert [what for what, _, _ in rows] == ["inference, batch 2", "training step, batch 2"]
    assert "lrn_op speed-up" in tf_tables.format_model_table(rows)


def test_without_tensorflow_the_tf_api_says_what_to_install(tmp_path):
    (tmp_path / "tensorflow").mkdir()
    (tmp_path / "tensorflow" / "__init__.py").write_text("raise ModuleNotFoundError('no tensorflow', name='tensorflow')\n")
    result = run_python("import lrn_op\n"
                        "print(hasattr(lrn_op, 'LocalResponseNormalization'))\n"
                        "for name in ('local_response_normalization', 'LocalResponseNormalization', 'replace_builtin'):\n"
                        "    try:\n"
                        "        getattr(lrn_op, name)\n"
                        "    except AttributeError as error:\n"
                        "        print(error)\n", cwd=tmp_path, env={"PYTHONPATH": with_first_on_path(tmp_path)})
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0] == "False"
    for name, line in zip(("local_response_normalization", "LocalResponseNormalization", "replace_builtin"),
                          lines[1:]):
        assert line.startswith(f"lrn_op.{name} needs TensorFlow") and "pip install 'lrn_op[tensorflow-cpu]'" in line
        assert ("KERAS_BACKEND=jax with 'lrn_op[jax]'" in line) == (name == "LocalResponseNormalization")


@pytest.mark.parametrize("arguments,message", [
    (["--runs", "0"], "--runs must be at least 1"),
    (["--model", "--sweep"], "--model times the network alone"),
    (["--simd", "all", "--model"], "--simd all prints one table of lrn_op's op per path"),
    (["--backends", "--sweep"], "--backends prints its own table of the AlexNet LRN1 and TF defaults cases"),
    (["--front-ends", "--sweep"], "--front-ends prints its own table"),
])
def test_bench_refuses_arguments_it_cannot_honour(arguments, message):
    result = run_python("import sys\nfrom lrn_op.bench.__main__ import main\nmain(sys.argv[1:])\n", *arguments)
    assert result.returncode == 2 and message in result.stderr, result.stderr[-2000:]


def test_an_unknown_simd_path_is_named_once_with_the_valid_ones():
    result = run_python("import warnings\n"
                        "warnings.simplefilter('always')\n"
                        "import tensorflow, lrn_op, lrn_op.numpy\n"
                        "lrn_op.lrn([[[[1.0, 2.0]]]])\n"
                        "print(lrn_op.numpy.simd_path())\n", env={"LRN_OP_SIMD": "sse9"})
    assert result.returncode == 0, result.stderr[-2000:]
    import platform

    paths = {"x86_64": "baseline, avx2, avx512", "aarch64": "neon"}[platform.machine()]
    warning = f"LRN_OP_SIMD='sse9' names no SIMD path (the paths are {paths})"
    assert result.stderr.count(warning) == 1, result.stderr[-2000:]
    assert f"lrn_op runs the {result.stdout.split()[-1]} path" in result.stderr


def test_a_simd_path_the_cpu_lacks_is_named_with_the_path_that_runs(monkeypatch):
    from conftest import simd_paths

    from lrn_op import _simd

    # The message, whatever this CPU has: the kernels took another path than the one asked for.
    monkeypatch.setenv("LRN_OP_SIMD", "avx512")
    monkeypatch.setattr(_simd.check_simd_request, "warned", False, raising=False)
    with pytest.warns(RuntimeWarning) as caught:
        _simd.check_simd_request("avx2")
        _simd.check_simd_request("avx2")  # once per process
    assert [str(warning.message) for warning in caught] == [
        "LRN_OP_SIMD='avx512' asks for a path this CPU cannot run: lrn_op runs the avx2 path"]

    # The whole way, from the kernels' choice, where this CPU lacks a path of its architecture (an AVX2-only x86-64
    # machine does; one with AVX-512, or an aarch64 one, runs every path it has).
    for path in simd_paths(runnable=False):
        result = run_python("import lrn_op.numpy\nprint(lrn_op.numpy.simd_path())\n", env={"LRN_OP_SIMD": path})
        assert result.returncode == 0, result.stderr[-2000:]
        assert result.stdout.split()[-1] != path
        assert (f"LRN_OP_SIMD='{path}' asks for a path this CPU cannot run: lrn_op runs the "
                f"{result.stdout.split()[-1]} path") in result.stderr


def test_bench_turns_the_column_order_and_keeps_cases_without_tf_out_of_the_tf_geomean():
    from lrn_op.bench import cases, tf_tables, timing

    order = []
    timing.interleaved_samples({key: (lambda key=key: order.append(key)) for key in "abc"}, runs=2, warmup=1)
    assert "".join(order) == "abcbcacab"

    # With min_ms, a fast callable is called back to back until its sample takes that long, and the sample is the
    # mean per call.
    counts = {"fast": 0, "slow": 0}

    def fast():
        counts["fast"] += 1

    def slow():
        counts["slow"] += 1
        time.sleep(0.004)

    samples = timing.interleaved_samples({"fast": fast, "slow": slow}, runs=2, warmup=1, min_ms=3.0)
    assert counts["slow"] == 3 and counts["fast"] > 30
    assert all(value < 0.1 for value in samples["fast"]) and all(value >= 4.0 for value in samples["slow"])

    def row(case, ms):
        return tf_tables.Row(case, ms, {column: (value, value) for column, value in ms.items()})

    with_tf = row(cases.CASES[0], {"ours_fwd": 1.0, "tf_fwd": 4.0, "ours_fwdbwd": 2.0, "tf_fwdbwd": 10.0, "copy": 0.5})
    float64 = row(cases.Case("float64", (1, 2, 2, 8), 2, 1.0, 1.0, 0.75, "float64"),
                  {"ours_fwd": 1.0, "ours_fwdbwd": 3.0, "copy": 0.5})
    lines = tf_tables.format_table([with_tf, float64]).splitlines()
    assert lines[3].count("no TF kernel") == 2
    geomean = [cell.strip() for cell in lines[-1].split("|")]
    assert geomean[5] == "4.0x" and geomean[9] == "5.0x"  # the float64 row left out
    assert geomean[10] == "1.63"  # fwd+bwd over three copies: (2 / 1.5 * 3 / 1.5) ** 0.5


def test_bench_front_ends_table_runs():
    # A smoke test of `python -m lrn_op.bench --front-ends`, which needs no TensorFlow: it times nothing asserted.
    result = run_python("import sys\nsys.modules['tensorflow'] = None\nfrom lrn_op.bench.__main__ import main\n"
                        "main(sys.argv[1:])\n", "--front-ends", "--runs", "1", "--warmup", "0")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    for name in ("lrn_op.numpy", "lrn_op.torch"):
        # the four cases of the first table and the floor's row
        assert sum(line.startswith(name) for line in lines) == 5, result.stdout
    floor = lines[lines.index(next(line for line in lines if line.startswith("The floor of a call"))) + 1:]
    assert not any(line.startswith("lrn_op (TF op") for line in floor), result.stdout  # TensorFlow blocked


def test_bench_call_floor_computes_the_same_lrn_through_every_front_end():
    from lrn_op.bench import front_ends

    import lrn_op.numpy

    x = np.random.default_rng(3).standard_normal(front_ends.FLOOR_SHAPE).astype(np.float32)
    expected = lrn_op.numpy.local_response_normalization(x, **front_ends.FLOOR_PARAMS)
    for name in front_ends.FLOOR_FRONT_ENDS:
        calls = front_ends.floor_calls(name, x)
        np.testing.assert_array_equal(np.asarray(calls["lrn_op"]()), expected, err_msg=name)
        calls["copy"]()
        if name in front_ends.OWN_LRN:  # the same LRN: the comparison is like for like
            np.testing.assert_allclose(np.asarray(calls["own LRN"]()), expected, rtol=1e-6, err_msg=name)


def test_the_benchmark_modules_import_one_way():
    # cases and timing import nothing of the benchmark; the tables and the plot import only those two; the command
    # line sits on top. No module reaches into another's private names.
    import ast
    import pathlib

    import lrn_op.bench

    layers = {"cases": set(), "timing": set(), "tf_tables": {"cases", "timing"}, "backends": {"cases", "timing"},
              "front_ends": {"cases", "timing"}, "peers": {"timing"}, "plot": set(),
              "__main__": {"cases", "timing", "tf_tables", "backends", "front_ends", "peers", "plot"}}
    folder = pathlib.Path(lrn_op.bench.__file__).parent
    assert {path.stem for path in folder.glob("*.py")} == set(layers) | {"__init__"}
    for name, allowed in layers.items():
        tree = ast.parse((folder / f"{name}.py").read_text())
        imported = {node.module.split(".")[2] if node.module.count(".") >= 2 else alias.name
                    for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
                    and node.module.startswith("lrn_op.bench") for alias in node.names}
        names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
                 and node.module.startswith("lrn_op.bench") for alias in node.names}
        assert imported <= allowed, f"{name} imports {imported - allowed}"
        assert not any(n.startswith("_") for n in names), f"{name} imports private names {names}"
