"""setuptools' build backend, plus what only compiling needs, asked for only when a wheel is built.

The sdist is sources alone: making it needs neither TensorFlow nor JAX nor a compiler nor CMake. A wheel is compiled
against the TensorFlow of its build environment (CMakeLists.txt reads tf.sysconfig), through TF's C API alone, so it
runs under every TF since 2.16 (lrn_op/_loader.py), whichever of them it was built against.
"""
from setuptools import build_meta
from setuptools.build_meta import *  # noqa: F401,F403  (the whole PEP 517 interface, unchanged)

# TensorFlow's CPU-only package exists for x86-64; elsewhere (aarch64) the `tensorflow` package is the CPU build.
COMPILE_REQUIRES = [
    "cmake>=3.24",
    "pybind11>=2.12",
    "jax>=0.6.2",  # jaxlib's XLA FFI headers, for the JAX custom calls (0.6.2: the newest for CPython 3.10)
    "tensorflow-cpu>=2.16; platform_machine == 'x86_64' or platform_machine == 'AMD64'",
    "tensorflow>=2.16; platform_machine != 'x86_64' and platform_machine != 'AMD64'",
]


def get_requires_for_build_wheel(config_settings=None):
    return build_meta.get_requires_for_build_wheel(config_settings) + COMPILE_REQUIRES


def get_requires_for_build_editable(config_settings=None):
    return build_meta.get_requires_for_build_editable(config_settings) + COMPILE_REQUIRES
