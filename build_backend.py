"""setuptools' build backend, plus what only compiling needs, asked for only when a wheel is built.

The sdist is sources alone: making it needs neither TensorFlow nor JAX nor a compiler nor CMake. A wheel is compiled
against the TensorFlow of its build environment (CMakeLists.txt reads tf.sysconfig), and lrn_op/_loader.py insists
on the same major.minor at run time.
"""
from setuptools import build_meta
from setuptools.build_meta import *  # noqa: F401,F403  (the whole PEP 517 interface, unchanged)

# TensorFlow's CPU-only package exists for x86-64; elsewhere (aarch64) the `tensorflow` package is the CPU build.
COMPILE_REQUIRES = [
    "cmake>=3.24",
    "pybind11>=2.12",
    "jax>=0.10.2",  # jaxlib's XLA FFI headers, for the JAX custom calls (the oldest built and tested)
    "tensorflow-cpu==2.21.*; platform_machine == 'x86_64' or platform_machine == 'AMD64'",
    "tensorflow==2.21.*; platform_machine != 'x86_64' and platform_machine != 'AMD64'",
]


def get_requires_for_build_wheel(config_settings=None):
    return build_meta.get_requires_for_build_wheel(config_settings) + COMPILE_REQUIRES


def get_requires_for_build_editable(config_settings=None):
    return build_meta.get_requires_for_build_editable(config_settings) + COMPILE_REQUIRES
