"""Builds lrn_op: CMakeLists.txt compiles the TF libraries, the pybind11 module and the XLA library into the package
directory.

In the style of pybind/cmake_example: one CMakeExtension, and build_ext hands the work to CMake.
"""
import os
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class CMakeExtension(Extension):
    def __init__(self, name, sourcedir=""):
        super().__init__(name, sources=[])
        self.sourcedir = os.fspath(Path(sourcedir).resolve())


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        import pybind11  # a wheel build requirement only (build_backend.py)

        extdir = Path(self.get_ext_fullpath(ext.name)).parent.resolve()
        build_temp = Path(self.build_temp) / ext.name
        build_temp.mkdir(parents=True, exist_ok=True)
        configure = [
            f"-DCMAKE_LIBRARY_OUTPUT_DIRECTORY={extdir}{os.sep}",
            f"-DPython_EXECUTABLE={sys.executable}",
            f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
            f"-DCMAKE_BUILD_TYPE={'Debug' if self.debug else 'Release'}",
        ]
        jobs = f"-j{os.cpu_count() or 1}"
        subprocess.run(["cmake", ext.sourcedir, *configure], cwd=build_temp, check=True)
        subprocess.run(["cmake", "--build", ".", jobs], cwd=build_temp, check=True)


setup(
    ext_modules=[CMakeExtension("lrn_op._lrn_numpy")],
    cmdclass={"build_ext": CMakeBuild},
)
