"""The installed libraries, read as ELF files: the symbol versions they need stay within manylinux_2_27 (the tag of
TensorFlow's own wheels, which lrn_op's wheel carries), each op library records libtensorflow_framework.so.2 as
needed and the numpy and XLA libraries no framework's, and none holds a path of the machine or environment that
built it."""
import sys
import sysconfig
from pathlib import Path

import jax.ffi
import pybind11
import pytest
import tensorflow as tf
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection

import lrn_op

PACKAGE = Path(lrn_op.__file__).parent
LIBRARIES = sorted(PACKAGE.glob("_lrn*.so"))
ROOT = Path(__file__).resolve().parents[1]
# The newest symbol version of each runtime library that manylinux_2_27 allows (PEP 600: what glibc 2.27 and the
# libstdc++ of gcc 7 export; auditwheel's policy lists the same).
MANYLINUX_2_27 = {"GLIBC": (2, 27), "GLIBCXX": (3, 4, 24), "CXXABI": (1, 3, 11), "GCC": (7, 0, 0)}


def needed_versions(library):
    """{"GLIBC_2.2.5", "GLIBCXX_3.4.21", ...}: the versions the library asks of the libraries it links."""
    with open(library, "rb") as f:
        elf = ELFFile(f)
        section = next(s for s in elf.iter_sections() if isinstance(s, GNUVerNeedSection))
        return {aux.name for _, auxiliaries in section.iter_versions() for aux in auxiliaries}


def needed_libraries(library):
    with open(library, "rb") as f:
        dynamic = ELFFile(f).get_section_by_name(".dynamic")
        return {tag.needed for tag in dynamic.iter_tags() if tag.entry.d_tag == "DT_NEEDED"}


def test_every_library_is_checked():
    assert {p.name.split(".")[0] for p in LIBRARIES} == set(EXPORTS)


@pytest.mark.parametrize("library", LIBRARIES, ids=lambda p: p.name)
def test_symbol_versions_stay_within_manylinux_2_27(library):
    too_new = []
    for version in needed_versions(library):
        family, _, number = version.partition("_")
        if family in MANYLINUX_2_27 and number[0].isdigit():
            if tuple(int(part) for part in number.split(".")) > MANYLINUX_2_27[family]:
                too_new.append(version)
    assert not too_new, f"{library.name} needs {sorted(too_new)}, newer than manylinux_2_27 allows"
    assert any(v.startswith("GLIBC_") for v in needed_versions(library))  # the reader sees versions at all


@pytest.mark.parametrize("name", ["_lrn_ops.so", "_lrn_builtin_kernels.so"])
def test_op_libraries_record_tensorflow_framework_as_needed(name):
    assert "libtensorflow_framework.so.2" in needed_libraries(PACKAGE / name)


@pytest.mark.parametrize("name", ["_lrn_core", "_lrn_numpy", "_lrn_xla"])
def test_the_libraries_of_the_other_front_ends_need_no_framework(name):
    # numpy, JAX and PyTorch users install no TensorFlow; the XLA targets reach jaxlib through the FFI API alone.
    (library,) = [p for p in LIBRARIES if p.name.split(".")[0] == name]
    assert needed_libraries(library) <= {"libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libpthread.so.0",
                                         "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1", "_lrn_core.so"}


def dynamic_tags(library):
    with open(library, "rb") as f:
        return {(tag.entry.d_tag, getattr(tag, tag.entry.d_tag.removeprefix("DT_").lower(), None))
                for tag in ELFFile(f).get_section_by_name(".dynamic").iter_tags()}


@pytest.mark.parametrize("library", [p for p in LIBRARIES if not p.name.startswith("_lrn_core")], ids=lambda p: p.name)
def test_every_front_end_loads_the_one_core_beside_it(library):
    # One _lrn_core.so per process, whichever front ends load it: the one thread pool (cc/lrn_api.h).
    tags = dynamic_tags(library)
    assert ("DT_NEEDED", "_lrn_core.so") in tags
    assert ("DT_RUNPATH", "$ORIGIN") in tags or ("DT_RPATH", "$ORIGIN") in tags, sorted(tags)
    assert ("DT_SONAME", "_lrn_core.so") in dynamic_tags(PACKAGE / "_lrn_core.so")


@pytest.mark.parametrize("library", LIBRARIES, ids=lambda p: p.name)
def test_libraries_hold_no_build_paths(library):
    data = library.read_bytes()
    # Where the build could have left a path: the source tree, an isolated build environment, the include
    # directories of TensorFlow, pybind11 and Python, this environment's prefix.
    places = ["pip-build-env", "pip-req-build", "pip-wheel-", "site-packages", str(ROOT), sys.prefix,
              sys.base_prefix, tf.sysconfig.get_include(), pybind11.get_include(), sysconfig.get_paths()["include"],
              jax.ffi.include_dir()]
    found = [place for place in places if place.encode() in data]
    assert not found, f"{library.name} holds {found}"


# Each library's dynamic exports, all of them (cc/exports.map): no lrn:: symbol, nor any of libstdc++'s templates.
EXPORTS = {"_lrn_core": {"LrnOpCoreCompute", "LrnOpCoreSimdPath", "LrnOpCoreAllowedCpus"},
           "_lrn_ops": {"LrnOpSetThreadLimit"}, "_lrn_builtin_kernels": {"LrnOpSetThreadLimit"},
           "_lrn_numpy": {"PyInit__lrn_numpy"}, "_lrn_xla": {"LrnOpForward", "LrnOpBackward", "LrnOpSimdPath"}}


def exported_symbols(library):
    with open(library, "rb") as f:
        symbols = ELFFile(f).get_section_by_name(".dynsym")
        return {s.name for s in symbols.iter_symbols() if s["st_shndx"] not in ("SHN_UNDEF", "SHN_ABS")
                and s["st_info"]["bind"] in ("STB_GLOBAL", "STB_WEAK", "STB_GNU_UNIQUE")}


@pytest.mark.parametrize("library", LIBRARIES, ids=lambda p: p.name)
def test_each_library_exports_its_entry_points_alone(library):
    assert exported_symbols(library) == EXPORTS[library.name.split(".")[0]]


# What cc/manylinux_compat.cc defines (its table), by the names the libraries would export them under.
COMPAT_SYMBOLS = {"_ZSt28__throw_bad_array_new_lengthv", "_ZNSt15__exception_ptr13exception_ptr9_M_addrefEv",
                  "_ZNSt15__exception_ptr13exception_ptr10_M_releaseEv",
                  "_ZNSt7__cxx1118basic_stringstreamIcSt11char_traitsIcESaIcEEC1Ev",
                  "_ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE", "pthread_once",
                  "pthread_mutex_trylock", "pthread_setname_np", "__libc_single_threaded"}


@pytest.mark.parametrize("library", LIBRARIES, ids=lambda p: p.name)
def test_the_manylinux_shim_exports_nothing(library):
    # Each library's copy of the shim serves that library alone: exported, it would stand in for glibc's and
    # libstdc++'s own definitions in every library loaded after it.
    exported = exported_symbols(library)
    leaked = sorted(exported & COMPAT_SYMBOLS | {name for name in exported if name.startswith("lrn_")})
    assert not leaked, f"{library.name} exports {leaked}"
    assert exported, "the reader sees no exports at all"
